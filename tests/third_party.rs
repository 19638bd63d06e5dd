//! The workstation against a live FHIR server that is not bedside's own (issue 19): SEKMET, a
//! Python micro-HIS on FastAPI from PyPI (`sekmet-fhir`, Apache-2.0), installed in a virtual
//! environment under `target/` by `.ci/run` (or here on the first run) and started on an
//! ephemeral port with a static bearer token and strict validation of what it is sent.
//!
//! Search, the chart, a signed note, a signed order that the drug-allergy check stops until it
//! is overridden with a reason, a set of vital signs with NEWS2, a coded problem, the
//! patient's details edited (If-Match), a coded allergy, and a patient registered after the
//! search for them: each written resource read back from SEKMET.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{ChartView, Overlay, SearchStatus, State};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const TOKEN: &str = "sekmet-test-token";
const VERSION: &str = "0.1.1";

/// `target/sekmet-venv/bin/sekmet`, installed once.
fn sekmet_bin() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/sekmet-venv");
    let bin = venv.join("bin/sekmet");
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if bin.exists() {
            return;
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for the third-party FHIR server of this test")
            .success();
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("sekmet-fhir=={VERSION}")])
            .status()
            .unwrap()
            .success();
        assert!(ok, "pip install sekmet-fhir=={VERSION} failed");
    });
    bin
}

struct Sekmet {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Sekmet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sekmet {
    fn start() -> Sekmet {
        let bin = sekmet_bin();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}/fhir");
        let settings = dir.path().join("settings.yaml");
        std::fs::write(
            &settings,
            format!(
                "base_url: {base}\nhost: 127.0.0.1\nport: {port}\ndata_dir: {}\n\
                 server_auth:\n  types: [bearer]\n  tokens: [{TOKEN}]\n\
                 simulator:\n  enabled: false\nvalidation:\n  inbound: strict\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        // `timeout`: the server stops by itself even if this test is killed.
        let child = Command::new("timeout")
            .arg("600")
            .arg(&bin)
            .args(["serve", "-c"])
            .arg(&settings)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sekmet");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if answers(&format!("{base}/metadata")) {
                break;
            }
            assert!(Instant::now() < deadline, "SEKMET did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Sekmet {
            child,
            base,
            _dir: dir,
        }
    }

