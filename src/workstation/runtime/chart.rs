//! Loading a chart, in two steps with `update` deciding between them: first the cached copy
//! (shown at once) and the patient's record; then, if `update` goes on (the record is not
//! restricted, or the glass is broken), the allergies and the chart in pages, or only the
//! server's changes to the cached copy. A complete chart goes to the cache, off this path.

use crate::workstation::msg::{ChartMsg, OfflineMsg};
use std::sync::{Arc, Mutex};

use super::{Effect, Runner, search};

use tokio::sync::mpsc::UnboundedSender;

use super::offline::{self, CacheJob, is_offline};
use super::timing::EVERYTHING_PAGE;
use crate::workstation::chart::{Answer, AnswerOutcome};
use crate::workstation::client::{
    FetchError, FhirClient, PAGE_TIMEOUT, SEARCH_TIMEOUT, bundle_page,
};
use crate::workstation::state::Msg;
use crate::workstation::vault::cache::ChartCache;

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

/// What the first step keeps for the second: when the load started, and the cached copy the
/// server's changes are merged into.
pub struct Held {
    context: u64,
    started_ms: i64,
    cached: Option<(Vec<serde_json::Value>, i64)>,
}

// Patient data: never printed.
impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("context", &self.context)
            .field("cached", &self.cached.as_ref().map(|(r, _)| r.len()))
            .finish()
    }
}

/// The slot between the two steps: one chart at a time.
pub type HeldSlot = Arc<Mutex<Option<Held>>>;

fn put(slot: &HeldSlot, held: Option<Held>) {
    let mut guard = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *guard = held;
}

/// What the first step kept for `context`, taken (a later chart's is left alone).
pub fn take(slot: &HeldSlot, context: u64) -> Held {
    let mut guard = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match guard.take() {
        Some(held) if held.context == context => held,
        other => {
            *guard = other;
            Held {
                context,
                started_ms: crate::fhir::date::now_ms(),
                cached: None,
            }
        }
    }
}

/// The first step: the cached copy (when `cache` is given), then the patient's record, as
/// `ChartCached`/`ChartPage` and `ChartPatient`. What to do next is `update`'s to decide.
pub async fn open(
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    context: u64,
    id: String,
    cache: Option<Arc<ChartCache>>,
    slot: HeldSlot,
) {
    let started_ms = crate::fhir::date::now_ms();
    put(&slot, None);
    let mut cached_bytes = None;
    if let Some(cache) = cache {
        let pid = id.clone();
        let c = cache.clone();
        let found = tokio::task::spawn_blocking(move || c.get(&pid, started_ms))
            .await
            .ok();
        match found {
            Some(Ok(Some(mut hit))) => {
                // The first part (banner, newest items) goes to the screen at once; the rest
                // follows as a second page, as a chart from the server arrives in pages.
                let fetched_ms = hit.fetched_ms;
                let _ = tx.send(Msg::Chart(ChartMsg::Cached {
                    context,
                    resources: std::mem::take(&mut hit.head),
                    fetched_ms,
                }));
                let rest = tokio::task::spawn_blocking(move || {
                    let rest = cache.rest(&hit)?;
                    let mut copy = hit.head_again();
                    copy.extend(rest.iter().cloned());
                    Ok::<_, crate::workstation::vault::VaultError>((rest, copy))
                })
                .await
                .ok();
                match rest {
                    Some(Ok((rest, copy))) => {
                        let _ = tx.send(Msg::Chart(ChartMsg::Page {
                            context,
                            result: Ok(rest),
                        }));
                        cached_bytes = Some((copy, fetched_ms));
                    }
                    Some(Err(e)) => {
                        // Half a cached chart is not shown as a chart: the server's is loaded.
                        tracing::warn!("cannot read the rest of a cached chart: {e}");
                        let _ = tx.send(Msg::Chart(ChartMsg::Merged {
                            context,
                            resources: Vec::new(),
                        }));
                    }
                    None => {}
                }
            }
            Some(Err(e)) => tracing::warn!("cannot read the chart cache: {e}"),
            _ => {}
        }
    }
    put(
        &slot,
        Some(Held {
            context,
            started_ms,
            cached: cached_bytes,
        }),
    );
    let result = client
        .get(&format!("Patient/{id}"), &[], SEARCH_TIMEOUT)
        .await;
    let _ = tx.send(Msg::Chart(ChartMsg::Patient { context, result }));
}

