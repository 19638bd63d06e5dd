//! My unsigned work: opening it, moving between orders and notes, opening a chart, reviewing
//! a draft with the checks re-run, co-signing (after the signature) or rejecting with a
//! reason, and the answers.

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::work::{NURSE_DAYS, POLL_SECONDS, WorkState, WorkTab};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::orders::checks::{self, Alert, Proposed};
use crate::workstation::state::*;
use crate::workstation::work::{Draft, cosigned, drafts, rejected, unsigned};

/// F7: my unsigned work on screen, asked for again.
pub(crate) fn open_work(state: &mut State, effects: &mut Vec<Effect>) {
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Work;
    state.overlay = None;
    let nurse = state.access.role() == Some("nurse");
    let w = state.work.get_or_insert_with(WorkState::default);
    w.nurse = nurse;
    load(state, effects);
}

fn load(state: &mut State, effects: &mut Vec<Effect>) {
    let me = state.notes.author_reference.clone();
    let since = crate::fhir::date::instant(state.now_ms - NURSE_DAYS * 86_400_000);
    let Some(w) = &mut state.work else { return };
    let Some(me) = me else {
        let why = "not linked to a practitioner: whose work is unknown".to_string();
        w.drafts = Some(Err(why.clone()));
        w.notes = Some(Err(why));
        return;
    };
    state.context += 1;
    w.generation = state.context;
    w.loading = true;
    effects.push(Effect::LoadWork {
        generation: w.generation,
        me,
        nurse: w.nurse,
        since,
    });
}

pub(crate) fn work_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    if state.screen != Screen::Work || state.work.is_none() {
        return Outcome::NotMine;
    }
    match crate::workstation::features::resolve(state, Context::Work, key) {
        Some(action) => match work_action(state, action, effects) {
            Some(other) => Outcome::Pass(other),
            None => Outcome::Done,
        },
        None => Outcome::Done,
    }
}

fn work_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let w = state.work.as_mut()?;
    if let Some(cursor) = crate::workstation::features::list_cursor(w.cursor, action, w.lines()) {
        w.cursor = cursor;
        return None;
    }
    match action {
        Action::NextPane | Action::PreviousPane => {
            let forward = action == Action::NextPane;
            w.tab = match (w.tab, forward) {
                (WorkTab::Orders, true) | (WorkTab::Messages, false) => WorkTab::Notes,
                (WorkTab::Notes, true) | (WorkTab::Orders, false) => WorkTab::Messages,
                (WorkTab::Messages, true) | (WorkTab::Notes, false) => WorkTab::Orders,
            };
            w.cursor = 0;
        }
        Action::RefreshList => load(state, effects),
        Action::Submit => {
            if let Some(note) = w.selected_note() {
                let id = note.patient_id.clone();
                crate::workstation::features::chart::load::open_patient_id(
                    state, id, None, effects,
                );
                return None;
            }
            let draft = w.selected_draft()?.clone();
            let review = !w.nurse && draft.outcome == crate::workstation::work::Outcome::Waiting;
            w.overrides.clear();
            w.reviewing = review.then(|| draft.clone());
            crate::workstation::features::chart::load::open_patient_id(
                state,
                draft.patient_id.clone(),
                None,
                effects,
            );
            if review {
                state.overlay = Some(Overlay::Cosign);
            }
        }
        Action::RejectOrder => {
            let draft = w.selected_draft()?.clone();
            if w.nurse || draft.outcome != crate::workstation::work::Outcome::Waiting {
                return None;
            }
            w.reviewing = Some(draft);
            ask(state, PromptKind::CosignReject);
        }
        Action::Back => state.screen = Screen::Search,
        other => return Some(other),
    }
    None
}

fn ask(state: &mut State, kind: PromptKind) {
    state.field_cursor = None;
    state.overlay = Some(Overlay::Prompt {
        kind,
        input: String::new(),
    });
}

/// The checks on the draft under review against its open chart: `Err` when they cannot run
/// (the chart is another patient's, still loading, or its allergy list cannot be trusted).
pub fn review_checks(state: &State) -> Result<Vec<Alert>, String> {
    let draft = state
        .work
        .as_ref()
        .and_then(|w| w.reviewing.as_ref())
        .ok_or("no order is under review")?;
    let chart = state.chart.as_ref().ok_or("no chart is open")?;
    if chart.patient_id != draft.patient_id {
        return Err("the chart open is not this order's patient".into());
    }
    if chart.loading {
        return Err("the chart is still loading".into());
    }
    let mut patient = crate::workstation::orders::from_chart::patient(&chart.chart)?;
    // The draft itself is among the patient's medications (as a draft): not a duplicate of
    // itself.
    if let Some(at) = patient.medications.iter().position(|m| {
        m.rxnorm.is_some()
            && m.rxnorm == draft.rxnorm
            && m.name.to_ascii_lowercase().contains("draft")
    }) {
        patient.medications.remove(at);
    }
    let proposed = vec![Proposed::Medication {
        rxnorm: draft.rxnorm.clone().unwrap_or_default(),
        name: draft.medication.clone(),
    }];
    let settings = checks::Settings {
        duplicate_test_window_ms: state.order_settings.duplicate_window_ms,
        now_ms: state.now_ms,
    };
    Ok(checks::check(
        &proposed,
        &patient,
        &state.order_settings.knowledge,
        settings,
    ))
}

