//! The chart screen: moving through the timeline, filter, find, jump to a date, detail,
//! trend and summary.

use crate::workstation::chart::Kind;

use crate::workstation::action::Action;
use crate::workstation::features::chart::timeline::{follow, refresh_visible, timeline_rows};
use crate::workstation::features::chart::{detail_members, filter_choices, trend_target};
use crate::workstation::state::*;

pub(crate) fn set_filter(state: &mut State, kind: Option<Kind>) {
    let rows = timeline_rows(state.size);
    if let Some(c) = &mut state.chart {
        c.filter = kind;
        c.view = ChartView::Timeline;
        refresh_visible(c, rows);
    }
}

pub(crate) fn apply_prompt(state: &mut State, kind: PromptKind, input: String) {
    let rows = timeline_rows(state.size);
    let zone = state.display.zone;
    let Some(c) = &mut state.chart else { return };
    match kind {
        PromptKind::Find => {
            let text = input.trim().to_string();
            c.find = (!text.is_empty()).then_some(text);
            c.view = ChartView::Timeline;
            refresh_visible(c, rows);
            if c.visible.is_empty() {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!("nothing in this chart matches {:?}", input.trim()),
                });
            }
        }
        PromptKind::Date => match parse_day(input.trim()) {
            Some(day) => {
                // Newest first: the first item on or before the day asked for.
                let pos = c.visible.iter().position(|&i| {
                    c.chart.timeline[i as usize]
                        .when
                        .day(zone)
                        .is_some_and(|d| d <= day)
                });
                match pos {
                    Some(p) => {
                        c.cursor = p;
                        c.moved = true;
                        c.view = ChartView::Timeline;
                        follow(c, rows);
                    }
                    None => {
                        state.notice = Some(Notice {
                            level: Level::Warning,
                            text: format!("nothing on or before {day}"),
                        })
                    }
                }
            }
            None => {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!(
                        "{:?} is not a date: use YYYY-MM-DD, YYYY-MM, YYYY or DD/MM/YYYY",
                        input.trim()
                    ),
                })
            }
        },
        // Handled where the effects are (update::access).
        PromptKind::BreakGlass
        | PromptKind::AccessFilter
        | PromptKind::EnteredInError
        | PromptKind::NewList
        | PromptKind::Forward
        | PromptKind::CosignReject
        | PromptKind::CosignOverride
        | PromptKind::Support(_) => {}
    }
}

/// The last day a typed date covers (`2024` means up to 2024-12-31).
pub(crate) fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::NaiveDate;
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%d/%m/%Y") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
        return d.checked_add_months(chrono::Months::new(1))?.pred_opt();
    }
    if s.len() == 4 {
        let y: i32 = s.parse().ok()?;
        return NaiveDate::from_ymd_opt(y, 12, 31);
    }
    None
}

/// Where a movement key takes a line position: one, a page of `page`, or either end (the
/// far end is clamped by the caller).
fn step(x: usize, action: Action, page: usize) -> usize {
    match action {
        Action::MoveDown => x + 1,
        Action::MoveUp => x.saturating_sub(1),
        Action::PageDown => x + page,
        Action::PageUp => x.saturating_sub(page),
        Action::GoTop => 0,
        _ => usize::MAX / 2,
    }
}

