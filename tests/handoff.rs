//! The I-PASS handoff from a patient list at 80x24, driven by keys against the embedded
//! server: filled from the chart where nothing is kept (problems, NEWS2, pending orders,
//! allergies, code status "not recorded" rather than a guess), edited and saved as the
//! author's Composition; a nurse on the next shift reads it, saves her own (the server lets a
//! nurse write a handoff but not another clinical Composition, nor change the physician's);
//! the whole list written as text and PDF, privately.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::State;
use common::screen::notice;
use common::{TestServer, body, client_with};
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn workstation(
    srv: &TestServer,
    token: &str,
    me: &str,
    name: &str,
    dir: &std::path::Path,
) -> Headless {
    let mut options = Options::new(&srv.base);
    options.token = Some(token.to_string());
    options.author = name.into();
    options.fhir_user = Some(format!("Practitioner/{me}"));
    options.handoff_dir = Some(dir.to_path_buf());
    let display = test_display(&srv.base, chrono::Utc::now().date_naive());
    Headless::with_options(options, display, 80, 24).unwrap()
}

fn list_ready(s: &State) -> bool {
    s.census
        .as_ref()
        .is_some_and(|c| !c.loading && !c.rows.is_empty() && c.picking.is_none())
}

fn form_ready(s: &State) -> bool {
    s.census
        .as_ref()
        .and_then(|c| c.handoff.as_ref())
        .is_some_and(|h| !h.loading && !h.sending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_filled_from_the_chart_saved_read_on_the_next_shift_and_printed() {
    let srv = TestServer::start().await;
    srv.put(
        "Location/ward-H",
        &json!({"resourceType": "Location", "id": "ward-H", "status": "active", "name": "Hazel Ward",
            "physicalType": {"coding": [{"code": "wa"}]}}),
    )
    .await;
    srv.put(
        "Location/bed-H-1",
        &json!({"resourceType": "Location", "id": "bed-H-1", "status": "active", "name": "Hazel 1",
            "physicalType": {"coding": [{"code": "bd"}]}, "partOf": {"reference": "Location/ward-H"}}),
    )
    .await;
    let p = srv
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Handed", "given": ["Hal"]}],
            "gender": "male", "birthDate": "1944-04-04"}),
        )
        .await;
    let subject = json!({"reference": format!("Patient/{p}")});
    let (status, reply) = srv
        .post(
            "Encounter",
            &json!({"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
                "subject": subject, "period": {"start": "2026-11-29T08:00:00Z"},
                "location": [{"location": {"reference": "Location/ward-H"}, "status": "active"},
                             {"location": {"reference": "Location/bed-H-1"}, "status": "active"}]}),
        )
        .await;
    assert!(status.is_success(), "{reply}");
    srv.create(json!({"resourceType": "Condition", "subject": subject,
        "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"text": "Heart failure"}}))
        .await;
    srv.create(
        json!({"resourceType": "ServiceRequest", "subject": subject, "status": "active",
        "intent": "order", "code": {"text": "Echocardiogram"}}),
    )
    .await;
    srv.create(
        json!({"resourceType": "Observation", "status": "final", "subject": subject,
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1104051000000101"}]},
        "effectiveDateTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "valueInteger": 6}),
    )
    .await;
    let doctor_token = srv.user("dr.handoff", Role::Physician);
    let nurse_token = srv.user("night.nurse", Role::Nurse);
    let (doctor, nurse) = (
        srv.practitioner_of(&doctor_token).await,
        srv.practitioner_of(&nurse_token).await,
    );
    let dir = tempfile::tempdir().unwrap();

    // The physician: F4, the ward (the only list), h on the patient.
    let mut h = workstation(&srv, &doctor_token, &doctor, "Dr Handoff", dir.path());
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(|c| c.picking.is_some()))
            .await
    );
    // My patients first, then the ward, then a new list of my own.
    h.keys("<down><enter>").unwrap();
    let on_ward = |s: &State| {
        list_ready(s)
            && s.census
                .as_ref()
                .unwrap()
                .source
                .as_ref()
                .is_some_and(|x| x.title() == "Hazel Ward")
    };
    assert!(h.wait_for(WAIT, on_ward).await, "{}", h.screen());
    h.keys("h").unwrap();
    assert!(h.wait_for(WAIT, form_ready).await, "{}", h.screen());
    let screen = h.screen();
    assert!(
        screen.contains("Not saved yet: filled from the chart"),
        "{screen}"
    );
    assert!(screen.contains("Watcher"), "NEWS2 6: {screen}");
    assert!(screen.contains("Heart failure"), "{screen}");
    assert!(screen.contains("Echocardiogram"), "{screen}");
    assert!(screen.contains("code status NOT RECORDED"), "{screen}");
    // To the synthesis (the fifth part): typed, then saved.
    h.keys("<tab><tab><tab><tab>").unwrap();
    h.keys("Agree: chase echo, daily weights").unwrap();
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s) == "handoff saved for HANDED, Hal")
            .await,
        "{:?}",
        h.state().notice
    );
    let (_, kept) = srv
        .get(&format!(
            "Composition?patient={p}&type=urn:bedside:note|ipass-handoff"
        ))
        .await;
    assert_eq!(kept["total"], 1, "{kept}");
    let first = kept["entry"][0]["resource"].clone();
    assert_eq!(
        first["author"][0]["reference"],
        format!("Practitioner/{doctor}")
    );
    assert!(first.to_string().contains("daily weights"));

    // The nurse cannot change the physician's, nor write another clinical Composition.
    let nurse_client = client_with(&nurse_token);
    let mut theirs = first.clone();
    theirs["section"][4]["text"]["div"] =
        json!("<div xmlns=\"http://www.w3.org/1999/xhtml\">changed</div>");
    let (status, _) = body(
        nurse_client
            .put(srv.url(&format!("Composition/{}", first["id"].as_str().unwrap())))
            .json(&theirs)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut discharge = first.clone();
    discharge.as_object_mut().unwrap().remove("id");
    discharge["type"] = json!({"text": "Discharge summary"});
    let (status, _) = body(
        nurse_client
            .post(srv.url("Composition"))
            .json(&discharge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The night nurse reads it (the physician's, said so) and saves her own.
    let mut n = workstation(&srv, &nurse_token, &nurse, "Nurse Night", dir.path());
    n.keys("<f4>").unwrap();
    assert!(
        n.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(|c| c.picking.is_some()))
            .await
    );
    n.keys("<down><enter>").unwrap();
    assert!(n.wait_for(WAIT, on_ward).await, "{}", n.screen());
    n.keys("h").unwrap();
    assert!(n.wait_for(WAIT, form_ready).await, "{}", n.screen());
    let screen = n.screen();
    assert!(screen.contains("Last saved by Dr Handoff"), "{screen}");
    assert!(screen.contains("daily weights"), "{screen}");
    n.keys("<tab><tab> Falls risk overnight.<enter>").unwrap();
    assert!(
        n.wait_for(WAIT, |s| notice(s).starts_with("handoff saved"))
            .await,
        "{:?}",
        n.state().notice
    );
    let (_, kept) = srv
        .get(&format!(
            "Composition?patient={p}&type=urn:bedside:note|ipass-handoff"
        ))
        .await;
    assert_eq!(kept["total"], 2, "hers beside his: {kept}");

    // The whole list, written as text and PDF, privately.
    n.keys("P").unwrap();
    assert!(
        n.wait_for(WAIT, |s| notice(s).starts_with("handoff written to"))
            .await,
        "{:?}",
        n.state().notice
    );
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let txt = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "txt"))
        .unwrap();
    let pdf = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "pdf"))
        .unwrap();
    let text = std::fs::read_to_string(txt).unwrap();
    assert!(text.contains("I-PASS HANDOFF: Hazel Ward"), "{text}");
    assert!(text.contains("Hazel 1 | HANDED, Hal"), "{text}");
    assert!(
        text.contains("Falls risk overnight"),
        "the latest, hers: {text}"
    );
    assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF-"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [txt, pdf] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}
