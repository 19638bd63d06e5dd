//! Vital signs end to end, driven by keys against the embedded server: a nurse types a set as
//! spoken, sees NEWS2, records it, and the server holds valid vital-signs Observations (LOINC,
//! UCUM, the patient, the performer) with NEWS2 derived from them; the flowsheet and the
//! timeline show it after the reload. The same set sent again is filed once; a role that may
//! not record vital signs is refused and keeps what it typed.

mod common;

use std::time::{Duration, Instant};

use bedside::server::auth::Role;
use bedside::workstation::client::{FhirClient, SEARCH_TIMEOUT as SEND_TIMEOUT};
use bedside::workstation::msg::ChartMsg;
use bedside::workstation::state::{ChartView, Msg};
use common::TestServer;
use common::screen::{loaded, notice};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

async fn vitals(server: &TestServer, pid: &str) -> Vec<Value> {
    let (_, b) = server
        .get(&format!("Observation?patient=Patient/{pid}&_count=100"))
        .await;
    b["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nurse_records_a_set_with_news2_and_the_server_holds_it() {
    let server = TestServer::start().await;
    let pid = server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Vitalis", "given": ["Ann"]}],
            "birthDate": "1948-06-01", "gender": "female",
            "identifier": [{"system": "http://hospital.example/mrn", "value": "MRN-VIT-1",
                            "type": {"coding": [{"code": "MR"}]}}]}),
        )
        .await;
    let nurse = server.user("nurse.vit", Role::Nurse);
    let mut h = common::screen::workstation(&server.base, &nurse, "Nurse Vit", 80, 24);
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("v").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Vitals);
    let line = "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A";
    h.keys(line).unwrap();
    assert!(h.screen().contains("NEWS2 10 HIGH"), "{}", h.screen());
    let started = Instant::now();
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("recorded for"))
            .await,
        "{}",
        notice(h.state())
    );
    assert_eq!(
        notice(h.state()),
        "7 vital signs recorded for VITALIS, Ann (MRN MRN-VIT-1): NEWS2 10 HIGH: urgent or emergency response"
    );
    // The value on the flowsheet after the chart reloads.
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart
                .as_ref()
                .and_then(|c| c.vitals.as_ref())
                .is_some_and(|v| v.sheet.len() == 1))
            .await
    );
    let on_screen = started.elapsed();
    println!(
        "Enter to the value on the flowsheet: {} ms",
        on_screen.as_millis()
    );
    let screen = h.screen();
    assert!(screen.contains("112H"), "{screen}");
    assert!(screen.contains("92/58L"), "{screen}");
    assert!(screen.contains("10H!!"), "NEWS2 on the sheet: {screen}");
    // And on the timeline, in one line with its score.
    h.keys("<esc>").unwrap();
    let screen = h.screen();
    assert!(screen.contains("NEWS2 10"), "{screen}");

    // What the server holds: eight valid Observations about this patient, by this nurse.
    let held = vitals(&server, &pid).await;
    assert_eq!(held.len(), 8, "{held:#?}");
    let mut ids = Vec::new();
    for o in &held {
        assert_eq!(o["status"], "final");
        assert_eq!(o["subject"]["reference"], format!("Patient/{pid}"));
        assert!(o["effectiveDateTime"].is_string());
        assert!(o["performer"][0]["display"] == "Nurse Vit", "{o}");
        assert!(
            o["category"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["coding"][0]["code"] == "vital-signs")
        );
        if let Some(q) = o.get("valueQuantity") {
            assert_eq!(q["system"], "http://unitsofmeasure.org", "{o}");
            assert!(q["code"].is_string());
        }
        ids.push(format!("Observation/{}", o["id"].as_str().unwrap()));
    }
    let code = |o: &Value| o["code"]["coding"][0]["code"].as_str().unwrap().to_string();
    let bp = held.iter().find(|o| code(o) == "85354-9").unwrap();
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    assert_eq!(bp["component"][1]["valueQuantity"]["value"], 58);
    let news = held.iter().find(|o| code(o) == "1104051000000101").unwrap();
    assert_eq!(news["valueInteger"], 10);
    // Derived from the seven, by their server ids (the transaction's urn:uuid references
    // resolved).
    let derived: Vec<String> = news["derivedFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reference"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(derived.len(), 7);
    for r in &derived {
        assert!(ids.contains(r), "{r} not among {ids:?}");
    }

    // The same set sent again (a retry after a lost answer) is filed once.
    let set_id = held[0]["identifier"][0]["value"]
        .as_str()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .0
        .to_string();
    let again = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "resource": held.iter().find(|o| code(o) == "8867-4").unwrap().clone(),
        "request": {"method": "POST", "url": "Observation",
                    "ifNoneExist": format!("identifier=urn:bedside:vitals|{set_id}-hr")},
    }]});
    let client = FhirClient::new(&server.base, Some(nurse.clone())).unwrap();
    let answer = client.post_bundle(&again, SEND_TIMEOUT).await.unwrap();
    assert!(
        answer["entry"][0]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("200"),
        "{answer}"
    );
    assert_eq!(vitals(&server, &pid).await.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_may_not_record_vitals_is_refused_and_keeps_the_values() {
    let server = TestServer::start().await;
    let pid = server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Refusa"}],
            "birthDate": "1960-01-01"}),
        )
        .await;
    let support = server.user("support.vit", Role::Support);
    let mut h = common::screen::workstation(&server.base, &support, "IT Support", 80, 24);
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);
    // Support sees demographics only: the pane does not open over a withheld chart.
    h.keys("v").unwrap();
    if h.state().chart.as_ref().unwrap().view == ChartView::Vitals {
        h.keys("HR 80<enter>").unwrap();
        assert!(
            h.wait_for(WAIT, |s| notice(s).contains("NOT recorded"))
                .await,
            "{}",
            notice(h.state())
        );
        let v = h.state().chart.as_ref().unwrap().vitals.as_ref().unwrap();
        assert_eq!(v.line, "HR 80");
    } else {
        assert!(
            notice(h.state()).contains("cannot be recorded"),
            "{}",
            notice(h.state())
        );
    }
    assert!(vitals(&server, &pid).await.is_empty());

    // A clerk-like role without clinical write: the server's gate refuses, whatever the client.
    let client = FhirClient::new(&server.base, Some(support)).unwrap();
    let set = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": format!("Patient/{pid}")},
            "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "/min"}},
        "request": {"method": "POST", "url": "Observation"}}]});
    assert!(client.post_bundle(&set, SEND_TIMEOUT).await.is_err());
    assert!(vitals(&server, &pid).await.is_empty());
}
