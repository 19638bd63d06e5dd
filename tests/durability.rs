//! What the server promises about its data: reads never wait for a write, nothing
//! acknowledged is lost when the server is killed, every stored write has exactly one audit
//! record, and the trail's records are durable before a response leaves.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bedside::server::auth::Role;
use common::{TestServer, patient};
use reqwest::StatusCode;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};

/// Holds the resource database's write lock from another connection (another process's long
/// write: an import, a big transaction) until told to let go.
struct LongWrite {
    release: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl LongWrite {
    fn start(db: &Path) -> LongWrite {
        let db = db.to_path_buf();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut conn = Connection::open(&db).unwrap();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            tx.execute(
                "INSERT OR REPLACE INTO store_info (key, value) VALUES ('long-write', '1')",
                [],
            )
            .unwrap();
            locked.send(()).unwrap();
            let _ = released.recv();
            // Dropped: rolled back.
        });
        is_locked.recv().unwrap();
        LongWrite { release, thread }
    }

    fn finish(self) {
        let _ = self.release.send(());
        self.thread.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_their_audit_records_do_not_wait_for_a_write_in_progress() {
    let srv = TestServer::start().await;
    let id = srv
        .create(patient(
            "Waiting",
            "Ward",
            "1950-02-03",
            "female",
            "MRN-LW-1",
        ))
        .await;
    let long = LongWrite::start(&srv.dir.path().join("test.db"));
    // Were a read's audit record written through the resource database's writer, each of
    // these would wait for the lock (10 s) and then be refused as busy.
    for path in [
        format!("Patient/{id}"),
        "Patient?family=Waiting".to_string(),
        format!("Patient/{id}/$everything"),
        format!("AllergyIntolerance?patient=Patient/{id}"),
    ] {
        let (status, body) = srv.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    // A write does wait, and then answers; it is not lost either way.
    let write = {
        let http = srv.http.clone();
        let url = srv.url("Observation");
        let body = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": format!("Patient/{id}")},
            "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
        tokio::spawn(async move {
            http.post(url)
                .header("content-type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!write.is_finished(), "the write did not wait for the lock");
    long.finish();
    assert_eq!(write.await.unwrap(), StatusCode::CREATED);

    // Every read above is in the audit trail, durable already.
    let support = common::client_with(&srv.user("it.support", Role::Support));
    let trail: Value = support
        .get(srv.url(&format!("AuditEvent?patient={id}&_count=100")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subtypes: Vec<&str> = trail["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["subtype"][0]["code"].as_str())
        .collect();
    for expected in ["read", "search-type", "operation", "create"] {
        assert!(subtypes.contains(&expected), "{expected}: {subtypes:?}");
    }
    let trail_file = bedside::server::store::trail_path(&srv.dir.path().join("test.db"));
    let conn = Connection::open(&trail_file).unwrap();
    let reads: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE subtype = 'read'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reads >= 1, "the reads' records are in the trail file");
    // The trail is append-only too.
    assert!(conn.execute("DELETE FROM audit", []).is_err());
}

fn observation(patient: &str, value: i64) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2026-11-30T10:00:00Z",
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_writes_keeps_every_acknowledged_write_and_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let (token, patient_id) = common::user_and_patient(
        &db,
        "nurse.kill",
        Role::Nurse,
        patient("Killed", "Server", "1961-05-06", "male", "MRN-K"),
    );
    let (mut child, base) = common::serve_process(&db);
    let http = common::client_with(&token);
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    // Four terminals recording vital signs one by one, one posting transactions of ten.
    for writer in 0..4 {
        let (http, base, acked, patient_id) = (
            http.clone(),
            base.clone(),
            acknowledged.clone(),
            patient_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = http
                    .post(format!("{base}/Observation"))
                    .header("content-type", "application/fhir+json")
                    .body(observation(&patient_id, writer * 1000 + n).to_string())
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != StatusCode::CREATED {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                acked
                    .lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_string());
            }
        }));
    }
    {
        let (http, base, acked, patient_id) = (
            http.clone(),
            base.clone(),
            acknowledged.clone(),
            patient_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let entries: Vec<Value> = (0..10)
                    .map(|i| {
                        json!({"resource": observation(&patient_id, n * 10 + i),
                            "request": {"method": "POST", "url": "Observation"}})
                    })
                    .collect();
                let bundle =
                    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
                let sent = http
                    .post(base.clone())
                    .header("content-type", "application/fhir+json")
                    .body(bundle.to_string())
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != StatusCode::OK {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                let ids: Vec<String> = body["entry"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        let location = e["response"]["location"].as_str().unwrap();
                        location.split('/').nth(1).unwrap().to_string()
                    })
                    .collect();
                acked.lock().unwrap().extend(ids);
            }
        }));
    }
    // Kill it mid-stream, once a good number of writes have been acknowledged.
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 150 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for task in tasks {
        let _ = task.await;
    }
    let acknowledged: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(acknowledged.len() >= 150, "{}", acknowledged.len());

    // The files as the killed server left them.
    for file in [db.clone(), bedside::server::store::trail_path(&db)] {
        let conn = Connection::open(&file).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{}", file.display());
    }
    let conn = Connection::open(&db).unwrap();
    let stored: HashSet<String> = conn
        .prepare("SELECT id FROM resource WHERE type = 'Observation' AND deleted = 0")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Every stored write (acknowledged or caught by the kill after its commit) has exactly one
    // create record, stored with it.
    let mut recorded: std::collections::HashMap<String, usize> = Default::default();
    let mut statement = conn
        .prepare("SELECT id, recorded, json FROM audit WHERE subtype = 'create'")
        .unwrap();
    for json in statement
        .query_map([], |r| {
            Ok(bedside::server::audit::render(
                &r.get::<_, String>(0)?,
                r.get(1)?,
                &r.get::<_, String>(2)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
    {
        let event: Value = serde_json::from_str(&json).unwrap();
        for entity in event["entity"].as_array().into_iter().flatten() {
            if let Some(what) = entity["what"]["reference"].as_str() {
                if let Some(id) = what
                    .strip_prefix("Observation/")
                    .and_then(|r| r.split('/').next())
                {
                    *recorded.entry(id.to_string()).or_default() += 1;
                }
            }
        }
    }
    for id in &stored {
        assert_eq!(recorded.get(id), Some(&1), "Observation/{id}");
    }
    assert_eq!(recorded.len(), stored.len());

    // It starts again on the same files and serves what it acknowledged.
    let (mut again, base) = common::serve_process(&db);
    let id = acknowledged.iter().next().unwrap();
    let response = http
        .get(format!("{base}/Observation/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    again.kill().unwrap();
    again.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stuck_behind_a_long_write_are_refused_with_retry_after_and_reads_go_on() {
    let config = bedside::server::ServerConfig {
        work: bedside::server::WorkLimits {
            workers: 2,
            queue: 0,
            wait: Duration::from_millis(200),
        },
        ..Default::default()
    };
    let srv = TestServer::start_with(config).await;
    let id = srv
        .create(patient("Queue", "Ward", "1944-04-04", "male", "MRN-Q"))
        .await;
    let long = LongWrite::start(&srv.dir.path().join("test.db"));
    let vital = json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{id}")},
        "valueQuantity": {"value": 70, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
    // The writers' lane fills with writes waiting for the lock...
    let mut waiting = Vec::new();
    for _ in 0..bedside::server::WRITE_TURNS {
        let (http, url, body) = (srv.http.clone(), srv.url("Observation"), vital.to_string());
        waiting.push(tokio::spawn(async move {
            http.post(url)
                .header("content-type", "application/fhir+json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so one more is told at once to come back later, and nothing of it is stored.
    let refused = srv
        .http
        .post(srv.url("Observation"))
        .header("content-type", "application/fhir+json")
        .body(vital.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let outcome: Value = refused.json().await.unwrap();
    assert!(common::diagnostics(&outcome).contains("busy"), "{outcome}");
    // Reads have lanes of their own: still answered.
    let (status, _) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    long.finish();
    for w in waiting {
        assert_eq!(w.await.unwrap(), StatusCode::CREATED);
    }
    let (_, found) = srv.get(&format!("Observation?subject=Patient/{id}")).await;
    assert_eq!(
        found["total"],
        bedside::server::WRITE_TURNS,
        "the refused write stored nothing"
    );
}

/// A server of one route that answers busy `busy` times, then with a Patient.
async fn busy_server(busy: usize, retry_after: &'static str) -> (String, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir/", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(0usize));
    let counter = asked.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    let n = {
                        let mut asked = counter.lock().unwrap();
                        *asked += 1;
                        *asked
                    };
                    let reply = if n <= busy {
                        format!(
                            "HTTP/1.1 503 Service Unavailable\r\nretry-after: {retry_after}\r\ncontent-length: 0\r\n\r\n"
                        )
                    } else {
                        let body = r#"{"resourceType":"Patient","id":"p1"}"#;
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workstation_asks_again_when_a_busy_server_says_when() {
    let (base, asked) = busy_server(1, "1").await;
    let client = bedside::workstation::client::FhirClient::new(&base, Some("t".into())).unwrap();
    let patient = client
        .get("Patient/p1", &[], Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(patient["id"], "p1");
    assert_eq!(*asked.lock().unwrap(), 2);

    // A wait longer than the request may take is not sat out: the busy answer is given.
    let (base, asked) = busy_server(usize::MAX, "30").await;
    let client = bedside::workstation::client::FhirClient::new(&base, Some("t".into())).unwrap();
    let error = client
        .get("Patient/p1", &[], Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        bedside::workstation::client::FetchError::Busy {
            status: 503,
            retry_after: 30
        }
    );
    assert!(error.to_string().contains("try again in 30 s"));
    assert_eq!(*asked.lock().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_before_storing_and_they_resume_when_space_returns() {
    let srv = TestServer::start().await;
    let id = srv
        .create(patient("Full", "Disk", "1950-05-05", "female", "MRN-FULL"))
        .await;
    // The database may not grow past what it holds now: as if the disk had just filled.
    let size = std::fs::metadata(srv.dir.path().join("test.db"))
        .unwrap()
        .len();
    srv.store.set_size_limit(Some(size)).unwrap();
    let mut acknowledged = 0;
    let mut refused = None;
    for n in 0..2_000 {
        let body = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": format!("Patient/{id}")},
            "note": [{"text": format!("reading {n} {}", "x".repeat(2_000))}],
            "valueQuantity": {"value": 60 + n % 40, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}});
        let response = srv
            .http
            .post(srv.url("Observation"))
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::CREATED => acknowledged += 1,
            status => {
                let retry = response.headers().get("retry-after").cloned();
                let outcome: Value = response.json().await.unwrap();
                refused = Some((status, retry, outcome));
                break;
            }
        }
    }
    let (status, retry, outcome) = refused.expect("the capped database filled");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry.is_some());
    let said = common::diagnostics(&outcome);
    assert!(
        said.contains("disk is full") && said.contains("nothing was stored"),
        "{said}"
    );
    assert!(
        !said.to_lowercase().contains("sqlite") && !said.contains("INSERT"),
        "{said}"
    );
    // Nothing stored that was not acknowledged; reads go on.
    let (status, found) = srv
        .get(&format!("Observation?subject=Patient/{id}&_summary=count"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["total"], acknowledged);
    let (status, _) = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    // Space returns: writes work again, without a restart.
    srv.store.set_size_limit(None).unwrap();
    let (status, _) = srv
        .post(
            "Observation",
            &json!({"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": format!("Patient/{id}")},
                "valueQuantity": {"value": 61, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[test]
fn a_damaged_database_file_is_named_at_start_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("damaged.db");
    std::fs::write(&db, vec![0x5au8; 64 * 1024]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not a bedside database, or it is damaged")
            && said.contains("bedside restore"),
        "{said}"
    );
    assert!(said.contains("bedside restore"), "{said}");
    // The damaged file is left as it was, for whoever investigates.
    assert_eq!(std::fs::read(&db).unwrap(), vec![0x5au8; 64 * 1024]);
}

#[test]
fn an_import_killed_midway_leaves_a_sound_database_and_finishes_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("import.db");
    let data = dir.path().join("vitals.ndjson");
    let total = 60_000;
    let mut lines = String::new();
    for n in 0..total {
        let patient = format!("p{}", n % 500);
        lines.push_str(
            &json!({"resourceType": "Observation", "id": format!("o{n}"), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": format!("Patient/{patient}")},
                "valueQuantity": {"value": 60 + n % 40, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(&data, lines).unwrap();
    let import = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(["import", "--report"])
            .arg(dir.path().join("report.txt"))
            .arg("--db")
            .arg(&db)
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let stored = || -> i64 {
        Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM resource WHERE type = 'Observation'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(0)
    };
    // Killed once its first batches are in, well before the end.
    let mut child = import();
    let started = Instant::now();
    while stored() == 0 && started.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = stored();
    assert!(after_kill > 0 && after_kill < total, "{after_kill}");
    let check: String = Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // What was committed is whole: each stored resource has its current version and indexes.
    let orphans: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM resource r WHERE NOT EXISTS
               (SELECT 1 FROM version v WHERE v.rid = r.rid AND v.version = r.version)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    // Run again: it finishes, and nothing is there twice.
    let status = import().wait().unwrap();
    assert!(status.success());
    assert_eq!(stored(), total);
}
