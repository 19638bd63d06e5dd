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
        if value["resourceType"].is_string() && value["resourceType"] != "AuditEvent" {
            files.push((path, value));
        }
    }
    // The whole package (5,307 files) but its nine AuditEvents and its index files.
    assert!(files.len() > 5_250, "{} examples", files.len());
    // Bundles whose entries are data to load (collections, searchsets, transactions) go first,
    // so a standalone example that shares an id with an entry is what stays.
    let unpacked = |v: &Value| {
        v["resourceType"] == "Bundle"
            && matches!(
                v["type"].as_str(),
                Some("transaction" | "batch" | "collection" | "searchset" | "history")
            )
    };
    files.sort_by_key(|(p, v)| (!unpacked(v), p.clone()));

    let srv = TestServer::start().await;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let store = srv.store.clone();
    let summary = tokio::task::spawn_blocking(move || {
        bedside::server::import::import_files(&store, &paths, |_| {})
    })
    .await
    .unwrap();
    // The official examples the validator refuses, each for a real fault of the example
    // (known errata of the R4 publication):
    let invalid: &[(&str, &str)] = &[
        ("SearchParameter-codesystem-extensions-", "no base (1..*)"),
        ("SearchParameter-valueset-extensions-", "no base (1..*)"),
        (
            "CodeSystem-v2-0550.json",
            "codes end in a non-breaking space",
        ),
        (
            "Bundle-v2-valuesets.json entry 814",
            "the same CodeSystem, inside",
        ),
        ("ImplementationGuide-fhir.json", "no name (1..1)"),
        ("ig-r4.json", "no name (1..1)"),
        (
            "DeviceMetric-example.json",
            "parent refers to a DeviceDefinition, not a Device",
        ),
        (
            "DeviceUseStatement-example.json",
            "reasonReference refers to a Procedure",
        ),
        (
            "MedicationRequest-medrx0301.json",
            "dispenseRequest.performer is a Practitioner",
        ),
        (
            "Observation-clinical-gender.json",
            "performer refers to an Encounter",
        ),
        (
            "OrganizationAffiliation-orgrole1.json",
            "network refers to a 'Network'",
        ),
        ("Questionnaire-qs1.json", "items without linkId (1..1)"),
    ];
    let unexplained: Vec<&String> = summary
        .rejections
        .iter()
        .filter(|r| !invalid.iter().any(|(name, _)| r.contains(name)))
        .collect();
    assert!(unexplained.is_empty(), "{unexplained:#?}");
    assert_eq!(summary.rejected, 20, "{:#?}", summary.rejections);
    let refused = |path: &PathBuf| {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        invalid
            .iter()
            .any(|(n, _)| name.starts_with(n.split(' ').next().unwrap()))
    };

    let mut mismatches = Vec::new();
    let mut bad_ids = Vec::new();
    let mut read = 0;
    for (path, input) in files.iter().filter(|(p, v)| !unpacked(v) && !refused(p)) {
        let id = input["id"].as_str().unwrap_or_default();
        if !bedside::fhir::valid_id(id) {
            // Stored under an id derived from its content: the example's own breaks the
            // 64-character limit of FHIR ids.
            bad_ids.push(id.to_string());
            continue;
        }
        let url = format!("{}/{id}", input["resourceType"].as_str().unwrap());
        let (status, back) = srv.get(&url).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{url}");
        read += 1;
        if without_server_meta(back) != without_server_meta(input.clone()) {
            mismatches.push(path.display().to_string());
        }
    }
    assert!(
        mismatches.is_empty(),
        "read back differently: {mismatches:?}"
    );
    assert!(bad_ids.len() < 10, "{bad_ids:?}");
    eprintln!(
        "{} official example files imported ({} resources); {read} read back equal; {} with an \
         id longer than FHIR allows: {bad_ids:?}",
        files.len(),
        summary.imported,
        bad_ids.len()
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
