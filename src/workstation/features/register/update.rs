//! Registration: typing the form, Enter to look for the patient first, the explicit choice to
//! register a new record over what was found, and the answers. Editing the open chart's
//! patient: the form filled from the server's current version, saved with `If-Match`, and an
//! edit that crossed another's shown beside it.

use serde_json::Value;

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::register::{Editing, RegisterState, Stage};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::record::demographics::{from_patient, merge};
use crate::workstation::record::registration::candidates;
use crate::workstation::state::*;

pub(crate) fn open_register(state: &mut State) {
    if let Some(e) = state.register.as_ref().and_then(|r| r.editing.as_ref()) {
        let text = format!(
            "the details of {} are being edited: save or close that first",
            e.label
        );
        state.notice = Some(Notice {
            level: Level::Warning,
            text,
        });
        return;
    }
    if state.register.is_none() {
        state.context += 1;
        state.register = Some(RegisterState::new(state.context));
    }
    state.screen = Screen::Search;
    state.field_cursor = None;
}

/// Edits the open chart's patient: the form opens below the banner once the server's current
/// version has been read.
pub(crate) fn open_edit(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    if state.register.as_ref().is_some_and(|r| r.editing.is_none()) {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "a registration is open: finish or close it first (Ctrl-N shows it)".into(),
        });
        return;
    }
    let editing_this = state
        .register
        .as_ref()
        .and_then(|r| r.editing.as_ref())
        .is_some_and(|e| e.patient_id == c.patient_id);
    c.view = ChartView::Demographics;
    if editing_this {
        return;
    }
    let label = crate::workstation::features::patient_label(c);
    let patient_id = c.patient_id.clone();
    state.context += 1;
    let mut r = RegisterState::new(state.context);
    r.stage = Stage::Loading;
    r.editing = Some(Editing {
        patient_id: patient_id.clone(),
        label,
        version: String::new(),
        base: Box::new(Value::Null),
        base_values: Vec::new(),
    });
    effects.push(Effect::ReadForEdit {
        generation: r.generation,
        patient_id,
    });
    state.register = Some(r);
    state.field_cursor = None;
}

/// A key while the open chart shows its patient's details being edited.
pub(crate) fn demographics_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let editing = state
        .chart
        .as_ref()
        .is_some_and(|c| c.view == ChartView::Demographics)
        && state.register.as_ref().is_some_and(|r| r.editing.is_some());
    if !editing {
        return Outcome::NotMine;
    }
    register_key(state, key, effects)
}

/// An edit belongs to its patient's chart: when another chart (or none) is open, it is
/// closed; a chart left on the edit's view with no edit goes back to its timeline.
pub(crate) fn sync(state: &mut State) {
    let open = state.chart.as_ref().map(|c| c.patient_id.as_str());
    let stale = state
        .register
        .as_ref()
        .and_then(|r| r.editing.as_ref())
        .is_some_and(|e| open != Some(e.patient_id.as_str()));
    if stale {
        state.register = None;
    }
    let editing = state.register.as_ref().is_some_and(|r| r.editing.is_some());
    if let Some(c) = &mut state.chart
        && c.view == ChartView::Demographics
        && !editing
    {
        c.view = ChartView::Timeline;
    }
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

/// A key while the registration form is open: typed into the form, or the form's action, or
/// an action of the whole screen (help, the palette, lock...) passed back.
pub(crate) fn register_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let Some(r) = &mut state.register else {
        return Outcome::NotMine;
    };
    if r.stage == Stage::Form
        && (key.typed_char().is_some()
            || state.keymap.lookup_local(Context::Register, key).is_none())
    {
        let at = r.at;
        if crate::workstation::line::edit_at(&mut r.values[at], &mut state.field_cursor, key) {
            r.error = None;
            return Outcome::Done;
        }
    }
    match crate::workstation::features::resolve(state, Context::Register, key) {
        Some(
            action @ (Action::NextField
            | Action::PreviousField
            | Action::MoveUp
            | Action::MoveDown
            | Action::Submit
            | Action::Back),
        ) => {
            register_action(state, action, effects);
            Outcome::Done
        }
        Some(other) => Outcome::Pass(other),
        None => Outcome::Done,
    }
}

