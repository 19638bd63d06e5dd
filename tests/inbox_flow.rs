//! The results inbox end to end, driven by keys against the embedded server: new results for
//! the physician's orders arrive as review Tasks (made by the server), listed per patient with
//! the critical one first and the value before it; acknowledging one completes its Task on the
//! server; all the normal ones go at once; a result acknowledged meanwhile on another terminal
//! makes the acknowledgement refuse whole, never half-done.

mod common;

use std::time::Duration;

use bedside::server::auth::Role;
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{Screen, State};
use common::screen::notice;
use common::{TestServer, body, client_with};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn at(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn result(
    patient: &str,
    order: &str,
    loinc: &str,
    name: &str,
    value: f64,
    flag: &str,
    when: &str,
) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": name}], "text": name},
        "subject": {"reference": format!("Patient/{patient}")},
        "basedOn": [{"reference": format!("ServiceRequest/{order}")}],
        "effectiveDateTime": when, "valueQuantity": {"value": value, "unit": "mmol/L"},
        "referenceRange": [{"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.1, "unit": "mmol/L"}}],
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}]})
}

fn waiting(s: &State) -> usize {
    s.inbox.as_ref().map_or(0, |i| i.items().len())
}

fn settled(s: &State) -> bool {
    s.inbox
        .as_ref()
        .is_some_and(|i| !i.loading && !i.sending && i.loaded_ms.is_some())
}

