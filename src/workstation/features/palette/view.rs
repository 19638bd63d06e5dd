//! The palette pop-up: the input, then the matching actions and commands with their keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

/// `:`: the input, then matching actions and commands with their keys.
#[allow(clippy::too_many_arguments)]
pub fn palette(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    context: Context,
    input: &str,
    cursor: usize,
) {
    let entries = crate::workstation::features::palette::entries::entries(state, context, input);
    let w = area.width.saturating_sub(6).min(96);
    let h = area
        .height
        .saturating_sub(4)
        .min(entries.len() as u16 + 4)
        .max(5);
    let r = centered(area, w, h);
    let rows = h.saturating_sub(4) as usize;
    let inner_w = w.saturating_sub(2) as usize;
    let hint = |a| state.keymap.hint(Context::Palette, a);
    let mut lines = vec![
        Line::from(vec![styled(": ", theme.key), Span::raw(input.to_string())]),
        Line::from(styled(
            if entries.is_empty() {
                format!(
                    "nothing matches: Backspace, or {} to close",
                    hint(Action::Back)
                )
            } else {
                format!(
                    "{} match; {} runs, {} completes, {} closes",
                    entries.len(),
                    hint(Action::Submit),
                    hint(Action::Complete),
                    hint(Action::Back)
                )
            },
            theme.dim,
        )),
    ];
    let skip = (cursor + 1).saturating_sub(rows);
    for (i, e) in entries.iter().enumerate().skip(skip).take(rows) {
        let label_w = 22.min(inner_w / 3);
        let keys_w = 16.min(inner_w / 4);
        let mut spans: Vec<Span> = vec![Span::raw(" ")];
        for (ci, ch) in fit(&e.label, label_w).chars().enumerate() {
            let style = if e.matched.contains(&ci) {
                theme.matched
            } else {
                theme.base
            };
            spans.push(Span::styled(ch.to_string(), style));
        }
        let used = crate::workstation::text::width(&e.label).min(label_w);
        spans.push(Span::raw(" ".repeat(label_w - used + 1)));
        spans.push(styled(
            cell(e.keys.as_deref().unwrap_or(""), keys_w),
            theme.key,
        ));
        spans.push(Span::raw(" "));
        let rest = inner_w.saturating_sub(label_w + keys_w + 3);
        spans.push(styled(fit(&e.description, rest), theme.dim));
        let mut line = Line::from(spans);
        if i == cursor {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    popup(
        state,
        theme,
        frame,
        r,
        " Commands: :open MRN, :theme NAME, :filter KIND, or any action ",
        Paragraph::new(lines),
    );
    field_cursor(state, theme, frame, r, (2, 0), input);
}
