//! Co-signature end to end, driven by keys at 80x24 against the embedded server: a nurse's
//! draft medication order waits in the prescriber's queue (F7); Enter opens the patient's
//! chart with the order under review and the order checks re-run against that chart (an
//! allergy makes a high-severity alert that needs an override reason); `y`, the reason and
//! the signature co-sign it on the version read (the physician its requester, the nurse its
//! recorder); another draft is rejected with a reason; the nurse's own F7 shows which was
//! signed by whom and which was rejected and why. The server refuses the nurse signing her
//! own draft whichever way. Unsigned notes are listed for their author.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{Overlay, Screen, State};
use common::screen::{loaded, notice};
use common::{TestServer, body, client_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

fn draft(patient: &str, nurse: &str, rxcui: &str, name: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "meta": {"tag": [{"system": bedside::workstation::work::ENTERED_BY, "code": nurse}]},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxcui, "display": name}], "text": name},
        "subject": {"reference": format!("Patient/{patient}")},
        "authoredOn": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "requester": {"reference": format!("Practitioner/{nurse}")},
        "dosageInstruction": [{"text": "500 mg oral TDS"}]})
}

fn workstation(srv: &TestServer, token: &str, me: &str, name: &str, role: &str) -> Headless {
    let mut options = Options::new(&srv.base);
    options.token = Some(token.to_string());
    options.author = name.into();
    options.user = Some(bedside::workstation::client::SignedIn {
        username: name.into(),
        name: name.into(),
        role: role.into(),
        practitioner: Some(me.into()),
    });
    let display = test_display(&srv.base, chrono::Utc::now().date_naive());
    Headless::with_options(options, display, 80, 24).unwrap()
}

fn settled(s: &State) -> bool {
    s.work
        .as_ref()
        .is_some_and(|w| !w.loading && !w.sending && w.loaded_ms.is_some())
}

