//! Backups while the server runs and writers write, and the restore drill the README
//! describes: backup, stop, restore (refused over a live or existing database), serve again.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bedside::server::auth::Role;
use common::patient;
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{Value, json};

fn bedside(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(args)
        .output()
        .unwrap()
}

fn restore(from: &Path, db: &Path, force: bool) -> std::process::Output {
    let mut args = vec![
        "restore",
        "--from",
        from.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ];
    if force {
        args.push("--force");
    }
    bedside(&args)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn observation_ids(file: &Path) -> HashSet<String> {
    let conn = Connection::open(file).unwrap();
    conn.prepare("SELECT id FROM resource WHERE type = 'Observation' AND deleted = 0")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writers_run_holds_every_earlier_write_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    let (token, patient_id) = common::user_and_patient(
        &db,
        "nurse.backup",
        Role::Nurse,
        patient("Backed", "Up", "1970-01-02", "female", "MRN-B"),
    );
    let (mut server, base) = common::serve_process(&db);
    let http = common::client_with(&token);
    // A read, so the trail file has a record the backup must carry.
    let response = http
        .get(format!("{base}/Patient/{patient_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let acknowledged: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for n in 0..3 {
        let (http, base, acked, stop, patient_id) = (
            http.clone(),
            base.clone(),
            acknowledged.clone(),
            stop.clone(),
            patient_id.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let body = json!({"resourceType": "Observation", "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
                    "subject": {"reference": format!("Patient/{patient_id}")},
                    "valueQuantity": {"value": 36 + n, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"},
                    "note": [{"text": format!("writer {n} reading {i}")}]});
                let response = http
                    .post(format!("{base}/Observation"))
                    .header("content-type", "application/fhir+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                let created: Value = response.json().await.unwrap();
                let id = created["id"].as_str().unwrap().to_string();
                acked.lock().unwrap().push((Instant::now(), id));
            }
        }));
    }
    let waiting = Instant::now();
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60) && writers.iter().all(|w| !w.is_finished()),
            "the writers stopped before 30 writes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup = dir.path().join("ward-backup.db");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (db, backup) = (db.clone(), backup.clone());
        move || {
            bedside(&[
                "backup",
                "--db",
                db.to_str().unwrap(),
                "--to",
                backup.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("integrity check ok"), "{}", text(&out));
    // Writers went on during the backup, and afterwards.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let before: HashSet<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < started)
        .map(|(_, id)| id.clone())
        .collect();
    assert!(before.len() >= 30);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds patient data");
    }
    // One self-contained file: no WAL beside it, the integrity check passes.
    assert!(!dir.path().join("ward-backup.db-wal").exists());
    let in_backup = observation_ids(&backup);
    let missing: Vec<_> = before.difference(&in_backup).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup: {missing:?}"
    );
    {
        let conn = Connection::open(&backup).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // The trail's records (the read) came with it, and every write's record.
        let reads: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE subtype = 'read'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(reads >= 1);
        let creates: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE subtype = 'create'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(creates as usize, in_backup.len());
    }
    // A backup never overwrites a file.
    let again = bedside(&[
        "backup",
        "--db",
        db.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("never overwrites"),
        "{}",
        text(&again)
    );

    // The restore drill. While the server runs, nothing is restored over it, force or not.
    let live = restore(&backup, &db, true);
    assert!(!live.status.success());
    assert!(
        text(&live).contains("stop it before restoring"),
        "{}",
        text(&live)
    );
    // Nor does a second server start on the same files.
    let second = bedside(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(!second.status.success());
    assert!(
        text(&second).contains("another bedside server"),
        "{}",
        text(&second)
    );
    server.kill().unwrap();
    server.wait().unwrap();
    // Stopped: an existing database is replaced only with --force, and kept aside.
    let refused = restore(&backup, &db, false);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("--force"), "{}", text(&refused));
    let forced = restore(&backup, &db, true);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(text(&forced).contains("kept as"), "{}", text(&forced));
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ward.db.before-restore-"))
        .collect();
    assert!(!kept.is_empty(), "the replaced files are kept");
    assert_eq!(observation_ids(&db), in_backup);
    // It serves again, with its users, its records and its trail.
    let (mut restored, base) = common::serve_process(&db);
    let id = before.iter().next().unwrap();
    let response = http
        .get(format!("{base}/Observation/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    restored.kill().unwrap();
    restored.wait().unwrap();

    // A file that is not a backup is refused with a clear message.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let bad = restore(&junk, &dir.path().join("fresh.db"), false);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("not a bedside database") || text(&bad).contains("not a readable"),
        "{}",
        text(&bad)
    );
    assert!(!dir.path().join("fresh.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_backs_up_on_schedule_keeps_the_newest_and_audits_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    common::user_and_patient(
        &db,
        "nurse.schedule",
        Role::Nurse,
        patient("Sched", "Uled", "1980-08-08", "male", "MRN-S"),
    );
    let folder = dir.path().join("backups");
    std::fs::create_dir_all(&folder).unwrap();
    // Files of someone else's in the folder are never touched.
    std::fs::write(folder.join("notes.txt"), "keep me").unwrap();
    std::fs::write(folder.join("ward-old-copy.db"), "keep me too").unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[backup]\nevery = \"1s\"\nfolder = \"{}\"\nkeep = 2\n",
            folder.display()
        ),
    )
    .unwrap();
    let (mut server, _base) =
        common::serve_process_with(&db, &[("BEDSIDE_SITE_CONFIG", config.as_path())]);
    let started = Instant::now();
    let made = || bedside::server::backups::scheduled_backups(&db, &folder);
    let backups_recorded = || -> i64 {
        Connection::open(bedside::server::store::trail_path(&db))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE subtype = 'backup' AND outcome = '0'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    };
    while backups_recorded() < 3 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        backups_recorded() >= 3,
        "three scheduled backups, each audited"
    );
    let kept = made();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for file in &kept {
        let verified = bedside::server::store::backup::verify(file, None).unwrap();
        assert!(
            verified.counts.contains(&("Patient".to_string(), 1)),
            "{:?}",
            verified.counts
        );
    }
    assert_eq!(
        std::fs::read_to_string(folder.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(folder.join("ward-old-copy.db").exists());

    // A backup by hand is audited too, naming who ran it on the machine.
    let by_hand = dir.path().join("by-hand.db");
    let out = bedside(&[
        "backup",
        "--db",
        db.to_str().unwrap(),
        "--to",
        by_hand.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let agent: String = Connection::open(bedside::server::store::trail_path(&db))
        .unwrap()
        .query_row(
            "SELECT username FROM audit WHERE subtype = 'backup' ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(agent.starts_with("os:"), "{agent}");
}

#[test]
fn a_bad_backup_setting_stops_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[backup]\nevery = \"6 weeks\"\nfolder = \"{}\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("x.db"))
        .env("BEDSIDE_SITE_CONFIG", &config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("backup.every") && said.contains("weeks"),
        "{said}"
    );
}

#[test]
fn a_trail_written_before_patient_rows_were_folded_is_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("older.db");
    {
        let store = bedside::server::store::Store::open(&db).unwrap();
        store
            .write(|tx| {
                tx.create(
                    patient("Older", "Trail", "1960-01-01", "male", "OLD-1"),
                    None,
                )
            })
            .unwrap();
    }
    // Such a trail has its patient rows in `audit_patient` only.
    let mut event = bedside::server::audit::Event::new(
        bedside::server::audit::Subtype::Search,
        bedside::server::audit::system_agent(),
    );
    event.patients = vec!["p1".into()];
    bedside::server::audit::record_beside(&db, None, &[event]).unwrap();
    let trail = Connection::open(bedside::server::store::trail_path(&db)).unwrap();
    trail
        .execute_batch(
            "INSERT INTO audit_patient SELECT patient_id, recorded, seq FROM audit_patient_recent;
             DROP TABLE audit_patient_recent;",
        )
        .unwrap();
    drop(trail);
    let to = dir.path().join("older-backup.db");
    let verified = bedside::server::store::backup::backup(&db, None, &to, |_, _| {}).unwrap();
    assert_eq!(verified.audit_records, 1);
    let conn = Connection::open(&to).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_patient WHERE patient_id = 'p1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 1);
}
