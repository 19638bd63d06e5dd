//! Runs `Effect`s as tokio tasks and sends their results back as `Msg`s, each tagged with the
//! search generation or patient context it was made for. A new chart or search aborts the
//! previous one's requests. The runtime performs I/O and reports facts; what to make of them
//! (offline, restricted, refused) is `update`'s to decide.

mod chart;
mod drafts;
pub mod offline;
pub mod session;
pub mod timing;

use crate::workstation::msg::{AccessMsg, ChartMsg, NoteMsg, OfflineMsg, OrdersMsg, SearchMsg};
use chrono::FixedOffset;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::secret::Secret;
use crate::workstation::chart::location_of;
use crate::workstation::client::{FetchError, FhirClient, SEARCH_TIMEOUT, bundle_page};

use crate::workstation::notes::document::document_reference;
use crate::workstation::notes::drafts::DraftStore;
use crate::workstation::vault::Vault;
use crate::workstation::vault::cache::ChartCache;
use crate::workstation::vault::outbox::Outbox;

use self::drafts::{DraftJob, DraftWriter, outbox_item, stamp};
use self::offline::{CacheJob, StorageConfig, is_offline};
use self::timing::{AUTOSAVE, DEBOUNCE, SEND_TIMEOUT, SPIN};
use super::recent::RecentStore;
use super::state::{Effect, Msg, SignTarget, Unlocked};
pub struct Runner {
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    recent: Option<RecentStore>,
    drafts: Option<DraftWriter>,
    /// Where recent-patient lists live (one file per signed-in user).
    pub recent_file: Option<std::path::PathBuf>,
    zone: FixedOffset,
    chart_task: Option<JoinHandle<()>>,
    /// What the first step of loading a chart keeps for the second.
    held: chart::HeldSlot,
    search_task: Option<JoinHandle<()>>,
    /// Where offline data lives (none: nothing kept on disk).
    pub storage: Option<std::sync::Arc<StorageConfig>>,
    /// The signed-in user's unlocked vault, and what it opens.
    vault: Option<Vault>,
    cache: Option<std::sync::Arc<ChartCache>>,
    cache_writer: Option<std::sync::mpsc::Sender<CacheJob>>,
    outbox: Option<std::sync::Arc<Outbox>>,
    flushing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Who the last vault belonged to (their cache is wiped at sign-out when the site asks).
    last_user: Option<String>,
}

impl Runner {
    pub fn new(
        client: FhirClient,
        tx: UnboundedSender<Msg>,
        recent: Option<RecentStore>,
        zone: FixedOffset,
    ) -> Runner {
        Runner {
            client,
            tx,
            recent,
            drafts: None,
            recent_file: None,
            zone,
            chart_task: None,
            held: Default::default(),
            search_task: None,
            storage: None,
            vault: None,
            cache: None,
            cache_writer: None,
            outbox: None,
            flushing: Default::default(),
            last_user: None,
        }
    }

    /// Uses `unlocked`'s key for the cache, the outbox and drafts, from now on.
    pub fn attach(&mut self, unlocked: Unlocked) {
        self.close_vault(false);
        let vault = unlocked.vault;
        let ready = unlocked.ready;
        if let Some(cache) = ready.cache {
            self.cache_writer = Some(offline::start_cache_writer(cache.clone()));
            self.cache = Some(cache);
        }
        let (store, outbox) = (ready.drafts, ready.outbox);
        self.drafts = Some(DraftWriter::start(store, outbox.clone(), self.tx.clone()));
        self.outbox = outbox;
        if self
            .last_user
            .as_ref()
            .is_some_and(|u| *u != vault.username)
        {
            // Another user signed in at this terminal: the previous one has signed out.
            self.sign_out();
        }
        self.last_user = Some(vault.username.clone());
        self.vault = Some(vault);
        self.run(Effect::LoadDrafts);
        self.report_outbox(true);
    }

    /// Drafts with a key supplied by the caller (tests): the same as a sign-in's.
    pub fn keep_drafts(&mut self, store: DraftStore) {
        self.drafts = Some(DraftWriter::start(store, None, self.tx.clone()));
    }

    /// Wipes the key from memory once the pending draft writes are done; with `sign_out`
    /// at a site that asks for it, the user's cached charts are deleted too.
    pub fn close_vault(&mut self, sign_out: bool) {
        match self.drafts.take() {
            Some(writer) => writer.send(DraftJob::Close),
            None => {
                if let Some(v) = &self.vault {
                    v.close();
                }
            }
        }
        self.cache_writer = None;
        self.cache = None;
        self.outbox = None;
        self.vault = None;
        if sign_out {
            self.sign_out();
        }
    }