    async fn post(&self, resource: Value) -> String {
        let rtype = resource["resourceType"].as_str().unwrap().to_string();
        let (status, body) = common::body(
            common::client_with(TOKEN)
                .post(format!("{}/{rtype}", self.base))
                .header("content-type", "application/fhir+json")
                .body(resource.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(status.is_success(), "{rtype}: {status} {body}");
        body["id"].as_str().unwrap().to_string()
    }

    async fn search(&self, query: &str) -> Vec<Value> {
        let (status, body) = common::body(
            common::client_with(TOKEN)
                .get(format!("{}/{query}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(status.is_success(), "{query}: {status} {body}");
        body["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"].clone())
            .collect()
    }
}

/// Whether `url` answers 200 (a plain check on a std socket, for start-up).
fn answers(url: &str) -> bool {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn the_patient() -> Value {
    json!({"resourceType": "Patient",
        "identifier": [{"system": "http://hospital.example/mrn", "value": "MRN-4411"}],
        "name": [{"family": "Okafor", "given": ["Ada"]}],
        "gender": "female", "birthDate": "1970-01-02"})
}

/// A penicillin allergy (anaphylaxis) and a high potassium.
fn the_chart(pid: &str) -> Vec<Value> {
    vec![
        json!({"resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
            "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7980", "display": "penicillin G"}], "text": "penicillin"},
            "criticality": "high",
            "reaction": [{"manifestation": [{"text": "anaphylaxis"}], "severity": "severe"}],
            "patient": {"reference": format!("Patient/{pid}")}}),
        json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}], "text": "Potassium"},
            "subject": {"reference": format!("Patient/{pid}")},
            "effectiveDateTime": "2026-11-20T08:00:00Z",
            "valueQuantity": {"value": 6.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "referenceRange": [{"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.1, "unit": "mmol/L"}}]}),
    ]
}

/// The median time to open `pid`'s chart, ten times, each in a fresh workstation.
async fn open_times(base: &str, token: &str, pid: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..10 {
        let mut options = Options::new(base);
        options.token = Some(token.into());
        let display = test_display(base, chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        let mut h = Headless::with_options(options, display, 120, 40).unwrap();
        let started = Instant::now();
        h.app.handle(bedside::workstation::state::Msg::Chart(
            bedside::workstation::msg::ChartMsg::Open(pid.to_string()),
        ));
        assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_chart_note_and_a_checked_order_on_a_third_party_server() {
    let sekmet = tokio::task::spawn_blocking(Sekmet::start).await.unwrap();
    let pid = sekmet.post(the_patient()).await;
    for resource in the_chart(&pid) {
        sekmet.post(resource).await;
    }
    // Chart-open time here, next to bedside's own server with the same chart.
    let theirs = open_times(&sekmet.base, TOKEN, &pid).await;
    let own_server = common::TestServer::start().await;
    let own_pid = own_server.create(the_patient()).await;
    for resource in the_chart(&own_pid) {
        own_server.create(resource).await;
    }
    let ours = open_times(&own_server.base, &own_server.token, &own_pid).await;
    eprintln!(
        "chart open (median of 10, headless, debug build): SEKMET {theirs:?}, bedside's own {ours:?}"
    );

    let mut options = Options::new(&sekmet.base);
    options.token = Some(TOKEN.into());
    options.author = "Dr Third".into();
    // SEKMET has no electronic-signature check: a site without one says so.
    options.signing = bedside::config::Signing::None;
    let anchor = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let display = test_display(&sekmet.base, anchor);
    let mut h = Headless::with_options(options, display, 120, 40).unwrap();

    // Search, and the chart it opens: the banner with the allergy, the high potassium marked.
    let started = Instant::now();
    h.keys("okafor").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("MRN-4411"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
    eprintln!(
        "SEKMET: search and chart open in {} ms",
        started.elapsed().as_millis()
    );
    let screen = h.screen();
    assert!(screen.contains("OKAFOR, Ada"), "{screen}");
    assert!(screen.contains("penicillin"), "{screen}");
    assert_eq!(
        h.state().chart.as_ref().unwrap().chart.allergy_doubt(),
        None
    );
    assert!(screen.contains("Potassium"), "{screen}");

    // A note, signed (filed final), read back from SEKMET.
    h.keys("n").unwrap();
    assert!(matches!(h.state().overlay, Some(Overlay::Templates { .. })));
    h.keys("<enter>").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Note);
    h.keys("Seen on the ward; potassium repeated.").unwrap();
    // Sign: the question names the patient.
    h.keys("<esc>s").unwrap();
    assert!(
        h.screen().contains("for OKAFOR, Ada (MRN MRN-4411)?"),
        "{}",
        h.screen()
    );
    h.keys("y").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.chart.as_ref().is_some_and(|c| c.note.is_none()))
            .await,
        "not signed: {}",
        h.screen()
    );
    let notes = sekmet
        .search(&format!("DocumentReference?subject=Patient/{pid}"))
        .await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["docStatus"], "final");
    assert_eq!(notes[0]["subject"]["reference"], format!("Patient/{pid}"));

    // An order for amoxicillin: the penicillin allergy stops it until overridden with a reason.
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("<esc>").unwrap();
    h.keys("o").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Orders);
    h.keys("amoxi").unwrap();
    assert!(h.screen().contains("amoxicillin"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    fill_order_fields(&mut h);
    let o = h.state().chart.as_ref().unwrap().orders.as_ref().unwrap();
    let alert = o
        .alerts
        .iter()
        .find(|a| a.kind == bedside::workstation::orders::checks::AlertKind::DrugAllergy)
        .expect("the penicillin allergy fires on amoxicillin");
    assert!(alert.needs_override());
    h.keys("s").unwrap();
    for _ in 0..6 {
        match h.state().overlay {
            Some(Overlay::Override { .. }) => h.keys("benefit outweighs risk<enter>").unwrap(),
            Some(Overlay::AckChecks) => h.keys("<enter>y").unwrap(),
            _ => break,
        }
    }
    assert_eq!(
        h.state().overlay,
        Some(Overlay::ConfirmOrders),
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("OKAFOR"),
        "the confirm names the patient: {}",
        h.screen()
    );
    h.keys("y").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .and_then(|c| c.orders.as_ref())
            .is_some_and(|o| o.basket.is_empty()))
            .await,
        "{}",
        h.screen()
    );
    assert!(
        h.state()
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("signed for OKAFOR, Ada (MRN MRN-4411)")),
        "the write names its patient: {:?}",
        h.state().notice
    );
    let meds = sekmet
        .search(&format!("MedicationRequest?subject=Patient/{pid}"))
        .await;
    assert_eq!(meds.len(), 1, "{meds:?}");
    let med = &meds[0];
    assert_eq!(med["status"], "active");
    assert_eq!(med["subject"]["reference"], format!("Patient/{pid}"));
    let issue_ref = med["detectedIssue"][0]["reference"]
        .as_str()
        .expect("the override is filed with the order");
    let issues = sekmet
        .search(&format!(
            "DetectedIssue?_id={}",
            issue_ref.rsplit('/').next().unwrap()
        ))
        .await;
    assert_eq!(issues.len(), 1, "{issue_ref}");
    assert!(
        issues[0]["mitigation"][0]["action"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("benefit outweighs risk")),
        "{}",
        issues[0]
    );