async fn open_tasks(server: &TestServer) -> Vec<Value> {
    let (_, b) = server
        .get("Task?code=urn:bedside:task|review-result&status=requested&_count=100")
        .await;
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_reviewed_and_acknowledged_on_the_server() {
    let server = TestServer::start().await;
    let token = server.user("dr.inbox", Role::Physician);
    let (_, me) = body(
        client_with(&token)
            .get(format!("{}/auth/session", server.root()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let practitioner = format!("Practitioner/{}", me["practitioner"].as_str().unwrap());
    let mut orders = Vec::new();
    let mut patients = Vec::new();
    for family in ["Inbox", "Outbox"] {
        let p = server
            .create(
                json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Ida"]}]}),
            )
            .await;
        let o = server
            .create(
                json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "code": {"text": "U&E"}, "subject": {"reference": format!("Patient/{p}")},
                "requester": {"reference": practitioner}}),
            )
            .await;
        patients.push(p);
        orders.push(o);
    }
    let (inbox, outbox) = (&patients[0], &patients[1]);
    // An earlier potassium (older than the review window: no Task), then today's critical one.
    server
        .create(result(
            inbox,
            &orders[0],
            "2823-3",
            "Potassium",
            5.4,
            "H",
            &at(72),
        ))
        .await;
    server
        .create(result(
            inbox,
            &orders[0],
            "2823-3",
            "Potassium",
            6.9,
            "HH",
            &at(2),
        ))
        .await;
    server
        .create(result(
            inbox,
            &orders[0],
            "2951-2",
            "Sodium",
            140.0,
            "N",
            &at(2),
        ))
        .await;
    server
        .create(result(
            outbox,
            &orders[1],
            "2951-2",
            "Sodium",
            139.0,
            "N",
            &at(3),
        ))
        .await;
    assert_eq!(open_tasks(&server).await.len(), 3);

    let mut options = Options::new(&server.base);
    options.token = Some(token.clone());
    options.author = "Dr Inbox".into();
    options.fhir_user = Some(practitioner.clone());
    let display = test_display(&server.base, chrono::Utc::now().date_naive());
    let mut h = Headless::with_options(options, display, 100, 30).unwrap();
    // On the search screen, the critical result is said on the status line at once.
    assert!(
        h.wait_for(WAIT, |s| s.notice.as_ref().is_some_and(|n| n
            .text
            .starts_with("CRITICAL result for INBOX, Ida: Potassium")))
            .await,
        "{:?}",
        h.state().notice
    );
    assert_eq!(h.state().screen, Screen::Search);
    h.keys("<f6>").unwrap();
    assert_eq!(h.state().screen, Screen::Inbox);
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 3).await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(
        screen.contains("1 critical, 0 abnormal, 2 normal"),
        "{screen}"
    );
    let first = h
        .state()
        .inbox
        .as_ref()
        .unwrap()
        .selected()
        .map(|(g, i)| (g.patient_id.clone(), i.clone()))
        .unwrap();
    assert_eq!(
        first.0, *inbox,
        "the patient with the critical result first"
    );
    assert_eq!(first.1.name, "Potassium");
    assert!(
        first
            .1
            .previous
            .as_deref()
            .is_some_and(|p| p.starts_with("5.4")),
        "{:?}",
        first.1.previous
    );
    assert!(screen.contains("CRIT"), "{screen}");

    // The critical one acknowledged: its Task completed on the server, the message names the
    // patient.
    h.keys("a").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 2).await,
        "{}",
        h.screen()
    );
    let notice = h.state().notice.as_ref().unwrap().text.clone();
    assert!(
        notice.contains("1 result acknowledged for INBOX, Ida"),
        "{notice}"
    );
    let (_, done) = server
        .get("Task?code=urn:bedside:task|review-result&status=completed")
        .await;
    let done = &done["entry"][0]["resource"];
    assert_eq!(done["status"], "completed");
    assert!(
        done["note"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Acknowledged by Dr Inbox")
    );

    // Meanwhile another terminal acknowledges one of the normal ones: acknowledging all the
    // normal ones is refused whole, and the list read again.
    let mut other = open_tasks(&server).await[0].clone();
    other["status"] = json!("completed");
    let (status, reply) = server
        .put(&format!("Task/{}", other["id"].as_str().unwrap()), &other)
        .await;
    assert!(status.is_success(), "{reply}");
    h.keys("N").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s)
            && s.notice
                .as_ref()
                .is_some_and(|n| n.text.contains("NOT acknowledged")))
            .await,
        "{:?}",
        h.state().notice
    );
    assert_eq!(open_tasks(&server).await.len(), 1, "nothing half-done");
    assert!(h.wait_for(WAIT, |s| settled(s) && waiting(s) == 1).await);
    // Now all the normal ones: none left.
    h.keys("N").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 0).await,
        "{}",
        h.screen()
    );
    assert!(open_tasks(&server).await.is_empty());
    assert!(
        h.screen()
            .contains("No results are waiting for your review")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_to_a_colleague_and_the_safety_net_by_clinician() {
    let server = TestServer::start().await;
    let token = server.user("dr.net", Role::Physician);
    let session = |token: String| {
        let root = server.root();
        async move {
            let (_, me) = body(
                client_with(&token)
                    .get(format!("{root}/auth/session"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            format!("Practitioner/{}", me["practitioner"].as_str().unwrap())
        }
    };
    let me = session(token.clone()).await;
    let colleague = session(server.user("chenwright", Role::Physician)).await;
    let p = server
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Netted", "given": ["Nia"]}]}),
        )
        .await;
    let o = server
        .create(
            json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"text": "U&E"}, "subject": {"reference": format!("Patient/{p}")},
            "requester": {"reference": me}}),
        )
        .await;
    server
        .create(result(&p, &o, "2823-3", "Potassium", 6.9, "HH", &at(1)))
        .await;
    assert_eq!(open_tasks(&server).await.len(), 1);

    let mut options = Options::new(&server.base);
    options.token = Some(token.clone());
    options.author = "Dr Net".into();
    options.fhir_user = Some(me.clone());
    // Every result is overdue at once (a site sets hours and days).
    options.overdue = bedside::workstation::inbox::Overdue {
        critical_ms: 1,
        abnormal_ms: 1,
    };
    let display = test_display(&server.base, chrono::Utc::now().date_naive());
    let mut h = Headless::with_options(options, display, 80, 24).unwrap();
    h.keys("<f6>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 1).await,
        "{}",
        h.screen()
    );
    // The safety net, mine: the critical result waiting.
    h.keys("S").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 1).await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("SAFETY NET (mine)"), "{}", h.screen());
    // Forwarded from there, by name, with a comment.
    h.keys("f").unwrap();
    h.keys("chenw: K+ 6.9, please review today<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| notice(s).starts_with("result forwarded to"))
            .await,
        "{:?}",
        h.state().notice
    );
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 0).await,
        "no longer mine: {}",
        h.screen()
    );
    let tasks = open_tasks(&server).await;
    assert_eq!(tasks.len(), 1, "still to review");
    assert_eq!(tasks[0]["owner"]["reference"], colleague.as_str());
    let note = tasks[0]["note"][0]["text"].as_str().unwrap();
    assert!(note.contains("Forwarded by Dr Net"), "{note}");
    assert!(note.ends_with("K+ 6.9, please review today"), "{note}");
    // Everyone's: under the colleague's name now.
    h.keys("S").unwrap();
    assert!(
        h.wait_for(WAIT, |s| settled(s) && waiting(s) == 1).await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(screen.contains("chenwright | NETTED, Nia"), "{screen}");
    assert!(screen.contains("CRIT"), "{screen}");
}
