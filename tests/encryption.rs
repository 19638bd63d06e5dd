//! Encryption at rest, as an administrator meets it: a server on an encrypted database, the
//! files on disk unreadable without the key (no SQLite header, no patient text), a missing or
//! wrong key refused with a sentence that says which, encrypted backups, and `rekey` turning a
//! plain database into an encrypted one in place (then to a new key, then back).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bedside::server::auth::Role;
use bedside::server::store::{DbKey, Store};
use common::{TEST_PASSWORD, patient};
use serde_json::{Value, json};

/// A surname no seeded or example data has, to look for in the raw bytes.
const SURNAME: &str = "Quillfeather";

fn bedside(args: &[&str], key_file: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedside"));
    cmd.args(args)
        .env_remove("BEDSIDE_DB_KEY")
        .env_remove("BEDSIDE_DB_KEY_FILE");
    if let Some(file) = key_file {
        cmd.arg("--key-file").arg(file);
    }
    cmd.output().unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `bedside rekey --db DB --new-key-file NEW`, the current key from `current`.
fn rekey_to(db: &Path, new: &Path, current: Option<&Path>) -> std::process::Output {
    bedside(
        &[
            "rekey",
            "--db",
            db.to_str().unwrap(),
            "--new-key-file",
            new.to_str().unwrap(),
        ],
        current,
    )
}

fn new_key(dir: &Path, name: &str) -> (PathBuf, DbKey) {
    let file = dir.join(name);
    let out = bedside(&["keygen", "--to", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    let key = DbKey::read_file(&file).unwrap();
    (file, key)
}

/// The file's bytes and those of its write-ahead log, if any.
fn raw(file: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(file).unwrap();
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(PathBuf::from(wal)) {
        bytes.extend(more);
    }
    bytes
}

fn has_plain_header(file: &Path) -> bool {
    std::fs::read(file)
        .unwrap()
        .starts_with(b"SQLite format 3\0")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn surname_found(store: &Store) -> bool {
    store
        .reader()
        .unwrap()
        .search("Patient", &[("family".into(), SURNAME.into())], true)
        .map(|(_, found)| !found.matches.is_empty())
        .unwrap()
}

#[test]
fn an_encrypted_database_its_trail_and_its_backups_are_unreadable_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    let (key_file, key) = new_key(dir.path(), "ward.key");
    let (wrong_file, _) = new_key(dir.path(), "other.key");
    let (token, _) = common::user_and_patient_keyed(
        &db,
        Some(&key),
        "dr.enc",
        Role::Physician,
        patient(SURNAME, "Ada", "1950-01-01", "female", "ENC-1"),
    );

    // The server, given the key through the environment, serves and writes as usual.
    let (mut server, base) = common::serve_process_with(&db, &[("BEDSIDE_DB_KEY_FILE", &key_file)]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (found, created) = runtime.block_on(async {
        let client = common::client_with(&token);
        let found: Value = client
            .get(format!("{base}/Patient?family={SURNAME}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let created = client
            .post(format!("{base}/Patient"))
            .json(&patient(SURNAME, "Second", "1960-02-02", "male", "ENC-2"))
            .send()
            .await
            .unwrap()
            .status();
        (found, created)
    });
    assert_eq!(found["total"], json!(1), "{found}");
    assert_eq!(created.as_u16(), 201);
    server.kill().unwrap();
    server.wait().unwrap();

    // On disk: no SQLite header, no patient text, in the database, its log and the trail.
    let trail = bedside::server::store::trail_path(&db);
    for file in [&db, &trail] {
        assert!(
            !has_plain_header(file),
            "{} has a plain header",
            file.display()
        );
        let bytes = raw(file);
        assert!(
            !contains(&bytes, SURNAME),
            "{} holds the name in the clear",
            file.display()
        );
        assert!(
            !contains(&bytes, "ENC-2"),
            "{} holds the MRN in the clear",
            file.display()
        );
    }
    assert!(
        !contains(&raw(&trail), "dr.enc"),
        "the trail names its users in the clear"
    );

    // Without the key, and with a wrong one: refused, and the message says which.
    let list = ["user", "list", "--db", db.to_str().unwrap()];
    let none = bedside(&list, None);
    assert!(!none.status.success());
    assert!(text(&none).contains("is encrypted"), "{}", text(&none));
    assert!(text(&none).contains("--key-file"), "{}", text(&none));
    let wrong = bedside(&list, Some(&wrong_file));
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("key does not open"),
        "{}",
        text(&wrong)
    );
    let right = bedside(&list, Some(&key_file));
    assert!(right.status.success(), "{}", text(&right));
    assert!(text(&right).contains("dr.enc"));

    // A backup is encrypted with the same key; restoring it needs the key.
    let backup = dir.path().join("ward-backup.db");
    let made = bedside(
        &[
            "backup",
            "--db",
            db.to_str().unwrap(),
            "--to",
            backup.to_str().unwrap(),
        ],
        Some(&key_file),
    );
    assert!(made.status.success(), "{}", text(&made));
    assert!(text(&made).contains("encrypted"), "{}", text(&made));
    assert!(!has_plain_header(&backup));
    assert!(!contains(&raw(&backup), SURNAME));
    assert!(bedside::server::store::backup::verify(&backup, None).is_err());
    let verified = bedside::server::store::backup::verify(&backup, Some(&key)).unwrap();
    let patients = verified.counts.iter().find(|(t, _)| t == "Patient");
    assert_eq!(
        patients,
        Some(&("Patient".to_string(), 2)),
        "{:?}",
        verified.counts
    );
    let restored = dir.path().join("restored.db");
    let restore = |key_file: Option<&Path>| {
        bedside(
            &[
                "restore",
                "--from",
                backup.to_str().unwrap(),
                "--db",
                restored.to_str().unwrap(),
            ],
            key_file,
        )
    };
    let refused = restore(None);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("is encrypted"),
        "{}",
        text(&refused)
    );
    let done = restore(Some(&key_file));
    assert!(done.status.success(), "{}", text(&done));
    assert!(!has_plain_header(&restored));
    let store = Store::open_keyed(&restored, 2, Some(key)).unwrap();
    assert!(surname_found(&store));
}

#[test]
fn rekey_encrypts_a_plain_database_in_place_changes_its_key_and_decrypts_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ward.db");
    let (first_file, first) = new_key(dir.path(), "first.key");
    let (second_file, second) = new_key(dir.path(), "second.key");
    let before = {
        let store = Store::open(&db).unwrap();
        let auth = bedside::server::auth::Auth::new(store.clone());
        auth.add_user("dr.plain", "", Role::Physician, TEST_PASSWORD)
            .unwrap();
        store
            .write(|tx| {
                tx.create(
                    patient(SURNAME, "Ada", "1950-01-01", "female", "RK-1"),
                    None,
                )
            })
            .unwrap();
        // A record in the trail file too.
        bedside::server::audit::record_beside(
            &db,
            None,
            &[bedside::server::audit::Event::new(
                bedside::server::audit::Subtype::Backup,
                bedside::server::audit::system_agent(),
            )],
        )
        .unwrap();
        store.counts().unwrap()
    };
    assert!(has_plain_header(&db));
    let db_arg = db.to_str().unwrap();

    // Refused while a server holds the database.
    {
        let _serving = bedside::server::store::backup::ServeLock::acquire(&db).unwrap();
        let err = bedside::server::store::key::rekey(&db, None, Some(&first)).unwrap_err();
        assert!(err.to_string().contains("stop it"), "{err}");
        assert!(has_plain_header(&db));
    }

    // Plain to encrypted, in place: same resources, the trail encrypted too, nothing plain
    // left beside it.
    let out = rekey_to(&db, &first_file, None);
    assert!(out.status.success(), "{}", text(&out));
    let trail = bedside::server::store::trail_path(&db);
    for file in [&db, &trail] {
        assert!(!has_plain_header(file), "{}", file.display());
        assert!(!contains(&raw(file), SURNAME));
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("rekeying"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(Store::open(&db).is_err());
    {
        let store = Store::open_keyed(&db, 2, Some(first.clone())).unwrap();
        assert_eq!(store.counts().unwrap(), before);
        assert!(surname_found(&store));
        let audit: i64 = store
            .read_side(|c| Ok(c.query_row("SELECT count(*) FROM trail.audit", [], |r| r.get(0))?))
            .unwrap();
        // The record made before, and the rekey's own.
        assert!(audit >= 2, "{audit}");
    }

    // Run again (as after an interruption): nothing left to do, nothing broken.
    let again = rekey_to(&db, &first_file, None);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("already under the new key"),
        "{}",
        text(&again)
    );

    // To a new key: the old one no longer opens it.
    let out = rekey_to(&db, &second_file, Some(&first_file));
    assert!(out.status.success(), "{}", text(&out));
    assert!(Store::open_keyed(&db, 2, Some(first)).is_err());
    assert!(surname_found(
        &Store::open_keyed(&db, 2, Some(second.clone())).unwrap()
    ));

    // A wrong current key changes nothing.
    let (stranger, _) = new_key(dir.path(), "stranger.key");
    let out = bedside(&["rekey", "--db", db_arg, "--decrypt"], Some(&stranger));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("current key does not open"),
        "{}",
        text(&out)
    );

    // And back to plain.
    let out = bedside(&["rekey", "--db", db_arg, "--decrypt"], Some(&second_file));
    assert!(out.status.success(), "{}", text(&out));
    assert!(has_plain_header(&db));
    let store = Store::open(&db).unwrap();
    assert_eq!(store.counts().unwrap(), before);
}
