//! The workstation against a FHIR server that is not ours: no `$everything` (it falls back to
//! per-type searches), a bearer token on every request, and replies it cannot read. The server
//! here is a few canned routes, standing in for a hospital's server.

use bedside::workstation::msg::ChartMsg;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::Msg;
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn bundle(resources: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "searchset",
           "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

async fn read(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock().unwrap().push((format!("{rtype}/{id}"), auth));
    match (rtype.as_str(), id.as_str()) {
        ("Patient", "p1" | "p2") => (
            StatusCode::OK,
            json!({"resourceType": "Patient", "id": id,
                   "name": [{"family": "Okafor", "given": ["Ada"]}], "gender": "female",
                   "birthDate": "1970-01-02",
                   "identifier": [{"system": "urn:mrn", "value": "MRN-77"}]})
            .to_string(),
        ),
        _ => (StatusCode::NOT_FOUND, "{}".to_string()),
    }
}

async fn everything(Path(id): Path<String>) -> impl IntoResponse {
    if id == "p2" {
        // A broken proxy: a 200 that is not JSON.
        return (StatusCode::OK, "<html>gateway says hi</html>".to_string());
    }
    (
        StatusCode::NOT_FOUND,
        json!({"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": "not-supported", "diagnostics": "unknown operation"}]})
        .to_string(),
    )
}

async fn search(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Path(rtype): Path<String>,
    RawQuery(query): RawQuery,
) -> impl IntoResponse {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock()
        .unwrap()
        .push((format!("{rtype}?{}", query.unwrap_or_default()), auth));
    let subject = json!({"reference": "Patient/p1"});
    let resources = match rtype.as_str() {
        "Observation" => vec![
            json!({"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"text": "Potassium"}, "subject": subject, "effectiveDateTime": "2026-11-01T08:00:00Z",
            "valueQuantity": {"value": 6.8, "unit": "mmol/L"},
            "interpretation": [{"coding": [{"code": "HH"}]}]}),
        ],
        "AllergyIntolerance" => vec![json!({"resourceType": "AllergyIntolerance", "id": "a1",
            "patient": subject, "code": {"text": "Latex"}})],
        _ => vec![],
    };
    (StatusCode::OK, bundle(resources).to_string())
}

async fn start() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/fhir/Patient/{id}/$everything", get(everything))
        .route("/fhir/{rtype}/{id}", get(read))
        .route("/fhir/{rtype}", get(search))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/fhir"), seen)
}

