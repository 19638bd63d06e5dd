//! What every screen and pop-up draws with: panes, the status line, styled spans, the
//! spinner, and the pop-up frames (lists, questions, prompts).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::{Level, State};
use crate::workstation::theme::Theme;

/// Borders for terminals without Unicode box drawing.
pub const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Borders of the focused pane without Unicode box drawing.
pub const ASCII_FOCUS_BORDER: border::Set = border::Set {
    top_left: "#",
    top_right: "#",
    bottom_left: "#",
    bottom_right: "#",
    vertical_left: "#",
    vertical_right: "#",
    horizontal_top: "=",
    horizontal_bottom: "=",
};

/// A bordered pane with a title. The focused pane has a thick border (`#`/`=` in ASCII):
/// focus is shown by shape, not by colour, and the border keeps the colour of the dates next
/// to it so a repaint switches styles less often.
pub fn pane<'a>(title: Line<'a>, focused: bool, state: &State, theme: &Theme) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        })
        .title(title);
    match (state.display.ascii, focused) {
        (true, true) => block.border_set(ASCII_FOCUS_BORDER),
        (true, false) => block.border_set(ASCII_BORDER),
        (false, true) => block.border_type(ratatui::widgets::BorderType::Thick),
        (false, false) => block,
    }
}

pub use crate::workstation::text::{cell, fit};

/// The bottom line: a notice or what is loading on the left, the pane's main keys on the right.
pub fn status_line(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    left: Vec<Span<'static>>,
    hints: &[(Action, &str)],
) {
    let context = state.pane_context();
    let mut spans: Vec<Span> = Vec::new();
    // Offline and the outbox are always said, whatever else the line says.
    let waiting = state.storage.waiting();
    if state.storage.offline() {
        let mut text = String::from("OFFLINE read-only");
        if waiting > 0 {
            text.push_str(&format!(", {waiting} in outbox"));
        }
        spans.push(Span::styled(text, theme.error));
        spans.push(Span::raw(" | "));
    } else if waiting > 0 || state.storage.stuck() > 0 {
        let text = match state.storage.stuck() {
            0 => format!("outbox: {waiting} waiting"),
            n => format!(
                "outbox: {n} NEED YOU ({})",
                state.keymap.hint(Context::Global, Action::ShowOutbox)
            ),
        };
        spans.push(Span::styled(text, theme.warning));
        spans.push(Span::raw(" | "));
    }
    if !state.chord.is_empty() {
        // The beginning of a chord: what may follow is listed above (`chord_keys`).
        let typed: Vec<String> = state.chord.iter().map(|k| k.to_string()).collect();
        spans.push(Span::styled(format!("{} ...", typed.join(" ")), theme.key));
        spans.push(Span::raw(" (Esc cancels)"));
    } else if let Some(n) = &state.notice {
        let style = match n.level {
            Level::Info => theme.status,
            Level::Warning => theme.warning,
            Level::Error => theme.error,
        };
        let used: usize = spans
            .iter()
            .map(|s| crate::workstation::text::width(&s.content))
            .sum();
        let room = (area.width as usize).saturating_sub(used);
        if crate::workstation::text::width(&n.text) <= room {
            spans.push(Span::styled(n.text.clone(), style));
        } else {
            // Never cut: a message longer than the line is shown whole, wrapped, just above.
            long_notice(state, theme, frame, area, &n.text, style);
            spans.push(Span::styled("message above (:messages lists them)", style));
        }
    } else {
        let used: usize = spans
            .iter()
            .map(|s| crate::workstation::text::width(&s.content))
            .sum();
        let text: String = left.iter().map(|s| s.content.as_ref()).collect();
        if used + crate::workstation::text::width(&text) > area.width as usize {
            // A status too long for the line (a chart error): whole, above, in its style.
            let style = left
                .iter()
                .map(|s| s.style)
                .next_back()
                .unwrap_or(theme.status);
            long_notice(state, theme, frame, area, &text, style);
            spans.push(Span::styled("details above", style));
        } else {
            spans.extend(left);
        }
    }
    // As many hints as fit, most useful first.
    let left_width: usize = spans
        .iter()
        .map(|s| crate::workstation::text::width(&s.content))
        .sum();
    let width = area.width as usize;
    let mut right: Vec<Span> = Vec::new();
    let mut right_width = 0;
    for (action, label) in hints {
        if let Some(key) = state.keymap.key_for(context, *action) {
            let key = key.to_string();
            let label = format!(" {label}  ");
            let w = crate::workstation::text::width(&key) + crate::workstation::text::width(&label);
            if left_width + right_width + w >= width {
                break;
            }
            right_width += w;
            right.push(Span::styled(key, theme.key));
            right.push(Span::raw(label));
        }
    }
    spans.push(Span::raw(
        " ".repeat(width.saturating_sub(left_width + right_width)),
    ));
    spans.extend(right);
    let line = Line::from(spans);
    frame.render_widget(Paragraph::new(line).style(theme.status), area);
}

