//! The inbox: opening it, moving, acknowledging (one, a patient's all, all the normal ones),
//! forwarding one to a colleague with a comment, the safety net, opening a patient's chart,
//! and the answers, with the poll while it is on screen.

use serde_json::json;

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::inbox::{InboxState, InboxView, POLL_SECONDS};
use crate::workstation::inbox::{InboxQuery, Item, Urgency, acknowledgement, groups, overdue};
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
    let (now, limits) = (state.now_ms, state.overdue);
    let Some(i) = &mut state.inbox else { return };
    let before = |ms: i64| crate::fhir::date::instant(now - ms);
    let query = match (i.view, owner) {
        (InboxView::OverdueAll, _) => InboxQuery::Overdue {
            owner: None,
            critical_before: before(limits.critical_ms),
            abnormal_before: before(limits.abnormal_ms),
        },
        (_, None) => {
            i.error = Some("not linked to a practitioner: whose results is unknown".into());
            return;
        }
        (InboxView::Mine, Some(owner)) => InboxQuery::Mine(owner),
        (InboxView::OverdueMine, Some(owner)) => InboxQuery::Overdue {
            owner: Some(owner),
            critical_before: before(limits.critical_ms),
            abnormal_before: before(limits.abnormal_ms),
        },
    };
    state.context += 1;
    i.generation = state.context;
    i.loading = true;
    effects.push(Effect::LoadInbox {
        generation: i.generation,
        query,
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
    // Another clinician's result is theirs to acknowledge: the safety net forwards it.
    if i.view == InboxView::OverdueAll
        && matches!(
            action,
            Action::AcknowledgeResult | Action::AcknowledgePatient | Action::AcknowledgeNormal
        )
    {
        let forward = state.keymap.hint(Context::Inbox, Action::ForwardResult);
        state.notice = Some(Notice {
            level: Level::Warning,
            text: format!(
                "the clinician responsible acknowledges their results: forward it ({forward}) to someone who will act on it"
            ),
        });
        return None;
    }
    match action {
        Action::RefreshList => load(state, effects),
        Action::SafetyNet => {
            i.view = i.view.next();
            i.groups.clear();
            i.cursor = 0;
            i.loaded_ms = None;
            i.error = None;
            load(state, effects);
        }
        Action::ForwardResult => {
            let (_, item) = i.selected()?;
            i.forwarding = Some(item.clone());
            state.field_cursor = None;
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::Forward,
                input: String::new(),
            });
        }
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

/// The colleague and comment were typed (`Chen: please review`): the colleague is looked for.
pub(crate) fn forward_to(state: &mut State, input: String, effects: &mut Vec<Effect>) {
    let Some(i) = &mut state.inbox else { return };
    if i.forwarding.is_none() {
        return;
    }
    let (name, comment) = input.split_once(':').unwrap_or((input.as_str(), ""));
    let (name, comment) = (name.trim().to_string(), comment.trim().to_string());
    if name.chars().count() < 2 || comment.is_empty() {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "NOT forwarded: type the colleague's name, a colon, then your comment".into(),
        });
        state.overlay = Some(Overlay::Prompt {
            kind: PromptKind::Forward,
            input,
        });
        return;
    }
    state.context += 1;
    i.generation = state.context;
    effects.push(Effect::FindColleague {
        generation: i.generation,
        name,
        comment,
    });
}

/// The practitioners found for a forward: exactly one gets it.
fn colleagues(
    state: &mut State,
    name: String,
    comment: String,
    found: Vec<serde_json::Value>,
    effects: &mut Vec<Effect>,
) {
    let me = state.notes.author_reference.clone();
    let by_name = state.notes.author.clone();
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(i) = &mut state.inbox else { return };
    let mut people: Vec<(String, String)> = found
        .iter()
        .filter(|p| p["resourceType"] == "Practitioner" && p["active"] != false)
        .filter_map(|p| {
            let reference = format!("Practitioner/{}", p["id"].as_str()?);
            let n = &p["name"][0];
            let display = n["text"].as_str().map(str::to_string).unwrap_or_else(|| {
                let given = n["given"][0].as_str().unwrap_or_default();
                let prefix = n["prefix"][0].as_str().unwrap_or_default();
                format!(
                    "{prefix} {given} {}",
                    n["family"].as_str().unwrap_or_default()
                )
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
            });
            Some((reference, display))
        })
        .filter(|(r, _)| Some(r) != me.as_ref())
        .collect();
    people.sort();
    people.dedup();
    let again = |state: &mut State, text: String| {
        state.notice = Some(Notice {
            level: Level::Warning,
            text,
        });
        state.overlay = Some(Overlay::Prompt {
            kind: PromptKind::Forward,
            input: format!("{name}: {comment}"),
        });
    };
    match people.as_slice() {
        [] => again(
            state,
            format!("NOT forwarded: no colleague is named {name:?}"),
        ),
        [(reference, display)] => {
            let Some(item) = i.forwarding.take() else {
                return;
            };
            let to = json!({"reference": reference, "display": display});
            let mut by = json!({"display": by_name});
            if let Some(r) = me {
                by["reference"] = json!(r);
            }
            let bundle = crate::workstation::inbox::forward(&item, &to, &by, &comment, &now);
            state.context += 1;
            i.generation = state.context;
            i.sending = true;
            effects.push(Effect::ForwardResult {
                generation: i.generation,
                to: display.clone(),
                bundle: Box::new(bundle),
            });
        }
        many => {
            let names: Vec<&str> = many.iter().take(4).map(|(_, d)| d.as_str()).collect();
            again(
                state,
                format!(
                    "NOT forwarded: {} colleagues match {name:?} ({}): type more of the name",
                    many.len(),
                    names.join(", ")
                ),
            );
        }
    }
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
    let limits = state.overdue;
    let on_screen = state.screen == Screen::Inbox;
    let Some(i) = &mut state.inbox else { return };
    match msg {
        super::Msg::Colleagues {
            generation,
            name,
            comment,
            result,
        } => {
            if generation != i.generation {
                state.dropped_stale += 1;
                return;
            }
            match result {
                Ok(found) => colleagues(state, name, comment, found, effects),
                Err(e) => {
                    i.forwarding = None;
                    state.notice = Some(Notice {
                        level: Level::Warning,
                        text: format!("NOT forwarded: the colleagues could not be looked up: {e}"),
                    });
                }
            }
        }
        super::Msg::Forwarded {
            generation,
            to,
            result,
        } => {
            if generation != i.generation {
                state.dropped_stale += 1;
                return;
            }
            i.sending = false;
            let (level, text) = match result {
                Ok(_) => (Level::Info, format!("result forwarded to {to}")),
                Err(crate::workstation::client::FetchError::Conflict(_)) => (
                    Level::Warning,
                    "NOT forwarded: it was acknowledged or changed meanwhile on another terminal. The list is read again".into(),
                ),
                Err(e) => (Level::Warning, format!("NOT forwarded: {e}")),
            };
            state.notice = Some(Notice { level, text });
            load(state, effects);
        }
        super::Msg::Loaded { generation, result } => {
            if generation != i.generation {
                state.dropped_stale += 1;
                return;
            }
            i.loading = false;
            match result {
                Ok((found, earlier)) => {
                    let at = i.selected().map(|(_, it)| it.task_id.clone());
                    i.groups = match i.view {
                        InboxView::Mine => groups(&found, &earlier),
                        InboxView::OverdueMine | InboxView::OverdueAll => {
                            overdue(&found, now, limits)
                        }
                    };
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
