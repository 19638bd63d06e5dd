//! The patient search screen: the query, then rows that tell two John Smiths apart.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::layout;
use crate::workstation::state::{Row, SearchFocus, SearchStatus, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::{cell, fit, pane, spinner, status_line, styled};

const NAME_W: usize = 22;
const SEX_W: usize = 2;
const DOB_W: usize = 17;
const MRN_W: usize = 10;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let areas = layout::search(area);
    let s = &state.search;
    let input_focus = s.focus == SearchFocus::Input && state.overlay.is_none();
    let title = Line::from(vec![styled(
        " Find patient: name, MRN or date of birth ",
        theme.title,
    )]);
    let input = pane(title, input_focus, state, theme);
    let inner = input.inner(areas.input);
    let shown = fit(&s.query, inner.width.saturating_sub(3) as usize);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            styled("> ", theme.key),
            Span::raw(shown.clone()),
        ]))
        .block(input),
        areas.input,
    );
    if input_focus {
        let col = crate::workstation::line::cursor_column(&shown, state.field_cursor);
        let x = inner.x + 2 + col as u16;
        frame.set_cursor_position(Position::new(
            x.min(inner.right().saturating_sub(1)),
            inner.y,
        ));
    }

    let rows = s.shown();
    let heading = match &s.status {
        SearchStatus::Recent => " Recent patients ".to_string(),
        SearchStatus::Typing => " Results ".to_string(),
        SearchStatus::Searching => format!(" Searching {} ", spinner(state)),
        SearchStatus::Done => format!(
            " {} ",
            crate::workstation::count(rows.len(), "patient", "patients")
        ),
        SearchStatus::NoMatch | SearchStatus::Failed(_) | SearchStatus::Hint(_) => {
            " Results ".to_string()
        }
    };
    let list = pane(
        Line::from(styled(heading, theme.title)),
        s.focus == SearchFocus::List,
        state,
        theme,
    );
    let inner = list.inner(areas.list);
    frame.render_widget(list, areas.list);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if rows.is_empty() {
        let (text, style) = match &s.status {
            SearchStatus::Recent => (
                "No recent patients. Type a name (smith john), an MRN (0012345) or a date of \
                 birth (1956-03-14, 14/03/1956, 1956)."
                    .to_string(),
                theme.dim,
            ),
            SearchStatus::Typing | SearchStatus::Searching | SearchStatus::Done => {
                (String::new(), theme.dim)
            }
            SearchStatus::NoMatch => (
                format!(
                    "No patient matches \"{}\". Check the spelling, or search by MRN or date of \
                     birth.",
                    s.query.trim()
                ),
                theme.warning,
            ),
            SearchStatus::Hint(h) => (h.clone(), theme.dim),
            SearchStatus::Failed(e) => (format!("Search failed: {e}"), theme.error),
        };
        for chunk in crate::workstation::wrap::words(&text, width) {
            lines.push(Line::from(styled(chunk, style)));
        }
    } else {
        lines.push(Line::from(styled(
            fit(
                &format!(
                    "{}{}{}{}{}",
                    cell("Name", NAME_W + 1),
                    cell("Sex", SEX_W + 2),
                    cell("DOB (age)", DOB_W + 1),
                    cell("MRN", MRN_W + 1),
                    "Location / last visit"
                ),
                width,
            ),
            theme.dim,
        )));
        let visible = inner.height.saturating_sub(1) as usize;
        for (i, row) in rows.iter().enumerate().skip(s.scroll).take(visible) {
            lines.push(row_line(state, theme, row, i == s.cursor, width));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);

    let left = vec![styled(
        format!("Server {}", state.display.server),
        theme.dim,
    )];
    status_line(
        state,
        theme,
        frame,
        areas.status,
        left,
        &[
            (Action::OpenSelected, "open"),
            (Action::NextPane, "list"),
            (Action::ShowHelp, "help"),
            (Action::Quit, "quit"),
            (Action::OpenPalette, "commands"),
        ],
    );
}

/// A location cut to `room` columns by dropping what is in brackets first: `Ward 4A
/// (Cardiology), Bed 4A-01` becomes `Ward 4A, Bed 4A-01`, so the bed stays in view.
fn short_location(location: &str, room: usize) -> String {
    if crate::workstation::text::width(location) <= room {
        return location.to_string();
    }
    let mut out = String::new();
    let mut depth = 0usize;
    for c in location.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    out.replace(" ,", ",")
}

fn row_line(
    state: &State,
    theme: &Theme,
    row: &Row,
    selected: bool,
    width: usize,
) -> Line<'static> {
    let p = &row.patient;
    let name = p.display_name();
    let mut spans: Vec<Span> = Vec::new();
    // The name with matched characters highlighted, cut to its column in display cells (a
    // CJK name takes two cells a character; an accent stays on its letter).
    let cut = crate::workstation::text::width(&name) > NAME_W;
    let room = if cut { NAME_W - 1 } else { NAME_W };
    let mut shown = 0;
    let mut at = 0;
    for g in unicode_segmentation::UnicodeSegmentation::graphemes(name.as_str(), true) {
        let w = crate::workstation::text::width(g);
        let n = g.chars().count();
        if shown + w > room {
            break;
        }
        let style = if (at..at + n).any(|i| row.matched.contains(&i)) {
            theme.matched
        } else {
            theme.base
        };
        spans.push(Span::styled(g.to_string(), style));
        shown += w;
        at += n;
    }
    if cut {
        spans.push(Span::styled("…", theme.base));
        shown += 1;
    }
    let sex = match p.sex.as_str() {
        "male" => "M",
        "female" => "F",
        "other" => "O",
        _ => "U",
    };
    // The age column shows the age at death for a patient who died (marked DECEASED).
    let dob = match (&p.birth_text, p.age(state.display.today)) {
        (Some(b), Some(a)) => format!("{b} ({a})"),
        (Some(b), None) => b.clone(),
        _ => "DOB unknown".into(),
    };
    let rest = format!(
        "{}{}{}{}",
        " ".repeat(NAME_W + 1 - shown),
        cell(sex, SEX_W + 2),
        cell(&dob, DOB_W + 1),
        cell(p.mrn.as_deref().unwrap_or("-"), MRN_W + 1),
    );
    spans.push(Span::raw(rest));
    let room = width.saturating_sub(NAME_W + 1 + SEX_W + 2 + DOB_W + 1 + MRN_W + 1);
    if p.deceased {
        let mark = fit("DECEASED ", room);
        spans.push(Span::styled(mark, theme.warning));
    }
    let room = room.saturating_sub(if p.deceased { 9 } else { 0 });
    let merged = if p.merged_into.is_some() {
        Some("MERGED ")
    } else if p.inactive {
        Some("INACTIVE ")
    } else {
        None
    };
    if let Some(mark) = merged {
        spans.push(Span::styled(fit(mark, room), theme.error));
    }
    let room = room.saturating_sub(merged.map_or(0, str::len));
    if let Some(loc) = row.location.as_deref() {
        spans.push(Span::raw(fit(&short_location(loc, room), room)));
    }
    let mut line = Line::from(spans);
    if selected {
        let style = if state.search.focus == SearchFocus::List {
            theme.selected
        } else {
            theme.selected_unfocused
        };
        line = line.patch_style(style);
        // Selection spans the whole row.
        let used: usize = line
            .spans
            .iter()
            .map(|s| crate::workstation::text::width(&s.content))
            .sum();
        if used < width {
            line.spans
                .push(Span::styled(" ".repeat(width - used), style));
        }
    }
    line
}