    // A set of vital signs with NEWS2: one transaction of conditional creates, read back with
    // its codes, units and the score's references resolved by the third-party server.
    h.keys("<esc>v").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Vitals);
    h.keys("T 38.4 HR 104 RR 21 BP 101/64 SpO2 94 O2 air ACVPU A<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("recorded for OKAFOR, Ada")))
            .await,
        "{:?}",
        h.state().notice
    );
    let vitals = sekmet
        .search(&format!(
            "Observation?subject=Patient/{pid}&category=vital-signs&_count=50"
        ))
        .await;
    let ours: Vec<&Value> = vitals
        .iter()
        .filter(|o| o["identifier"][0]["system"] == "urn:bedside:vitals")
        .collect();
    assert_eq!(ours.len(), 8, "{vitals:#?}");
    let code = |o: &Value| {
        o["code"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let news = ours
        .iter()
        .find(|o| code(o) == "1104051000000101")
        .expect("NEWS2");
    assert_eq!(news["valueInteger"], 6);
    for r in news["derivedFrom"].as_array().unwrap() {
        let r = r["reference"].as_str().unwrap();
        assert!(
            r.starts_with("Observation/"),
            "{r}: the transaction's references resolved"
        );
    }
    let bp = ours.iter().find(|o| code(o) == "85354-9").unwrap();
    assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
    // And the flowsheet shows it after the reload.
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart
                .as_ref()
                .and_then(|c| c.vitals.as_ref())
                .is_some_and(|v| !v.sheet.is_empty()))
            .await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("101/64"), "{}", h.screen());

