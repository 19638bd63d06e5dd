//! Runs `Effect`s as tokio tasks and sends their results back as `Msg`s, each tagged with the
//! search generation or patient context it was made for. A new chart or search aborts the
//! previous one's requests.

use std::time::Duration;

use chrono::FixedOffset;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::chart::location_of;
use crate::client::{FetchError, FhirClient, PAGE_TIMEOUT, SEARCH_TIMEOUT, bundle_page};

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

pub struct Runner {
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    recent: Option<RecentStore>,
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
            zone,
            chart_task: None,
            search_task: None,
        }
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
            Effect::OpenChart {
                context,
                patient_id,
            } => {
                if let Some(old) = self.chart_task.take() {
                    old.abort();
                }
                self.chart_task = Some(tokio::spawn(load_chart(client, tx, context, patient_id)));
            }
        }
    }
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
async fn load_chart(client: FhirClient, tx: UnboundedSender<Msg>, context: u64, id: String) {
    let banner = async {
        let patient = client
            .get(&format!("Patient/{id}"), &[], SEARCH_TIMEOUT)
            .await;
        let _ = tx.send(Msg::ChartPatient {
            context,
            result: patient,
        });
    };
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
    tokio::join!(banner, allergies, pages);
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
