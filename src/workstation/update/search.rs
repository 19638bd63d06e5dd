//! Patient search: the query as it is typed, the debounced FHIR search, ranked rows, and
//! opening a chart from a row.

use serde_json::Value;

use crate::workstation::chart::{Chart, read_patient};
use crate::workstation::client::FetchError;

use super::super::action::Action;
use super::super::layout;
use super::super::query;
use super::super::state::*;
use super::{LOCATION_ROWS, RECENT_MAX};

/// A character typed into the query. `/` clears the query, except inside a date being typed
/// (`14/03/1956`).
pub(super) fn type_char(state: &mut State, c: char, effects: &mut Vec<Effect>) {
    let q = &mut state.search.query;
    if c == '/' && !q.ends_with(|x: char| x.is_ascii_digit()) {
        q.clear();
    } else {
        q.push(c);
    }
    query_changed(state, effects);
}

pub(super) fn query_changed(state: &mut State, effects: &mut Vec<Effect>) {
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

pub(super) fn start_search(state: &mut State, effects: &mut Vec<Effect>) {
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

pub(super) fn search_done(
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

pub(super) fn search_rows(size: ratatui::layout::Rect) -> usize {
    layout::inner_rows(layout::search(size).list)
}

pub(super) fn clamp_search(state: &mut State) {
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

pub(super) fn open_patient(state: &mut State, row: Row, effects: &mut Vec<Effect>) {
    open_patient_id(state, row.patient.id.clone(), Some(row.patient), effects);
}

/// Opens a chart under a new patient context; `known` (from a search row) fills the banner
/// until the server's copy arrives.
pub(super) fn open_patient_id(
    state: &mut State,
    id: String,
    known: Option<crate::workstation::chart::PatientInfo>,
    effects: &mut Vec<Effect>,
) {
    super::leave_note(state, effects);
    state.context += 1;
    let mut chart = Chart::for_patient(&id);
    chart.patient = known;
    let mut c = ChartState::new(state.context, chart);
    effects.push(super::opening::open(
        &mut c,
        true,
        state.access.role() == Some("support"),
    ));
    state.chart = Some(c);
    state.screen = Screen::Chart;
    state.overlay = None;
    state.recent_ids.retain(|x| *x != id);
    state.recent_ids.insert(0, id);
    state.recent_ids.truncate(RECENT_MAX);
    // The recent list on screen follows at once.
    let s = &mut state.search;
    let row = state
        .chart
        .as_ref()
        .and_then(|c| c.chart.patient.clone())
        .map(|patient| Row {
            patient,
            matched: Vec::new(),
            location: None,
        });
    if let Some(row) = row {
        let location = s
            .rows
            .iter()
            .chain(&s.recent)
            .find(|r| r.patient.id == row.patient.id)
            .and_then(|r| r.location.clone());
        s.recent.retain(|r| r.patient.id != row.patient.id);
        s.recent.insert(0, Row { location, ..row });
        s.recent.truncate(RECENT_MAX);
    }
    effects.push(Effect::SaveRecent {
        patient_ids: state.recent_ids.clone(),
    });
}

pub(super) fn search_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
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