    // A problem from the coded list: a conditional create, read back with both codes.
    h.keys("<esc>p").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Lists);
    h.keys("<tab>a").unwrap();
    h.keys("htn<enter><enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.notice.as_ref().is_some_and(|n| n
            .text
            .starts_with("Problem Essential hypertension recorded")))
            .await,
        "{:?}\n{}",
        h.state().notice,
        h.screen()
    );
    let problems = sekmet
        .search(&format!("Condition?subject=Patient/{pid}"))
        .await;
    let htn = problems
        .iter()
        .find(|c| c["code"]["coding"][1]["code"] == "I10")
        .unwrap_or_else(|| panic!("{problems:#?}"));
    assert_eq!(htn["code"]["coding"][0]["code"], "59621000");
    assert_eq!(htn["subject"]["reference"], format!("Patient/{pid}"));

    // The patient's details edited: read for the version, saved with If-Match.
    h.keys("<esc>D").unwrap();
    let ready = |s: &State| {
        s.register.as_ref().is_some_and(|r| {
            r.stage == bedside::workstation::features::register::Stage::Form
                && r.editing.as_ref().is_some_and(|e| !e.version.is_empty())
        })
    };
    assert!(
        h.wait_for(WAIT, ready).await,
        "{:?}\n{}",
        h.state().notice,
        h.screen()
    );
    for _ in 0..8 {
        h.keys("<tab>").unwrap();
    }
    for _ in 0..30 {
        h.keys("<backspace>").unwrap();
    }
    h.keys("0113 496 7777<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("details saved")))
            .await,
        "{:?}\n{}",
        h.state().notice,
        h.screen()
    );
    let patient = sekmet.search(&format!("Patient?_id={pid}")).await;
    assert_eq!(patient.len(), 1);
    assert!(
        patient[0]["telecom"].to_string().contains("0113 496 7777"),
        "{}",
        patient[0]
    );
    assert!(patient[0]["identifier"].to_string().contains("MRN-4411"));

    // An allergy recorded from the coded list, read back coded.
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("p").unwrap();
    // The pane kept its focus on the problems: Tab to the allergies.
    h.keys("<tab>a").unwrap();
    assert!(h.screen().contains("New allergy"), "{}", h.screen());
    h.keys("latex<enter><tab><tab><tab>urtic<enter><tab><tab>low<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .notice
            .as_ref()
            .is_some_and(
                |n| n.text.contains("atex") && n.text.contains("recorded for OKAFOR, Ada")
            ))
        .await,
        "{:?}\n{}",
        h.state().notice,
        h.screen()
    );
    let allergies = sekmet
        .search(&format!("AllergyIntolerance?patient=Patient/{pid}"))
        .await;
    let latex = allergies
        .iter()
        .find(|a| {
            a["code"]["text"]
                .as_str()
                .is_some_and(|t| t.to_lowercase().contains("latex"))
        })
        .unwrap_or_else(|| panic!("{allergies:#?}"));
    assert!(latex["code"]["coding"][0]["code"].is_string(), "{latex}");
    assert_eq!(latex["category"][0], "environment");
    assert_eq!(latex["patient"]["reference"], format!("Patient/{pid}"));

    // A patient registered: looked for first, then the Patient (and nothing twice).
    h.keys("<esc>q").unwrap();
    h.keys("<ctrl-n>").unwrap();
    for field in [
        "Third",
        "Tess",
        "f",
        "",
        "1981-05-06",
        "",
        "",
        "",
        "0113 496 1234",
    ] {
        h.keys(field).unwrap();
        h.keys("<tab>").unwrap();
    }
    h.keys("<enter>").unwrap();
    let choosing = |s: &State| {
        matches!(
            s.register.as_ref().map(|r| &r.stage),
            Some(bedside::workstation::features::register::Stage::Candidates { .. })
        )
    };
    assert!(h.wait_for(WAIT, choosing).await, "{}", h.screen());
    // Down to "register as a new patient", whatever the search found.
    for _ in 0..20 {
        h.keys("<down>").unwrap();
    }
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.register.is_none() && s.chart.is_some())
            .await,
        "{:?}\n{}",
        h.state().notice,
        h.screen()
    );
    let registered = sekmet.search("Patient?family=Third").await;
    assert_eq!(registered.len(), 1, "{registered:#?}");
    assert_eq!(registered[0]["birthDate"], "1981-05-06");
    assert_eq!(registered[0]["telecom"][0]["value"], "0113 496 1234");
}

/// Fills whatever required fields the order form asks for (an indication, say).
fn fill_order_fields(h: &mut Headless) {
    for _ in 0..3 {
        match h.state().overlay {
            Some(Overlay::OrderFields { .. }) => {
                h.keys("<down><down><down><down><down><down>otitis media<enter>")
                    .unwrap();
            }
            _ => return,
        }
    }
}