/// The second step: the server's changes to the cached copy, or the allergies and the whole
/// chart in pages. The complete chart goes to the cache through `writer` (none: not kept).
pub async fn load_body(
    client: FhirClient,
    tx: UnboundedSender<Msg>,
    id: String,
    held: Held,
    writer: Option<std::sync::mpsc::Sender<CacheJob>>,
) {
    let context = held.context;
    let keep = |resources: Vec<serde_json::Value>| {
        if let Some(w) = &writer {
            let _ = w.send(CacheJob::Put {
                patient_id: id.clone(),
                resources,
                fetched_ms: held.started_ms,
            });
        }
    };
    if let Some((cached, fetched_ms)) = held.cached {
        match offline::changes_since(&client, &id, cached, fetched_ms).await {
            Ok(Some((merged, changed))) => {
                if changed {
                    let _ = tx.send(Msg::Chart(ChartMsg::Merged {
                        context,
                        resources: merged.clone(),
                    }));
                }
                let _ = tx.send(Msg::Chart(ChartMsg::Done { context }));
                keep(merged);
                return;
            }
            Ok(None) => {} // no `_since` here: the whole chart, below
            Err(e) => {
                if is_offline(&e) {
                    let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
                } else {
                    let _ = tx.send(Msg::Chart(ChartMsg::Page {
                        context,
                        result: Err(e),
                    }));
                }
                let _ = tx.send(Msg::Chart(ChartMsg::Done { context }));
                return;
            }
        }
    }
    // Reference parameters as `Patient/id`: every server reads that form; some read only it.
    let patient_ref = format!("Patient/{id}");
    let allergies = async {
        let params = [
            ("patient", patient_ref.clone()),
            ("_count", "200".to_string()),
        ];
        let first = client
            .get("AllergyIntolerance", &params, SEARCH_TIMEOUT)
            .await;
        let mut found = Vec::new();
        let (answer, error) = follow_pages(
            &client,
            "AllergyIntolerance",
            first,
            ALLERGY_PAGES,
            |page| found.extend(page),
        )
        .await;
        let _ = tx.send(Msg::Chart(ChartMsg::Answer { context, answer }));
        let result = match error {
            Some(e) => Err(e),
            None => Ok(found),
        };
        let _ = tx.send(Msg::Chart(ChartMsg::Allergies { context, result }));
    };
    let pages = async {
        let mut all = Vec::new();
        let params = [("_count", EVERYTHING_PAGE.to_string())];
        let first = client
            .get(&format!("Patient/{id}/$everything"), &params, PAGE_TIMEOUT)
            .await;
        match first {
            Err(e) if e.is_unsupported() => {
                tracing::info!("no $everything on this server; loading the chart type by type");
                let answer = Answer {
                    what: "$everything".into(),
                    outcome: AnswerOutcome::Unsupported,
                };
                let _ = tx.send(Msg::Chart(ChartMsg::Answer { context, answer }));
                for rtype in CHART_TYPES {
                    let params = [
                        ("patient", patient_ref.clone()),
                        ("_count", "500".to_string()),
                    ];
                    let first = client.get(rtype, &params, PAGE_TIMEOUT).await;
                    if !send_pages(&client, &tx, context, rtype, first, None).await {
                        return;
                    }
                }
            }
            first => {
                if !send_pages(&client, &tx, context, "$everything", first, Some(&mut all)).await {
                    return;
                }
                keep(all);
            }
        }
        let _ = tx.send(Msg::Chart(ChartMsg::Done { context }));
    };
    tokio::join!(allergies, pages);
}

/// Pages of the allergy list followed before the answer counts as cut short.
const ALLERGY_PAGES: usize = 20;

/// Follows a search's `next` links (at most `max_pages` pages), handing each page's resources
/// to `page`; what the server answered, and the error that ended it, if one did.
async fn follow_pages(
    client: &FhirClient,
    what: &str,
    mut reply: Result<serde_json::Value, FetchError>,
    max_pages: usize,
    mut page: impl FnMut(Vec<serde_json::Value>),
) -> (Answer, Option<FetchError>) {
    let answer = |outcome| Answer {
        what: what.to_string(),
        outcome,
    };
    let mut count = 0usize;
    let mut total = None;
    let mut pages = 0;
    loop {
        let read = reply.and_then(|bundle| {
            let claimed = bundle.get("total").and_then(serde_json::Value::as_u64);
            Ok((claimed, bundle_page(bundle)?))
        });
        let (claimed, (resources, next)) = match read {
            Ok(x) => x,
            Err(e) => {
                let outcome = if e.is_unsupported() {
                    AnswerOutcome::Unsupported
                } else {
                    AnswerOutcome::Failed(e.to_string())
                };
                return (answer(outcome), Some(e));
            }
        };
        if pages == 0 {
            total = claimed;
        }
        pages += 1;
        count += resources.len();
        page(resources);
        match next {
            Some(link) if pages < max_pages => {
                reply = client.follow(&link, PAGE_TIMEOUT).await;
            }
            next => {
                let cut = next.is_some() || total.is_some_and(|t| t > count as u64);
                let outcome = AnswerOutcome::Received { count, total, cut };
                return (answer(outcome), None);
            }
        }
    }
}

/// Sends a bundle's pages, following `next`, then what the server answered; false after an
/// error (already reported).
async fn send_pages(
    client: &FhirClient,
    tx: &UnboundedSender<Msg>,
    context: u64,
    what: &str,
    reply: Result<serde_json::Value, FetchError>,
    mut keep: Option<&mut Vec<serde_json::Value>>,
) -> bool {
    let (answer, error) = follow_pages(client, what, reply, usize::MAX, |resources| {
        if let Some(all) = keep.as_deref_mut() {
            all.extend(resources.iter().cloned());
        }
        let _ = tx.send(Msg::Chart(ChartMsg::Page {
            context,
            result: Ok(resources),
        }));
    })
    .await;
    let _ = tx.send(Msg::Chart(ChartMsg::Answer { context, answer }));
    match error {
        None => true,
        Some(e) => {
            if is_offline(&e) {
                let _ = tx.send(Msg::Offline(OfflineMsg::Connectivity(false)));
            }
            let _ = tx.send(Msg::Chart(ChartMsg::Page {
                context,
                result: Err(e),
            }));
            false
        }
    }
}

impl Runner {
    /// This feature's effects (`runs` sends only these here).
    pub(super) fn run_chart(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        let client = self.client.clone();
        match effect {
            Effect::OpenChart {
                context,
                patient_id,
                from_cache,
            } => {
                if let Some(old) = self.chart_task.take() {
                    old.abort();
                }
                let cache = self.cache().filter(|_| from_cache);
                let task = self::open(client, tx, context, patient_id, cache, self.held.clone());
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
                let held = self::take(&self.held, context);
                let writer = self.cache_writer().filter(|_| keep);
                let task = self::load_body(client, tx, patient_id, held, writer);
                self.chart_task = Some(tokio::spawn(task));
            }
            Effect::EvictCached { patient_id } => {
                if let Some(writer) = self.cache_writer() {
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
            _ => {}
        }
    }
}
