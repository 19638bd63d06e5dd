//! `view`: draws the state. Pure: it reads `State`, never changes it and never waits. Only the
//! lines on screen are built, so a 10,000-item timeline costs what a 20-line one does.

mod chart;
mod detail;
mod note;
mod orders;
mod overlay;
mod search;
mod signin;
mod summary;
mod trend;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::action::Action;
use super::state::{Level, Screen, State};
use super::theme::Theme;

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

pub fn view(state: &State, theme: &Theme, frame: &mut Frame) {
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        frame.render_widget(Paragraph::new("bedside: window too small"), area);
        return;
    }
    if let Some(form) = &state.access.form {
        // Signed out or locked: only the form, never what is behind it.
        signin::draw(state, theme, frame, area, form);
    } else {
        match state.screen {
            Screen::Search => search::draw(state, theme, frame, area),
            Screen::Chart => chart::draw(state, theme, frame, area),
        }
        overlay::draw(state, theme, frame, area);
        chord_keys(state, theme, frame, area);
    }
    if state.display.ascii {
        asciify(frame.buffer_mut(), area);
    }
}

/// After the first key of a chord: the keys that may follow, bottom right, above the status
/// line (like helix's and which-key's pop-up).
fn chord_keys(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    if state.chord.is_empty() {
        return;
    }
    let next = state
        .keymap
        .continuations(state.chord_context, &state.chord);
    let lines: Vec<Line> = next
        .iter()
        .map(|(rest, action)| {
            Line::from(vec![
                Span::styled(format!(" {:<6}", rest.to_string()), theme.key),
                Span::raw(action.name().replace('_', " ")),
            ])
        })
        .collect();
    let width = lines.iter().map(Line::width).max().unwrap_or(10) as u16 + 3;
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let width = width.min(area.width);
    let r = Rect::new(
        area.right().saturating_sub(width),
        area.bottom().saturating_sub(height + 1),
        width,
        height,
    );
    let typed: Vec<String> = state.chord.iter().map(|k| k.to_string()).collect();
    let title = Line::from(Span::styled(format!(" {} ", typed.join(" ")), theme.title));
    frame.render_widget(ratatui::widgets::Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(pane(title, true, state, theme)),
        r,
    );
}

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

/// Replaces whatever is not ASCII (box drawing, braille, accents) with its nearest ASCII.
fn asciify(buf: &mut Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            let symbol = cell.symbol();
            if symbol.is_ascii() {
                continue;
            }
            let replacement = match symbol {
                "─" | "═" => "-",
                "━" => "=",
                "│" | "║" => "|",
                "┃" => "#",
                "┏" | "┓" | "┗" | "┛" => "#",
                "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╰" | "╯" => {
                    "+"
                }
                "…" => ".",
                "•" | "·" => "*",
                // A trend's reference limits (data are `*`).
                "▄" => "-",
                "▲" => "^",
                "°" => "o",
                "▼" => "v",
                s if s
                    .chars()
                    .next()
                    .is_some_and(|c| ('\u{2800}'..='\u{28ff}').contains(&c)) =>
                {
                    "*"
                }
                s => {
                    let c = deunicode::deunicode(s);
                    let first = c.chars().find(|c| c.is_ascii_graphic() || *c == ' ');
                    cell.set_char(first.unwrap_or('?'));
                    continue;
                }
            };
            cell.set_symbol(replacement);
        }
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
            n => format!("outbox: {n} NEED YOU (F3)"),
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
    let mut rows = search::wrap(text, width);
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
