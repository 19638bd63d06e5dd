//! Allergies and problems end to end, driven by keys against the embedded server: a coded
//! allergy recorded and at once on the banner and in the checks of a basket waiting to be
//! signed; a problem from the ICD-10-CM/SNOMED CT list; entered in error with its reason and
//! a problem resolved, both as updates on the version read; a nurse records an allergy but not
//! a diagnosis; "no known drug allergies" as its own assertion.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::msg::ChartMsg;
use bedside::workstation::orders::checks::AlertKind;
use bedside::workstation::state::{ChartView, Msg, State};
use common::TestServer;
use common::screen::{loaded, notice};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

async fn patient(server: &TestServer) -> String {
    server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Listed", "given": ["Lee"]}],
            "birthDate": "1955-03-04", "gender": "male",
            "identifier": [{"system": "urn:test:mrn", "value": "MRN-LST-1",
                            "type": {"coding": [{"code": "MR"}]}}]}),
        )
        .await
}

async fn search(server: &TestServer, query: &str) -> Vec<Value> {
    let (_, b) = server.get(query).await;
    b["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allergies_and_problems_are_recorded_corrected_and_checked() {
    let server = TestServer::start().await;
    let pid = patient(&server).await;
    let doctor = server.user("dr.lists", Role::Physician);
    let mut h = common::screen::workstation(&server.base, &doctor, "Dr Lists", 100, 30);
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);

    // A basket waiting: amoxicillin, no allergy known yet, so no allergy alert.
    h.keys("o").unwrap();
    h.keys("amoxi<enter>").unwrap();
    for _ in 0..4 {
        if h.state().overlay.is_some() {
            h.keys("<esc>").unwrap();
        }
    }
    h.keys("<esc>").unwrap();
    let drug_allergy = |s: &State| {
        s.chart
            .as_ref()
            .and_then(|c| c.orders.as_ref())
            .is_some_and(|o| o.alerts.iter().any(|a| a.kind == AlertKind::DrugAllergy))
    };
    assert!(!drug_allergy(h.state()));

    // Record an allergy to penicillins (the drug class), coded from the list.
    h.keys("p").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Lists);
    h.keys("a").unwrap();
    // Enter takes a suggestion, or records: Tab moves on.
    h.keys("penicillins<tab><tab><tab>anaph<enter><tab><tab>high<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("recorded for LISTED, Lee"))
            .await,
        "{}\n{}",
        notice(h.state()),
        h.screen()
    );
    // At once on the banner, and the basket is checked again against it.
    assert!(
        h.wait_for(WAIT, |s| loaded(s) && drug_allergy(s)).await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("penicillins"), "{}", h.screen());
    let held = search(
        &server,
        &format!("AllergyIntolerance?patient=Patient/{pid}"),
    )
    .await;
    assert_eq!(held.len(), 1);
    let allergy = &held[0];
    assert_eq!(
        allergy["code"]["coding"][0]["system"],
        "urn:bedside:drug-class"
    );
    assert_eq!(allergy["code"]["coding"][0]["code"], "penicillin");
    assert_eq!(allergy["criticality"], "high");
    assert_eq!(
        allergy["reaction"][0]["manifestation"][0]["coding"][0]["code"],
        "39579001"
    );
    assert_eq!(allergy["recorder"]["display"], "Dr Lists");

    // Edited in place: read for its version, the form filled, saved with If-Match.
    h.keys("e").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .and_then(|c| c.lists.as_ref())
            .and_then(|l| l.form.as_ref())
            .is_some_and(|f| f.editing.is_some()))
            .await,
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("Edit allergy (version 1)"),
        "{}",
        h.screen()
    );
    h.keys("<tab><tab><tab><tab><tab>low<tab><tab><tab>seen by the allergist<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("is changed for LISTED, Lee"))
            .await,
        "{}\n{}",
        notice(h.state()),
        h.screen()
    );
    let held = search(
        &server,
        &format!("AllergyIntolerance?patient=Patient/{pid}"),
    )
    .await;
    assert_eq!(held.len(), 1, "the same entry, not a second one");
    assert_eq!(held[0]["criticality"], "low");
    assert_eq!(held[0]["meta"]["versionId"], "2");
    assert_eq!(held[0]["identifier"], allergy["identifier"]);
    assert!(
        held[0]["note"]
            .to_string()
            .contains("seen by the allergist")
    );
    assert!(h.wait_for(WAIT, loaded).await);

    // A problem from the list, with its two codes.
    h.keys("<tab>a").unwrap();
    h.keys("htn<enter><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s)
            .starts_with("Problem Essential hypertension recorded"))
            .await,
        "{}",
        notice(h.state())
    );
    let conditions = search(&server, &format!("Condition?patient=Patient/{pid}")).await;
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0]["code"]["coding"][0]["code"], "59621000");
    assert_eq!(conditions[0]["code"]["coding"][1]["code"], "I10");
    assert_eq!(
        conditions[0]["category"][0]["coding"][0]["code"],
        "problem-list-item"
    );
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart.as_ref().is_some_and(|c| {
                bedside::workstation::features::lists::problem_rows(c).len() == 1
            }))
        .await
    );

    // Resolved: an update on the version read; the history keeps both.
    h.keys("r").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("is resolved for LISTED, Lee"))
            .await,
        "{}",
        notice(h.state())
    );
    let id = conditions[0]["id"].as_str().unwrap();
    let (_, now) = server.get(&format!("Condition/{id}")).await;
    assert_eq!(now["clinicalStatus"]["coding"][0]["code"], "resolved");
    assert_eq!(now["meta"]["versionId"], "2");
    let (_, history) = server.get(&format!("Condition/{id}/_history")).await;
    assert_eq!(history["entry"].as_array().unwrap().len(), 2);

    // The allergy entered in error, with its reason: off the banner, kept on the server.
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("<tab>x").unwrap();
    h.keys("recorded for the wrong patient<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("marked entered in error"))
            .await,
        "{}",
        notice(h.state())
    );
    let id = allergy["id"].as_str().unwrap();
    let (_, now) = server.get(&format!("AllergyIntolerance/{id}")).await;
    assert_eq!(
        now["verificationStatus"]["coding"][0]["code"],
        "entered-in-error"
    );
    assert!(
        now["note"].as_array().unwrap().iter().any(|n| n["text"]
            .as_str()
            .unwrap()
            .ends_with("recorded for the wrong patient")),
        "{now}"
    );
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart.as_ref().unwrap().chart.allergies.is_empty())
            .await
    );

    // Now none is known: "no known drug allergies" is its own assertion.
    h.keys("n").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s)
            .contains("No known drug allergies recorded"))
            .await,
        "{}",
        notice(h.state())
    );
    let held = search(
        &server,
        &format!("AllergyIntolerance?patient=Patient/{pid}&code=http://snomed.info/sct|409137002"),
    )
    .await;
    assert_eq!(held.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nurse_records_an_allergy_but_not_a_diagnosis() {
    let server = TestServer::start().await;
    let pid = patient(&server).await;
    let nurse = server.user("rn.lists", Role::Nurse);
    let mut h = common::screen::workstation(&server.base, &nurse, "Nurse Lists", 100, 30);
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("pa").unwrap();
    h.keys("latex<enter><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("Allergy to latex recorded"))
            .await,
        "{}",
        notice(h.state())
    );
    h.keys("<tab>a").unwrap();
    h.keys("asthma<enter><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).starts_with("NOT recorded"))
            .await,
        "{}",
        notice(h.state())
    );
    assert!(
        notice(h.state()).contains("nurses"),
        "{}",
        notice(h.state())
    );
    // What was typed stays in the form.
    let l = h.state().chart.as_ref().unwrap().lists.as_ref().unwrap();
    assert_eq!(l.form.as_ref().unwrap().value("problem"), "asthma");
    assert!(
        search(&server, &format!("Condition?patient=Patient/{pid}"))
            .await
            .is_empty()
    );
}