fn app(base: &str) -> Headless {
    let mut opts = Options::new(base);
    opts.token = Some("s3cret".into());
    let display = test_display(base, chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    Headless::with_options(opts, display, 100, 30).unwrap()
}

#[tokio::test]
async fn falls_back_to_searches_and_sends_the_token() {
    let (base, seen) = start().await;
    let mut h = app(&base);
    h.app.handle(Msg::Chart(ChartMsg::Open("p1".into())));
    assert!(
        h.wait_for(Duration::from_secs(10), |s| s
            .chart
            .as_ref()
            .is_some_and(|c| !c.loading))
            .await
    );
    let c = h.state().chart.as_ref().unwrap();
    assert_eq!(c.error, None);
    assert!(
        c.chart
            .timeline
            .iter()
            .any(|i| i.summary.contains("Potassium"))
    );
    let screen = h.screen();
    assert!(screen.contains("OKAFOR, Ada"), "{screen}");
    assert!(screen.contains("Allergies: latex"), "{screen}");
    assert!(screen.contains("H!!"), "critical marker: {screen}");
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|(u, _)| u.starts_with("Observation?patient=Patient%2Fp1"))
    );
    assert!(
        seen.iter()
            .all(|(_, auth)| auth.as_deref() == Some("Bearer s3cret")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn an_unreadable_reply_is_a_clear_line_not_a_crash() {
    let (base, _) = start().await;
    let mut h = app(&base);
    h.app.handle(Msg::Chart(ChartMsg::Open("p2".into())));
    assert!(
        h.wait_for(Duration::from_secs(10), |s| s
            .chart
            .as_ref()
            .is_some_and(|c| !c.loading))
            .await
    );
    let c = h.state().chart.as_ref().unwrap();
    let error = c.error.clone().unwrap_or_default();
    assert!(error.contains("cannot read"), "{error}");
    assert!(h.screen().contains("OKAFOR, Ada"));
}

/// How a strict server reads the `patient` parameter.
#[derive(Clone, Copy)]
enum Reads {
    /// Only `Patient/id` (as some servers do); a bare id finds nothing.
    TypedOnly,
    /// Only a bare id: `Patient/id` finds nothing (the workstation's searches all come back
    /// empty, which is what a misunderstood search looks like).
    BareOnly,
    /// Ignores the parameter: every patient's records come back.
    Ignores,
}

/// A server with no `$everything` and no `next` links: at most 100 entries a reply, with the
/// true total. Patient `s1` has 388 resources, 3 of them allergies (penicillin among them).
async fn strict(reads: Reads) -> String {
    async fn one(Path((rtype, id)): Path<(String, String)>) -> impl IntoResponse {
        if rtype == "Patient" && id == "s1" {
            let p = json!({"resourceType": "Patient", "id": "s1",
                "name": [{"family": "Strand", "given": ["Vera"]}], "gender": "female",
                "birthDate": "1950-05-06", "identifier": [{"system": "urn:mrn", "value": "MRN-388"}]});
            return (StatusCode::OK, p.to_string());
        }
        let outcome = json!({"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-supported", "diagnostics": "no such operation"}]});
        (StatusCode::NOT_FOUND, outcome.to_string())
    }
    fn records(rtype: &str, patient: &str) -> Vec<Value> {
        let subject = json!({"reference": format!("Patient/{patient}")});
        match rtype {
            "AllergyIntolerance" => ["Penicillin", "Latex", "Peanut"]
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    json!({"resourceType": "AllergyIntolerance", "id": format!("{patient}-a{i}"),
                    "patient": subject, "code": {"text": s}})
                })
                .collect(),
            "Observation" => (0..385)
                .map(|i| {
                    json!({"resourceType": "Observation", "id": format!("{patient}-o{i}"),
                    "status": "final", "code": {"text": "Heart rate"}, "subject": subject,
                    "effectiveDateTime": format!("2026-10-{:02}T08:00:00Z", 1 + i % 28),
                    "valueQuantity": {"value": 70 + i % 20, "unit": "/min"}})
                })
                .collect(),
            _ => vec![],
        }
    }
    let app = Router::new()
        .route("/fhir/Patient/{id}/$everything", get(|| async {
            let outcome = json!({"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-supported", "diagnostics": "unknown operation"}]});
            (StatusCode::NOT_FOUND, outcome.to_string())
        }))
        .route("/fhir/{rtype}/{id}", get(one))
        .route(
            "/fhir/{rtype}",
            get(move |Path(rtype): Path<String>, RawQuery(q): RawQuery| async move {
                let q = q.unwrap_or_default();
                let patient = q
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("patient="))
                    .unwrap_or("")
                    .replace("%2F", "/");
                let mut found = match (reads, patient.strip_prefix("Patient/")) {
                    (Reads::TypedOnly, Some(id)) => records(&rtype, id),
                    (Reads::BareOnly, None) => records(&rtype, &patient),
                    (Reads::Ignores, _) => [records(&rtype, "s1"), records(&rtype, "other")].concat(),
                    _ => vec![],
                };
                let total = found.len();
                found.truncate(100);
                let mut b = bundle(found);
                b["total"] = json!(total);
                (StatusCode::OK, b.to_string())
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/fhir")
}

async fn open_strict(reads: Reads) -> Headless {
    let base = strict(reads).await;
    let mut h = app(&base);
    h.app.handle(Msg::Chart(ChartMsg::Open("s1".into())));
    assert!(
        h.wait_for(Duration::from_secs(10), |s| s
            .chart
            .as_ref()
            .is_some_and(|c| !c.loading))
            .await
    );
    h
}

#[tokio::test]
async fn reference_searches_are_typed_and_a_cut_short_chart_says_so() {
    let h = open_strict(Reads::TypedOnly).await;
    let c = &h.state().chart.as_ref().unwrap().chart;
    // The allergies came (the search named `Patient/s1`), and the banner names them.
    assert_eq!(c.allergy_doubt(), None);
    let screen = h.screen();
    assert!(screen.contains("penicillin"), "{screen}");
    // 385 observations, of which the server sent 100 and no way to the rest: counted, and
    // said in the answers (not silently a smaller chart).
    assert_eq!(c.timeline.len(), 100);
    let obs = c.answers.iter().find(|a| a.what == "Observation").unwrap();
    assert_eq!(obs.describe(), "Observation 100 of 385 (cut short)");
    assert!(
        screen.contains("INCOMPLETE: Observation 100 of 385"),
        "{screen}"
    );
    // The order checks can run: the allergy list is whole.
    let checks = bedside::workstation::orders::from_chart::patient(c).unwrap();
    assert_eq!(checks.allergies.len(), 3);
}

#[tokio::test]
async fn all_empty_searches_without_everything_leave_allergies_unknown() {
    let h = open_strict(Reads::BareOnly).await;
    let c = &h.state().chart.as_ref().unwrap().chart;
    let screen = h.screen();
    // Never "not assessed" from answers that look like a search the server did not read.
    assert!(!screen.contains("not assessed"), "{screen}");
    assert!(screen.contains("Allergies UNKNOWN"), "{screen}");
    // The empty timeline says what the server answered.
    assert!(screen.contains("returned nothing"), "{screen}");
    assert!(screen.contains("$everything not supported"), "{screen}");
    assert!(screen.contains("Observation 0"), "{screen}");
    // And the order checks count as not run (the orders pane asks for acknowledgement).
    let why = bedside::workstation::orders::from_chart::patient(c).unwrap_err();
    assert!(why.contains("cannot be trusted"), "{why}");
}

#[tokio::test]
async fn an_allergy_answer_about_other_patients_is_not_trusted() {
    let h = open_strict(Reads::Ignores).await;
    let c = &h.state().chart.as_ref().unwrap().chart;
    // The other patient's records never land in this chart...
    assert!(c.foreign > 0);
    assert_eq!(c.allergies.len(), 3);
    // ...and the allergy list is shown as possibly incomplete, the checks as not run.
    assert!(c.allergy_doubt().is_some());
    let screen = h.screen();
    assert!(screen.contains("INCOMPLETE"), "{screen}");
    assert!(bedside::workstation::orders::from_chart::patient(c).is_err());
}
