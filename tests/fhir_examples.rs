//! The official FHIR R4 examples (npm `hl7.fhir.r4.examples` 4.0.1): every example of a type
//! this server supports imports, and reads back over HTTP semantically equal to the input.

mod common;

use bedside::workstation::msg::ChartMsg;
use std::path::PathBuf;

use common::TestServer;
use serde_json::Value;

fn examples_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("BEDSIDE_FHIR_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/fhir-examples/package"));
    if !dir.join("Patient-example.json").exists() {
        let fetched = std::process::Command::new("bash")
            .arg(root.join(".ci/fetch-fhir-examples"))
            .status();
        if !fetched.is_ok_and(|s| s.success()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "the FHIR examples could not be fetched; CI must run them"
            );
            eprintln!("skipping: FHIR examples not available (run .ci/fetch-fhir-examples)");
            return None;
        }
    }
    Some(dir)
}

fn without_server_meta(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        if let Some(Value::Object(meta)) = obj.get_mut("meta") {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                obj.remove("meta");
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_examples_round_trip() {
    let Some(dir) = examples_dir() else { return };
    let mut files: Vec<(PathBuf, Value)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()) else {
            continue;
        };
        // AuditEvents come only from the server's own trail (import refuses them).
        let supported = value["resourceType"]
            .as_str()
            .is_some_and(|t| bedside::fhir::is_supported(t) && t != "AuditEvent");
        if supported {
            files.push((path, value));
        }
    }
    assert!(
        files.len() > 200,
        "expected the supported examples, found {}",
        files.len()
    );

    let srv = TestServer::start().await;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let store = srv.store.clone();
    let summary = tokio::task::spawn_blocking(move || {
        bedside::server::import::import_files(&store, &paths, |_| {})
    })
    .await
    .unwrap();
    assert_eq!(summary.rejected, 0, "{:?}", summary.rejections);
    assert_eq!(summary.imported as usize, files.len());

    let mut mismatches = Vec::new();
    for (path, input) in &files {
        let url = format!(
            "{}/{}",
            input["resourceType"].as_str().unwrap(),
            input["id"].as_str().unwrap()
        );
        let (status, back) = srv.get(&url).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{url}");
        if without_server_meta(back) != without_server_meta(input.clone()) {
            mismatches.push(path.display().to_string());
        }
    }
    assert!(
        mismatches.is_empty(),
        "read back differently: {mismatches:?}"
    );
    eprintln!(
        "{} official examples imported and read back equal",
        files.len()
    );
    render_every_chart(&srv, &files).await;
}

/// Every chart the examples make opens and renders in every view without an error: each
/// timeline item's detail, a trend where there are numbers, and the summary.
async fn render_every_chart(srv: &TestServer, files: &[(PathBuf, Value)]) {
    use bedside::workstation::headless::Headless;
    use bedside::workstation::state::{ChartView, Msg};
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let patients: Vec<&str> = files
        .iter()
        .filter(|(_, v)| v["resourceType"] == "Patient")
        .filter_map(|(_, v)| v["id"].as_str())
        .collect();
    let mut items = 0;
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = Headless::new(&srv.base, &srv.token, w, h, today).unwrap();
        for id in &patients {
            app.app.handle(Msg::Chart(ChartMsg::Open(id.to_string())));
            let loaded = app
                .wait_for(std::time::Duration::from_secs(20), |s| {
                    s.chart.as_ref().is_some_and(|c| !c.loading)
                })
                .await;
            assert!(loaded, "chart of Patient/{id} did not load");
            let c = app.state().chart.as_ref().unwrap();
            assert_eq!(c.error, None, "Patient/{id}");
            assert!(c.chart.patient.is_some(), "Patient/{id} has no banner");
            let n = c.visible.len();
            items += n;
            for _ in 0..n {
                app.keys("<tab>t").unwrap();
                let trend = matches!(
                    app.state().chart.as_ref().unwrap().view,
                    ChartView::Trend { .. }
                );
                app.keys(if trend { "<esc><esc>j" } else { "<esc>j" })
                    .unwrap();
            }
            app.keys("s").unwrap();
            assert!(app.screen().contains("Active problems"), "Patient/{id}");
            app.keys("s").unwrap();
        }
    }
    eprintln!(
        "{} example charts rendered ({items} timeline items)",
        patients.len()
    );
}
