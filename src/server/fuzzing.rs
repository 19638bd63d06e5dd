//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): the search-query parser, FHIR
//! JSON ingest and Bundle handling, each run through the same gate as a request would be. Not
//! part of the API; no input may make any of them panic.

use std::sync::OnceLock;

use serde_json::Value;

use super::access::Gate;
use crate::server::auth::{Auth, Role, Session};
use crate::server::store::Store;

struct Harness {
    store: Store,
    auth: Auth,
    physician: Session,
    support: Session,
    // Kept alive for the process: the database lives in it.
    _dir: std::path::PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bedside-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The harness cannot run without its database: stopping the fuzzer says so plainly.
        let store = match Store::open(&dir.join("fuzz.db")) {
            Ok(store) => store,
            Err(e) => panic!("the fuzzing harness cannot open its database: {e}"),
        };
        let auth = Auth::new(store.clone());
        let session = |username: &str, role: Role| {
            let _ = auth.add_user(username, "", role, "fuzzing harness password");
            match auth.issue_for(username) {
                Ok(issued) => issued.session,
                Err(e) => panic!("the fuzzing harness cannot sign in {username}: {e}"),
            }
        };
        let physician = session("fuzz.physician", Role::Physician);
        let support = session("fuzz.support", Role::Support);
        let mut restricted = serde_json::json!({"resourceType": "Patient", "id": "r",
            "name": [{"family": "Restricted"}]});
        restricted["meta"] = serde_json::json!({"security": [crate::fhir::restricted_label()]});
        let _ = store.write(|tx| {
            tx.upsert("Patient", "r", restricted)?;
            tx.upsert(
                "Patient",
                "p",
                serde_json::json!({"resourceType": "Patient", "name": [{"family": "Plain"}]}),
            )?;
            tx.create(
                serde_json::json!({"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                    "subject": {"reference": "Patient/r"}}),
                None,
            )?;
            Ok(())
        });
        Harness {
            store,
            auth,
            physician,
            support,
            _dir: dir,
        }
    })
}

const TYPES: &[&str] = crate::fhir::RESOURCE_TYPES;

/// The first byte picks a resource type and a role; the rest is a query string.
pub fn search_query(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let h = harness();
    let rtype = TYPES[pick as usize % TYPES.len()];
    let session = if pick & 0x80 == 0 {
        &h.physician
    } else {
        &h.support
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(rest).into_owned().collect();
    let mut gate = Gate::new(&h.auth, session);
    if let Ok(mut reader) = h.store.reader() {
        let _ = super::interact::search(&mut gate, &mut reader, rtype, &params, pick & 1 == 1);
    }
}

/// Any bytes as a resource to create, as a physician would POST it.
pub fn ingest(data: &[u8]) {
    let Ok(resource) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let h = harness();
    let rtype = resource["resourceType"]
        .as_str()
        .unwrap_or("Observation")
        .to_string();
    let _ = crate::fhir::extract::extract(&rtype, "x", &resource);
    let mut gate = Gate::new(&h.auth, &h.physician);
    let _ = h
        .store
        .write_with(|tx| super::interact::create(&mut gate, tx, &rtype, resource, None, None));
}

/// Any bytes as a Bundle POSTed to the base URL by a physician or support.
pub fn bundle(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(bundle) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let h = harness();
    let session = if pick & 1 == 0 {
        &h.physician
    } else {
        &h.support
    };
    let mut gate = Gate::new(&h.auth, session);
    let _ = super::transaction::process_bundle(&h.store, &mut gate, bundle, "http://fuzz/fhir");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_seed_corpus_runs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (target, run) in [
            ("search_query", super::search_query as fn(&[u8])),
            ("ingest", super::ingest),
            ("bundle", super::bundle),
        ] {
            let entries = std::fs::read_dir(dir.join(target)).expect("a seed corpus");
            let mut n = 0;
            for entry in entries.flatten() {
                run(&std::fs::read(entry.path()).unwrap());
                n += 1;
            }
            assert!(n >= 3, "{target}: {n} seeds");
        }
    }
}
