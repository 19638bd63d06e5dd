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
