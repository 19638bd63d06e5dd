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

pub fn chart(area: Rect) -> ChartAreas {
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
    let [timeline, detail] = Layout::default()
        .direction(direction)
        .constraints(split)
        .areas(body);
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
