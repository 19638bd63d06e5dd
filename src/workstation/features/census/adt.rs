//! Admit (from a chart), transfer and discharge (from a list's row), and the bed board: the
//! ward, then a free bed on its board (or where the patient goes), then the change named in
//! full for Enter. The server has the last word on a bed (one patient to a bed).

use crate::workstation::action::Action;
use crate::workstation::census::adt::{AdtChange, DISPOSITIONS, admission, board};
use crate::workstation::features::census::{Adt, AdtKind, AdtStep, Board, CensusState};
use crate::workstation::state::*;

/// `I` on a chart: admit this patient to a ward and bed. True when the wards are still to
/// be asked for.
pub(crate) fn admit(state: &mut State, effects: &mut Vec<Effect>) -> bool {
    let Some(patient) = chart_patient(state) else {
        return false;
    };
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Census;
    let c = state.census.get_or_insert_with(CensusState::default);
    c.picking = None;
    c.board = None;
    c.adt = Some(Adt {
        kind: AdtKind::Admit,
        patient,
        step: AdtStep::Ward(0),
        from_chart: true,
    });
    !matches!(c.lists, Some(Ok(_)))
}

/// `t` or `d` on a list's row: move or end that patient's stay.
pub(crate) fn start(state: &mut State, discharge: bool) {
    let Some(c) = &mut state.census else { return };
    let Some(row) = c.rows.get(c.cursor) else {
        return;
    };
    let Some(stay_id) = row.stay.clone() else {
        state.notice = Some(Notice {
            level: Level::Info,
            text: format!("{} has no stay under way to move or end", row.name),
        });
        return;
    };
    c.adt = Some(Adt {
        patient: (row.patient_id.clone(), row.name.clone()),
        kind: if discharge {
            AdtKind::Discharge { stay_id }
        } else {
            AdtKind::Transfer { stay_id }
        },
        step: if discharge {
            AdtStep::Disposition(0)
        } else {
            AdtStep::Ward(0)
        },
        from_chart: false,
    });
}

/// `b` on a ward's list: its bed board.
pub(crate) fn show_board(state: &mut State, effects: &mut Vec<Effect>) {
    let ward = match state.census.as_ref().and_then(|c| c.source.clone()) {
        Some(crate::workstation::census::Source::Ward(w)) => w,
        _ => {
            state.notice = Some(Notice {
                level: Level::Info,
                text: "the bed board is a ward's: choose a ward's list first".into(),
            });
            return;
        }
    };
    load_board(state, ward, effects);
}

fn load_board(
    state: &mut State,
    ward: crate::workstation::census::Ward,
    effects: &mut Vec<Effect>,
) {
    state.context += 1;
    let generation = state.context;
    let Some(c) = &mut state.census else { return };
    effects.push(Effect::LoadBoard {
        generation,
        ward_id: ward.id.clone(),
    });
    c.board = Some(Board {
        ward,
        beds: None,
        cursor: 0,
        generation,
    });
}

fn end(state: &mut State) {
    let Some(c) = &mut state.census else { return };
    let back = c.adt.take().is_some_and(|a| a.from_chart);
    c.board = None;
    if back && state.chart.is_some() {
        state.screen = Screen::Chart;
    }
}

