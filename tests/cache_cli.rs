//! `bedside cache stats` and `bedside cache purge` through the real binary, on caches made
//! the way the workstation makes them: counts without any key, one user or all, unsent notes
//! protected, and no patient data left on disk after a purge.

use std::path::{Path, PathBuf};
use std::process::Command;

use bedside::workstation::notes::document::DocStatus;
use bedside::workstation::notes::drafts::Draft;
use bedside::workstation::vault::cache::{CacheSettings, ChartCache};
use bedside::workstation::vault::outbox::{Item, Outbox};
use bedside::workstation::vault::{Kdf, Vault};
use serde_json::json;

const CHEAP: Kdf = Kdf {
    m_kib: 64,
    t: 1,
    p: 1,
};
const NAME: &str = "QUIXOTEZ";

fn bedside(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run bedside");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holding_the_name(home: &Path) -> Vec<PathBuf> {
    files(home)
        .into_iter()
        .filter(|f| {
            std::fs::read(f)
                .map(|b| b.windows(NAME.len()).any(|w| w == NAME.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

fn chart(id: &str) -> Vec<serde_json::Value> {
    vec![
        json!({"resourceType": "Patient", "id": id, "name": [{"family": NAME, "given": ["Ann"]}]}),
        json!({"resourceType": "Observation", "id": format!("{id}-1"), "status": "final",
               "subject": {"reference": format!("Patient/{id}")}, "code": {"text": "Glucose"},
               "valueString": format!("{NAME} glucose 5.5")}),
    ]
}

fn draft(id: &str) -> Draft {
    Draft {
        id: id.into(),
        server: "http://h/fhir".into(),
        patient_id: "p2".into(),
        patient_name: format!("{NAME}, Ann"),
        mrn: None,
        encounter: None,
        template: "progress".into(),
        title: "Progress note".into(),
        loinc: "11506-3".into(),
        loinc_display: "Progress note".into(),
        text: format!("{NAME} seen"),
        created: String::new(),
        saved: String::new(),
        appends: None,
        server_id: None,
        server_version: None,
        owner: Some("bob".into()),
    }
}

#[test]
fn stats_and_purge_per_user_leave_no_patient_data() {
    let home = tempfile::tempdir().unwrap();
    let vault_root = home.path().join("data/bedside/users");
    let cache_root = home.path().join("cache/bedside/users");
    let server = "http://h/fhir";
    let now = bedside::fhir::date::now_ms();
    for (user, pid) in [("alice", "p1"), ("bob", "p2")] {
        let v = Vault::open_with(&vault_root, server, user, "a passphrase", CHEAP).unwrap();
        let c = ChartCache::open(&cache_root, v.clone(), CacheSettings::default()).unwrap();
        c.put(pid, &chart(pid), now, now).unwrap();
        if user == "bob" {
            let o = Outbox::open(v.clone()).unwrap();
            let item = Item {
                draft: draft("d1"),
                status: DocStatus::Final,
                resource: json!({"resourceType": "DocumentReference"}),
                if_match: None,
                message: None,
                server_copy: None,
                record: None,
            };
            o.enqueue(&item, now).unwrap();
        }
    }
    // Sealed: the name is nowhere on disk in the clear, before any purge.
    assert!(
        holding_the_name(home.path()).is_empty(),
        "{:?}",
        holding_the_name(home.path())
    );

    let (ok, out, err) = bedside(home.path(), &["cache", "stats"]);
    assert!(ok, "{err}");
    let line = |user: &str| {
        out.lines()
            .find(|l| l.starts_with(user))
            .unwrap_or_else(|| panic!("no line for {user}: {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("alice")[1], "1", "{out}");
    assert_eq!(line("alice")[2], "2", "{out}");
    assert_eq!(line("bob")[1], "1", "{out}");
    // Columns: user, charts, resources, size, oldest (2), newest (2), outbox, drafts, server.
    assert_eq!(line("bob")[8], "1", "one unsent note: {out}");

    // One user's charts.
    let (ok, out, err) = bedside(home.path(), &["cache", "purge", "--user", "alice"]);
    assert!(ok, "{err}");
    assert!(out.contains("purged 1 cached charts of 1 user(s)"), "{out}");
    assert!(
        !cache_root
            .join(bedside::workstation::vault::slug(server, "alice"))
            .exists()
    );
    assert!(
        cache_root
            .join(bedside::workstation::vault::slug(server, "bob"))
            .exists()
    );
    let (_, out, _) = bedside(home.path(), &["cache", "stats", "--user", "alice"]);
    assert_eq!(line_of(&out, "alice")[1], "0", "{out}");

    // Everything of a user with an unsent note is refused without --force.
    let (ok, _, err) = bedside(
        home.path(),
        &["cache", "purge", "--everything", "--user", "bob"],
    );
    assert!(!ok);
    assert!(
        err.contains("have not reached the server for: bob (1)"),
        "{err}"
    );
    assert!(
        vault_root
            .join(bedside::workstation::vault::slug(server, "bob"))
            .exists()
    );
    let (ok, out, err) = bedside(
        home.path(),
        &["cache", "purge", "--everything", "--user", "bob", "--force"],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("with their keys, outboxes and drafts"),
        "{out}"
    );
    assert!(
        !vault_root
            .join(bedside::workstation::vault::slug(server, "bob"))
            .exists()
    );
    assert!(
        files(&cache_root).iter().all(|f| !f.ends_with("charts.db")),
        "{:?}",
        files(&cache_root)
    );
    assert!(holding_the_name(home.path()).is_empty());

    // Purging all when nothing is left says so.
    let (ok, out, _) = bedside(home.path(), &["cache", "purge"]);
    assert!(ok);
    assert!(out.contains("purged 0 cached charts"), "{out}");
}

fn line_of(out: &str, user: &str) -> Vec<String> {
    out.lines()
        .find(|l| l.starts_with(user))
        .unwrap_or_else(|| panic!("no line for {user}: {out}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
