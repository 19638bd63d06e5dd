//! The chart's pop-ups: the timeline filter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::workstation::features::chart::filter_choices;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

pub fn filter(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, cursor: usize) {
    let choices = filter_choices(state);
    let labels: Vec<&str> = choices
        .iter()
        .map(|(k, _)| k.map(|k| k.label()).unwrap_or("Everything"))
        .collect();
    let letters = crate::workstation::keymap::accelerators(&state.keymap, &labels);
    let mut lines = Vec::new();
    for (i, (label, (_, count))) in labels.iter().zip(&choices).enumerate() {
        let letter = letters[i].map(|c| c.to_string()).unwrap_or_default();
        let mut line = Line::from(vec![
            styled(format!(" {letter:<2}"), theme.key),
            Span::raw(format!("{} {count:>6} ", cell(label, 16))),
        ]);
        if i == cursor {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    let r = centered(area, 31, lines.len() as u16 + 2);
    popup(state, theme, frame, r, " Show ", Paragraph::new(lines));
}
