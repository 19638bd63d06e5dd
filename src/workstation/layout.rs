//! Where each pane goes for a terminal size. Pure, so `update` (paging, scrolling) and `view`
//! agree on how many lines a pane shows.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Rows the banner takes: name line, allergy line, rule.
pub const BANNER_ROWS: u16 = 3;

/// Wide enough for the timeline and the detail side by side.
const SIDE_BY_SIDE: u16 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartAreas {
    pub banner: Rect,
    /// Timeline, summary or trend.
    pub body: Rect,
    pub timeline: Rect,
    pub detail: Rect,
    pub status: Rect,
}

/// Whether the detail pane shares the screen with the timeline: always when wide; on narrow
/// terminals (80x24) only while it has focus, so the timeline gets every line otherwise.
pub fn detail_shown(area: Rect, detail_focused: bool) -> bool {
    area.width >= SIDE_BY_SIDE || detail_focused
}

pub fn chart(area: Rect, detail_focused: bool) -> ChartAreas {
    let [banner, body, status] = Layout::vertical([
        Constraint::Length(BANNER_ROWS),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (direction, split) = if area.width >= SIDE_BY_SIDE {
        (
            Direction::Horizontal,
            [Constraint::Percentage(58), Constraint::Percentage(42)],
        )
    } else {
        (
            Direction::Vertical,
            [Constraint::Percentage(58), Constraint::Percentage(42)],
        )
    };
    let [timeline, detail] = if detail_shown(area, detail_focused) {
        Layout::default()
            .direction(direction)
            .constraints(split)
            .areas(body)
    } else {
        [body, Rect::new(body.x, body.bottom(), body.width, 0)]
    };
    ChartAreas {
        banner,
        body,
        timeline,
        detail,
        status,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchAreas {
    pub input: Rect,
    pub list: Rect,
    pub status: Rect,
}

pub fn search(area: Rect) -> SearchAreas {
    let [input, list, status] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    SearchAreas {
        input,
        list,
        status,
    }
}

/// Lines inside a bordered pane.
pub fn inner_rows(r: Rect) -> usize {
    r.height.saturating_sub(2).max(1) as usize
}
