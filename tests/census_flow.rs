//! The ward census end to end, driven by keys against the embedded server: the patients
//! staying on a ward with their beds, allergies, NEWS2, results waiting for review (made by
//! the server when the result was filed), unsigned notes and orders waiting for a
//! co-signature; Enter opens a chart and closing it comes back; a discharge leaves the list
//! at the next refresh.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::census::AllergyMark;
use bedside::workstation::state::{Screen, State};
use common::TestServer;
use common::screen::loaded;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rows(s: &State) -> usize {
    s.census.as_ref().map_or(0, |c| c.rows.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_census_shows_the_ward_and_opens_charts() {
    let server = TestServer::start().await;
    server
        .put(
            "Location/ward-C",
            &json!({"resourceType": "Location", "id": "ward-C", "status": "active", "name": "Cedar Ward",
                "physicalType": {"coding": [{"code": "wa"}]}}),
        )
        .await;
    for b in 1..=3 {
        server
            .put(
                &format!("Location/bed-C-{b}"),
                &json!({"resourceType": "Location", "id": format!("bed-C-{b}"), "status": "active",
                    "name": format!("Cedar {b}"), "physicalType": {"coding": [{"code": "bd"}]},
                    "partOf": {"reference": "Location/ward-C"}}),
            )
            .await;
    }
    let doctor = server
        .create(json!({"resourceType": "Practitioner", "name": [{"family": "Osler", "prefix": ["Dr"]}]}))
        .await;
    let mut patients = Vec::new();
    for (i, (family, given)) in [("Census", "Ada"), ("Census", "Ben"), ("Census", "Cy")]
        .iter()
        .enumerate()
    {
        let p = server
            .create(
                json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
                "gender": "female", "birthDate": "1950-01-01"}),
            )
            .await;
        let (status, e) = server
            .post(
                "Encounter",
                &json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
                    "subject": {"reference": format!("Patient/{p}")},
                    "period": {"start": now()},
                    "participant": [{"individual": {"reference": format!("Practitioner/{doctor}")}}],
                    "location": [
                        {"location": {"reference": "Location/ward-C"}, "status": "active"},
                        {"location": {"reference": format!("Location/bed-C-{}", i + 1)}, "status": "active"}
                    ]}),
            )
            .await;
        assert!(status.is_success(), "{e}");
        patients.push((p, e["id"].as_str().unwrap().to_string()));
    }
    let (ada, _) = &patients[0];
    let (ben, _) = &patients[1];
    server
        .create(json!({"resourceType": "AllergyIntolerance", "patient": {"reference": format!("Patient/{ada}")},
            "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"text": "penicillin"}}))
        .await;
    server
        .create(json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1104051000000101"}]},
            "subject": {"reference": format!("Patient/{ben}")}, "effectiveDateTime": now(), "valueInteger": 7}))
        .await;
    // A critical potassium: the server makes its review Task.
    server
        .create(json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"code": "laboratory"}]}], "code": {"text": "Potassium"},
            "subject": {"reference": format!("Patient/{ben}")}, "effectiveDateTime": now(),
            "valueQuantity": {"value": 6.9, "unit": "mmol/L"},
            "interpretation": [{"coding": [{"code": "HH"}]}]}))
        .await;
    server
        .create(
            json!({"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"text": "paracetamol"},
            "subject": {"reference": format!("Patient/{ada}")}}),
        )
        .await;
    server
        .create(json!({"resourceType": "DocumentReference", "status": "current", "docStatus": "preliminary",
            "type": {"text": "Progress note"}, "date": now(),
            "subject": {"reference": format!("Patient/{ada}")},
            "content": [{"attachment": {"contentType": "text/plain", "data": "dW5zaWduZWQ="}}]}))
        .await;

    let nurse = server.user("ward.nurse", Role::Nurse);
    let mut h = common::screen::workstation(&server.base, &nurse, "Nurse Ward", 100, 30);
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| rows(s) == 3
            && !s.census.as_ref().unwrap().loading)
            .await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(screen.contains("Cedar Ward: 3 patients"), "{screen}");
    let c = h.state().census.clone().unwrap();
    let row = |p: &str| c.rows.iter().find(|r| r.patient_id == p).unwrap().clone();
    let a = row(ada);
    assert_eq!(a.bed, "Cedar 1");
    assert_eq!(a.allergies, AllergyMark::Known(1));
    assert_eq!(a.unsigned, Some(1));
    assert_eq!(a.cosign, Some(1));
    assert_eq!(a.attending.as_deref(), Some("Dr Osler"));
    let b = row(ben);
    assert_eq!(b.news2, Ok((Some(7), None)));
    assert_eq!(b.reviews, Some((1, 0, 0)));
    assert_eq!(b.allergies, AllergyMark::NotAssessed);
    assert!(screen.contains("7 H"), "{screen}");
    assert!(screen.contains("1C"), "{screen}");

    // Enter on Ben (bed 2) opens his chart; closing it comes back to the list.
    h.keys("<down><enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await);
    assert_eq!(h.state().chart.as_ref().unwrap().patient_id, *ben);
    h.keys("q").unwrap();
    assert_eq!(h.state().screen, Screen::Census);

    // Cy is discharged: gone at the next refresh.
    let (cy, cy_stay) = &patients[2];
    let (_, mut stay) = server.get(&format!("Encounter/{cy_stay}")).await;
    stay["status"] = json!("finished");
    let (status, reply) = server.put(&format!("Encounter/{cy_stay}"), &stay).await;
    assert!(status.is_success(), "{reply}");
    h.keys("r").unwrap();
    assert!(
        h.wait_for(WAIT, |s| rows(s) == 2
            && !s.census.as_ref().unwrap().loading)
            .await,
        "{}",
        h.screen()
    );
    assert!(
        !h.state()
            .census
            .as_ref()
            .unwrap()
            .rows
            .iter()
            .any(|r| r.patient_id == *cy)
    );
}