/// `y` on the review: the checks again, an override reason for a high-severity alert. True
/// when it may be signed (the caller asks for the signature where the site requires one).
pub(crate) fn sign_review(state: &mut State) -> bool {
    let alerts = match review_checks(state) {
        Ok(a) => a,
        Err(why) => {
            state.notice = Some(Notice {
                level: Level::Error,
                text: format!("NOT co-signed: the order checks could not run ({why})"),
            });
            state.overlay = Some(Overlay::Cosign);
            return false;
        }
    };
    let high = alerts.iter().filter(|a| a.needs_override()).count();
    let given = state.work.as_ref().map_or(0, |w| w.overrides.len());
    if high > given {
        ask(state, PromptKind::CosignOverride);
        return false;
    }
    true
}

/// The override reason was typed: kept for every high-severity alert. True when it may be
/// signed.
pub(crate) fn override_reason(state: &mut State, reason: String) -> bool {
    let reason = reason.trim().to_string();
    if reason.len() < 3 {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "NOT co-signed: a high-severity alert needs the reason it is overridden".into(),
        });
        state.overlay = Some(Overlay::Cosign);
        return false;
    }
    let Ok(alerts) = review_checks(state) else {
        return sign_review(state);
    };
    if let Some(w) = &mut state.work {
        w.overrides = alerts
            .iter()
            .filter(|a| a.needs_override())
            .map(|a| (format!("{} - {}", a.what, a.why), reason.clone()))
            .collect();
    }
    sign_review(state)
}

fn words(draft: &Draft) -> String {
    format!("{} for {}", draft.medication, draft.patient)
}

/// After the signature: the co-signature goes to the server.
pub(crate) fn send_cosign(state: &mut State, effects: &mut Vec<Effect>) {
    let signer = state.notes.author_json();
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(w) = &mut state.work else { return };
    let Some(draft) = &w.reviewing else { return };
    let bundle = cosigned(draft, &signer, &now, &w.overrides);
    w.sending = true;
    effects.push(Effect::SaveCosign {
        words: format!("Co-signed: {}", words(draft)),
        bundle: Box::new(bundle),
    });
}

/// The rejection's reason was typed.
pub(crate) fn reject(state: &mut State, reason: String, effects: &mut Vec<Effect>) {
    let reason = reason.trim().to_string();
    let by = state.notes.author_json();
    let now = crate::fhir::date::instant(state.now_ms);
    if reason.len() < 3 {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "NOT rejected: the nurse needs the reason".into(),
        });
        return;
    }
    let Some(w) = &mut state.work else { return };
    let Some(draft) = &w.reviewing else { return };
    let bundle = rejected(draft, &by, &reason, &now);
    w.sending = true;
    effects.push(Effect::SaveCosign {
        words: format!("Rejected: {}", words(draft)),
        bundle: Box::new(bundle),
    });
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    let now = state.now_ms;
    let on_screen = state.screen == Screen::Work;
    let Some(w) = &mut state.work else { return };
    match msg {
        super::Msg::Loaded {
            generation,
            drafts: d,
            notes,
        } => {
            if generation != w.generation {
                state.dropped_stale += 1;
                return;
            }
            w.loading = false;
            w.drafts = Some(d.map(|found| drafts(&found)).map_err(|e| e.to_string()));
            w.notes = Some(
                notes
                    .map(|found| unsigned(&found))
                    .map_err(|e| e.to_string()),
            );
            w.cursor = w.cursor.min(w.lines().saturating_sub(1));
            w.loaded_ms = Some(now);
            effects.push(Effect::Poll {
                what: crate::workstation::msg::Polled::Work,
                generation: w.generation,
                after_seconds: POLL_SECONDS,
            });
        }
        super::Msg::Messages { generation, result } => {
            if generation != w.generation {
                state.dropped_stale += 1;
                return;
            }
            w.messages = Some(
                result
                    .map(|found| messages(&found))
                    .map_err(|e| e.to_string()),
            );
        }
        super::Msg::Due { generation } => {
            if generation == w.generation && on_screen && !w.loading {
                load(state, effects);
            }
        }
        super::Msg::Saved { words, result } => {
            w.sending = false;
            let (level, text) = match result {
                Ok(_) => {
                    w.reviewing = None;
                    w.overrides.clear();
                    (Level::Info, words)
                }
                Err(crate::workstation::client::FetchError::Conflict(_)) => (
                    Level::Warning,
                    format!(
                        "NOT saved ({words}): the order was signed, rejected or changed meanwhile on another terminal"
                    ),
                ),
                Err(e) => (Level::Warning, format!("NOT saved ({words}): {e}")),
            };
            state.notice = Some(Notice { level, text });
            load(state, effects);
            // The chart open shows the order as it now is (the screen stays where it is).
            if state.chart.is_some() {
                let screen = state.screen;
                crate::workstation::features::chart::load::refresh_keeping(state, effects);
                state.screen = screen;
            }
        }
    }
}

/// The messages' sent time and text, newest first.
fn messages(found: &[serde_json::Value]) -> Vec<super::Message> {
    let mut out: Vec<super::Message> = found
        .iter()
        .filter(|c| c["resourceType"] == "Communication")
        .map(|c| super::Message {
            sent: c["sent"].as_str().unwrap_or_default().to_string(),
            text: c["payload"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["contentString"].as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    out.sort_by(|a, b| b.sent.cmp(&a.sent));
    out
}