fn drafts(s: &State) -> usize {
    s.work
        .as_ref()
        .and_then(|w| w.drafts.as_ref())
        .and_then(|d| d.as_ref().ok())
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nurses_draft_is_co_signed_with_the_checks_rerun_or_rejected_with_a_reason() {
    let srv = TestServer::start().await;
    let nurse_token = srv.user("ward.nurse", Role::Nurse);
    let doctor_token = srv.user("dr.cosign", Role::Physician);
    let nurse = srv.practitioner_of(&nurse_token).await;
    let doctor = srv.practitioner_of(&doctor_token).await;
    let nurse_client = client_with(&nurse_token);
    let p = srv
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Cosign", "given": ["Cora"]}],
            "gender": "female", "birthDate": "1950-01-01"}),
        )
        .await;
    // A penicillin allergy: amoxicillin is a high-severity alert.
    srv.create(json!({"resourceType": "AllergyIntolerance", "patient": {"reference": format!("Patient/{p}")},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": RXNORM, "code": "70618", "display": "penicillin"}], "text": "penicillin"}}))
        .await;
    let mut ids = Vec::new();
    for (rxcui, name) in [("723", "amoxicillin"), ("161", "paracetamol")] {
        let (status, made) = body(
            nurse_client
                .post(srv.url("MedicationRequest"))
                .json(&draft(&p, &nurse, rxcui, name))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        ids.push(made["id"].as_str().unwrap().to_string());
    }
    // The nurse cannot sign her own draft, whichever way.
    let (_, current) = srv.get(&format!("MedicationRequest/{}", ids[1])).await;
    let mut signed = current.clone();
    signed["status"] = json!("active");
    let (status, _) = body(
        nurse_client
            .put(srv.url(&format!("MedicationRequest/{}", ids[1])))
            .json(&signed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": signed, "request": {"method": "PUT", "url": format!("MedicationRequest/{}", ids[1])}}]});
    let (status, _) = body(
        nurse_client
            .post(&srv.base)
            .json(&bundle)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An unsigned note of the physician's.
    let (status, _) = body(
        client_with(&doctor_token)
            .post(srv.url("DocumentReference"))
            .json(&json!({"resourceType": "DocumentReference", "status": "current", "docStatus": "preliminary",
                "description": "Ward round note", "date": "2026-12-01T08:00:00Z",
                "author": [{"reference": format!("Practitioner/{doctor}")}],
                "subject": {"reference": format!("Patient/{p}")},
                "content": [{"attachment": {"contentType": "text/plain", "data": "dW5zaWduZWQ="}}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The physician's queue: both drafts, oldest first.
    let mut h = workstation(&srv, &doctor_token, &doctor, "Dr Cosign", "physician");
    h.keys("<f7>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && drafts(s) == 2).await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(screen.contains("To co-sign (2)"), "{screen}");
    assert!(screen.contains("amoxicillin"), "{screen}");
    // Review the amoxicillin: the chart opens, the checks run against it.
    let first = h
        .state()
        .work
        .as_ref()
        .unwrap()
        .selected_draft()
        .unwrap()
        .medication
        .clone();
    if first != "amoxicillin" {
        h.keys("<down>").unwrap();
    }
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
    assert!(
        h.wait_for(WAIT, |s| {
            bedside::workstation::features::work::update::review_checks(s).is_ok()
        })
        .await,
        "{}",
        h.screen()
    );
    assert_eq!(h.state().screen, Screen::Chart);
    assert!(matches!(h.state().overlay, Some(Overlay::Cosign)));
    let screen = h.screen();
    assert!(
        screen.contains("COSIGN, Cora"),
        "the banner stays: {screen}"
    );
    assert!(screen.contains("HIGH"), "the allergy alert: {screen}");
    // `y`: the override reason, then the signature.
    h.keys("y").unwrap();
    h.keys("tolerated amoxicillin in 2024<enter>").unwrap();
    assert!(
        matches!(h.state().overlay, Some(Overlay::Signature { .. })),
        "{:?}",
        h.state().overlay
    );
    h.keys(&format!("{}<enter>", common::TEST_PASSWORD))
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).starts_with("Co-signed: amoxicillin"))
            .await,
        "{:?}",
        h.state().notice
    );
    // Back to the queue: the paracetamol rejected with a reason.
    h.keys("<f7>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && drafts(s) == 1).await,
        "{}",
        h.screen()
    );
    h.keys("x").unwrap();
    h.keys("already on regular paracetamol<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && drafts(s) == 0
            && notice(s).starts_with("Rejected"))
            .await,
        "{}",
        h.screen()
    );
    // Unsigned notes: mine listed.
    h.keys("<tab>").unwrap();
    let screen = h.screen();
    assert!(
        screen.contains("Ward round note") && screen.contains("UNSIGNED"),
        "{screen}"
    );

    // On the server.
    let (_, amox) = srv.get(&format!("MedicationRequest/{}", ids[0])).await;
    assert_eq!(amox["status"], "active");
    assert_eq!(
        amox["requester"]["reference"],
        format!("Practitioner/{doctor}")
    );
    assert_eq!(
        amox["recorder"]["reference"],
        format!("Practitioner/{nurse}")
    );
    assert!(
        !amox["detectedIssue"].is_null(),
        "the override kept: {amox}"
    );
    let (_, para) = srv.get(&format!("MedicationRequest/{}", ids[1])).await;
    assert_eq!(para["status"], "cancelled");

    // The nurse sees which was signed, by whom, and which was rejected, and why.
    let mut n = workstation(&srv, &nurse_token, &nurse, "Nurse Ward", "nurse");
    n.keys("<f7>").unwrap();
    assert!(
        n.wait_for(WAIT, |s| settled(s) && drafts(s) == 2).await,
        "{}",
        n.screen()
    );
    let screen = n.screen();
    assert!(screen.contains("My drafts (2)"), "{screen}");
    assert!(screen.contains("SIGNED by dr.cosign"), "{screen}");
    assert!(
        screen.contains("REJECTED by Dr Cosign: already on regular paracetamol"),
        "{screen}"
    );
}
