//! The note pane: the editor under a title that names the patient, and a line with the mode,
//! word count, when the draft was last saved, and any error in plain words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::{ChartState, NoteMode, NoteState, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{fit, pane, styled};
use crate::workstation::wrap;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, c: &ChartState) {
    let Some(note) = &c.note else { return };
    let d = &note.draft;
    let mode = match note.mode {
        NoteMode::Editing => "EDITING",
        NoteMode::Command => "COMMANDS",
    };
    let title = format!(
        " {} - {} (MRN {}) [{mode}] ",
        d.title,
        d.patient_name,
        d.mrn.as_deref().unwrap_or("none")
    );
    let block = pane(
        Line::from(styled(
            fit(&title, area.width.saturating_sub(4) as usize),
            theme.title,
        )),
        note.mode == NoteMode::Editing && state.overlay.is_none(),
        state,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    draw_text(state, theme, frame, text, note);

    let mut spans: Vec<Span> = Vec::new();
    if let Some(status) = note.sending {
        spans.push(styled(
            format!("sending ({})... ", status.code()),
            theme.warning,
        ));
    }
    if let Some(e) = &note.error {
        spans.push(styled(e.clone(), theme.error));
    } else {
        spans.push(styled(
            crate::workstation::count(note.words, "word", "words"),
            theme.dim,
        ));
        let saved = match &note.saved {
            Some(Ok(t)) if !note.unsaved => styled(format!("  draft saved {t}"), theme.dim),
            Some(Err(e)) => styled(format!("  DRAFT NOT SAVED: {e}"), theme.error),
            _ => styled("  not saved yet", theme.warning),
        };
        spans.push(saved);
        if d.server_id.is_some() {
            spans.push(styled("  on server UNSIGNED", theme.warning));
        }
        let hint = match note.mode {
            NoteMode::Editing => {
                let key = |a| state.keymap.hint(Context::Editor, a);
                format!(
                    "  {}: commands  {}: save  .vitals+{}: phrase  {}: help",
                    key(Action::Back),
                    key(Action::SaveDraft),
                    key(Action::ExpandPhrase),
                    key(Action::ShowHelp)
                )
            }
            NoteMode::Command => {
                let key = |a| state.keymap.hint(Context::Note, a);
                format!(
                    "  {} sign  {} save unsigned  {} edit  {} close",
                    key(Action::SignNote),
                    key(Action::SaveNoteUnsigned),
                    key(Action::EditNote),
                    key(Action::CloseNote)
                )
            }
        };
        spans.push(styled(hint, theme.key));
    }
    let width = status.width as usize;
    let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
    let line = if crate::workstation::text::width(&text) > width {
        let style = spans.first().map(|s| s.style).unwrap_or_default();
        Line::from(Span::styled(fit(&text, width), style))
    } else {
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), status);
}

/// The note's lines from `top`, soft-wrapped to the pane, with the cursor and any selection.
fn draw_text(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, note: &NoteState) {
    let width = area.width as usize;
    let height = area.height as usize;
    let (cursor_row, cursor_col) = note.editor.cursor();
    let selection = note.editor.selection();
    let selected = |row: usize, col: usize| {
        selection
            .is_some_and(|((r0, c0), (r1, c1))| (row, col) >= (r0, c0) && (row, col) < (r1, c1))
    };
    let cursor_style = if note.mode == NoteMode::Editing && state.overlay.is_none() {
        theme.selected
    } else {
        theme.selected_unfocused
    };
    let mut out: Vec<Line> = Vec::with_capacity(height);
    for (row, line) in note.editor.lines().iter().enumerate().skip(note.top) {
        if out.len() >= height {
            break;
        }
        let chars: Vec<char> = line.chars().collect();
        let rows = wrap::rows(line, width);
        let last = rows.len() - 1;
        for (i, &(start, end)) in rows.iter().enumerate() {
            if out.len() >= height {
                break;
            }
            let on_cursor_row = row == cursor_row && wrap::row_of(&rows, cursor_col) == i;
            let plain = selection.is_none() && !on_cursor_row;
            if plain {
                out.push(Line::raw(chars[start..end].iter().collect::<String>()));
                continue;
            }
            // Styled cell by cell only where the cursor or a selection is.
            let mut spans: Vec<Span> = Vec::new();
            for (col, ch) in chars.iter().enumerate().take(end).skip(start) {
                let style = if on_cursor_row && col == cursor_col {
                    cursor_style
                } else if selected(row, col) {
                    theme.selected_unfocused
                } else {
                    theme.base
                };
                spans.push(Span::styled(ch.to_string(), style));
            }
            // The cursor after the last character of the line.
            if on_cursor_row && i == last && cursor_col >= end {
                spans.push(Span::styled(" ", cursor_style));
            }
            out.push(Line::from(spans));
        }
    }
    frame.render_widget(Paragraph::new(out), area);
}
