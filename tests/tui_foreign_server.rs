//! The workstation against a FHIR server that is not ours: no `$everything` (it falls back to
//! per-type searches), a bearer token on every request, and replies it cannot read. The server
//! here is a few canned routes, standing in for a hospital's server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bedside::tui::Options;
use bedside::tui::headless::{Headless, test_display};
use bedside::tui::state::Msg;
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
    h.app.handle(Msg::OpenPatient("p1".into()));
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
            .any(|(u, _)| u.starts_with("Observation?patient=p1"))
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
    h.app.handle(Msg::OpenPatient("p2".into()));
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
