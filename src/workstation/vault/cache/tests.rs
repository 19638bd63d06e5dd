use super::*;
use crate::workstation::vault::Kdf;
use serde_json::json;

#[test]
fn the_site_binds_the_cache_settings() {
    let none = crate::config::CacheConfig::default();
    let (s, p) = cache_settings(&none, &none);
    assert_eq!(s, CacheSettings::default());
    assert!(p.is_empty());
    let site: crate::config::Config =
        toml::from_str("[cache]\nenabled = false\nwipe_on_sign_out = true\nmax_charts = 10\n")
            .unwrap();
    let user: crate::config::Config =
        toml::from_str("[cache]\nenabled = true\nmax_charts = 40\nttl_hours = 1\n").unwrap();
    let (s, p) = cache_settings(&site.cache, &user.cache);
    assert!(!s.enabled && s.wipe_on_sign_out);
    assert_eq!((s.max_charts, s.ttl_ms), (10, 3_600_000));
    assert_eq!(p.len(), 2, "{p:?}");
    let bad = "[cache]\nmax_chart = 3\n";
    assert!(toml::from_str::<crate::config::Config>(bad).is_err());
}

fn vault(dir: &Path, user: &str) -> Vault {
    let kdf = Kdf {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    Vault::open_with(&dir.join("keys"), "s", user, "pw", kdf).unwrap()
}

fn chart(id: &str, name: &str, extra: usize) -> Vec<Value> {
    let mut v = vec![json!({"resourceType": "Patient", "id": id,
        "name": [{"family": name}]})];
    for i in 0..extra {
        v.push(
            json!({"resourceType": "Observation", "id": format!("{id}-{i}"),
            "subject": {"reference": format!("Patient/{id}")},
            "valueString": "x".repeat(100)}),
        );
    }
    v
}

const H: i64 = 3_600_000;

#[test]
fn round_trips_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), CacheSettings::default()).unwrap();
    c.put("p1", &chart("p1", "ZEBRA", 3), 1_000, 1_000).unwrap();
    let (all, fetched) = c.get_all("p1", 2_000).unwrap().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(fetched, 1_000);
    // The Patient leads the first part.
    assert_eq!(
        c.get("p1", 2_000).unwrap().unwrap().head[0]["resourceType"],
        "Patient"
    );
    assert!(c.get("p2", 2_000).unwrap().is_none());
    assert_eq!(c.patients(2_000).unwrap()[0]["name"][0]["family"], "ZEBRA");
    // 72 hours after the fetch it is gone.
    assert!(c.get("p1", 1_000 + 73 * H).unwrap().is_none());
    assert_eq!(c.len(), 0);
}

#[test]
fn evicts_by_count_size_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let settings = CacheSettings {
        max_charts: 3,
        ..CacheSettings::default()
    };
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), settings).unwrap();
    for i in 0..5 {
        let id = format!("p{i}");
        c.put(&id, &chart(&id, "N", 1), 10 * H, 10 * H + i).unwrap();
    }
    assert_eq!(c.len(), 3);
    // The least recently opened went first.
    assert!(c.get("p0", 11 * H).unwrap().is_none());
    assert!(c.get("p4", 11 * H).unwrap().is_some());
    // Opening p2 makes it recent: the next eviction takes p3.
    c.get("p2", 11 * H + 1).unwrap();
    c.put("p5", &chart("p5", "N", 1), 11 * H, 11 * H + 2)
        .unwrap();
    assert!(c.get("p3", 11 * H + 3).unwrap().is_none());
    assert!(c.get("p2", 11 * H + 3).unwrap().is_some());

    // Size: each chart about 25 KB sealed; a 60 KB cap keeps two.
    let dir = tempfile::tempdir().unwrap();
    let settings = CacheSettings {
        max_bytes: 60_000,
        ..CacheSettings::default()
    };
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), settings).unwrap();
    for i in 0..4 {
        let id = format!("p{i}");
        let e = c.put(&id, &chart(&id, "N", 150), H, H + i).unwrap();
        if i >= 2 {
            assert_eq!(e.over_size, 1);
        }
    }
    assert_eq!(c.len(), 2);
    let stats = ChartCache::stats(c.path()).unwrap();
    assert!(stats.bytes <= 60_000, "{stats:?}");

    // Age: charts fetched long ago go at the next write.
    let dir = tempfile::tempdir().unwrap();
    let settings = CacheSettings {
        ttl_ms: 2 * H,
        ..CacheSettings::default()
    };
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), settings).unwrap();
    c.put("old", &chart("old", "N", 1), H, H).unwrap();
    let e = c.put("new", &chart("new", "N", 1), 4 * H, 4 * H).unwrap();
    assert_eq!(e.expired, 1);
    assert_eq!(c.len(), 1);
    assert!(c.patients(4 * H).unwrap().len() == 1);
}

#[test]
fn one_user_cannot_read_another_users_charts() {
    let dir = tempfile::tempdir().unwrap();
    let a = ChartCache::open(dir.path(), vault(dir.path(), "a"), CacheSettings::default()).unwrap();
    a.put("p1", &chart("p1", "ZEBRA", 1), 1, 1).unwrap();
    // Bob pointed at Alice's file: his key finds nothing and opens nothing.
    let bob = vault(dir.path(), "b");
    let stolen = ChartCache {
        path: a.path().to_path_buf(),
        conn: Mutex::new(Connection::open(a.path()).unwrap()),
        vault: bob,
        settings: CacheSettings::default(),
    };
    assert!(stolen.get("p1", 2).unwrap().is_none());
    assert!(matches!(stolen.patients(2), Err(VaultError::Tampered)));
    assert_ne!(
        a.path(),
        ChartCache::path_for(dir.path(), &vault(dir.path(), "b"))
    );
}

#[test]
fn a_swapped_row_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), CacheSettings::default()).unwrap();
    c.put("p1", &chart("p1", "ONE", 1), 1, 1).unwrap();
    c.put("p2", &chart("p2", "TWO", 1), 1, 1).unwrap();
    // Someone copies patient 2's chart over patient 1's row.
    c.conn()
        .execute_batch(
            "UPDATE chart SET head = (SELECT head FROM chart ORDER BY key LIMIT 1 OFFSET 1)
             WHERE key = (SELECT key FROM chart ORDER BY key LIMIT 1)",
        )
        .unwrap();
    let results = [c.get("p1", 2), c.get("p2", 2)];
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(VaultError::Tampered))),
        "a chart moved to another patient's row must not open"
    );
}

#[test]
fn no_name_in_the_clear_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let c = ChartCache::open(dir.path(), vault(dir.path(), "a"), CacheSettings::default()).unwrap();
    c.put("p1", &chart("p1", "QUIXOTEZ", 2), 1, 1).unwrap();
    drop(c);
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(8).any(|w| w == b"QUIXOTEZ"),
            "{} holds the name in the clear",
            entry.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&entry).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", entry.display());
        }
    }
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
