//! The HL7 v2 listener over real TCP: frames split across writes and two in one write, ACKs
//! after the durable write with MSA-2 echoing MSH-10, a repeat answered again without being
//! applied twice, a sender that drops the connection before the ACK and sends again,
//! malformed and unknown messages rejected naming the problem, patients matched by MRN and
//! stays by visit number, every write audited as the interface.

use std::time::Duration;

use bedside::server::hl7::apply::Setup;
use bedside::server::hl7::handle::Options;
use bedside::server::hl7::{log, mllp, parse};
use bedside::server::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MRN: &str = "http://hospital.example/mrn";

fn adt(trigger: &str, control: &str, extra: &str) -> String {
    format!(
        "MSH|^~\\&|ADMIT|GENHOSP|BEDSIDE|WARD|20261202083000||ADT^{trigger}^ADT_{trigger}|{control}|P|2.5.1{extra}\rEVN|{trigger}|20261202083000\rPID|1||7654321^^^GENHOSP^MR||KOWALSKI^ANNA^^^^^L||19700102|F|||3 High St^^Springfield^IL^62701||^PRN^PH^^^555^0104444\rPV1|1|I|WARD7^12^B||||1234^HOUSE^GREGORY||||||||||||V900^^^GENHOSP^VN|||||||||||||||||||||||||20261202080000\r"
    )
}

async fn start() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hl7.db")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let options = Options {
        setup: Setup {
            mrn_authority: "GENHOSP".into(),
            mrn_system: MRN.into(),
            systems: Vec::new(),
        },
        lenient: false,
    };
    let served = store.clone();
    tokio::spawn(async move {
        bedside::server::hl7::listen::serve(
            served,
            listener,
            options,
            tokio::time::sleep(Duration::from_secs(60)),
        )
        .await
    });
    (dir, store, addr)
}

async fn read_acks(s: &mut TcpStream, n: usize) -> Vec<parse::Message> {
    let mut framer = mllp::Framer::new(1 << 20);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        let k = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an ACK in time")
            .unwrap();
        assert!(k > 0, "the connection closed before the ACK");
        for f in framer.push(&buf[..k]) {
            let mllp::Frame::Message(m) = f else {
                panic!("too long")
            };
            out.push(parse::parse(&String::from_utf8(m).unwrap(), false).unwrap());
        }
    }
    out
}

fn msa(m: &parse::Message) -> (String, String) {
    let s = m.segment("MSA").unwrap();
    (s.text(1).to_string(), s.text(2).to_string())
}

fn patients(store: &Store) -> Vec<serde_json::Value> {
    all_of(store, "Patient")
}

