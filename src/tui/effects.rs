//! Runs `Effect`s as tokio tasks and sends their results back as `Msg`s, each tagged with the
//! search generation or patient context it was made for. A new chart or search aborts the
//! previous one's requests.

use std::time::Duration;

use chrono::FixedOffset;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::chart::location_of;
use crate::client::{FetchError, FhirClient, PAGE_TIMEOUT, SEARCH_TIMEOUT, bundle_page};

use crate::notes::document::document_reference;
use crate::notes::drafts::{Draft, DraftStore};

use super::recent::RecentStore;
use super::state::{Effect, Msg};

/// The pause after the last keystroke before a search is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// How often the spinner turns while something loads.
pub const SPIN: Duration = Duration::from_millis(120);
/// Resources per `$everything` page.
pub const EVERYTHING_PAGE: usize = 250;

/// Searched one by one when a server has no `$everything`.
const CHART_TYPES: &[&str] = &[
    "Encounter",
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "DiagnosticReport",
    "DocumentReference",
    "Procedure",
    "Immunization",
    "ServiceRequest",
];

/// How soon after an edit the draft is written (never more is lost to a crash).
pub const AUTOSAVE: Duration = Duration::from_secs(2);
/// How long filing a note may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Runner {
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    recent: Option<RecentStore>,
    drafts: Option<DraftWriter>,
    /// Where recent-patient lists live (one file per signed-in user).
    pub recent_file: Option<std::path::PathBuf>,
    zone: FixedOffset,
    chart_task: Option<JoinHandle<()>>,
    search_task: Option<JoinHandle<()>>,
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
            search_task: None,
        }
    }

    /// Keeps drafts in `store`.
    pub fn keep_drafts(&mut self, store: DraftStore) {
        self.drafts = Some(DraftWriter::start(store, self.tx.clone()));
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
                    let _ = tx.send(Msg::SearchDue(generation));
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
                self.search_task = Some(tokio::spawn(async move {
                    let result = search(&client, "Patient", &params).await;
                    let _ = tx.send(Msg::SearchDone { generation, result });
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
                                ("patient", id.clone()),
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
                    let _ = tx.send(Msg::Locations(found));
                });
            }
            Effect::LoadRecent { patient_ids } => {
                tokio::spawn(async move {
                    let params = [
                        ("_id", patient_ids.join(",")),
                        ("_count", patient_ids.len().to_string()),
                    ];
                    let _ = tx.send(Msg::RecentLoaded(search(&client, "Patient", &params).await));
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
                    let server = client.base();
                    tokio::task::spawn_blocking(move || {
                        let (drafts, unreadable) = store.load(&server);
                        if unreadable > 0 {
                            tracing::warn!("{unreadable} draft files could not be read");
                        }
                        let _ = tx.send(Msg::DraftsFound(drafts));
                    });
                }
            }
            Effect::SaveDraft(draft) => match &self.drafts {
                Some(writer) => writer.send(DraftJob::Save(draft)),
                None => {
                    let _ = tx.send(Msg::DraftSaved {
                        id: draft.id.clone(),
                        result: Err("no folder for drafts (is $HOME set?)".into()),
                    });
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
                    let _ = tx.send(Msg::AutosaveDue { context });
                });
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
                    let _ = tx.send(Msg::NoteSent {
                        context,
                        draft_id: draft.id,
                        status,
                        result,
                    });
                });
            }
            Effect::SignOrders { context, bundle } => {
                tokio::spawn(async move {
                    let result = client.post_bundle(&bundle, SEND_TIMEOUT).await;
                    let _ = tx.send(Msg::OrdersSigned { context, result });
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
                        let update = crate::orders::basket::discontinued(current, &reason);
                        client
                            .write(&update, None, version.as_deref(), SEND_TIMEOUT)
                            .await
                    }
                    .await;
                    let _ = tx.send(Msg::Discontinued { context, result });
                });
            }
            Effect::OpenChart {
                context,
                patient_id,
                check,
                support,
            } => {
                if let Some(old) = self.chart_task.take() {
                    old.abort();
                }
                let task = load_chart(
                    client,
                    tx,
                    context,
                    patient_id,
                    check && !support,
                    check && support,
                );
                self.chart_task = Some(tokio::spawn(task));
            }
            Effect::Login {
                username,
                password,
                code,
                replace,
            } => {
                tokio::spawn(async move {
                    // A failed attempt leaves the held token alone; a new one replaces it,
                    // and the old one is revoked on the server.
                    let old = if replace { client.token() } else { None };
                    let result = client.login(&username, &password, code.as_deref()).await;
                    if let (Ok(_), Some(old)) = (&result, old) {
                        client.revoke(old).await;
                    }
                    let _ = tx.send(Msg::SignedIn(result));
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
                    let ids = store.load();
                    self.recent = Some(store);
                    let _ = tx.send(Msg::RecentIds(ids));
                }
            }
            Effect::BreakGlass {
                context,
                patient_id,
                reason,
            } => {
                tokio::spawn(async move {
                    let result = client.break_glass(&patient_id, &reason).await;
                    let _ = tx.send(Msg::GlassBroken { context, result });
                });
            }
            Effect::LoadAccessLog {
                context,
                patient_id,
                params,
            } => {
                tokio::spawn(async move {
                    let mut params = params;
                    params.push(("patient", patient_id));
                    let result = search(&client, "AuditEvent", &params).await;
                    let _ = tx.send(Msg::AccessLog { context, result });
                });
            }
        }
    }
}

