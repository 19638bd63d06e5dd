//! Registration: typing the form, Enter to look for the patient first, the explicit choice to
//! register a new record over what was found, and the answers.

use serde_json::Value;

use crate::workstation::action::Action;
use crate::workstation::features::register::{FIELDS, RegisterState, Stage};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::record::registration::candidates;
use crate::workstation::state::*;

pub(crate) fn open_register(state: &mut State) {
    if state.register.is_none() {
        state.context += 1;
        state.register = Some(RegisterState::new(state.context));
    }
    state.screen = Screen::Search;
    state.field_cursor = None;
}

fn warn(state: &mut State, text: String) {
    if let Some(r) = &mut state.register {
        r.error = Some(text.clone());
    }
    state.notice = Some(Notice {
        level: Level::Warning,
        text,
    });
}

/// A key while the registration form is open. True when it was the form's.
pub(crate) fn register_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> bool {
    let Some(r) = &mut state.register else {
        return false;
    };
    if r.stage == Stage::Form
        && (key.typed_char().is_some()
            || state.keymap.lookup_local(Context::Register, key).is_none())
    {
        let at = r.at;
        if crate::workstation::line::edit_at(&mut r.values[at], &mut state.field_cursor, key) {
            r.error = None;
            return true;
        }
    }
    if let Some(action) = crate::workstation::features::resolve(state, Context::Register, key) {
        register_action(state, action, effects);
    }
    true
}

pub(crate) fn register_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let today = state.display.today;
    let Some(r) = &mut state.register else { return };
    match (&mut r.stage, action) {
        (Stage::Form, Action::NextField | Action::MoveDown) => {
            r.at = (r.at + 1) % FIELDS.len();
            state.field_cursor = None;
        }
        (Stage::Form, Action::PreviousField | Action::MoveUp) => {
            r.at = (r.at + FIELDS.len() - 1) % FIELDS.len();
            state.field_cursor = None;
        }
        (Stage::Form, Action::Submit) => {
            let reg = r.registration();
            let problems = reg.problems(today);
            if let Some(first) = problems.first() {
                let text = format!("NOT registered: {first}");
                return warn(state, text);
            }
            state.context += 1;
            r.generation = state.context;
            r.stage = Stage::Searching;
            r.error = None;
            effects.push(Effect::FindDuplicates {
                generation: r.generation,
                searches: reg.duplicate_searches(),
            });
        }
        (Stage::Form, Action::Back) => {
            // What was typed is not dropped by one stray Esc.
            let typed = r.values.iter().any(|v| !v.trim().is_empty());
            if typed && r.error.as_deref() != Some(DISCARD) {
                r.error = Some(DISCARD.into());
            } else {
                state.register = None;
            }
        }
        (Stage::Candidates { found, cursor, .. }, Action::MoveDown) => {
            *cursor = (*cursor + 1).min(found.len());
        }
        (Stage::Candidates { cursor, .. }, Action::MoveUp) => {
            *cursor = cursor.saturating_sub(1);
        }
        (Stage::Candidates { found, cursor, .. }, Action::Submit) => {
            match found.get(*cursor) {
                // It was one of these: their chart opens, nothing is created.
                Some(c) => {
                    let id = c.id.clone();
                    state.register = None;
                    state.notice = Some(Notice {
                        level: Level::Info,
                        text: "nothing registered: the existing record is opened".into(),
                    });
                    crate::workstation::features::chart::load::open_patient_id(
                        state, id, None, effects,
                    );
                }
                // The explicit choice: a new record.
                None => {
                    let bundle = r.registration().transaction(&r.id);
                    state.context += 1;
                    r.generation = state.context;
                    r.stage = Stage::Creating;
                    effects.push(Effect::RegisterPatient {
                        generation: r.generation,
                        bundle: Box::new(bundle),
                    });
                }
            }
        }
        (Stage::Candidates { .. }, Action::Back) => r.stage = Stage::Form,
        _ => {}
    }
}

const DISCARD: &str = "Esc again discards the registration form";

/// The id of the Patient a transaction's answer created.
fn created_patient(answer: &Value) -> Option<String> {
    answer["entry"].as_array()?.iter().find_map(|e| {
        let status = e.pointer("/response/status")?.as_str()?;
        let location = e.pointer("/response/location")?.as_str()?;
        let rest = location.split("Patient/").nth(1)?;
        (status.starts_with('2')).then(|| rest.split('/').next().unwrap_or(rest).to_string())
    })
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    let generation = match &msg {
        super::Msg::Found { generation, .. } | super::Msg::Created { generation, .. } => {
            *generation
        }
    };
    let Some(r) = state
        .register
        .as_mut()
        .filter(|r| r.generation == generation)
    else {
        state.dropped_stale += 1;
        return;
    };
    match msg {
        super::Msg::Found { result, .. } => {
            let reg = r.registration();
            let (found, failed) = match result {
                Ok(found) => (candidates(&reg, &found), None),
                Err(e) => (Vec::new(), Some(e)),
            };
            r.stage = Stage::Candidates {
                found,
                failed,
                cursor: 0,
            };
        }
        super::Msg::Created { result, .. } => match result {
            Ok(answer) => match created_patient(&answer) {
                Some(id) => {
                    let name = {
                        let reg = r.registration();
                        format!("{}, {}", reg.family.to_uppercase(), reg.given)
                    };
                    state.register = None;
                    state.notice = Some(Notice {
                        level: Level::Info,
                        text: format!(
                            "{name} registered: the MRN the server gave is on the banner"
                        ),
                    });
                    crate::workstation::features::chart::load::open_patient_id(
                        state, id, None, effects,
                    );
                }
                None => {
                    r.stage = Stage::Form;
                    warn(
                        state,
                        "the server's answer does not show the patient registered: search for them before registering again (sending it again creates nothing twice)".into(),
                    );
                }
            },
            Err(e) => {
                r.stage = Stage::Form;
                warn(
                    state,
                    format!("NOT registered: {e}. The form is kept; Enter tries again"),
                );
            }
        },
    }
}
