//! Runs `Effect`s as tokio tasks and sends their results back as `Msg`s, each tagged with the
//! search generation or patient context it was made for. A new chart or search aborts the
//! previous one's requests. The runtime performs I/O and reports facts; what to make of them
//! (offline, restricted, refused) is `update`'s to decide.

mod census;
mod chart;
mod drafts;
pub mod offline;
mod open;
mod orders;
pub mod provider;
mod record;
mod search;
pub mod session;
mod sign_in;
mod support;
pub mod timing;

use crate::workstation::msg::{AccessMsg, OfflineMsg, OrdersMsg, SearchMsg};
use chrono::FixedOffset;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::secret::Secret;
use crate::workstation::chart::location_of;
use crate::workstation::client::{FetchError, FhirClient, SEARCH_TIMEOUT, bundle_page};

use crate::workstation::notes::drafts::DraftStore;
use crate::workstation::vault::Vault;
use crate::workstation::vault::cache::ChartCache;
use crate::workstation::vault::outbox::Outbox;

use self::drafts::DraftWriter;
use self::offline::{CacheJob, StorageConfig, is_offline};
use self::timing::{DEBOUNCE, SEND_TIMEOUT, SPIN};
use super::recent::RecentStore;
use super::state::{Effect, Msg, SignTarget, Unlocked};
pub struct Runner {
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    recent: Option<RecentStore>,
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
    session: Option<open::Session>,
    flushing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Who the last vault belonged to (their cache is wiped at sign-out when the site asks).
    last_user: Option<String>,
    provider: Option<provider::Link>,
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
            recent_file: None,
            zone,
            chart_task: None,
            held: Default::default(),
            search_task: None,
            storage: None,
            session: None,
            flushing: Default::default(),
            last_user: None,
            provider: None,
        }
    }

    /// Uses `unlocked`'s key for the cache, the outbox and drafts, from now on.
    pub fn attach(&mut self, unlocked: Unlocked) {
        self.close_vault(false);
        let vault = unlocked.vault;
        if self
            .last_user
            .as_ref()
            .is_some_and(|u| *u != vault.username)
        {
            // Another user signed in at this terminal: the previous one has signed out.
            self.sign_out();
        }
        self.last_user = Some(vault.username.clone());
        self.session = Some(open::Session::open(
            Some(vault),
            unlocked.ready,
            self.tx.clone(),
        ));
        self.run(Effect::LoadDrafts);
        self.report_outbox(true);
    }

    /// Drafts with a key supplied by the caller (tests): the same as a sign-in's.
    pub fn keep_drafts(&mut self, store: DraftStore) {
        let ready = session::Ready {
            cache: None,
            outbox: None,
            drafts: store,
        };
        self.session = Some(open::Session::open(None, ready, self.tx.clone()));
    }

    /// Wipes the key from memory once the pending draft writes are done; with `sign_out`
    /// at a site that asks for it, the user's cached charts are deleted too.
    pub fn close_vault(&mut self, sign_out: bool) {
        if let Some(session) = self.session.take() {
            session.close();
        }
        if sign_out {
            self.sign_out();
        }
    }

    /// The open session's chart cache.
    fn cache(&self) -> Option<std::sync::Arc<ChartCache>> {
        self.session.as_ref().and_then(|s| s.cache.clone())
    }

    /// The open session's cache writer.
    fn cache_writer(&self) -> Option<std::sync::mpsc::Sender<CacheJob>> {
        self.session.as_ref().and_then(|s| s.cache_writer.clone())
    }

    /// The open session's outbox.
    fn outbox(&self) -> Option<std::sync::Arc<Outbox>> {
        self.session.as_ref().and_then(|s| s.outbox.clone())
    }

    /// The open session's draft writer.
    fn drafts(&self) -> Option<&DraftWriter> {
        self.session.as_ref().map(|s| &s.drafts)
    }

    /// The open session's vault.
    fn vault(&self) -> Option<&Vault> {
        self.session.as_ref().and_then(|s| s.vault.as_ref())
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
        let Some(outbox) = self.outbox() else {
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
        self.drafts().map(|w| &w.store)
    }

    /// Performs `effect` in the file that owns it (`runs`).
    pub fn run(&mut self, effect: Effect) {
        match runs(&effect) {
            Runs::Search => self.run_search(effect),
            Runs::Census => self.run_census(effect),
            Runs::Support => self.run_support(effect),
            Runs::Drafts => self.run_drafts(effect),
            Runs::Orders => self.run_orders(effect),
            Runs::Record => self.run_record(effect),
            Runs::Chart => self.run_chart(effect),
            Runs::SignIn => self.run_sign_in(effect),
            Runs::Runner => self.run_here(effect),
        }
    }

    /// The vault's and the loop's own effects.
    fn run_here(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::Tick => {
                tokio::spawn(async move {
                    tokio::time::sleep(SPIN).await;
                    let _ = tx.send(Msg::Tick);
                });
            }
            Effect::AttachVault(unlocked) => self.attach(*unlocked),
            Effect::CloseVault => self.close_vault(false),
            Effect::FlushOutbox => self.report_outbox(true),
            Effect::RemoveFromOutbox { seq } => {
                if let Some(outbox) = self.outbox() {
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
            _ => {}
        }
    }
}
/// Which of the runtime's files performs an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runs {
    Search,
    Support,
    Census,
    Drafts,
    Orders,
    Record,
    Chart,
    SignIn,
    Runner,
}

