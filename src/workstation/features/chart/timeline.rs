//! The timeline's lines on screen: how many there are, which items are visible after a
//! filter or a find, and keeping the cursor in view. Shared by every pane that changes the
//! chart.

use crate::workstation::chart::Target;

use crate::workstation::layout;
use crate::workstation::state::*;

/// Timeline lines on screen while the timeline has focus (what paging moves by).
pub fn timeline_rows(size: ratatui::layout::Rect) -> usize {
    layout::inner_rows(layout::chart(size, false).timeline)
}

/// Keeps the cursor on screen.
pub fn follow(c: &mut ChartState, rows: usize) {
    let n = c.visible.len();
    c.cursor = c.cursor.min(n.saturating_sub(1));
    if c.cursor < c.scroll {
        c.scroll = c.cursor;
    } else if c.cursor >= c.scroll + rows {
        c.scroll = c.cursor + 1 - rows;
    }
    c.scroll = c.scroll.min(n.saturating_sub(rows.min(n)));
}

/// Recomputes the visible lines after new data, a filter or a find, keeping the selected item
/// selected once the user has moved.
pub fn refresh_visible(c: &mut ChartState, rows: usize) {
    let keep: Option<Target> = if c.moved { c.selected_target() } else { None };
    let find = c.find.as_ref().map(|f| f.to_lowercase());
    c.visible = c
        .chart
        .timeline
        .iter()
        .enumerate()
        .filter(|(_, item)| c.filter.is_none_or(|k| item.kind == k))
        .filter(|(_, item)| {
            find.as_ref()
                .is_none_or(|f| item.summary.to_lowercase().contains(f.as_str()))
        })
        .map(|(i, _)| i as u32)
        .collect();
    let timeline = &c.chart.timeline;
    c.cursor = keep
        .and_then(|t| {
            c.visible
                .iter()
                .position(|&i| timeline[i as usize].target == t)
        })
        .unwrap_or(if c.moved { c.cursor } else { 0 });
    follow(c, rows);
}
