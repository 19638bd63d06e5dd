//! Editing a patient's registration details end to end, driven by keys against the embedded
//! server: the form filled from the server's current version, saved with `If-Match` and the
//! new details on the banner; an edit that crossed another user's shown beside it, then saved
//! over it with the other user's changes to other fields kept (every version in the
//! history); support staff correcting a name only with a reason, which the server keeps in a
//! Provenance and in the audit record.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::features::register::Stage;
use bedside::workstation::headless::Headless;
use bedside::workstation::msg::ChartMsg;
use bedside::workstation::state::{ChartView, Msg, State};
use common::screen::{loaded, notice};
use common::{TestServer, body, client_with};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn patient(server: &TestServer) -> String {
    server
        .create(json!({"resourceType": "Patient", "active": true,
            "name": [{"use": "official", "family": "Smiht", "given": ["Ann"]}],
            "birthDate": "1950-04-03", "gender": "female",
            "telecom": [{"system": "phone", "value": "0113 496 0000"}],
            "identifier": [{"system": "urn:test:mrn", "value": "MRN-DEM-1",
                            "type": {"coding": [{"code": "MR"}]}}],
            "link": [{"other": {"reference": "Patient/older"}, "type": "seealso"}]}))
        .await
}

fn stage(s: &State) -> Option<&Stage> {
    s.register.as_ref().map(|r| &r.stage)
}

fn form_ready(s: &State) -> bool {
    matches!(stage(s), Some(Stage::Form))
        && s.register
            .as_ref()
            .is_some_and(|r| r.editing.as_ref().is_some_and(|e| !e.version.is_empty()))
}

/// Replaces the field with the cursor by `text`.
fn retype(h: &mut Headless, text: &str) {
    for _ in 0..40 {
        h.keys("<backspace>").unwrap();
    }
    h.keys(text).unwrap();
}

async fn open(server: &TestServer, token: &str, pid: &str) -> Headless {
    let mut h = common::screen::workstation(&server.base, token, "Dr Edit", 100, 30);
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.to_string())));
    assert!(h.wait_for(WAIT, loaded).await);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_are_edited_on_the_version_read_and_a_crossed_edit_keeps_both() {
    let server = TestServer::start().await;
    let pid = patient(&server).await;
    let doctor = server.user("dr.edit", Role::Physician);
    let mut h = open(&server, &doctor, &pid).await;

    // D: the form, filled from the server's version, below the banner.
    h.keys("D").unwrap();
    assert!(h.wait_for(WAIT, form_ready).await, "{}", h.screen());
    let screen = h.screen();
    assert!(screen.contains("Details of SMIHT, Ann"), "{screen}");
    assert!(screen.contains("0113 496 0000"), "{screen}");
    assert!(
        !screen.contains("insurer"),
        "insurance is not edited here: {screen}"
    );
    assert_eq!(
        h.state().chart.as_ref().map(|c| c.view.clone()),
        Some(ChartView::Demographics)
    );
    // Enter with nothing changed writes nothing.
    h.keys("<enter>").unwrap();
    assert!(
        notice(h.state()).contains("nothing changed"),
        "{}",
        notice(h.state())
    );

    // The surname corrected: saved on version 1, on the banner at once.
    retype(&mut h, "Smith");
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.register.is_none()
            && notice(s).contains("details saved"))
            .await,
        "{}",
        h.screen()
    );
    assert!(
        notice(h.state()).contains("SMIHT, Ann"),
        "the message names the patient"
    );
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart.as_ref().is_some_and(|c| c
                .chart
                .patient
                .as_ref()
                .is_some_and(|p| p.display_name().contains("SMITH"))))
            .await,
        "{}",
        h.screen()
    );
    let (_, stored) = server.get(&format!("Patient/{pid}")).await;
    assert_eq!(stored["name"][0]["family"], "Smith");
    assert_eq!(stored["meta"]["versionId"], "2");
    assert_eq!(
        stored["link"][0]["type"], "seealso",
        "what the form does not show is kept"
    );
    assert!(
        stored["identifier"].to_string().contains("MRN-DEM-1"),
        "{stored}"
    );

    // A crossed edit: the form opened on version 2, then a colleague changes the phone and
    // the given name; this user changes the given name and the city.
    h.keys("D").unwrap();
    assert!(h.wait_for(WAIT, form_ready).await, "{}", h.screen());
    let mut theirs = stored.clone();
    theirs["name"][0]["given"] = json!(["Anne"]);
    theirs["telecom"][0]["value"] = json!("0113 496 9999");
    let (status, reply) = server.put(&format!("Patient/{pid}"), &theirs).await;
    assert!(status.is_success(), "{reply}");
    h.keys("<tab>").unwrap();
    retype(&mut h, "Annie");
    for _ in 0..5 {
        h.keys("<tab>").unwrap();
    }
    retype(&mut h, "Leeds");
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| matches!(stage(s), Some(Stage::Crossed { .. })))
            .await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(screen.contains("NOT saved"), "{screen}");
    assert!(
        screen.contains("Annie") && screen.contains("Anne"),
        "both versions: {screen}"
    );
    assert!(screen.contains("0113 496 9999"), "{screen}");
    assert!(screen.contains("Save my changes over theirs"), "{screen}");
    // Keep mine: the given name and city mine, the colleague's phone kept.
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.register.is_none()
            && notice(s).contains("details saved"))
            .await,
        "{}",
        h.screen()
    );
    let (_, now) = server.get(&format!("Patient/{pid}")).await;
    assert_eq!(now["name"][0]["given"], json!(["Annie"]));
    assert_eq!(now["address"][0]["city"], "Leeds");
    assert_eq!(now["telecom"][0]["value"], "0113 496 9999");
    assert_eq!(now["meta"]["versionId"], "4");
    let (_, history) = server.get(&format!("Patient/{pid}/_history")).await;
    assert_eq!(
        history["entry"].as_array().map_or(0, Vec::len),
        4,
        "every version kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_corrects_details_only_with_a_reason() {
    let server = TestServer::start().await;
    let pid = patient(&server).await;
    let support = server.user("it.desk", Role::Support);
    let mut h = open(&server, &support, &pid).await;
    h.keys("D").unwrap();
    assert!(h.wait_for(WAIT, form_ready).await, "{}", h.screen());
    retype(&mut h, "Smith");
    h.keys("<enter>").unwrap();
    // Signed in with a token, the workstation does not know the role: the server says.
    assert!(
        h.wait_for(WAIT, |s| notice(s).contains("reason")).await,
        "{}",
        h.screen()
    );
    assert!(
        notice(h.state()).contains("Give a reason"),
        "{}\n{}",
        notice(h.state()),
        h.screen()
    );
    assert!(matches!(stage(h.state()), Some(Stage::Form)));
    // The cursor went to the reason row.
    h.keys("ticket 4411: surname misspelt at registration<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.register.is_none()
            && notice(s).contains("details saved"))
            .await,
        "{}",
        h.screen()
    );
    let (_, found) = server
        .get(&format!("Provenance?target=Patient/{pid}/_history/2"))
        .await;
    assert_eq!(
        found["entry"][0]["resource"]["reason"][0]["text"],
        "ticket 4411: surname misspelt at registration",
        "{found}"
    );
    let (_, audit) = body(
        client_with(&support)
            .get(server.url(&format!(
                "AuditEvent?patient={pid}&altid=it.desk&_count=100"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        audit.to_string().contains("ticket 4411"),
        "the reason is in the audit record: {audit}"
    );
}
