//! The interface's message log for support staff: over HTTP (`$hl7-messages`, support only,
//! without the messages' patient data) and from the command line (`bedside support
//! messages`).

mod common;

use bedside::server::auth::Role;
use bedside::server::hl7::apply::Setup;
use bedside::server::hl7::handle::{Options, handle};
use common::{TestServer, body, client_with};
use reqwest::StatusCode;

const A04: &str = "MSH|^~\\&|ADMIT|GENHOSP|BEDSIDE|WARD|20261202083000||ADT^A04^ADT_A01|L1|P|2.5.1\rEVN|A04|20261202083000\rPID|1||7654321^^^GENHOSP^MR||KOWALSKI^ANNA||19700102|F\r";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_reads_the_message_log_and_no_one_else() {
    let srv = TestServer::start().await;
    let options = Options {
        setup: Setup {
            mrn_authority: "GENHOSP".into(),
            mrn_system: bedside::server::seed::MRN_SYSTEM.into(),
            systems: Vec::new(),
        },
        lenient: false,
    };
    let store = srv.store.clone();
    tokio::task::spawn_blocking(move || {
        assert!(
            handle(&store, A04.as_bytes(), &options)
                .unwrap()
                .contains("MSA|AA|L1")
        );
        assert!(
            handle(&store, b"PID|1||x\r", &options)
                .unwrap()
                .contains("MSA|AR")
        );
    })
    .await
    .unwrap();
    let support = client_with(&srv.user("log.support", Role::Support));
    let (status, log) = body(support.get(srv.url("$hl7-messages")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let text = log.to_string();
    assert!(
        text.contains("ADT^A04") && text.contains("applied") && text.contains("rejected"),
        "{text}"
    );
    assert!(text.contains("MSA|AA|L1"), "{text}");
    assert!(text.contains("Patient/"), "what it wrote: {text}");
    assert!(
        !text.contains("KOWALSKI"),
        "no patient data in the list: {text}"
    );
    // Who looked at the log is audited with the patients it showed.
    let pid = text
        .split("Patient/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let (_, seen) = body(
        support
            .get(srv.url(&format!("AuditEvent?patient={pid}&altid=log.support")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(seen["total"].as_i64().unwrap() >= 1, "{seen}");
    let (_, only) = body(
        support
            .get(srv.url("$hl7-messages?status=rejected"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!only.to_string().contains("ADT^A04"), "{only}");
    for bad in [
        "$hl7-messages?status=lost",
        "$hl7-messages?_count=0",
        "$hl7-messages?who=x",
    ] {
        let (status, _) = body(support.get(srv.url(bad)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("log.{role:?}").to_lowercase(), role));
        let (status, _) = body(other.get(srv.url("$hl7-messages")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // From the command line, as CSV.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["--server", &srv.base, "--token"])
        .arg(srv.user("log.support", Role::Support))
        .args(["support", "messages", "--csv"])
        .env("HOME", srv.dir.path())
        .env("XDG_CONFIG_HOME", srv.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("seq,received,sender,control_id,type,status,ack,error,wrote"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_is_processed_again_after_the_fix() {
    let options = Options {
        setup: Setup {
            mrn_authority: "GENHOSP".into(),
            mrn_system: bedside::server::seed::MRN_SYSTEM.into(),
            systems: Vec::new(),
        },
        lenient: false,
    };
    let srv = TestServer::start_with(bedside::server::ServerConfig {
        hl7: Some(std::sync::Arc::new(options.clone())),
        ..Default::default()
    })
    .await;
    let oru = "MSH|^~\\&|LAB|GENHOSP|BEDSIDE|WARD|20261202090000||ORU^R01^ORU_R01|R9|P|2.5.1\rPID|1||7654321^^^GENHOSP^MR\rOBR|1|||2823-3^Potassium^LN|||20261202061500\rOBX|1|NM|2823-3^Potassium^LN||4.2|mmol/L|3.5-5.1|N|||F\r";
    let store = srv.store.clone();
    let o = options.clone();
    tokio::task::spawn_blocking(move || {
        // The result comes before the patient is registered: AE.
        assert!(
            handle(&store, oru.as_bytes(), &o)
                .unwrap()
                .contains("MSA|AE|R9")
        );
        assert!(
            handle(&store, A04.as_bytes(), &o)
                .unwrap()
                .contains("MSA|AA|L1")
        );
    })
    .await
    .unwrap();
    let seq = bedside::server::hl7::log::list(&srv.store, Some("error"), 10).unwrap()[0].seq;
    let support = client_with(&srv.user("re.support", Role::Support));
    let ask = |reason: Option<&str>, seq: i64| {
        let mut p = vec![serde_json::json!({"name": "seq", "valueInteger": seq})];
        if let Some(r) = reason {
            p.push(serde_json::json!({"name": "reason", "valueString": r}));
        }
        serde_json::json!({"resourceType": "Parameters", "parameter": p})
    };
    let post = |http: reqwest::Client, b: serde_json::Value| {
        let url = srv.url("$hl7-reprocess");
        async move {
            body(
                http.post(url)
                    .header("content-type", "application/fhir+json")
                    .body(b.to_string())
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    for role in [Role::Physician, Role::Nurse, Role::Admin, Role::Clerk] {
        let other = client_with(&srv.user(&format!("re.{role:?}").to_lowercase(), role));
        let (status, _) = post(other, ask(Some("patient registered now"), seq)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let (status, _) = post(support.clone(), ask(None, seq)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is needed");
    let (status, done) = post(
        support.clone(),
        ask(Some("the patient is registered now"), seq),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["parameter"][0]["valueCode"], "applied");
    let (_, obs) = body(
        srv.http
            .get(srv.url("Observation?code=2823-3"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(obs["total"], 1, "{obs}");
    // Once applied, not again.
    let (status, _) = post(support.clone(), ask(Some("once more please"), seq)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = post(support, ask(Some("a message that is not there"), 999)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
