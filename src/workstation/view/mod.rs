//! `view`: draws the state. Pure: it reads `State`, never changes it and never waits. Only the
//! lines on screen are built, so a 10,000-item timeline costs what a 20-line one does.

mod overlay;
pub mod widgets;

use widgets::pane;

use crate::workstation::features::access::view as signin;
use crate::workstation::features::chart::view as chart;
use crate::workstation::features::search::view as search;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::state::{Screen, State};
use super::theme::Theme;

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
            Screen::Search if state.register.as_ref().is_some_and(|r| r.editing.is_none()) => {
                crate::workstation::features::register::view::draw(state, theme, frame, area)
            }
            Screen::Search => search::draw(state, theme, frame, area),
            Screen::Chart => chart::draw(state, theme, frame, area),
            Screen::Inbox => {
                crate::workstation::features::inbox::view::draw(state, theme, frame, area)
            }
            Screen::Census => {
                crate::workstation::features::census::view::draw(state, theme, frame, area)
            }
            Screen::Work => {
                crate::workstation::features::work::view::draw(state, theme, frame, area)
            }
            Screen::Support => {
                crate::workstation::features::support::view::draw(state, theme, frame, area)
            }
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