pub(crate) fn register_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let today = state.display.today;
    let support = state.access.role() == Some("support");
    let Some(r) = &mut state.register else { return };
    match (&mut r.stage, action) {
        (Stage::Form, Action::NextField | Action::MoveDown) => {
            r.step(1);
            state.field_cursor = None;
        }
        (Stage::Form, Action::PreviousField | Action::MoveUp) => {
            r.step(-1);
            state.field_cursor = None;
        }
        (Stage::Form, Action::Submit) if r.editing.is_some() => {
            let reg = r.registration();
            let problems = reg.problems(today);
            if let Some(first) = problems.first() {
                let text = format!("NOT saved: {first}");
                return warn(state, text);
            }
            let Some(e) = &r.editing else { return };
            let mut patient = reg.apply_to(&e.base);
            if patient == *e.base {
                let text = "nothing changed: there is nothing to save".to_string();
                return warn(state, text);
            }
            let reason = r.reason();
            if support && reason.is_none() {
                r.at = super::REASON;
                state.field_cursor = None;
                let text =
                    "NOT saved: support staff give a reason for a correction (the reason row)"
                        .to_string();
                return warn(state, text);
            }
            if let Some(o) = patient.as_object_mut() {
                o.remove("meta");
                o.insert("id".into(), Value::String(e.patient_id.clone()));
            }
            state.context += 1;
            r.generation = state.context;
            r.stage = Stage::Saving;
            r.error = None;
            effects.push(Effect::SaveDemographics {
                generation: r.generation,
                patient: Box::new(patient),
                version: e.version.clone(),
                reason,
            });
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
            let typed = match &r.editing {
                Some(e) => {
                    r.values[..super::REASON]
                        != e.base_values[..super::REASON.min(e.base_values.len())]
                        || r.reason().is_some()
                }
                None => r.values.iter().any(|v| !v.trim().is_empty()),
            };
            if typed && r.error.as_deref() != Some(DISCARD) {
                r.error = Some(DISCARD.into());
            } else {
                state.register = None;
            }
        }
        // Nothing typed yet, or the answer is awaited: Esc closes (a late answer is dropped).
        (Stage::Loading, Action::Back) => state.register = None,
        (Stage::Crossed { cursor, .. }, Action::MoveDown | Action::NextField) => {
            *cursor = (*cursor + 1).min(1)
        }
        (Stage::Crossed { cursor, .. }, Action::MoveUp | Action::PreviousField) => {
            *cursor = cursor.saturating_sub(1)
        }
        (Stage::Crossed { .. }, Action::Back) => r.stage = Stage::Form,
        (
            Stage::Crossed {
                theirs,
                theirs_values,
                cursor,
                ..
            },
            Action::Submit,
        ) => {
            let Some(e) = &mut r.editing else { return };
            let (theirs, theirs_values, keep_mine) =
                (theirs.clone(), theirs_values.clone(), *cursor == 0);
            let version = theirs
                .pointer("/meta/versionId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if keep_mine {
                // This user's changes over the server's version; its other changes kept.
                let (merged, _) = merge(&e.base_values, &r.values, &theirs_values);
                r.values = merged;
            } else {
                let reason = r.values.get(super::REASON).cloned().unwrap_or_default();
                r.values = theirs_values.clone();
                if let Some(v) = r.values.get_mut(super::REASON) {
                    *v = reason;
                }
            }
            e.base = theirs;
            e.base_values = theirs_values;
            e.version = version.clone();
            r.stage = Stage::Form;
            if keep_mine {
                register_action(state, Action::Submit, effects);
            } else {
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!(
                        "the form shows the server's version {version}; your changes were dropped"
                    ),
                });
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
    let generation = msg.generation();
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
        super::Msg::Loaded { result, .. } => {
            let Some(e) = &mut r.editing else { return };
            let version = result.as_ref().ok().and_then(|p| {
                p.pointer("/meta/versionId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
            match (result, version) {
                (Ok(p), Some(version))
                    if p["resourceType"] == "Patient" && p["id"] == e.patient_id.as_str() =>
                {
                    let reg = from_patient(&p);
                    e.version = version;
                    *e.base = p;
                    r.values = r.values_of(&reg);
                    if let Some(e) = &mut r.editing {
                        e.base_values = r.values.clone();
                    }
                    r.stage = Stage::Form;
                }
                (Ok(p), None) if p["resourceType"] == "Patient" => {
                    let text = format!(
                        "{}: the server gives no version for this record, so a change could overwrite another unseen; NOT editable here",
                        e.label
                    );
                    warn(state, text);
                }
                (Ok(_), _) => {
                    let text = format!(
                        "{}: the server's answer is not this patient's record; nothing to edit",
                        e.label
                    );
                    warn(state, text);
                }
                (Err(err), _) => {
                    let text = format!("{}: the details could not be read ({err})", e.label);
                    warn(state, text);
                }
            }
        }
        super::Msg::Saved {
            result, current, ..
        } => {
            let Some(e) = &r.editing else { return };
            let label = e.label.clone();
            match result {
                Ok(stored) => {
                    let version = stored
                        .pointer("/meta/versionId")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string();
                    state.register = None;
                    state.notice = Some(Notice {
                        level: Level::Info,
                        text: format!("{label}: details saved (version {version})"),
                    });
                    if let Some(c) = &mut state.chart {
                        c.view = ChartView::Timeline;
                    }
                    crate::workstation::features::chart::load::refresh_keeping(state, effects);
                }
                Err(crate::workstation::client::FetchError::Conflict(_))
                    if current
                        .as_ref()
                        .is_some_and(|p| p["id"] == e.patient_id.as_str()) =>
                {
                    let theirs = current.unwrap_or_default();
                    let theirs_values = r.values_of(&from_patient(&theirs));
                    let (_, both) = merge(&e.base_values, &r.values, &theirs_values);
                    r.stage = Stage::Crossed {
                        theirs: Box::new(theirs),
                        theirs_values,
                        both,
                        cursor: 0,
                    };
                    let text = format!(
                        "{label}: NOT saved: someone changed these details since you opened them; both versions are shown"
                    );
                    state.notice = Some(Notice {
                        level: Level::Warning,
                        text,
                    });
                }
                // The server wants a reason (support staff): the cursor goes to its row.
                Err(err @ crate::workstation::client::FetchError::Forbidden(_))
                    if r.reason().is_none() && err.to_string().contains("reason") =>
                {
                    r.stage = Stage::Form;
                    r.at = super::REASON;
                    state.field_cursor = None;
                    warn(
                        state,
                        format!("{label}: NOT saved: {err}. Give a reason on the reason row"),
                    );
                }
                Err(err) => {
                    r.stage = Stage::Form;
                    warn(
                        state,
                        format!("{label}: NOT saved: {err}. The form is kept; Enter tries again"),
                    );
                }
            }
        }
    }
}
