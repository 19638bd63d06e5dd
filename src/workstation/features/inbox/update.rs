//! The inbox: opening it, moving, acknowledging (one, a patient's all, all the normal ones),
//! opening a patient's chart, and the answers, with the poll while it is on screen.

use serde_json::json;

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::inbox::{InboxState, POLL_SECONDS};
use crate::workstation::inbox::{Item, Urgency, acknowledgement, groups};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// F6: the inbox on screen, asked for again.
pub(crate) fn open_inbox(state: &mut State, effects: &mut Vec<Effect>) {
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Inbox;
    state.overlay = None;
    state.inbox.get_or_insert_with(InboxState::default);
    load(state, effects);
}

fn load(state: &mut State, effects: &mut Vec<Effect>) {
    let owner = state.notes.author_reference.clone();
    let Some(i) = &mut state.inbox else { return };
    let Some(owner) = owner else {
        i.error = Some("not linked to a practitioner: whose results is unknown".into());
        return;
    };
    state.context += 1;
    i.generation = state.context;
    i.loading = true;
    effects.push(Effect::LoadInbox {
        generation: i.generation,
        owner,
    });
}

pub(crate) fn inbox_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    if state.screen != Screen::Inbox || state.inbox.is_none() {
        return Outcome::NotMine;
    }
    match crate::workstation::features::resolve(state, Context::Inbox, key) {
        Some(action) => match inbox_action(state, action, effects) {
            Some(other) => Outcome::Pass(other),
            None => Outcome::Done,
        },
        None => Outcome::Done,
    }
}

fn inbox_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let i = state.inbox.as_mut()?;
    if let Some(cursor) =
        crate::workstation::features::list_cursor(i.cursor, action, i.items().len())
    {
        i.cursor = cursor;
        return None;
    }
    match action {
        Action::RefreshList => load(state, effects),
        Action::Submit => {
            let (g, _) = i.selected()?;
            let id = g.patient_id.clone();
            crate::workstation::features::chart::load::open_patient_id(state, id, None, effects);
        }
        Action::AcknowledgeResult => {
            let (g, item) = i.selected()?;
            let items = vec![item.clone()];
            let who = g.name.clone();
            acknowledge(state, items, who, effects);
        }
        Action::AcknowledgePatient => {
            let (g, _) = i.selected()?;
            let items = g.items.clone();
            let who = g.name.clone();
            acknowledge(state, items, who, effects);
        }
        Action::AcknowledgeNormal => {
            let items: Vec<Item> = i
                .items()
                .into_iter()
                .filter(|(_, it)| it.urgency == Urgency::Normal)
                .map(|(_, it)| it.clone())
                .collect();
            if items.is_empty() {
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: "no normal results are waiting".into(),
                });
                return None;
            }
            let patients = i
                .groups
                .iter()
                .filter(|g| g.items.iter().any(|it| it.urgency == Urgency::Normal))
                .count();
            let who = crate::workstation::count(patients, "patient", "patients");
            acknowledge(state, items, who, effects);
        }
        Action::Back => state.screen = Screen::Search,
        other => return Some(other),
    }
    None
}

/// Sends the acknowledgement of `items` (for `who`, named in the answer's message).
fn acknowledge(state: &mut State, items: Vec<Item>, who: String, effects: &mut Vec<Effect>) {
    let reference = state.notes.author_reference.clone();
    let name = state.notes.author.clone();
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(i) = &mut state.inbox else { return };
    if i.sending || items.is_empty() {
        return;
    }
    let mut by = json!({"display": name});
    if let Some(r) = reference {
        by["reference"] = json!(r);
    }
    let refs: Vec<&Item> = items.iter().collect();
    let bundle = acknowledgement(&refs, &by, &now);
    state.context += 1;
    i.generation = state.context;
    i.sending = true;
    effects.push(Effect::AcknowledgeResults {
        generation: i.generation,
        count: items.len(),
        who,
        bundle: Box::new(bundle),
    });
}

/// (Re)starts the watch for the user's critical results (after a sign-in).
pub(crate) fn watch_critical(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(owner) = state.notes.author_reference.clone() else {
        return;
    };
    state.context += 1;
    state.critical.generation = state.context;
    effects.push(Effect::LoadCritical {
        generation: state.critical.generation,
        owner,
    });
}