enum DraftJob {
    Save(Box<Draft>),
    Delete(String),
}

/// Draft writes go through one thread, in the order they were asked for: two saves of the
/// same draft can never land out of order or race on the temporary file.
struct DraftWriter {
    store: DraftStore,
    jobs: std::sync::mpsc::Sender<DraftJob>,
}

impl DraftWriter {
    fn start(store: DraftStore, tx: UnboundedSender<Msg>) -> DraftWriter {
        let (jobs, queue) = std::sync::mpsc::channel::<DraftJob>();
        let disk = store.clone();
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
                            let _ = tx.send(Msg::DraftSaved {
                                id: draft.id.clone(),
                                result,
                            });
                        }
                        DraftJob::Delete(id) => {
                            if let Err(e) = disk.delete(&id) {
                                tracing::warn!("cannot delete a filed draft: {e}");
                            }
                        }
                    }
                }
            });
        DraftWriter { store, jobs }
    }

    fn send(&self, job: DraftJob) {
        let _ = self.jobs.send(job);
    }
}

/// Sets the draft's saved time (and created time, the first time).
fn stamp(draft: &mut Draft, now: chrono::DateTime<chrono::Utc>) {
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if draft.created.is_empty() {
        draft.created = now.clone();
    }
    draft.saved = now;
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

/// Loads a chart: the patient and allergies for the banner at once, the rest in pages.
async fn load_chart(
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    context: u64,
    id: String,
    check: bool,
    withhold: bool,
) {
    let patient = client
        .get(&format!("Patient/{id}"), &[], SEARCH_TIMEOUT)
        .await;
    // A restricted record (or any record, for support staff) shows its banner and asks for
    // break-the-glass before anything clinical is requested.
    let restricted = patient
        .as_ref()
        .is_ok_and(crate::auth::policy::is_restricted);
    let _ = tx.send(Msg::ChartPatient {
        context,
        result: patient,
    });
    if withhold || (check && restricted) {
        let _ = tx.send(Msg::ChartRestricted {
            context,
            restricted,
        });
        return;
    }
    let allergies = async {
        let params = [("patient", id.clone()), ("_count", "200".to_string())];
        let result = search(&client, "AllergyIntolerance", &params).await;
        let _ = tx.send(Msg::ChartAllergies { context, result });
    };
    let pages = async {
        let params = [("_count", EVERYTHING_PAGE.to_string())];
        let first = client
            .get(&format!("Patient/{id}/$everything"), &params, PAGE_TIMEOUT)
            .await;
        match first {
            Err(e) if e.is_unsupported() => {
                tracing::info!("no $everything on this server; loading the chart type by type");
                for rtype in CHART_TYPES {
                    let params = [("patient", id.clone()), ("_count", "500".to_string())];
                    let first = client.get(rtype, &params, PAGE_TIMEOUT).await;
                    if !send_pages(&client, &tx, context, first).await {
                        return;
                    }
                }
            }
            first => {
                if !send_pages(&client, &tx, context, first).await {
                    return;
                }
            }
        }
        let _ = tx.send(Msg::ChartDone { context });
    };
    tokio::join!(allergies, pages);
}

/// Sends a bundle's pages, following `next`; false after an error (already reported).
async fn send_pages(
    client: &FhirClient,
    tx: &UnboundedSender<Msg>,
    context: u64,
    mut reply: Result<serde_json::Value, FetchError>,
) -> bool {
    loop {
        let page = reply.and_then(bundle_page);
        match page {
            Ok((resources, next)) => {
                let _ = tx.send(Msg::ChartPage {
                    context,
                    result: Ok(resources),
                });
                match next {
                    Some(link) => reply = client.follow(&link, PAGE_TIMEOUT).await,
                    None => return true,
                }
            }
            Err(e) => {
                let _ = tx.send(Msg::ChartPage {
                    context,
                    result: Err(e),
                });
                return false;
            }
        }
    }
}