    /// At sign-out: the cached charts go when the site asks for it.
    pub fn sign_out(&mut self) {
        let (Some(cfg), Some(user)) = (&self.storage, &self.last_user) else {
            return;
        };
        if cfg.settings.wipe_on_sign_out || !cfg.settings.enabled {
            let dir = cfg
                .cache_root
                .join(crate::workstation::vault::slug(&cfg.server_id, user));
            offline::wipe_cache(&cfg.cache_root, &dir);
        }
    }

    /// Sends the outbox's list to the screen (and starts sending when `flush`).
    fn report_outbox(&self, flush: bool) {
        let Some(outbox) = self.outbox.clone() else {
            return;
        };
        let tx = self.tx.clone();
        let ob = outbox.clone();
        tokio::task::spawn_blocking(move || {
            if let Ok(entries) = ob.recent() {
                let _ = tx.send(Msg::Offline(OfflineMsg::Outbox {
                    entries,
                    sent_now: 0,
                    error: None,
                }));
            }
        });
        if flush {
            offline::flush(
                self.client.clone(),
                outbox,
                self.tx.clone(),
                self.flushing.clone(),
            );
        }
    }

    /// The draft folder, for the synchronous save on the way out.
    pub fn draft_store(&self) -> Option<&DraftStore> {
        self.drafts.as_ref().map(|w| &w.store)
    }

