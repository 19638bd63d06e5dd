//! Sending a note: the question naming the patient, then the server's answer; when the server
//! cannot be reached the note goes to the outbox, when it refuses the note stays in the editor.

use crate::workstation::action::Action;
use crate::workstation::client::FetchError;
use crate::workstation::features::chart::timeline::refresh_visible;
use crate::workstation::features::chart::timeline::timeline_rows;
use crate::workstation::keymap::Context;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::state::*;
use serde_json::Value;

/// `y` to the sign question.
pub(crate) fn confirm_send(state: &mut State, status: DocStatus, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    let context = c.context;
    let patient = c.patient_id.clone();
    let Some(note) = &mut c.note else { return };
    let draft = note.current();
    if draft.patient_id != patient {
        note.error = Some("this note belongs to another patient; it was not sent".into());
        return;
    }
    note.sending = Some(status);
    note.error = None;
    note.draft = draft.clone();
    note.unsaved = false;
    // The draft on disk is the one being sent: if anything fails, it is still there.
    effects.push(Effect::SaveDraft(Box::new(draft.clone())));
    if state.storage.offline() && state.storage.open {
        // Known to be offline: straight to the outbox.
        effects.push(Effect::QueueNote {
            context,
            draft: Box::new(draft),
            status,
            author: state.notes.author_json(),
        });
        return;
    }
    effects.push(Effect::SendNote {
        context,
        draft: Box::new(draft),
        status,
        author: state.notes.author_json(),
    });
}

/// A note signed or saved while the server could not be reached is safe in the outbox.
pub(crate) fn note_queued(
    state: &mut State,
    context: u64,
    draft_id: String,
    status: DocStatus,
    effects: &mut Vec<Effect>,
) {
    let waiting = state.storage.waiting().max(1);
    let Some(c) = state.chart.as_mut().filter(|c| c.context == context) else {
        state.dropped_stale += 1;
        return;
    };
    let Some(note) = c.note.as_ref().filter(|n| n.draft.id == draft_id) else {
        return;
    };
    let who = format!(
        "{} (MRN {})",
        note.draft.patient_name,
        note.draft.mrn.as_deref().unwrap_or("none")
    );
    let what = match status {
        DocStatus::Final => "signed",
        DocStatus::Preliminary => "saved unsigned",
    };
    let title = note.draft.title.to_lowercase();
    c.note = None;
    c.view = ChartView::Timeline;
    state.notice = Some(Notice {
        level: Level::Warning,
        text: format!(
            "in the OUTBOX ({waiting} waiting, {}): {what} {title} for {who}; sent when the server is back",
            state.keymap.hint(Context::Global, Action::ShowOutbox)
        ),
    });
    if !state.storage.offline() {
        effects.push(Effect::FlushOutbox);
    }
    state.dirty = true;
}

/// The outbox could not take the note: it stays in the editor, and on disk as a draft.
pub(crate) fn note_not_queued(state: &mut State, context: u64, error: String) {
    let Some(c) = state.chart.as_mut().filter(|c| c.context == context) else {
        state.dropped_stale += 1;
        return;
    };
    if let Some(note) = &mut c.note {
        note.sending = None;
        note.error = Some(error);
    }
    state.dirty = true;
}

/// A note as it was sent, back with the server's answer.
pub(crate) struct Sent {
    pub context: u64,
    pub draft: Box<Draft>,
    pub status: DocStatus,
    pub author: Value,
}

/// The server's answer to a send. When the server could not be reached, the note goes to the
/// outbox (sent when the server is back; the conditional create files it once even if this
/// attempt did arrive), whether or not its chart is still open.
pub(crate) fn note_sent(
    state: &mut State,
    sent: Sent,
    result: Result<Value, FetchError>,
    effects: &mut Vec<Effect>,
) {
    let Sent {
        context,
        draft,
        status,
        author,
    } = sent;
    if let Err(e) = &result
        && e.is_unreachable()
    {
        effects.push(Effect::QueueNote {
            context,
            draft,
            status,
            author,
        });
        return;
    }
    let draft_id = draft.id;
    let rows = timeline_rows(state.size);
    let current = state.chart.as_ref().is_some_and(|c| c.context == context);
    if !current {
        // The chart was closed while the note was on its way; a signed note's draft is done.
        if status == DocStatus::Final && result.is_ok() {
            effects.push(Effect::DeleteDraft(draft_id));
        }
        state.dropped_stale += 1;
        return;
    }
    let Some(c) = &mut state.chart else { return };
    let Some(note) = &mut c.note else { return };
    note.sending = None;
    match result {
        Ok(resource) => {
            let who = format!(
                "{} (MRN {})",
                note.draft.patient_name,
                note.draft.mrn.as_deref().unwrap_or("none")
            );
            let title = note.draft.title.clone();
            if status == DocStatus::Final {
                effects.push(Effect::DeleteDraft(draft_id));
                c.note = None;
                c.view = ChartView::Timeline;
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!("signed {} filed to {who}", title.to_lowercase()),
                });
            } else {
                note.draft.server_id = resource
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                note.draft.server_version = resource
                    .pointer("/meta/versionId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                effects.push(Effect::SaveDraft(Box::new(note.current())));
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!("saved UNSIGNED (preliminary) to {who}; sign it when ready"),
                });
            }
            c.chart.replace(resource);
            refresh_visible(c, rows);
        }
        Err(e) => {
            note.error = Some(match e {
                FetchError::Conflict(_) => format!(
                    "not filed: {e}. Your text is kept; close and reopen the chart to see the \
                     other version, then sign again"
                ),
                other => format!("not filed: {other}. Your text is kept as a draft; try again"),
            });
        }
    }
}