/// The critical results waiting: those not told about yet go on the status line.
fn critical(
    state: &mut State,
    generation: u64,
    result: Result<Vec<serde_json::Value>, crate::workstation::client::FetchError>,
    effects: &mut Vec<Effect>,
) {
    if generation != state.critical.generation {
        state.dropped_stale += 1;
        return;
    }
    if let Err(e) = &result
        && !state.critical.failing
    {
        // A watch that cannot look must not pass for one that found nothing.
        state.critical.failing = true;
        let review = state.keymap.hint(Context::Global, Action::OpenInbox);
        state.notice = Some(Notice {
            level: Level::Warning,
            text: format!(
                "critical results are NOT being checked: {e}. Look in the inbox ({review})"
            ),
        });
        state.dirty = true;
    }
    if let Ok(found) = result {
        state.critical.failing = false;
        let new: Vec<(String, String)> = groups(&found, &[])
            .into_iter()
            .flat_map(|g| {
                // Only what is critical: a server that ignored `priority` must not turn a
                // normal result into an alarm.
                g.items
                    .into_iter()
                    .filter(|i| i.urgency == crate::workstation::inbox::Urgency::Critical)
                    .map(move |i| {
                        (
                            i.task_id.clone(),
                            format!("{}: {} {} {}", g.name, i.name, i.value, i.flag),
                        )
                    })
            })
            .filter(|(id, _)| !state.critical.seen.contains(id))
            .collect();
        if !new.is_empty() {
            let review = state.keymap.hint(Context::Global, Action::OpenInbox);
            let text = match new.as_slice() {
                [(_, one)] => format!("CRITICAL result for {} ({review} to review)", one.trim()),
                many => format!(
                    "{} CRITICAL results waiting for your review, first {} ({review})",
                    many.len(),
                    many[0].1.trim()
                ),
            };
            state.notice = Some(Notice {
                level: Level::Error,
                text,
            });
            state.dirty = true;
            state
                .critical
                .seen
                .extend(new.into_iter().map(|(id, _)| id));
        }
    }
    effects.push(Effect::Poll {
        what: crate::workstation::msg::Polled::Critical,
        generation,
        after_seconds: super::CRITICAL_SECONDS,
    });
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    match msg {
        super::Msg::Critical { generation, result } => {
            return critical(state, generation, result, effects);
        }
        super::Msg::CriticalDue { generation } => {
            if generation == state.critical.generation
                && let Some(owner) = state.notes.author_reference.clone()
            {
                effects.push(Effect::LoadCritical { generation, owner });
            }
            return;
        }
        _ => {}
    }
    state.dirty = true;
    let now = state.now_ms;
    let on_screen = state.screen == Screen::Inbox;
    let Some(i) = &mut state.inbox else { return };
    match msg {
        super::Msg::Loaded { generation, result } => {
            if generation != i.generation {
                state.dropped_stale += 1;
                return;
            }
            i.loading = false;
            match result {
                Ok((found, earlier)) => {
                    let at = i.selected().map(|(_, it)| it.task_id.clone());
                    i.groups = groups(&found, &earlier);
                    i.cursor = at
                        .and_then(|id| i.items().iter().position(|(_, it)| it.task_id == id))
                        .unwrap_or(0)
                        .min(i.items().len().saturating_sub(1));
                    i.loaded_ms = Some(now);
                    i.error = None;
                }
                Err(e) => i.error = Some(e.to_string()),
            }
            effects.push(Effect::Poll {
                what: crate::workstation::msg::Polled::Inbox,
                generation: i.generation,
                after_seconds: POLL_SECONDS,
            });
        }
        super::Msg::Acknowledged {
            generation,
            count,
            who,
            result,
        } => {
            if generation != i.generation {
                state.dropped_stale += 1;
                return;
            }
            i.sending = false;
            let (level, text) = match result {
                Ok(_) => (
                    Level::Info,
                    format!(
                        "{} acknowledged for {who}",
                        crate::workstation::count(count, "result", "results")
                    ),
                ),
                Err(crate::workstation::client::FetchError::Conflict(_)) => (
                    Level::Warning,
                    "NOT acknowledged: one of them was acknowledged or changed meanwhile on another terminal; nothing was changed. The list is read again".into(),
                ),
                Err(e) => (
                    Level::Warning,
                    format!("NOT acknowledged: {e}; the results are still waiting"),
                ),
            };
            state.notice = Some(Notice { level, text });
            load(state, effects);
        }
        super::Msg::Due { generation } => {
            if generation == i.generation && on_screen && !i.loading && !i.sending {
                load(state, effects);
            }
        }
        super::Msg::Critical { .. } | super::Msg::CriticalDue { .. } => {}
    }
}
