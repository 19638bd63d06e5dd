//! The help, the session's messages and the settings' problems, as pop-ups.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::{Chord, Context};
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

#[allow(clippy::too_many_arguments)]
pub fn help(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    context: Context,
    query: &str,
    scroll: usize,
) {
    let entries = crate::workstation::features::help::help_entries(&state.keymap, context, query);
    let mut lines = vec![
        Line::from(vec![
            styled("/ ", theme.key),
            Span::raw(query.to_string()),
            styled(
                if query.is_empty() {
                    "  (type to search)"
                } else {
                    ""
                },
                theme.dim,
            ),
        ]),
        Line::from(styled(
            format!(
                "Keys in [{}] of the {} keymap; {} lists every action and command",
                context.name(),
                state.keymap.name,
                state.keymap.hint(Context::Global, Action::OpenPalette)
            ),
            theme.dim,
        )),
    ];
    if entries.is_empty() {
        lines.push(Line::raw(format!("no key here matches {query:?}")));
    }
    for (action, keys) in &entries {
        let keys: Vec<String> = keys.iter().map(Chord::to_string).collect();
        lines.push(Line::from(vec![
            styled(cell(&keys.join(", "), 22), theme.key),
            Span::raw(action.description()),
        ]));
    }
    if matches!(context, Context::Note | Context::Editor) && query.is_empty() {
        lines.push(Line::raw(""));
        let key = |a| state.keymap.hint(Context::Editor, a);
        let bound = if context == Context::Note {
            format!(
                "While typing (after {}): {} undo, {} redo, {} copy, {} cut, {} paste, {} select \
                 all, {} save, {} commands ([editor] in the keymap). ",
                state.keymap.hint(Context::Note, Action::EditNote),
                key(Action::Undo),
                key(Action::Redo),
                key(Action::Copy),
                key(Action::Cut),
                key(Action::Paste),
                key(Action::SelectAll),
                key(Action::SaveDraft),
                key(Action::Back)
            )
        } else {
            String::new()
        };
        lines.push(Line::from(styled(
            format!(
                "{bound}Editing keys of every text: arrows, Home/End, PgUp/PgDn, Ctrl-Left/Right \
                 by word, Ctrl-Home/End, Shift+motion selects, Backspace/Delete, Ctrl-W deletes \
                 a word, Enter a new line."
            ),
            theme.dim,
        )));
        lines.push(Line::raw(""));
        lines.push(Line::from(styled(
            format!(
                "Smart phrases: type the name, then {}",
                state.keymap.hint(Context::Editor, Action::ExpandPhrase)
            ),
            theme.title,
        )));
        for (name, what) in crate::workstation::notes::phrases::BUILT_IN {
            lines.push(Line::from(vec![
                styled(cell(&format!(".{name}"), 22), theme.key),
                Span::raw(*what),
            ]));
        }
        for (name, text) in &state.notes.phrases {
            lines.push(Line::from(vec![
                styled(cell(&format!(".{name}"), 22), theme.key),
                Span::raw(fit(text, 60)),
            ]));
        }
        lines.push(Line::from(styled(
            "Add your own as name = \"text\" lines in phrases.toml in the config directory.",
            theme.dim,
        )));
    }
    if context == Context::Search && query.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(styled(
            "In the query field letters are typed; Tab moves to the list. / clears the query \
             (inside a date such as 14/03/1956 it is typed).",
            theme.dim,
        )));
    }
    let w = area.width.saturating_sub(8).min(100);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let h = area.height.saturating_sub(4).min(rows as u16 + 2);
    let r = centered(area, w, h);
    let scroll = scroll.min(lines.len().saturating_sub(h.saturating_sub(2) as usize));
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    popup(
        state,
        theme,
        frame,
        r,
        format!(
            " Help - type to search, arrows scroll, {} closes ",
            state.keymap.hint(Context::Dialogs, Action::Back)
        ),
        body,
    );
    if scroll == 0 {
        field_cursor(state, theme, frame, r, (2, 0), query);
    }
}

/// Problems in the user's keymap, theme and config: file, line, what, how to fix.
/// This session's messages in full, wrapped; the one at `scroll` at the bottom.
pub fn messages(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, scroll: usize) {
    let w = area.width.saturating_sub(4).min(120);
    let inner_w = w.saturating_sub(2).max(10) as usize;
    let h = area.height.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    for (ms, level, text) in state.messages.iter().take(scroll + 1) {
        let when = chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| {
                t.with_timezone(&state.display.zone)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let style = match level {
            crate::workstation::state::Level::Info => theme.base,
            crate::workstation::state::Level::Warning => theme.warning,
            crate::workstation::state::Level::Error => theme.error,
        };
        for (i, part) in crate::workstation::wrap::words(&format!("{when}  {text}"), inner_w)
            .into_iter()
            .enumerate()
        {
            let part = if i == 0 {
                part
            } else {
                format!("          {part}")
            };
            lines.push(Line::from(styled(part, style)));
        }
    }
    // The newest shown at the bottom of the box.
    let room = h.saturating_sub(2) as usize;
    let skip = lines.len().saturating_sub(room);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    let r = centered(area, w, (lines.len() as u16 + 2).min(h));
    popup(
        state,
        theme,
        frame,
        r,
        format!(
            " Messages this session ({}) - arrows scroll, {} closes ",
            state.messages.len(),
            state.keymap.hint(Context::Dialogs, Action::Back)
        ),
        Paragraph::new(lines),
    );
}

pub fn problems(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, scroll: usize) {
    let mut lines = vec![Line::from(styled(
        format!(
            "{} problem(s) in your settings; defaults are used for those parts. \
             `bedside check-config` prints them too.",
            state.problems.len()
        ),
        theme.dim,
    ))];
    for p in state.problems.iter().skip(scroll) {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            styled(p.place(), theme.key),
            Span::raw(": "),
            styled(p.message.clone(), theme.warning),
        ]));
        if let Some(fix) = &p.fix {
            lines.push(Line::from(vec![
                styled("  fix: ", theme.dim),
                Span::raw(fix.clone()),
            ]));
        }
    }
    let w = area.width.saturating_sub(4).min(120);
    // Rows once wrapped, so the box holds what it shows.
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let h = area.height.saturating_sub(2).min(rows as u16 + 2);
    let r = centered(area, w, h);
    let body = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false });
    popup(
        state,
        theme,
        frame,
        r,
        format!(
            " Settings problems - arrows scroll, {} closes ",
            state.keymap.hint(Context::Dialogs, Action::Back)
        ),
        body,
    );
}
