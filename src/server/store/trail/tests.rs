use crate::server::audit::{self, Event, Filter, Subtype};
use crate::server::store::Store;

fn trail_rows(store: &Store, table: &str) -> i64 {
    store
        .read_side(|c| {
            Ok(
                c.query_row(&format!("SELECT count(*) FROM trail.{table}"), [], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap()
}

fn for_patient(store: &Store, patient: &str) -> i64 {
    let filter = Filter {
        patient: Some(patient.into()),
        count: 1000,
        ..Filter::default()
    };
    let (found, total) = audit::search(store, &filter).unwrap();
    assert_eq!(found.len() as i64, total);
    total
}

#[test]
fn patient_rows_are_found_before_during_and_after_they_are_folded_and_never_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut events = Vec::new();
    for i in 0..30 {
        let mut event = Event::new(Subtype::Search, audit::system_agent());
        event.patients = vec![format!("p{}", i % 3), "shared".into()];
        events.push(event);
    }
    store
        .record_audit(audit::rows(&events))
        .blocking_recv()
        .unwrap()
        .unwrap();
    // Whenever the fold runs, each record shows once per patient.
    assert_eq!(for_patient(&store, "p0"), 10);
    assert_eq!(for_patient(&store, "shared"), 30);
    // A quiet trail folds what waits (after a second without records).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while trail_rows(&store, "audit_patient_recent") > 0 {
        assert!(std::time::Instant::now() < deadline, "never folded");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(trail_rows(&store, "audit_patient"), 60);
    assert_eq!(for_patient(&store, "p0"), 10);
    assert_eq!(for_patient(&store, "shared"), 30);
    assert_eq!(for_patient(&store, "nobody"), 0);
    // A pass cut short (its rows in both tables) shows nothing twice.
    crate::server::store::append_to_trail(store.path(), None, &audit::rows(&events[..3])).unwrap();
    let trail = crate::server::store::trail_path(store.path());
    let conn = rusqlite::Connection::open(&trail).unwrap();
    conn.execute_batch(
        "INSERT OR IGNORE INTO audit_patient SELECT patient_id, recorded, seq FROM audit_patient_recent",
    )
    .unwrap();
    assert_eq!(for_patient(&store, "shared"), 33);
}