fn encounters(store: &Store) -> Vec<serde_json::Value> {
    all_of(store, "Encounter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adt_in_over_mllp_applied_once_and_acknowledged() {
    let (_dir, store, addr) = start().await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    // A04 split across two writes.
    let a04 = mllp::frame(adt("A04", "C1", "").as_bytes());
    let (x, y) = a04.split_at(40);
    s.write_all(x).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.write_all(y).await.unwrap();
    let acks = read_acks(&mut s, 1).await;
    assert_eq!(msa(&acks[0]), ("AA".into(), "C1".into()));
    assert_eq!(
        acks[0].sender(),
        ("BEDSIDE", "WARD"),
        "sender and receiver swapped"
    );
    // A01 and A08 in one write.
    let two = [
        mllp::frame(adt("A01", "C2", "").as_bytes()),
        mllp::frame(
            adt("A08", "C3", "")
                .replace("KOWALSKI^ANNA", "KOWALSKA^ANNA")
                .as_bytes(),
        ),
    ]
    .concat();
    s.write_all(&two).await.unwrap();
    let acks = read_acks(&mut s, 2).await;
    assert_eq!(msa(&acks[0]), ("AA".into(), "C2".into()));
    assert_eq!(msa(&acks[1]), ("AA".into(), "C3".into()));
    let ps = patients(&store);
    assert_eq!(ps.len(), 1, "matched by MRN, never duplicated: {ps:?}");
    assert_eq!(ps[0]["name"][0]["family"], "Kowalska");
    assert!(ps[0]["identifier"].to_string().contains("7654321"));
    let es = encounters(&store);
    assert_eq!(es.len(), 1, "one stay by visit number: {es:?}");
    assert_eq!(es[0]["status"], "in-progress");
    let version = es[0]["meta"]["versionId"].clone();
    // The A01 again (same control id): the same answer, not applied again.
    s.write_all(&mllp::frame(adt("A01", "C2", "").as_bytes()))
        .await
        .unwrap();
    let again = read_acks(&mut s, 1).await;
    assert_eq!(msa(&again[0]), ("AA".into(), "C2".into()));
    assert_eq!(encounters(&store)[0]["meta"]["versionId"], version);
    // A sender that drops the connection before the ACK, then sends again.
    {
        let mut d = TcpStream::connect(&addr).await.unwrap();
        d.write_all(&mllp::frame(adt("A03", "C4", "").as_bytes()))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s2 = TcpStream::connect(&addr).await.unwrap();
    s2.write_all(&mllp::frame(adt("A03", "C4", "").as_bytes()))
        .await
        .unwrap();
    let acks = read_acks(&mut s2, 1).await;
    assert_eq!(msa(&acks[0]), ("AA".into(), "C4".into()));
    let es = encounters(&store);
    assert_eq!(es[0]["status"], "finished");
    // Malformed and unknown messages: rejected, naming the problem; nothing applied.
    s2.write_all(&mllp::frame(b"PID|1||x\r")).await.unwrap();
    s2.write_all(&mllp::frame(
        adt("A01", "C5", "").replace("|2.5.1", "|3.1").as_bytes(),
    ))
    .await
    .unwrap();
    s2.write_all(&mllp::frame(
        adt("A01", "C6", "")
            .replace("ADT^A01^ADT_A01", "ZZZ^Z01")
            .as_bytes(),
    ))
    .await
    .unwrap();
    s2.write_all(&mllp::frame(
        adt("A01", "C7", "")
            .replace("7654321^^^GENHOSP^MR", "7654321^^^OTHERHOSP^MR")
            .as_bytes(),
    ))
    .await
    .unwrap();
    let acks = read_acks(&mut s2, 4).await;
    assert_eq!(msa(&acks[0]).0, "AR");
    assert_eq!(acks[0].segment("ERR").unwrap().comp(2, 1), "MSH");
    assert_eq!(
        (
            msa(&acks[1]).0.as_str(),
            acks[1].segment("ERR").unwrap().comp(3, 1)
        ),
        ("AR", "203")
    );
    assert_eq!(
        (
            msa(&acks[2]).0.as_str(),
            acks[2].segment("ERR").unwrap().comp(3, 1)
        ),
        ("AR", "200")
    );
    assert_eq!(msa(&acks[3]).0, "AE");
    let err = acks[3].segment("ERR").unwrap();
    assert_eq!((err.comp(2, 1), err.comp(2, 3)), ("PID", "3"));
    assert_eq!(patients(&store).len(), 1);
    // Enhanced mode: a commit acknowledgement.
    s2.write_all(&mllp::frame(adt("A08", "C8", "|||AL|NE").as_bytes()))
        .await
        .unwrap();
    let acks = read_acks(&mut s2, 1).await;
    assert_eq!(msa(&acks[0]), ("CA".into(), "C8".into()));
    // The log: every message with its status and the ACK sent.
    let logged = log::list(&store, None, 100).unwrap();
    let status = |c: &str| {
        logged
            .iter()
            .find(|l| l.control_id == c)
            .map(|l| l.status.clone())
    };
    assert_eq!(status("C2").as_deref(), Some("applied"));
    assert_eq!(status("C6").as_deref(), Some("rejected"));
    assert_eq!(status("C7").as_deref(), Some("error"));
    assert_eq!(logged.iter().filter(|l| l.control_id == "C2").count(), 1);
    assert!(
        logged
            .iter()
            .any(|l| l.status == "rejected" && l.control_id.is_empty()),
        "the unreadable one kept"
    );
    let c2 = logged.iter().find(|l| l.control_id == "C2").unwrap();
    assert!(
        c2.resources.iter().any(|r| r.starts_with("Encounter/")),
        "{:?}",
        c2.resources
    );
    // Audited as the interface, with the patient.
    let filter = bedside::server::audit::Filter {
        username: Some("hl7:ADMIT^GENHOSP".into()),
        count: 100,
        ..Default::default()
    };
    let (_, total) = bedside::server::audit::search(&store, &filter).unwrap();
    assert!(total >= 5, "{total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedside_serve_takes_mllp_beside_http() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mllp",
            "127.0.0.1:0",
            "--mllp-authority",
            "GENHOSP",
            "--db",
        ])
        .arg(dir.path().join("serve.db"))
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(addr) = line.strip_prefix("HL7 v2 (MLLP) on ") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the MLLP address");
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(&mllp::frame(adt("A04", "S1", "").as_bytes()))
        .await
        .unwrap();
    let acks = read_acks(&mut s, 1).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(msa(&acks[0]), ("AA".into(), "S1".into()));
    // Without an authority it refuses to start, saying why.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["serve", "--mllp", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mllp-authority"));
}

fn oru(control: &str, mrn: &str, status: &str, potassium: &str) -> String {
    format!(
        "MSH|^~\\&|LAB|GENHOSP|BEDSIDE|WARD|20261202090000||ORU^R01^ORU_R01|{control}|P|2.5.1\rPID|1||{mrn}^^^GENHOSP^MR\rOBR|1|ORD-77^BEDSIDE|F-991^LAB|24326-1^Electrolytes panel^LN|||20261202061500|||||||20261202063000|||||||||||{status}\rOBX|1|NM|2823-3^Potassium^LN||{potassium}|mmol/L^mmol/L^UCUM|3.5-5.1|HH|||{status}|||20261202061500\rOBX|2|NM|2951-2^Sodium^LN||139|mmol/L^mmol/L^UCUM|135-145|N|||{status}\r"
    )
}

fn all_of(store: &Store, rtype: &str) -> Vec<serde_json::Value> {
    store
        .read_side(|c| {
            let mut stmt = c.prepare(
                "SELECT v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version WHERE r.type = ?1 AND r.deleted = 0",
            )?;
            let rows = stmt.query_map([rtype], |r| r.get::<_, String>(0))?;
            Ok(rows.map(|r| serde_json::from_str(&r.unwrap()).unwrap()).collect())
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_results_in_link_to_their_order_close_it_and_reach_the_inbox() {
    let (_dir, store, addr) = start().await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(&mllp::frame(adt("A04", "R0", "").as_bytes()))
        .await
        .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    let patient = patients(&store)[0]["id"].as_str().unwrap().to_string();
    let doctor = store
        .write(|tx| {
            let d = tx.create(serde_json::json!({"resourceType": "Practitioner", "name": [{"family": "House"}]}), None)?;
            tx.create(serde_json::json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "identifier": [{"system": "urn:bedside:placer", "value": "ORD-77"}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "24326-1"}]},
                "requester": {"reference": format!("Practitioner/{}", d.id)},
                "subject": {"reference": format!("Patient/{patient}")}}), None)?;
            Ok(d.id)
        })
        .unwrap();
    s.write_all(&mllp::frame(oru("R1", "7654321", "F", "6.1").as_bytes()))
        .await
        .unwrap();
    let ack = read_acks(&mut s, 1).await;
    assert_eq!(msa(&ack[0]), ("AA".into(), "R1".into()), "{:?}", ack[0]);
    let reports = all_of(&store, "DiagnosticReport");
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0]["subject"]["reference"],
        format!("Patient/{patient}")
    );
    assert!(
        reports[0]["basedOn"][0]["reference"]
            .as_str()
            .unwrap()
            .starts_with("ServiceRequest/")
    );
    let obs = all_of(&store, "Observation");
    assert_eq!(obs.len(), 2);
    let k = obs
        .iter()
        .find(|o| o["code"]["coding"][0]["code"] == "2823-3")
        .unwrap();
    assert_eq!(k["valueQuantity"]["value"], 6.1);
    assert_eq!(k["interpretation"][0]["coding"][0]["code"], "HH");
    assert_eq!(
        all_of(&store, "ServiceRequest")[0]["status"],
        "completed",
        "the order closed"
    );
    let tasks = all_of(&store, "Task");
    assert!(!tasks.is_empty(), "review tasks for the inbox");
    assert!(
        tasks
            .iter()
            .any(|t| t["owner"]["reference"] == format!("Practitioner/{doctor}")),
        "{tasks:?}"
    );
    // A correction (same filler number): the report and the potassium updated, not doubled.
    s.write_all(&mllp::frame(oru("R2", "7654321", "C", "5.9").as_bytes()))
        .await
        .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    let reports = all_of(&store, "DiagnosticReport");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["status"], "corrected");
    assert_eq!(reports[0]["meta"]["versionId"], "2");
    let obs = all_of(&store, "Observation");
    assert_eq!(obs.len(), 2);
    let k = obs
        .iter()
        .find(|o| o["code"]["coding"][0]["code"] == "2823-3")
        .unwrap();
    assert_eq!(k["valueQuantity"]["value"], 5.9);
    // A result for nobody registered, and one with a value not of its type: refused, naming
    // the problem; nothing stored.
    s.write_all(&mllp::frame(oru("R3", "0000000", "F", "4.0").as_bytes()))
        .await
        .unwrap();
    s.write_all(&mllp::frame(oru("R4", "7654321", "F", "high").as_bytes()))
        .await
        .unwrap();
    let acks = read_acks(&mut s, 2).await;
    assert_eq!(msa(&acks[0]).0, "AE");
    assert_eq!(acks[0].segment("ERR").unwrap().comp(3, 1), "204");
    assert_eq!(msa(&acks[1]).0, "AE");
    let err = acks[1].segment("ERR").unwrap();
    assert_eq!((err.comp(2, 1), err.comp(2, 3)), ("OBX", "5"));
    assert_eq!(all_of(&store, "Observation").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a40_merges_through_the_support_desks_merge() {
    let (_dir, store, addr) = start().await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let other = adt("A01", "M1", "")
        .replace("7654321^^^GENHOSP^MR", "1111111^^^GENHOSP^MR")
        .replace("V900^", "V901^");
    s.write_all(&mllp::frame(adt("A04", "M0", "").as_bytes()))
        .await
        .unwrap();
    s.write_all(&mllp::frame(other.as_bytes())).await.unwrap();
    let acks = read_acks(&mut s, 2).await;
    assert_eq!(
        (msa(&acks[0]).0.as_str(), msa(&acks[1]).0.as_str()),
        ("AA", "AA")
    );
    let a40 = "MSH|^~\\&|ADMIT|GENHOSP|BEDSIDE|WARD|20261202100000||ADT^A40^ADT_A39|M2|P|2.5.1\rEVN|A40|20261202100000\rPID|1||7654321^^^GENHOSP^MR||KOWALSKI^ANNA\rMRG|1111111^^^GENHOSP^MR\r";
    s.write_all(&mllp::frame(a40.as_bytes())).await.unwrap();
    let ack = read_acks(&mut s, 1).await;
    assert_eq!(msa(&ack[0]).0, "AA", "{:?}", ack[0]);
    let ps = patients(&store);
    let kept = ps
        .iter()
        .find(|p| p["identifier"].to_string().contains("7654321"))
        .unwrap();
    let gone = ps
        .iter()
        .find(|p| p["identifier"].to_string().contains("1111111"))
        .unwrap();
    assert_eq!(gone["active"], false);
    assert_eq!(gone["link"][0]["type"], "replaced-by");
    assert_eq!(kept["link"][0]["type"], "replaces");
    let es = encounters(&store);
    assert!(
        es.iter()
            .all(|e| e["subject"]["reference"]
                == format!("Patient/{}", kept["id"].as_str().unwrap()))
    );
    // Again (a new control id): the desk's merge refuses, the ACK says why.
    s.write_all(&mllp::frame(a40.replace("|M2|", "|M3|").as_bytes()))
        .await
        .unwrap();
    let ack = read_acks(&mut s, 1).await;
    assert_eq!(msa(&ack[0]).0, "AE");
    assert!(
        ack[0]
            .segment("ERR")
            .unwrap()
            .text(8)
            .contains("already merged"),
        "{:?}",
        ack[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_files_a_document_and_a_repeat_number_replaces_it() {
    let (_dir, store, addr) = start().await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(&mllp::frame(adt("A04", "D0", "").as_bytes()))
        .await
        .unwrap();
    read_acks(&mut s, 1).await;
    let mdm = |control: &str, status: &str, line: &str| {
        format!(
            "MSH|^~\\&|TRANSCRIBE|GENHOSP|BEDSIDE|WARD|20261202110000||MDM^T02^MDM_T02|{control}|P|2.5.1\rEVN|T02|20261202110000\rPID|1||7654321^^^GENHOSP^MR\rPV1|1|I\rTXA|1|DS^Discharge summary^HL70270|TX|20261202105500|||||1234^HOUSE^GREGORY|||DOC-55|||||{status}\rOBX|1|TX|DS^Discharge summary||{line}~Follow up in clinic.||||||F\r"
        )
    };
    s.write_all(&mllp::frame(
        mdm("D1", "DO", "Admitted with chest pain.").as_bytes(),
    ))
    .await
    .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    let docs = all_of(&store, "DocumentReference");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["docStatus"], "preliminary");
    let text = |d: &serde_json::Value| {
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(d["content"][0]["attachment"]["data"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        text(&docs[0]),
        "Admitted with chest pain.\nFollow up in clinic."
    );
    assert_eq!(docs[0]["author"][0]["display"], "HOUSE, GREGORY");
    // Authenticated later: the same document, final, its text replaced.
    s.write_all(&mllp::frame(
        mdm("D2", "AU", "Admitted with chest pain; troponin negative.").as_bytes(),
    ))
    .await
    .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    let docs = all_of(&store, "DocumentReference");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["docStatus"], "final");
    assert!(text(&docs[0]).contains("troponin negative"));
    // No text: refused.
    let empty = mdm("D3", "AU", "")
        .replace("~Follow up in clinic.", "")
        .replace("|DOC-55|", "|DOC-56|");
    s.write_all(&mllp::frame(empty.as_bytes())).await.unwrap();
    let ack = read_acks(&mut s, 1).await;
    assert_eq!(msa(&ack[0]).0, "AE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_undo_a_discharge_and_an_admission() {
    let (_dir, store, addr) = start().await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let discharged =
        adt("A03", "X2", "").replace("|20261202080000\r", "|20261202080000|20261203100000\r");
    for m in [adt("A01", "X1", ""), discharged] {
        s.write_all(&mllp::frame(m.as_bytes())).await.unwrap();
    }
    let acks = read_acks(&mut s, 2).await;
    assert!(acks.iter().all(|a| msa(a).0 == "AA"));
    let e = &encounters(&store)[0];
    assert_eq!(e["status"], "finished");
    assert_eq!(e["period"]["end"], "2026-12-03T10:00:00+00:00");
    // A13: the discharge cancelled, the stay goes on.
    s.write_all(&mllp::frame(adt("A13", "X3", "").as_bytes()))
        .await
        .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    let e = &encounters(&store)[0];
    assert_eq!(e["status"], "in-progress");
    assert!(e["period"].get("end").is_none(), "{e}");
    // A11: the admission cancelled.
    s.write_all(&mllp::frame(adt("A11", "X4", "").as_bytes()))
        .await
        .unwrap();
    assert_eq!(msa(&read_acks(&mut s, 1).await[0]).0, "AA");
    assert_eq!(encounters(&store)[0]["status"], "cancelled");
    // A cancel of a stay that is not there: AE, nothing made.
    let unknown = adt("A11", "X5", "").replace("V900^", "V999^");
    s.write_all(&mllp::frame(unknown.as_bytes())).await.unwrap();
    let ack = read_acks(&mut s, 1).await;
    assert_eq!(msa(&ack[0]).0, "AE");
    assert_eq!(ack[0].segment("ERR").unwrap().comp(3, 1), "204");
    assert_eq!(encounters(&store).len(), 1);
}