pub(crate) fn chart_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let rows = timeline_rows(state.size);
    let Some(c) = &mut state.chart else {
        state.screen = Screen::Search;
        return;
    };
    let n = c.visible.len();
    let in_detail = c.focus == ChartFocus::Detail && c.view == ChartView::Timeline;
    let moves = matches!(
        action,
        Action::MoveDown
            | Action::MoveUp
            | Action::PageDown
            | Action::PageUp
            | Action::GoTop
            | Action::GoBottom
    );
    match action {
        _ if moves && in_detail => {
            let members = detail_members(c);
            if members > 0 {
                c.detail_cursor = step(c.detail_cursor, action, 10).min(members - 1);
            } else {
                c.detail_scroll = step(c.detail_scroll, action, 10).min(500);
            }
        }
        _ if moves && c.view == ChartView::Summary => {
            // The one-column summary scrolls, no further than its last line.
            let s = crate::workstation::chart::summary::summarise(&c.chart);
            let allergies = c.chart.allergies.len().max(1) + 1;
            let total = 5 * 2
                + s.problems.len().max(1)
                + s.medications.len().max(1)
                + c.review.len()
                + allergies
                + s.vitals.len().max(1)
                + s.abnormal.len().max(1);
            let most = total.saturating_sub(rows);
            c.summary_scroll = step(c.summary_scroll, action, rows).min(most);
        }
        Action::MoveDown => move_to(c, (c.cursor + 1).min(n.saturating_sub(1)), rows),
        Action::MoveUp => move_to(c, c.cursor.saturating_sub(1), rows),
        Action::PageDown => move_to(c, (c.cursor + rows).min(n.saturating_sub(1)), rows),
        Action::PageUp => move_to(c, c.cursor.saturating_sub(rows), rows),
        Action::GoTop => move_to(c, 0, rows),
        Action::GoBottom => move_to(c, n.saturating_sub(1), rows),
        Action::OpenSelected | Action::NextPane | Action::PreviousPane
            if c.view == ChartView::Timeline =>
        {
            c.focus = match (c.focus, action) {
                (ChartFocus::Timeline, _) => ChartFocus::Detail,
                (ChartFocus::Detail, Action::OpenSelected) => ChartFocus::Detail,
                (ChartFocus::Detail, _) => ChartFocus::Timeline,
            };
        }
        Action::Back => {
            if c.view != ChartView::Timeline {
                c.view = ChartView::Timeline;
            } else if c.focus == ChartFocus::Detail {
                c.focus = ChartFocus::Timeline;
            } else if c.find.is_some() || c.filter.is_some() {
                c.find = None;
                c.filter = None;
                refresh_visible(c, rows);
            } else {
                // Esc closes the innermost thing; a chart is closed on purpose, never by one
                // Esc too many.
                let close = state
                    .keymap
                    .key_for(
                        crate::workstation::keymap::Context::Chart,
                        Action::CloseChart,
                    )
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| ":close_chart".into());
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!("{close} closes the chart"),
                });
            }
        }
        Action::FilterTimeline => {
            let current = c.filter;
            let choices = filter_choices(state);
            let cursor = choices.iter().position(|(k, _)| *k == current).unwrap_or(0);
            state.overlay = Some(Overlay::Filter { cursor });
        }
        Action::FindInChart => {
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::Find,
                input: c.find.clone().unwrap_or_default(),
            })
        }
        Action::JumpToDate => {
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::Date,
                input: String::new(),
            })
        }
        Action::ToggleSummary => {
            c.view = if c.view == ChartView::Summary {
                ChartView::Timeline
            } else {
                ChartView::Summary
            };
        }
        Action::ShowTrend => {
            if matches!(c.view, ChartView::Trend { .. }) {
                c.view = ChartView::Timeline;
            } else {
                match trend_target(c) {
                    Some((key, title)) => c.view = ChartView::Trend { key, title },
                    None => {
                        state.notice = Some(Notice {
                            level: Level::Info,
                            text: "trends are for vital signs and results with numbers".into(),
                        })
                    }
                }
            }
        }
        Action::RefreshChart => crate::workstation::features::chart::load::refresh(state, effects),
        Action::NewNote => crate::workstation::features::note::update::new_note(state, effects),
        Action::OpenOrders => crate::workstation::features::orders::update::open_orders(state),
        Action::RecordVitals => crate::workstation::features::vitals::update::open_vitals(state),
        Action::OpenLists => crate::workstation::features::lists::update::open_lists(state),
        Action::AddAddendum => {
            crate::workstation::features::note::update::add_addendum(state, effects)
        }
        Action::CloseChart => {
            crate::workstation::features::leave_note(state, effects);
            state.chart = None;
            state.screen = Screen::Search;
            state.search.focus = SearchFocus::Input;
            crate::workstation::features::census::update::after_close(state, effects);
        }
        _ => {}
    }
}

pub(crate) fn move_to(c: &mut ChartState, cursor: usize, rows: usize) {
    if cursor != c.cursor {
        c.detail_scroll = 0;
        c.detail_cursor = 0;
    }
    c.cursor = cursor;
    c.moved = true;
    follow(c, rows);
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: ChartMsg, effects: &mut Vec<Effect>) {
    use crate::workstation::features::chart::load::open_patient_id;
    use crate::workstation::features::chart::opening;
    use crate::workstation::features::current_chart;
    use crate::workstation::features::offline::update as offline;
    let rows = crate::workstation::features::chart::timeline::timeline_rows(state.size);
    match msg {
        ChartMsg::Open(id) => {
            state.dirty = true;
            open_patient_id(state, id, None, effects);
        }
        ChartMsg::Patient { context, result } => {
            opening::patient_arrived(state, context, result, effects);
        }
        ChartMsg::Allergies { context, result } => {
            if let Some(c) = current_chart(state, context) {
                c.chart.set_allergies(result.map_err(|e| e.to_string()));
                refresh_visible(c, rows);
                // A basket waiting to be signed is checked against the allergies as they are
                // now (one just recorded, say).
                let basket = c.orders.as_ref().is_some_and(|o| !o.basket.is_empty());
                state.dirty = true;
                if basket {
                    crate::workstation::features::orders::checks::run_checks(state);
                }
            }
        }
        ChartMsg::Page { context, result } => {
            if let Some(c) = current_chart(state, context) {
                match result {
                    Ok(resources) => c.chart.add_page(resources),
                    Err(e) => {
                        c.error = Some(format!("the chart is incomplete: {e}"));
                        c.loading = false;
                        c.chart.flush();
                    }
                }
                refresh_visible(c, rows);
                state.dirty = true;
            }
        }
        ChartMsg::Namesakes { context, result } => {
            let acknowledged = state.names_acknowledged.clone();
            if let Some(c) = current_chart(state, context)
                && let (Ok(found), Some(p)) = (result, &c.chart.patient)
            {
                let n = crate::workstation::chart::namesakes(p, &found);
                c.namesakes = Some(if acknowledged.contains(&c.patient_id) {
                    0
                } else {
                    n
                });
                state.dirty = true;
            }
        }
        ChartMsg::Answer { context, answer } => {
            if let Some(c) = current_chart(state, context) {
                c.chart.add_answer(answer);
                state.dirty = true;
            }
        }
        ChartMsg::Done { context } => opening::chart_done(state, context),
        ChartMsg::Cached {
            context,
            resources,
            fetched_ms,
        } => {
            offline::chart_cached(state, context, resources, fetched_ms);
            crate::workstation::features::orders::checks::review_medications(state);
        }
        ChartMsg::Merged { context, resources } => {
            offline::chart_merged(state, context, resources);
            crate::workstation::features::orders::checks::review_medications(state);
        }
    }
}
