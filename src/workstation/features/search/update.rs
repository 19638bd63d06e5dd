//! Patient search: the query as it is typed, the debounced FHIR search, ranked rows, and
//! opening a chart from a row.

use serde_json::Value;

use crate::workstation::chart::read_patient;
use crate::workstation::client::FetchError;

use crate::workstation::action::Action;
use crate::workstation::features::chart::load::open_patient;
use crate::workstation::layout;
use crate::workstation::query;
use crate::workstation::state::*;

/// Rows whose ward/bed or last visit is looked up after a search.
const LOCATION_ROWS: usize = 30;

/// A character typed into the query. `/` clears the query, except inside a date being typed
/// (`14/03/1956`).
pub(crate) fn type_char(state: &mut State, c: char, effects: &mut Vec<Effect>) {
    let q = &mut state.search.query;
    if c == '/' && !q.ends_with(|x: char| x.is_ascii_digit()) {
        q.clear();
    } else {
        q.push(c);
    }
    query_changed(state, effects);
}

pub(crate) fn query_changed(state: &mut State, effects: &mut Vec<Effect>) {
    let s = &mut state.search;
    s.generation += 1;
    s.cursor = 0;
    s.scroll = 0;
    if s.query.trim().is_empty() {
        s.status = SearchStatus::Recent;
        s.rows.clear();
    } else {
        s.status = SearchStatus::Typing;
        effects.push(Effect::Debounce {
            generation: s.generation,
        });
    }
}

pub(crate) fn start_search(state: &mut State, effects: &mut Vec<Effect>) {
    let s = &mut state.search;
    match query::parse(&s.query) {
        Ok(q) => {
            s.status = SearchStatus::Searching;
            effects.push(Effect::SearchPatients {
                generation: s.generation,
                params: q.params(),
            });
        }
        Err(hint) => {
            s.status = SearchStatus::Hint(hint.to_string());
            s.rows.clear();
        }
    }
    state.dirty = true;
}

pub(crate) fn search_done(
    state: &mut State,
    result: Result<Vec<Value>, FetchError>,
    effects: &mut Vec<Effect>,
) {
    let s = &mut state.search;
    match result {
        Ok(resources) => {
            let q = query::parse(&s.query).unwrap_or_default();
            let patients = resources.iter().filter_map(read_patient).collect();
            s.rows = query::rank(patients, &q)
                .into_iter()
                .map(|r| Row {
                    patient: r.patient,
                    matched: r.matched,
                    location: None,
                })
                .collect();
            s.cursor = 0;
            s.scroll = 0;
            let open_single = std::mem::take(&mut s.open_single);
            if s.rows.is_empty() {
                s.status = SearchStatus::NoMatch;
            } else if open_single && s.rows.len() == 1 {
                s.status = SearchStatus::Done;
                let row = s.rows[0].clone();
                open_patient(state, row, effects);
            } else {
                s.status = SearchStatus::Done;
                effects.push(Effect::FetchLocations {
                    patient_ids: s
                        .rows
                        .iter()
                        .take(LOCATION_ROWS)
                        .map(|r| r.patient.id.clone())
                        .collect(),
                });
            }
        }
        Err(e) => {
            s.open_single = false;
            s.status = SearchStatus::Failed(e.to_string());
            s.rows.clear();
        }
    }
}

pub(crate) fn search_rows(size: ratatui::layout::Rect) -> usize {
    layout::inner_rows(layout::search(size).list)
}

pub(crate) fn clamp_search(state: &mut State) {
    let rows = search_rows(state.size);
    let s = &mut state.search;
    let n = s.shown().len();
    s.cursor = s.cursor.min(n.saturating_sub(1));
    if s.cursor < s.scroll {
        s.scroll = s.cursor;
    } else if s.cursor >= s.scroll + rows {
        s.scroll = s.cursor + 1 - rows;
    }
}

pub(crate) fn search_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let rows = search_rows(state.size);
    let s = &mut state.search;
    let n = s.shown().len();
    match action {
        Action::OpenSelected => {
            if let Some(row) = s.shown().get(s.cursor).cloned() {
                open_patient(state, row, effects);
            } else if matches!(s.status, SearchStatus::Typing) {
                // Enter before the pause: search now.
                start_search(state, effects);
            }
            return;
        }
        Action::Back => {
            if state.chart.is_some() {
                state.screen = Screen::Chart;
            } else if !s.query.is_empty() {
                s.query.clear();
                query_changed(state, effects);
            } else {
                s.focus = SearchFocus::Input;
            }
            return;
        }
        Action::NextPane | Action::PreviousPane => {
            s.focus = match s.focus {
                SearchFocus::Input => SearchFocus::List,
                SearchFocus::List => SearchFocus::Input,
            };
        }
        Action::MoveDown => s.cursor = (s.cursor + 1).min(n.saturating_sub(1)),
        Action::MoveUp => s.cursor = s.cursor.saturating_sub(1),
        Action::PageDown => s.cursor = (s.cursor + rows).min(n.saturating_sub(1)),
        Action::PageUp => s.cursor = s.cursor.saturating_sub(rows),
        Action::GoTop => s.cursor = 0,
        Action::GoBottom => s.cursor = n.saturating_sub(1),
        Action::CloseChart => {
            state.chart = None;
        }
        _ => {}
    }
    clamp_search(state);
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: SearchMsg, effects: &mut Vec<Effect>) {
    let _rows = crate::workstation::features::chart::timeline::timeline_rows(state.size);
    match msg {
        SearchMsg::RecentIds(ids) => {
            state.recent_ids = ids;
            if !state.recent_ids.is_empty() {
                effects.push(Effect::LoadRecent {
                    patient_ids: state.recent_ids.clone(),
                });
            }
            state.dirty = true;
        }
        SearchMsg::Due(generation) => {
            if generation == state.search.generation {
                start_search(state, effects);
            }
        }
        SearchMsg::Done { generation, result } => {
            if generation != state.search.generation {
                state.dropped_stale += 1;
            } else {
                search_done(state, result, effects);
                state.dirty = true;
            }
        }
        SearchMsg::Locations(found) => {
            for (id, location) in found {
                let rows = state.search.rows.iter_mut();
                for row in rows.chain(state.search.recent.iter_mut()) {
                    if row.patient.id == id {
                        row.location = location.clone();
                    }
                }
            }
            state.dirty = true;
        }
        SearchMsg::RecentLoaded(result) => {
            if let Ok(resources) = result {
                let mut rows: Vec<Row> = resources
                    .iter()
                    .filter_map(read_patient)
                    .map(|patient| Row {
                        patient,
                        matched: Vec::new(),
                        location: None,
                    })
                    .collect();
                let order = &state.recent_ids;
                rows.sort_by_key(|r| order.iter().position(|id| *id == r.patient.id));
                let ids = rows.iter().map(|r| r.patient.id.clone()).collect();
                state.search.recent = rows;
                effects.push(Effect::FetchLocations { patient_ids: ids });
                state.dirty = true;
            }
        }
    }
}
