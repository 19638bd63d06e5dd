//! Opening a chart: a new patient context, the request for the patient first, the recent
//! list; and reloading it.

use crate::workstation::chart::Chart;
use crate::workstation::state::*;

/// How many recently opened patients are remembered.
pub const RECENT_MAX: usize = 20;

/// The effect that opens `c`, remembering how (`check` for a restricted record first; the
/// user is `support` staff).
pub fn open(c: &mut ChartState, check: bool, support: bool) -> Effect {
    c.opening = Opening { check, support };
    Effect::OpenChart {
        context: c.context,
        patient_id: c.patient_id.clone(),
        // Support staff see no clinical content, so nothing of it is shown from the cache.
        from_cache: !c.opening.withholds(),
    }
}

pub fn open_patient(state: &mut State, row: Row, effects: &mut Vec<Effect>) {
    open_patient_id(state, row.patient.id.clone(), Some(row.patient), effects);
}

/// Opens a chart under a new patient context; `known` (from a search row) fills the banner
/// until the server's copy arrives.
pub fn open_patient_id(
    state: &mut State,
    id: String,
    known: Option<crate::workstation::chart::PatientInfo>,
    effects: &mut Vec<Effect>,
) {
    crate::workstation::features::leave_note(state, effects);
    state.context += 1;
    let mut chart = Chart::for_patient(&id);
    chart.patient = known;
    let mut c = ChartState::new(state.context, chart);
    effects.push(crate::workstation::features::chart::load::open(
        &mut c,
        true,
        state.access.demographics_only(),
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

/// Reloads the open chart after a write, keeping the panes open on it as they were (the
/// note, the basket, the vital-signs entry, the allergies-and-problems form) and the view.
/// The flowsheet is rebuilt and the basket checked again once the new record arrives.
pub fn refresh_keeping(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    let kept = (
        c.note.take(),
        c.orders.take(),
        c.vitals.take(),
        c.lists.take(),
        c.view.clone(),
    );
    refresh(state, effects);
    if let Some(c) = &mut state.chart {
        (c.note, c.orders, c.vitals, c.lists, c.view) = kept;
        if let Some(v) = &mut c.vitals {
            v.sheet_for = usize::MAX;
        }
    }
}

/// Reloads the open chart under a new context, keeping the place in its timeline.
pub fn refresh(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &state.chart else { return };
    let Some(patient) = c.chart.patient.clone() else {
        return;
    };
    let (cursor, filter, find) = (c.cursor, c.filter, c.find.clone());
    open_patient(
        state,
        Row {
            patient,
            matched: Vec::new(),
            location: None,
        },
        effects,
    );
    if let Some(c) = &mut state.chart {
        (c.cursor, c.filter, c.find, c.moved) = (cursor, filter, find, cursor > 0);
    }
}