/// Where each effect is performed. Exhaustive on purpose: a new effect does not build until it
/// is given a file, so none can be dropped unseen.
fn runs(effect: &Effect) -> Runs {
    match effect {
        Effect::Debounce { .. }
        | Effect::SearchPatients { .. }
        | Effect::FetchLocations { .. }
        | Effect::LoadRecent { .. }
        | Effect::SaveRecent { .. } => Runs::Search,
        Effect::LoadLists { .. }
        | Effect::LoadCensus { .. }
        | Effect::ChangeList { .. }
        | Effect::LoadBoard { .. }
        | Effect::LoadHandoffs { .. }
        | Effect::SaveHandoff { .. }
        | Effect::WriteHandoff { .. }
        | Effect::Adt { .. }
        | Effect::Poll { .. }
        | Effect::LoadInbox { .. }
        | Effect::LoadCritical { .. }
        | Effect::AcknowledgeResults { .. }
        | Effect::FindColleague { .. }
        | Effect::LoadWork { .. }
        | Effect::SaveCosign { .. }
        | Effect::ForwardResult { .. } => Runs::Census,
        Effect::Support { .. } | Effect::WriteSupportFile { .. } => Runs::Support,
        Effect::LoadDrafts
        | Effect::SaveDraft(_)
        | Effect::DeleteDraft(_)
        | Effect::Autosave { .. }
        | Effect::QueueNote { .. }
        | Effect::QueueVitals { .. }
        | Effect::QueueEntry { .. }
        | Effect::SendNote { .. } => Runs::Drafts,
        Effect::SignOrders { .. } | Effect::Discontinue { .. } => Runs::Orders,
        Effect::RecordVitals { .. }
        | Effect::WriteEntry { .. }
        | Effect::ChangeEntry { .. }
        | Effect::FindDuplicates { .. }
        | Effect::RegisterPatient { .. }
        | Effect::ReadForEdit { .. }
        | Effect::ReadEntry { .. }
        | Effect::UpdateEntry { .. }
        | Effect::SaveDemographics { .. } => Runs::Record,
        Effect::OpenChart { .. }
        | Effect::LoadChartBody { .. }
        | Effect::EvictCached { .. }
        | Effect::FindNamesakes { .. } => Runs::Chart,
        Effect::CheckSignature { .. }
        | Effect::ChangePassword { .. }
        | Effect::Login { .. }
        | Effect::OpenOffline { .. }
        | Effect::OpenVault { .. }
        | Effect::Logout
        | Effect::ProviderSignIn
        | Effect::ProviderPaste(_)
        | Effect::ProviderAccept
        | Effect::ProviderDiscard
        | Effect::UserChanged { .. }
        | Effect::BreakGlass { .. }
        | Effect::LoadAccessLog { .. } => Runs::SignIn,
        Effect::Tick
        | Effect::AttachVault(_)
        | Effect::CloseVault
        | Effect::FlushOutbox
        | Effect::RemoveFromOutbox { .. }
        | Effect::Probe => Runs::Runner,
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