/// A key while the bed board or an admission, transfer or discharge is on screen; `None`
/// when it was theirs.
pub(crate) fn key(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let Some(c) = &mut state.census else {
        return Some(action);
    };
    let Some(adt) = c.adt.clone() else {
        // The bed board alone: move, Back closes it.
        let b = c.board.as_mut()?;
        let n = b
            .beds
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .map_or(0, Vec::len);
        if let Some(cursor) = crate::workstation::features::list_cursor(b.cursor, action, n) {
            b.cursor = cursor;
            return None;
        }
        return match action {
            Action::Back | Action::BedBoard => {
                c.board = None;
                None
            }
            Action::RefreshList => {
                let ward = b.ward.clone();
                load_board(state, ward, effects);
                None
            }
            other => Some(other),
        };
    };
    if action == Action::Back {
        match adt.step {
            // From the bed back to the ward.
            AdtStep::Bed if !matches!(adt.kind, AdtKind::Discharge { .. }) => {
                c.board = None;
                if let Some(a) = &mut c.adt {
                    a.step = AdtStep::Ward(0);
                }
            }
            _ => {
                end(state);
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: "nothing was changed".into(),
                });
            }
        }
        return None;
    }
    let wards = c.wards();
    match adt.step {
        AdtStep::Ward(at) => {
            if let Some(cursor) = crate::workstation::features::list_cursor(at, action, wards.len())
            {
                if let Some(a) = &mut c.adt {
                    a.step = AdtStep::Ward(cursor);
                }
            } else if action == Action::Submit
                && let Some(ward) = wards.get(at).cloned()
            {
                if let Some(a) = &mut c.adt {
                    a.step = AdtStep::Bed;
                }
                load_board(state, ward, effects);
            }
        }
        AdtStep::Disposition(at) => {
            if let Some(cursor) =
                crate::workstation::features::list_cursor(at, action, DISPOSITIONS.len())
            {
                if let Some(a) = &mut c.adt {
                    a.step = AdtStep::Disposition(cursor);
                }
            } else if action == Action::Submit
                && let AdtKind::Discharge { stay_id } = &adt.kind
            {
                let change = AdtChange::Discharge {
                    patient: adt.patient.clone(),
                    stay_id: stay_id.clone(),
                    disposition: DISPOSITIONS[at.min(DISPOSITIONS.len() - 1)].0.to_string(),
                };
                if let Some(a) = &mut c.adt {
                    a.step = AdtStep::Confirm(Box::new(change));
                }
            }
        }
        AdtStep::Bed => {
            let b = c.board.as_mut()?;
            let beds = b
                .beds
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .cloned()
                .unwrap_or_default();
            if let Some(cursor) =
                crate::workstation::features::list_cursor(b.cursor, action, beds.len())
            {
                b.cursor = cursor;
                return None;
            }
            if action != Action::Submit {
                return None;
            }
            let bed = beds.get(b.cursor).cloned()?;
            if !bed.free() {
                let who = match &bed.occupant {
                    Some((name, _)) => format!("occupied by {name}"),
                    None => "out of service".into(),
                };
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!("{} is {who}: choose a free bed", bed.name),
                });
                return None;
            }
            let ward = b.ward.clone();
            let change = match &adt.kind {
                AdtKind::Admit => {
                    let attending = (state.access.role() == Some("physician"))
                        .then(|| state.notes.author_json());
                    let now = crate::fhir::date::instant(state.now_ms);
                    AdtChange::Admit {
                        patient: adt.patient.clone(),
                        encounter: admission(&adt.patient.0, &ward, &bed, attending.as_ref(), &now),
                    }
                }
                AdtKind::Transfer { stay_id } => AdtChange::Transfer {
                    patient: adt.patient.clone(),
                    stay_id: stay_id.clone(),
                    ward,
                    bed,
                },
                AdtKind::Discharge { .. } => return None,
            };
            let c = state.census.as_mut()?;
            if let Some(a) = &mut c.adt {
                a.step = AdtStep::Confirm(Box::new(change));
            }
        }
        AdtStep::Confirm(change) => {
            if action == Action::Submit {
                effects.push(Effect::Adt { change });
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: "saving...".into(),
                });
                end(state);
            }
        }
    }
    None
}

/// A ward's beds and stays: its board.
pub(crate) fn on_board(
    state: &mut State,
    generation: u64,
    result: Result<
        (Vec<serde_json::Value>, Vec<serde_json::Value>),
        crate::workstation::client::FetchError,
    >,
) {
    let Some(b) = state.census.as_mut().and_then(|c| c.board.as_mut()) else {
        return;
    };
    if b.generation != generation {
        state.dropped_stale += 1;
        return;
    }
    b.beds = Some(
        result
            .map(|(beds, stays)| board(&beds, &stays))
            .map_err(|e| format!("the beds could not be read: {e}")),
    );
    // Bed picking starts on the first free bed.
    if let Some(Ok(beds)) = &b.beds {
        b.cursor = beds.iter().position(|r| r.free()).unwrap_or(0);
    }
}

/// The answer to an admission, transfer or discharge (the list is asked again by the
/// caller).
pub(crate) fn done(
    state: &mut State,
    change: &AdtChange,
    result: Result<(), crate::workstation::client::FetchError>,
    effects: &mut Vec<Effect>,
) {
    use crate::workstation::client::FetchError;
    let (level, text) = match result {
        Ok(()) => (Level::Info, change.words()),
        Err(FetchError::Conflict(409)) => (
            Level::Warning,
            "NOT saved: that bed is held by another stay (the server refused a second patient in it); choose a free bed".into(),
        ),
        Err(FetchError::Conflict(_)) => (
            Level::Warning,
            "NOT saved: the stay was changed meanwhile on another terminal; look again".into(),
        ),
        Err(e) => (Level::Warning, format!("NOT saved: {e}")),
    };
    state.notice = Some(Notice { level, text });
    // The chart open shows the stay as it now is (the screen stays where it is).
    if state.chart.as_ref().is_some_and(|c| match change {
        AdtChange::Admit { patient, .. }
        | AdtChange::Transfer { patient, .. }
        | AdtChange::Discharge { patient, .. } => c.patient_id == patient.0,
    }) {
        let screen = state.screen;
        crate::workstation::features::chart::load::refresh_keeping(state, effects);
        state.screen = screen;
    }
}

/// The open chart's patient (id, name), for a list entry or an admission.
pub(crate) fn chart_patient(state: &State) -> Option<(String, String)> {
    let c = state.chart.as_ref()?;
    let name = c
        .chart
        .patient
        .as_ref()
        .map(|p| p.display_name())
        .unwrap_or_else(|| c.patient_id.clone());
    Some((c.patient_id.clone(), name))
}