/// A message too long for the status line, wrapped in rows above it (at most a third of the
/// screen; `:messages` has it in full either way).
fn long_notice(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    status: Rect,
    text: &str,
    style: Style,
) {
    let width = status.width.saturating_sub(2).max(10) as usize;
    let mut rows = crate::workstation::wrap::words(text, width);
    let most = (state.size.height / 3).max(1) as usize;
    if rows.len() > most {
        rows.truncate(most);
        if let Some(last) = rows.last_mut() {
            *last = fit(&format!("{last} ... (:messages)"), width);
        }
    }
    let h = (rows.len() as u16).min(status.y);
    if h == 0 {
        return;
    }
    let area = Rect::new(status.x, status.y - h, status.width, h);
    frame.render_widget(ratatui::widgets::Clear, area);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|r| Line::from(Span::styled(format!(" {r}"), style)))
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.status), area);
}

pub fn spinner(state: &State) -> &'static str {
    const UNICODE: [&str; 4] = ["◐", "◓", "◑", "◒"];
    const ASCII: [&str; 4] = ["|", "/", "-", "\\"];
    // The Linux console's fonts (no braille) lack the circle quadrants too.
    if state.display.ascii || !state.display.braille {
        ASCII[state.spinner % 4]
    } else {
        UNICODE[state.spinner % 4]
    }
}

pub fn styled(s: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(s.into(), style)
}

/// A bordered box over whatever is under `r`, with a title.
pub fn popup(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    r: Rect,
    title: impl Into<String>,
    body: Paragraph<'_>,
) {
    frame.render_widget(Clear, r);
    let block = pane(
        Line::from(styled(title.into(), theme.title)),
        true,
        state,
        theme,
    );
    frame.render_widget(body.block(block), r);
}

/// A one-line text field with a hint under it, centred, with the terminal cursor in it.
pub fn text_prompt(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    input: &str,
    hint: &str,
) {
    let w = (crate::workstation::text::width(title) as u16 + 4).max(60);
    let r = centered(area, w.min(area.width), 4);
    let body = Paragraph::new(vec![
        Line::from(vec![styled("> ", theme.key), Span::raw(input.to_string())]),
        Line::from(styled(hint.to_string(), theme.dim)),
    ]);
    popup(state, theme, frame, r, title, body);
    field_cursor(state, theme, frame, r, (2, 0), input);
}

/// A yes/no question, centred, with the keys of the user's `[dialogs]`.
pub fn confirm(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    question: &str,
    style: ratatui::style::Style,
) {
    let w = (crate::workstation::text::width(question) as u16 + 4).clamp(30, area.width);
    let r = centered(area, w, 4);
    let body = Paragraph::new(vec![
        Line::from(styled(format!(" {question}"), style)),
        Line::from(vec![
            Span::raw(" "),
            styled(
                state.keymap.hint(Context::Dialogs, Action::Confirm),
                theme.key,
            ),
            Span::raw(" yes  "),
            styled(state.keymap.hint(Context::Dialogs, Action::Back), theme.key),
            Span::raw(" no"),
        ]),
    ])
    .wrap(ratatui::widgets::Wrap { trim: false });
    popup(state, theme, frame, r, title, body);
}

/// A titled list with a cursor, centred.
pub fn list(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    items: &[String],
    cursor: usize,
) {
    let widest = items
        .iter()
        .map(|i| crate::workstation::text::width(i))
        .max()
        .unwrap_or(10);
    let w = (widest.max(crate::workstation::text::width(title)) as u16 + 4).min(area.width);
    let h = (items.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    let rows = h.saturating_sub(2) as usize;
    let skip = (cursor + 1).saturating_sub(rows);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, item)| {
            let line = Line::raw(format!(" {item}"));
            if i == cursor {
                line.patch_style(theme.selected)
            } else {
                line
            }
        })
        .collect();
    popup(state, theme, frame, r, title, Paragraph::new(lines));
}

/// The terminal cursor in a pop-up's text field: `at` is the field's (column, row) inside
/// the box, and the cursor stands after `input` (never past the border).
pub fn field_cursor(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    r: Rect,
    at: (u16, u16),
    input: &str,
) {
    let inner = pane(Line::default(), true, state, theme).inner(r);
    let x =
        inner.x + at.0 + crate::workstation::line::cursor_column(input, state.field_cursor) as u16;
    frame.set_cursor_position(Position::new(
        x.min(inner.right().saturating_sub(1)),
        inner.y + at.1,
    ));
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}
