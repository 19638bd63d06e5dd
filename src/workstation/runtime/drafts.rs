//! Draft writes and outbox entries, on one thread of their own in the order they were asked
//! for, so that a note is always on disk somewhere: as a draft, in the outbox, or both.

use crate::workstation::msg::{NoteMsg, OfflineMsg};
use tokio::sync::mpsc::UnboundedSender;

use crate::workstation::notes::document::{DocStatus, document_reference};
use crate::workstation::notes::drafts::{Draft, DraftStore};
use crate::workstation::state::Msg;

use super::timing::{AUTOSAVE, SEND_TIMEOUT};
use super::{Effect, Runner};
use crate::workstation::vault::outbox::{Item, Outbox};

/// Which feature a queued record belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reply {
    Vitals,
    Lists,
}

impl Reply {
    fn msg(self, context: u64, result: Result<(), String>) -> Msg {
        match self {
            Reply::Vitals => {
                Msg::Vitals(crate::workstation::msg::VitalsMsg::Queued { context, result })
            }
            Reply::Lists => {
                Msg::Lists(crate::workstation::msg::ListsMsg::Queued { context, result })
            }
        }
    }
}

pub(super) enum DraftJob {
    Save(Box<Draft>),
    Delete(String),
    /// Into the outbox, then the draft file goes (in that order: never neither).
    Queue {
        context: u64,
        item: Box<Item>,
    },
    /// A record (vital signs, an allergy, a problem) into the outbox; no draft file is
    /// involved. `reply` says which feature hears that it is there.
    QueueRecord {
        context: u64,
        item: Box<Item>,
        reply: Reply,
    },
    /// Wipe the key once everything before this is on disk.
    Close,
}

/// The outbox entry for a note signed or saved while offline, stamped now.
pub(super) fn outbox_item(mut draft: Draft, status: DocStatus, author: &serde_json::Value) -> Item {
    let now = chrono::Utc::now();
    stamp(&mut draft, now);
    let when = crate::fhir::date::instant(crate::fhir::date::now_ms());
    let resource = document_reference(&draft, status, author, &when);
    Item {
        if_match: draft.server_version.clone(),
        draft,
        status,
        resource,
        message: None,
        server_copy: None,
        record: None,
    }
}

/// Draft writes (and outbox entries) go through one thread, in the order they were asked
/// for: two saves of the same draft can never land out of order or race on the temporary
/// file, and the key is wiped only after the last of them.
pub(super) struct DraftWriter {
    pub(super) store: DraftStore,
    pub(super) outbox: Option<std::sync::Arc<Outbox>>,
    pub(super) jobs: std::sync::mpsc::Sender<DraftJob>,
}

impl DraftWriter {
    pub(super) fn start(
        store: DraftStore,
        outbox: Option<std::sync::Arc<Outbox>>,
        tx: UnboundedSender<Msg>,
    ) -> DraftWriter {
        let (jobs, queue) = std::sync::mpsc::channel::<DraftJob>();
        let disk = store.clone();
        let ob = outbox.clone();
        let _ = std::thread::Builder::new()
            .name("bedside-drafts".into())
            .spawn(move || {
                for job in queue {
                    match job {
                        DraftJob::Save(mut draft) => {
                            let now = chrono::Utc::now();
                            stamp(&mut draft, now);
                            let result = disk
                                .save(&draft)
                                .map(|()| {
                                    now.with_timezone(&chrono::Local)
                                        .format("%H:%M:%S")
                                        .to_string()
                                })
                                .map_err(|e| e.to_string());
                            if let Err(e) = &result {
                                tracing::error!("cannot save a draft: {e}");
                            }
                            let _ = tx.send(Msg::Note(NoteMsg::DraftSaved {
                                id: draft.id.clone(),
                                result,
                            }));
                        }
                        DraftJob::Delete(id) => {
                            if let Err(e) = disk.delete(&id) {
                                tracing::warn!("cannot delete a filed draft: {e}");
                            }
                        }
                        DraftJob::Queue { context, item } => {
                            let Some(outbox) = &ob else { continue };
                            let now = crate::fhir::date::now_ms();
                            match outbox.enqueue(&item, now) {
                                Ok(_) => {
                                    if let Err(e) = disk.delete(&item.draft.id) {
                                        tracing::warn!("cannot delete a queued draft: {e}");
                                    }
                                    let _ = tx.send(Msg::Note(NoteMsg::Queued {
                                        context,
                                        draft_id: item.draft.id.clone(),
                                        status: item.status,
                                    }));
                                    if let Ok(entries) = outbox.recent() {
                                        let _ = tx.send(Msg::Offline(OfflineMsg::Outbox {
                                            entries,
                                            sent_now: 0,
                                            error: None,
                                        }));
                                    }
                                }
                                Err(e) => {
                                    tracing::error!("cannot put a note in the outbox: {e}");
                                    let _ = tx.send(Msg::Note(NoteMsg::NotQueued {
                                        context,
                                        error: format!("the note could not be put in the outbox ({e}); it stays here as a draft"),
                                    }));
                                }
                            }
                        }
                        DraftJob::QueueRecord {
                            context,
                            item,
                            reply,
                        } => {
                            let Some(outbox) = &ob else { continue };
                            let result = outbox
                                .enqueue(&item, crate::fhir::date::now_ms())
                                .map(|_| ())
                                .map_err(|e| e.to_string());
                            if let Err(e) = &result {
                                tracing::error!("cannot put a record in the outbox: {e}");
                            }
                            let _ = tx.send(reply.msg(context, result));
                            if let Ok(entries) = outbox.recent() {
                                let _ = tx.send(Msg::Offline(OfflineMsg::Outbox {
                                    entries,
                                    sent_now: 0,
                                    error: None,
                                }));
                            }
                        }
                        DraftJob::Close => {
                            disk.close();
                            break;
                        }
                    }
                }
            });
        DraftWriter {
            store,
            outbox,
            jobs,
        }
    }

