//! Registering a patient end to end, driven by keys against the embedded server as a clerk:
//! the record is looked for first and found by a namesake with the same birth date, by the
//! birth date's day and month swapped, and by the same phone under another surname; choosing
//! one opens it and creates nothing; the explicit choice registers a new patient, whose MRN
//! the server gives, with insurance; and the form's checks stop a bad date.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::Options;
use bedside::workstation::features::register::Stage;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::State;
use common::TestServer;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn app(server: &TestServer, token: &str) -> Headless {
    let mut options = Options::new(&server.base);
    options.token = Some(token.to_string());
    options.author = "Reg Clerk".into();
    let display = test_display(
        &server.base,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    Headless::with_options(options, display, 100, 30).unwrap()
}

fn candidates(s: &State) -> Option<Vec<(String, Vec<&'static str>)>> {
    match &s.register.as_ref()?.stage {
        Stage::Candidates {
            found,
            failed: None,
            ..
        } => Some(
            found
                .iter()
                .map(|c| (c.name.clone(), c.agrees.clone()))
                .collect(),
        ),
        _ => None,
    }
}

async fn patients(server: &TestServer, query: &str) -> Vec<Value> {
    let (_, b) = server.get(&format!("Patient?{query}")).await;
    b["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

/// Fills the form: family, given, sex, gender identity, date of birth, then `rest` field by
/// field (empty skips one).
fn fill(h: &mut Headless, values: &[&str]) {
    for v in values {
        h.keys(v).unwrap();
        h.keys("<tab>").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_is_looked_for_first_and_registered_only_by_choice() {
    let server = TestServer::start().await;
    let existing = server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ada"]}],
            "birthDate": "1950-03-04", "gender": "female",
            "telecom": [{"system": "phone", "value": "07700 900123"}]}),
        )
        .await;
    let clerk = server.user("reg.desk", Role::Clerk);
    let mut h = app(&server, &clerk);
    let before = patients(&server, "_count=50").await.len();

    // A bad date stops the form, with the reason.
    h.keys("<ctrl-n>").unwrap();
    assert!(h.screen().contains("Register a patient"), "{}", h.screen());
    fill(&mut h, &["Okafor", "Ada", "f", "", "1950-13-40"]);
    h.keys("<enter>").unwrap();
    assert!(
        h.screen().contains("NOT registered: date of birth"),
        "{}",
        h.screen()
    );

    // The day and month swapped: the existing record is found, and chosen.
    h.keys("<backtab>").unwrap();
    for _ in 0..10 {
        h.keys("<backspace>").unwrap();
    }
    h.keys("1950-04-03<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| candidates(s).is_some()).await,
        "{}",
        h.screen()
    );
    let found = candidates(h.state()).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].1.contains(&"birth date (day and month swapped)"),
        "{found:?}"
    );
    assert!(h.screen().contains("is it one of these?"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(h.state().register.is_none());
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| c.patient_id == existing))
            .await
    );
    assert_eq!(
        patients(&server, "_count=50").await.len(),
        before,
        "nothing created"
    );

    // Another surname, the same phone: found by the phone; registered anyway, by choice.
    h.keys("q").unwrap();
    h.keys("<ctrl-n>").unwrap();
    fill(
        &mut h,
        &[
            "Mensah",
            "Ada",
            "female",
            "",
            "1961-07-21",
            "2 Mill Lane",
            "Leeds",
            "LS1 4AB",
            "07700900123",
            "ada@example.org",
            "Twi",
            "yes",
            "Kofi Mensah",
            "07700 900456",
            "brother",
            "Dr Lee, Mill Surgery",
            "Northern Health",
            "NH-7788",
            "2026-01-01",
        ],
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| candidates(s).is_some()).await,
        "{}",
        h.screen()
    );
    let found = candidates(h.state()).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains(&"phone"), "{found:?}");
    assert!(
        h.screen()
            .contains("None of these: register as a NEW patient")
    );
    h.keys("<down><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.register.is_none() && s.chart.is_some())
            .await,
        "{}",
        h.screen()
    );
    let created = patients(&server, "family=Mensah").await;
    assert_eq!(created.len(), 1);
    let p = &created[0];
    let mrn = p["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"]["coding"][0]["code"] == "MR")
        .and_then(|i| i["value"].as_str())
        .expect("the server gave an MRN")
        .to_string();
    assert_eq!(mrn.len(), 7);
    assert_eq!(p["address"][0]["postalCode"], "LS1 4AB");
    assert_eq!(p["contact"][0]["name"]["text"], "Kofi Mensah");
    assert_eq!(p["communication"][0]["language"]["text"], "Twi");
    assert_eq!(
        p["generalPractitioner"][0]["display"],
        "Dr Lee, Mill Surgery"
    );
    // The banner shows the MRN the server gave.
    assert!(
        h.wait_for(WAIT, |s| s.chart.as_ref().is_some_and(|c| c
            .chart
            .patient
            .as_ref()
            .and_then(|x| x.mrn.clone())
            == Some(mrn.clone())))
            .await,
        "{}",
        h.screen()
    );
    let id = p["id"].as_str().unwrap();
    let (_, cover) = server
        .get(&format!("Coverage?beneficiary=Patient/{id}"))
        .await;
    assert_eq!(cover["entry"][0]["resource"]["subscriberId"], "NH-7788");
    assert_eq!(
        cover["entry"][0]["resource"]["payor"][0]["display"],
        "Northern Health"
    );

    // A namesake with the same birth date is found too.
    h.keys("q").unwrap();
    h.keys("<ctrl-n>").unwrap();
    fill(&mut h, &["Mensah", "Ama", "f", "", "1961-07-21"]);
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, |s| candidates(s).is_some()).await);
    let found = candidates(h.state()).unwrap();
    assert!(
        found.iter().any(|(n, a)| n.starts_with("MENSAH")
            && a.contains(&"family")
            && a.contains(&"birth date")),
        "{found:?}"
    );
}
