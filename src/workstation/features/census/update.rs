//! The census: opening it (the wards first), picking a ward, moving, sorting, opening a chart,
//! and the answers, including the poll that keeps it up to date while it is on screen.

use crate::workstation::action::Action;
use crate::workstation::census::{Sort, rows, sorted, wards};
use crate::workstation::features::Outcome;
use crate::workstation::features::census::{CensusState, POLL_SECONDS};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// F4: the census on screen; the wards are asked for the first time, the ward shown is
/// asked again.
pub(crate) fn open_census(state: &mut State, effects: &mut Vec<Effect>) {
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Census;
    state.overlay = None;
    let c = state.census.get_or_insert_with(CensusState::default);
    c.opened_from = false;
    match (&c.wards, &c.ward) {
        (None, _) | (Some(Err(_)), _) => {
            state.context += 1;
            c.generation = state.context;
            c.wards = None;
            effects.push(Effect::LoadWards {
                generation: c.generation,
            });
        }
        (Some(Ok(_)), None) => c.picking = Some(0),
        (Some(Ok(_)), Some(_)) => load(state, effects),
    }
}

/// Asks for the chosen ward's census again.
fn load(state: &mut State, effects: &mut Vec<Effect>) {
    let clinical = !state.access.demographics_only();
    let Some(c) = &mut state.census else { return };
    let Some(ward) = &c.ward else { return };
    state.context += 1;
    c.generation = state.context;
    c.loading = true;
    effects.push(Effect::LoadCensus {
        generation: c.generation,
        ward_id: ward.id.clone(),
        clinical,
    });
}

/// A key while the census is on screen.
pub(crate) fn census_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    if state.screen != Screen::Census || state.census.is_none() {
        return Outcome::NotMine;
    }
    match crate::workstation::features::resolve(state, Context::Census, key) {
        Some(action) => match census_action(state, action, effects) {
            Some(other) => Outcome::Pass(other),
            None => Outcome::Done,
        },
        None => Outcome::Done,
    }
}

/// The census's own actions; others are handed back.
fn census_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let c = state.census.as_mut()?;
    if let Some(pick) = c.picking {
        let n = match &c.wards {
            Some(Ok(w)) => w.len(),
            _ => 0,
        };
        match action {
            Action::MoveDown => c.picking = Some((pick + 1).min(n.saturating_sub(1))),
            Action::MoveUp => c.picking = Some(pick.saturating_sub(1)),
            Action::Submit => {
                let chosen = match &c.wards {
                    Some(Ok(w)) => w.get(pick).cloned(),
                    _ => None,
                };
                if let Some(ward) = chosen {
                    if c.ward.as_ref() != Some(&ward) {
                        c.rows.clear();
                        c.fetched = None;
                        c.loaded_ms = None;
                        c.cursor = 0;
                    }
                    c.ward = Some(ward);
                    c.picking = None;
                    c.error = None;
                    load(state, effects);
                }
            }
            Action::Back => {
                c.picking = None;
                if c.ward.is_none() {
                    state.screen = Screen::Search;
                }
            }
            other => return Some(other),
        }
        return None;
    }
    if let Some(cursor) = crate::workstation::features::list_cursor(c.cursor, action, c.rows.len())
    {
        c.cursor = cursor;
        return None;
    }
    match action {
        Action::SortList => {
            let at = c.rows.get(c.cursor).map(|r| r.patient_id.clone());
            c.sort = c.sort.next();
            c.rows = sorted(&c.rows, c.sort);
            if c.sort == Sort::Bed
                && let Some(f) = &c.fetched
            {
                c.rows = rows(f, state.display.today);
            }
            c.cursor = at
                .and_then(|id| c.rows.iter().position(|r| r.patient_id == id))
                .unwrap_or(0);
        }
        Action::ChooseWard => {
            let at = match (&c.wards, &c.ward) {
                (Some(Ok(w)), Some(ward)) => w.iter().position(|x| x == ward).unwrap_or(0),
                _ => 0,
            };
            c.picking = Some(at);
        }
        Action::RefreshList => load(state, effects),
        Action::Submit => {
            let row = c.rows.get(c.cursor)?;
            let id = row.patient_id.clone();
            c.opened_from = true;
            crate::workstation::features::chart::load::open_patient_id(state, id, None, effects);
        }
        Action::Back => state.screen = Screen::Search,
        other => return Some(other),
    }
    None
}

/// Closing a chart opened from the census comes back to it.
pub(crate) fn after_close(state: &mut State, effects: &mut Vec<Effect>) {
    if state.census.as_ref().is_some_and(|c| c.opened_from) {
        open_census(state, effects);
    }
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    let today = state.display.today;
    let now = state.now_ms;
    let on_screen = state.screen == Screen::Census;
    let Some(c) = &mut state.census else { return };
    match msg {
        super::Msg::Wards { generation, result } => {
            if generation != c.generation {
                state.dropped_stale += 1;
                return;
            }
            match result {
                Ok(locations) => {
                    let w = wards(&locations);
                    // One ward: nothing to pick.
                    if w.len() == 1 {
                        c.ward = w.first().cloned();
                        c.wards = Some(Ok(w));
                        load(state, effects);
                    } else {
                        c.picking = Some(0);
                        c.wards = Some(Ok(w));
                    }
                }
                Err(e) => c.wards = Some(Err(format!("the wards could not be read: {e}"))),
            }
        }
        super::Msg::Loaded {
            generation,
            ward_id,
            result,
        } => {
            if generation != c.generation || c.ward.as_ref().is_none_or(|w| w.id != ward_id) {
                state.dropped_stale += 1;
                return;
            }
            c.loading = false;
            match result {
                Ok(fetched) => {
                    let at = c.rows.get(c.cursor).map(|r| r.patient_id.clone());
                    c.rows = sorted(&rows(&fetched, today), c.sort);
                    c.cursor = at
                        .and_then(|id| c.rows.iter().position(|r| r.patient_id == id))
                        .unwrap_or(0)
                        .min(c.rows.len().saturating_sub(1));
                    c.fetched = Some(fetched);
                    c.loaded_ms = Some(now);
                    c.error = None;
                }
                Err(e) => c.error = Some(e.to_string()),
            }
            effects.push(Effect::Poll {
                what: crate::workstation::msg::Polled::Census,
                generation: c.generation,
                after_seconds: POLL_SECONDS,
            });
        }
        super::Msg::Due { generation } => {
            if generation == c.generation && on_screen && !c.loading {
                load(state, effects);
            }
        }
    }
}