    pub(super) fn send(&self, job: DraftJob) {
        let _ = self.jobs.send(job);
    }
}

/// Sets the draft's saved time (and created time, the first time).
pub(super) fn stamp(draft: &mut Draft, now: chrono::DateTime<chrono::Utc>) {
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if draft.created.is_empty() {
        draft.created = now.clone();
    }
    draft.saved = now;
}

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_drafts(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        let effect_kind = match &effect {
            Effect::QueueVitals { .. } => Reply::Vitals,
            _ => Reply::Lists,
        };
        match effect {
            Effect::LoadDrafts => {
                if let Some(store) = self.drafts().map(|w| w.store.clone()) {
                    tokio::task::spawn_blocking(move || {
                        let (drafts, unreadable) = store.load(None);
                        if unreadable > 0 {
                            tracing::warn!("{unreadable} draft files could not be read");
                        }
                        let _ = tx.send(Msg::Note(NoteMsg::DraftsFound(drafts)));
                    });
                }
            }
            Effect::SaveDraft(draft) => match self.drafts() {
                Some(writer) => writer.send(DraftJob::Save(draft)),
                None => {
                    let _ = tx.send(Msg::Note(NoteMsg::DraftSaved {
                        id: draft.id.clone(),
                        result: Err("no folder for drafts (is $HOME set?)".into()),
                    }));
                }
            },
            Effect::DeleteDraft(id) => {
                if let Some(writer) = self.drafts() {
                    writer.send(DraftJob::Delete(id));
                }
            }
            Effect::Autosave { context } => {
                tokio::spawn(async move {
                    tokio::time::sleep(AUTOSAVE).await;
                    let _ = tx.send(Msg::Note(NoteMsg::AutosaveDue { context }));
                });
            }
            Effect::QueueNote {
                context,
                draft,
                status,
                author,
            } => match self.drafts() {
                Some(writer) if writer.outbox.is_some() => {
                    writer.send(DraftJob::Queue {
                        context,
                        item: Box::new(outbox_item(*draft, status, &author)),
                    });
                }
                _ => {
                    let _ = tx.send(Msg::Note(NoteMsg::NotQueued {
                        context,
                        error: "the server cannot be reached and there is no outbox to keep the note in; it stays here as a draft".into(),
                    }));
                }
            },
            Effect::QueueVitals { context, item } | Effect::QueueEntry { context, item } => {
                let reply = if matches!(effect_kind, Reply::Vitals) {
                    Reply::Vitals
                } else {
                    Reply::Lists
                };
                match self.drafts() {
                    Some(writer) if writer.outbox.is_some() => {
                        writer.send(DraftJob::QueueRecord {
                            context,
                            item,
                            reply,
                        });
                    }
                    _ => {
                        let _ = tx.send(reply.msg(
                            context,
                            Err("there is no outbox on this terminal to keep it in".into()),
                        ));
                    }
                }
            }
            Effect::SendNote {
                context,
                draft,
                status,
                author,
            } => {
                tokio::spawn(async move {
                    let now = crate::fhir::date::instant(crate::fhir::date::now_ms());
                    let mut draft = *draft;
                    stamp(&mut draft, chrono::Utc::now());
                    let doc = document_reference(&draft, status, &author, &now);
                    let if_none_exist = format!("identifier=urn:bedside:draft|{}", draft.id);
                    let result = match &draft.server_id {
                        Some(_) => {
                            client
                                .write(&doc, None, draft.server_version.as_deref(), SEND_TIMEOUT)
                                .await
                        }
                        None => {
                            client
                                .write(&doc, Some(&if_none_exist), None, SEND_TIMEOUT)
                                .await
                        }
                    };
                    // What to do when the server was not reached is `update`'s to decide.
                    let _ = tx.send(Msg::Note(NoteMsg::Sent {
                        context,
                        draft: Box::new(draft),
                        status,
                        author,
                        result,
                    }));
                });
            }
            _ => {}
        }
    }
}
