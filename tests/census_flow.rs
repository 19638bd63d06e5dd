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
use common::screen::{loaded, notice};
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

fn board_ready(s: &State) -> bool {
    s.census
        .as_ref()
        .and_then(|c| c.board.as_ref())
        .is_some_and(|b| matches!(b.beds, Some(Ok(_))))
}

fn settled(s: &State) -> bool {
    s.census
        .as_ref()
        .is_some_and(|c| !c.loading && c.loaded_ms.is_some() && c.adt.is_none())
}

/// Admit from the chart, the bed board, transfer and discharge from the ward's list, at
/// 80x24 with keys; a bed taken meanwhile by another terminal is refused by the server and
/// said so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admit_transfer_and_discharge_from_the_keyboard() {
    let server = TestServer::start().await;
    server
        .put(
            "Location/ward-D",
            &json!({"resourceType": "Location", "id": "ward-D", "status": "active", "name": "Daisy Ward",
                "physicalType": {"coding": [{"code": "wa"}]}}),
        )
        .await;
    for b in 1..=3 {
        server
            .put(
                &format!("Location/bed-D-{b}"),
                &json!({"resourceType": "Location", "id": format!("bed-D-{b}"), "status": "active",
                    "name": format!("Daisy {b}"), "physicalType": {"coding": [{"code": "bd"}]},
                    "partOf": {"reference": "Location/ward-D"}}),
            )
            .await;
    }
    let p = server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Admitted", "given": ["Ada"]}],
            "gender": "female", "birthDate": "1950-01-01"}),
        )
        .await;
    let other = server
        .create(json!({"resourceType": "Patient", "name": [{"family": "Other", "given": ["Olu"]}]}))
        .await;
    let doctor = server.user("dr.adt", Role::Physician);
    let mut h = common::screen::workstation(&server.base, &doctor, "Dr Adt", 80, 24);
    // The chart, then I: the ward (the only one), then the first free bed.
    h.keys("/").unwrap();
    h.keys("Admitted").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.rows.len() == 1).await,
        "{}",
        h.screen()
    );
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("I").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(|c| !c.wards().is_empty()))
            .await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("To which ward?"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, board_ready).await, "{}", h.screen());
    // Meanwhile another terminal puts someone in Daisy 1.
    let (status, reply) = server
        .post(
            "Encounter",
            &json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
                "subject": {"reference": format!("Patient/{other}")}, "period": {"start": now()},
                "location": [{"location": {"reference": "Location/ward-D"}, "status": "active"},
                             {"location": {"reference": "Location/bed-D-1"}, "status": "active"}]}),
        )
        .await;
    assert!(status.is_success(), "{reply}");
    let screen = h.screen();
    assert!(
        screen.contains("Daisy 1") && screen.contains("FREE"),
        "{screen}"
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.screen().contains("ADMITTED, Ada admitted to Daisy 1?"),
        "{}",
        h.screen()
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s)
            .starts_with("NOT saved: that bed is held"))
            .await,
        "{:?}",
        h.state().notice
    );
    assert_eq!(h.state().screen, Screen::Chart, "back to the chart");
    // Again: the board now shows Daisy 1 taken, and the cursor starts on a free bed.
    h.keys("I").unwrap();
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, board_ready).await, "{}", h.screen());
    assert!(h.screen().contains("OTHER, Olu"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(
        h.screen().contains("admitted to Daisy 2?"),
        "{}",
        h.screen()
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s) == "ADMITTED, Ada admitted to Daisy 2")
            .await,
        "{:?}",
        h.state().notice
    );

    // The ward's list: both there; `t` moves Ada to Daisy 3, `d` discharges her.
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && rows(s) == 2).await,
        "{}",
        h.screen()
    );
    let at = h
        .state()
        .census
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .position(|r| r.patient_id == p)
        .unwrap();
    for _ in 0..at {
        h.keys("<down>").unwrap();
    }
    h.keys("t<enter>").unwrap();
    assert!(h.wait_for(WAIT, board_ready).await, "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(
        h.screen().contains("moved to Daisy Ward, Daisy 3?"),
        "{}",
        h.screen()
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.census
                .as_ref()
                .unwrap()
                .rows
                .iter()
                .any(|r| r.bed == "Daisy 3"))
            .await,
        "{}",
        h.screen()
    );
    let (_, stays) = server
        .get(&format!("Encounter?patient={p}&status=in-progress"))
        .await;
    let stay = &stays["entry"][0]["resource"];
    let locations = stay["location"].as_array().unwrap();
    assert_eq!(locations.len(), 4, "the old bed kept, completed: {stay}");
    assert_eq!(locations[1]["status"], "completed");
    // The bed board.
    h.keys("b").unwrap();
    assert!(h.wait_for(WAIT, board_ready).await);
    let screen = h.screen();
    assert!(screen.contains("3 beds: 1 free, 2 occupied"), "{screen}");
    h.keys("<esc>").unwrap();
    // Discharge home.
    let at = h
        .state()
        .census
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .position(|r| r.patient_id == p)
        .unwrap();
    h.keys("<home>").unwrap();
    for _ in 0..at {
        h.keys("<down>").unwrap();
    }
    h.keys("d").unwrap();
    assert!(
        h.screen().contains("Where does the patient go?"),
        "{}",
        h.screen()
    );
    h.keys("<enter><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && rows(s) == 1).await,
        "{}",
        h.screen()
    );
    assert_eq!(notice(h.state()), "ADMITTED, Ada discharged (Home)");
    let id = stay["id"].as_str().unwrap();
    let (_, ended) = server.get(&format!("Encounter/{id}")).await;
    assert_eq!(ended["status"], "finished");
    assert_eq!(
        ended["hospitalization"]["dischargeDisposition"]["coding"][0]["code"],
        "home"
    );
}