    pub fn run(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::Debounce { generation } => {
                tokio::spawn(async move {
                    tokio::time::sleep(DEBOUNCE).await;
                    let _ = tx.send(Msg::Search(SearchMsg::Due(generation)));
                });
            }
            Effect::Tick => {
                tokio::spawn(async move {
                    tokio::time::sleep(SPIN).await;
                    let _ = tx.send(Msg::Tick);
                });
            }
            Effect::SearchPatients { generation, params } => {
                if let Some(old) = self.search_task.take() {
                    old.abort();
                }
                let cache = self.cache.clone();
                self.search_task = Some(tokio::spawn(async move {
                    let mut result = search(&client, "Patient", &params).await;
                    // Offline: the cached patients are searched instead.
                    if let Some(cards) = offline_patients(&result, cache, &tx).await {
                        result = Ok(offline::search_cached(&cards, &params));
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::Done { generation, result }));
                }));
            }
            Effect::FetchLocations { patient_ids } => {
                let zone = self.zone;
                tokio::spawn(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for id in patient_ids {
                        let client = client.clone();
                        set.spawn(async move {
                            let params = [
                                ("patient", format!("Patient/{id}")),
                                ("_sort", "-date".to_string()),
                                ("_count", "10".to_string()),
                                ("_include", "Encounter:location".to_string()),
                            ];
                            let found = search(&client, "Encounter", &params).await;
                            (id, found.ok().and_then(|r| location_of(r, zone)))
                        });
                    }
                    let mut found = Vec::new();
                    while let Some(Ok(x)) = set.join_next().await {
                        found.push(x);
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::Locations(found)));
                });
            }
            Effect::LoadRecent { patient_ids } => {
                let cache = self.cache.clone();
                tokio::spawn(async move {
                    let params = [
                        ("_id", patient_ids.join(",")),
                        ("_count", patient_ids.len().to_string()),
                    ];
                    let mut result = search(&client, "Patient", &params).await;
                    if let Some(cards) = offline_patients(&result, cache, &tx).await {
                        let cached = |p: &&serde_json::Value| {
                            p["id"]
                                .as_str()
                                .is_some_and(|id| patient_ids.iter().any(|w| w == id))
                        };
                        result = Ok(cards.into_iter().filter(|p| cached(&p)).collect());
                    }
                    let _ = tx.send(Msg::Search(SearchMsg::RecentLoaded(result)));
                });
            }
            Effect::SaveRecent { patient_ids } => {
                if let Some(store) = self.recent.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.save(&patient_ids) {
                            tracing::warn!("cannot save the recent patients list: {e}");
                        }
                    });
                }
            }
            Effect::LoadDrafts => {
                if let Some(store) = self.drafts.as_ref().map(|w| w.store.clone()) {
                    tokio::task::spawn_blocking(move || {
                        let (drafts, unreadable) = store.load(None);
                        if unreadable > 0 {
                            tracing::warn!("{unreadable} draft files could not be read");
                        }
                        let _ = tx.send(Msg::Note(NoteMsg::DraftsFound(drafts)));
                    });
                }
            }
            Effect::SaveDraft(draft) => match &self.drafts {
                Some(writer) => writer.send(DraftJob::Save(draft)),
                None => {
                    let _ = tx.send(Msg::Note(NoteMsg::DraftSaved {
                        id: draft.id.clone(),
                        result: Err("no folder for drafts (is $HOME set?)".into()),
                    }));
                }
            },
            Effect::DeleteDraft(id) => {
                if let Some(writer) = &self.drafts {
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
            } => match &self.drafts {
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
            Effect::SignOrders { context, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::Orders(OrdersMsg::Signed { context, result }));
                });
            }
            Effect::Discontinue {
                context,
                reference,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = async {
                        let current = client.get(&reference, &[], SEND_TIMEOUT).await?;
                        let version = current
                            .pointer("/meta/versionId")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string);
                        let update =
                            crate::workstation::orders::basket::discontinued(current, &reason);
                        client
                            .write(&update, None, version.as_deref(), SEND_TIMEOUT)
                            .await
                    }
                    .await;
                    let _ = tx.send(Msg::Orders(OrdersMsg::Discontinued { context, result }));
                });
            }
            Effect::OpenChart {
                context,
                patient_id,
                from_cache,
            } => {
                if let Some(old) = self.chart_task.take() {
                    old.abort();
                }
                let cache = self.cache.clone().filter(|_| from_cache);
                let task = chart::open(client, tx, context, patient_id, cache, self.held.clone());
                self.chart_task = Some(tokio::spawn(task));
            }
            Effect::LoadChartBody {
                context,
                patient_id,
                keep,
            } => {
                if let Some(old) = self.chart_task.take() {
                    old.abort();
                }
                let held = chart::take(&self.held, context);
                let writer = self.cache_writer.clone().filter(|_| keep);
                let task = chart::load_body(client, tx, patient_id, held, writer);
                self.chart_task = Some(tokio::spawn(task));
            }
            Effect::EvictCached { patient_id } => {
                if let Some(writer) = &self.cache_writer {
                    let _ = writer.send(CacheJob::Remove(patient_id));
                }
            }
            Effect::FindNamesakes {
                context,
                family,
                given,
            } => {
                tokio::spawn(async move {
                    let params = [
                        ("family", family),
                        ("given", given),
                        ("_count", "50".to_string()),
                    ];
                    let result = search(&client, "Patient", &params).await;
                    let _ = tx.send(Msg::Chart(ChartMsg::Namesakes { context, result }));
                });
            }
            Effect::CheckSignature {
                context,
                target,
                secret,
            } => {
                let vault = self.vault.clone();
                tokio::spawn(async move {
                    let mut result = client
                        .check_signature(secret.expose(), target.word())
                        .await
                        .map(|()| false);
                    // Offline, a note may still be signed (into the outbox) once the key
                    // file of this terminal's open vault has checked the secret (the
                    // password, or a token user's passphrase); orders never are.
                    let offline = matches!(&result, Err(e) if is_offline(e));
                    if let (true, Some(vault), SignTarget::Note(_)) = (offline, vault, target) {
                        let checked = tokio::task::spawn_blocking(move || {
                            vault.check_secret(secret.expose())
                        })
                        .await;
                        result = match checked {
                            Ok(Ok(())) => Ok(true),
                            Ok(Err(crate::workstation::vault::VaultError::WrongSecret)) => {
                                Err(FetchError::SignatureRefused(
                                    "the signature code is not right (checked on this terminal): nothing was signed"
                                        .into(),
                                ))
                            }
                            Ok(Err(e)) => Err(FetchError::SignatureRefused(format!(
                                "the signature could not be checked on this terminal ({e}): nothing was signed"
                            ))),
                            Err(_) => Err(FetchError::SignatureRefused(
                                "the signature check failed: nothing was signed".into(),
                            )),
                        };
                    }
                    let _ = tx.send(Msg::Access(AccessMsg::SignatureChecked {
                        context,
                        target,
                        result,
                    }));
                });
            }
            Effect::ChangePassword {
                username,
                current,
                new,
                code,
            } => {
                let storage = self.storage.clone();
                tokio::spawn(async move {
                    let result = client
                        .change_password(
                            &username,
                            current.expose(),
                            new.expose(),
                            code.as_ref().map(Secret::expose),
                        )
                        .await;
                    match result {
                        Ok(user) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user.clone()))));
                            if let Some(cfg) = storage {
                                let opened = offline::open_after_sign_in(cfg, user, new).await;
                                let _ =
                                    tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(e))));
                        }
                    }
                });
            }
            Effect::Login {
                username,
                password,
                code,
                replace,
            } => {
                let storage = self.storage.clone();
                tokio::spawn(async move {
                    // A failed attempt leaves the held token alone; a new one replaces it,
                    // and the old one is revoked on the server.
                    let old = if replace { client.token() } else { None };
                    let result = client
                        .login(
                            &username,
                            password.expose(),
                            code.as_ref().map(Secret::expose),
                        )
                        .await;
                    match result {
                        Ok(user) => {
                            if let Some(old) = old {
                                client.revoke(old).await;
                            }
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user.clone()))));
                            if let Some(cfg) = storage {
                                let opened = offline::open_after_sign_in(cfg, user, password).await;
                                let _ =
                                    tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                            }
                        }
                        // Not reached: whether to sign in offline is `update`'s decision.
                        Err(e) => {
                            let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(e))));
                        }
                    }
                });
            }
            Effect::OpenOffline {
                username,
                password,
                same_user,
                unreachable,
            } => match self.storage.clone() {
                Some(cfg) => {
                    tokio::spawn(async move {
                        match offline::open_offline(cfg, username, password).await {
                            Ok(unlocked) => {
                                if !same_user {
                                    // Another user's token must not be used for this one.
                                    client.set_token(None);
                                }
                                let user = unlocked.offline_user.clone();
                                let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
                                if let Some(user) = user {
                                    let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Ok(user))));
                                }
                                let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(Ok(
                                    unlocked,
                                )))));
                            }
                            Err(message) => {
                                let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(
                                    crate::workstation::client::LoginError::Refused(message),
                                ))));
                            }
                        }
                    });
                }
                None => {
                    let _ = tx.send(Msg::Access(AccessMsg::SignedIn(Err(
                        crate::workstation::client::LoginError::Fetch(unreachable),
                    ))));
                }
            },
            Effect::OpenVault { secret } => match self.storage.clone() {
                Some(cfg) => {
                    tokio::spawn(async move {
                        let opened = offline::open_with_passphrase(cfg, secret).await;
                        let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(opened))));
                    });
                }
                None => {
                    let _ = tx.send(Msg::Access(AccessMsg::VaultOpened(Box::new(Err(
                        "this workstation keeps no offline data".into(),
                    )))));
                }
            },
            Effect::AttachVault(unlocked) => self.attach(*unlocked),
            Effect::CloseVault => self.close_vault(false),
            Effect::FlushOutbox => self.report_outbox(true),
            Effect::RemoveFromOutbox { seq } => {
                if let Some(outbox) = self.outbox.clone() {
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = outbox.remove(seq) {
                            tracing::warn!("cannot remove an outbox entry: {e}");
                        }
                        if let Ok(entries) = outbox.recent() {
                            let _ = tx.send(Msg::Offline(OfflineMsg::Outbox {
                                entries,
                                sent_now: 0,
                                error: None,
                            }));
                        }
                    });
                }
            }
            Effect::Probe => {
                tokio::spawn(async move {
                    tokio::time::sleep(offline::PROBE_EVERY).await;
                    let reply = client
                        .get("metadata", &[], std::time::Duration::from_secs(5))
                        .await;
                    let online = !matches!(&reply, Err(e) if is_offline(e));
                    let _ = tx.send(Msg::Offline(OfflineMsg::Probed(online)));
                });
            }
            Effect::Logout => {
                tokio::spawn(async move { client.logout().await });
            }
            Effect::UserChanged { username } => {
                if let Some(template) = &self.recent_file {
                    let file = format!("recent-patients-{username}.json");
                    let path = template.with_file_name(file);
                    let store = RecentStore::new(path, &client.base());
                    let file = store.clone();
                    self.recent = Some(store);
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.send(Msg::Search(SearchMsg::RecentIds(file.load())));
                    });
                }
            }
            Effect::BreakGlass {
                context,
                patient_id,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = client.break_glass(&patient_id, &reason).await;
                    let _ = tx.send(Msg::Access(AccessMsg::GlassBroken { context, result }));
                });
            }
            Effect::LoadAccessLog {
                context,
                patient_id,
                params,
            } => {
                tokio::spawn(async move {
                    let mut params = params;
                    params.push(("patient", format!("Patient/{patient_id}")));
                    let result = search(&client, "AuditEvent", &params).await;
                    let _ = tx.send(Msg::Access(AccessMsg::AccessLog { context, result }));
                });
            }
        }
    }
}
/// When `result` failed because the server cannot be reached: says so, and gives the cached
/// patients (what search and the recent list fall back to).
async fn offline_patients<T>(
    result: &Result<T, FetchError>,
    cache: Option<std::sync::Arc<ChartCache>>,
    tx: &UnboundedSender<Msg>,
) -> Option<Vec<serde_json::Value>> {
    let cache = cache?;
    if !result.as_ref().err().is_some_and(is_offline) {
        return None;
    }
    let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
    let now = crate::fhir::date::now_ms();
    tokio::task::spawn_blocking(move || cache.patients(now))
        .await
        .ok()
        .and_then(Result::ok)
}

/// One search page's resources (the first page is all a search row list needs).
async fn search(
    client: &FhirClient,
    rtype: &str,
    params: &[(&str, String)],
) -> Result<Vec<serde_json::Value>, FetchError> {
    let bundle = client.get(rtype, params, SEARCH_TIMEOUT).await?;
    Ok(bundle_page(bundle)?.0)
}
