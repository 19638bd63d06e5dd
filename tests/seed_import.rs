//! `bedside seed` and `bedside import`, through the library and the real binary.

use std::collections::BTreeMap;
use std::path::Path;

use bedside::server::seed::{Depth, SeedOptions, seed};
use bedside::server::store::Store;
use serde_json::{Value, json};

fn opts(patients: u64, seed_value: u64, large: u64) -> SeedOptions {
    SeedOptions {
        patients,
        seed: seed_value,
        anchor: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        depth: Depth::Full,
        large_charts: large,
    }
}

/// Every current resource, without the server-set `meta`, keyed by type/id.
fn dump(path: &Path) -> BTreeMap<String, Value> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT r.type, r.id, v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version WHERE r.deleted = 0")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    rows.map(|r| {
        let (t, id, json) = r.unwrap();
        let mut v: Value = serde_json::from_str(&json).unwrap();
        v.as_object_mut().unwrap().remove("meta");
        (format!("{t}/{id}"), v)
    })
    .collect()
}

#[test]
fn seeding_is_deterministic_and_plausible() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("c.db"),
    );
    let summary = seed(&Store::open(&a).unwrap(), &opts(80, 7, 0), |_| {}).unwrap();
    seed(&Store::open(&b).unwrap(), &opts(80, 7, 0), |_| {}).unwrap();
    seed(&Store::open(&c).unwrap(), &opts(80, 8, 0), |_| {}).unwrap();
    let (da, db, dc) = (dump(&a), dump(&b), dump(&c));
    assert_eq!(summary.patients, 80);
    assert_eq!(da.len() as u64, summary.resources);
    assert_eq!(da, db, "same seed, same data");
    assert_ne!(da, dc, "another seed, other data");

    let of = |t: &'static str| {
        da.iter()
            .filter(move |(k, _)| k.starts_with(t) && k[t.len()..].starts_with('/'))
            .map(|(_, v)| v)
    };
    let patients: Vec<&Value> = of("Patient").collect();
    assert_eq!(patients.len(), 80);
    let john_smiths: Vec<&Value> = patients
        .iter()
        .copied()
        .filter(|p| p["name"][0]["family"] == "Smith" && p["name"][0]["given"][0] == "John")
        .collect();
    assert!(john_smiths.len() >= 3, "namesakes");
    let dobs: std::collections::HashSet<_> = john_smiths
        .iter()
        .map(|p| p["birthDate"].as_str().unwrap())
        .collect();
    assert_eq!(
        dobs.len(),
        john_smiths.len(),
        "namesakes have different DOBs"
    );
    let mrns: std::collections::HashSet<_> = patients
        .iter()
        .map(|p| p["identifier"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(mrns.len(), 80, "MRNs are unique");

    let allergy_patients: std::collections::HashSet<_> = of("AllergyIntolerance")
        .map(|a| a["patient"]["reference"].as_str().unwrap().to_string())
        .collect();
    assert!(
        allergy_patients.len() < 80,
        "some patients have no allergy assessment"
    );
    assert!(
        of("AllergyIntolerance").any(|a| a["code"]["coding"][0]["code"] == "716186003"
            || a["code"]["coding"][0]["code"] == "409137002"),
        "NKA recorded"
    );
    assert!(of("AllergyIntolerance").any(|a| a["category"][0] == "medication"));
    let inpatients: Vec<&Value> = of("Encounter")
        .filter(|e| e["class"]["code"] == "IMP")
        .collect();
    assert!(!inpatients.is_empty());
    assert!(
        inpatients
            .iter()
            .all(|e| e["status"] == "in-progress" && e["location"].as_array().unwrap().len() == 2)
    );
    // Every inpatient has a care team naming a ward team; the demo physician is on some, and
    // `bedside demo`'s users find their seeded Practitioner by its identifier.
    let teams: Vec<&Value> = of("CareTeam").filter(|c| c["subject"].is_null()).collect();
    assert_eq!(teams.len(), 2, "Medicine A and B");
    let cared: Vec<&Value> = of("CareTeam").filter(|c| !c["subject"].is_null()).collect();
    assert_eq!(cared.len(), inpatients.len());
    assert!(
        cared
            .iter()
            .all(|c| c["participant"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["member"]["reference"]
                    .as_str()
                    .unwrap()
                    .starts_with("CareTeam/team-med-")))
    );
    assert!(
        cared
            .iter()
            .any(|c| c.to_string().contains("Practitioner/prac-demo-physician")),
        "the demo physician has patients"
    );
    let auth = bedside::server::auth::Auth::new(Store::open(&a).unwrap());
    bedside::server::auth::ensure_demo_users(&auth).unwrap();
    assert_eq!(
        auth.user(bedside::server::auth::DEMO_PHYSICIAN)
            .unwrap()
            .practitioner
            .as_deref(),
        Some("prac-demo-physician")
    );
    let interpretations: std::collections::HashSet<String> = of("Observation")
        .filter_map(|o| {
            o["interpretation"][0]["coding"][0]["code"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    for code in ["H", "L", "N"] {
        assert!(
            interpretations.contains(code),
            "{code} in {interpretations:?}"
        );
    }
    for code in ["HH", "LL"] {
        assert!(
            interpretations.contains(code),
            "critical {code} in {interpretations:?}"
        );
    }
    assert!(
        of("Observation").any(|o| o["code"]["coding"][0]["code"] == "85354-9"
            && o["component"].as_array().unwrap().len() == 2),
        "BP as components"
    );
    assert!(of("Observation").all(|o| o["code"]["coding"][0]["system"] == "http://loinc.org"));
    assert!(
        of("Condition").all(|c| c["code"]["coding"].as_array().unwrap().len() == 2),
        "SNOMED + ICD-10-CM"
    );
    assert!(
        of("MedicationRequest").all(|m| m["medicationCodeableConcept"]["coding"][0]["system"]
            == "http://www.nlm.nih.gov/research/umls/rxnorm")
    );
    assert!(of("DiagnosticReport").all(|d| !d["result"].as_array().unwrap().is_empty()));
    assert!(of("DocumentReference").all(|d| d["docStatus"] == "final" && d["content"][0]["attachment"]["data"].is_string()));
    assert!(of("Immunization").count() > 0);
    // A known interacting pair, on purpose.
    let warfarin_and_nsaid = patients.iter().any(|p| {
        let pid = format!("Patient/{}", p["id"].as_str().unwrap());
        let active: Vec<&str> = of("MedicationRequest")
            .filter(|m| m["subject"]["reference"] == pid.as_str() && m["status"] == "active")
            .filter_map(|m| m["medicationCodeableConcept"]["coding"][0]["code"].as_str())
            .collect();
        active.contains(&"11289") && ["5640", "7258", "1191"].iter().any(|n| active.contains(n))
    });
    assert!(warfarin_and_nsaid);
}

#[test]
fn large_charts_exceed_ten_thousand_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("big.db")).unwrap();
    seed(&store, &opts(2, 1, 1), |_| {}).unwrap();
    let reader = store.reader().unwrap();
    let (_, found) = reader
        .search("Patient", &[("_count".into(), "10".into())], false)
        .unwrap();
    let sizes: Vec<i64> = found
        .matches
        .iter()
        .map(|p| {
            reader
                .everything(&p.id, &[], None, 0, 1)
                .unwrap()
                .total
                .unwrap()
        })
        .collect();
    assert!(sizes.iter().any(|&n| n > 10_000), "{sizes:?}");
    assert!(sizes.iter().any(|&n| n < 10_000), "{sizes:?}");
}

#[test]
fn import_resolves_references_reports_rejections_and_does_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:a0000000-0000-0000-0000-000000000001",
         "resource": {"resourceType": "Patient", "name": [{"family": "Imported", "given": ["Ida"]}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:a0000000-0000-0000-0000-000000000002",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:a0000000-0000-0000-0000-000000000001"}},
         "request": {"method": "POST", "url": "Observation"}}
    ]});
    std::fs::write(data.join("tx.json"), transaction.to_string()).unwrap();
    let collection = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://other.example/fhir/Practitioner/doc1", "resource": {"resourceType": "Practitioner", "name": [{"family": "Who"}]}},
        {"resource": {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                      "participant": [{"individual": {"reference": "http://other.example/fhir/Practitioner/doc1"}}]}},
        {"resource": {"resourceType": "Spaceship"}}
    ]});
    std::fs::write(data.join("collection.json"), collection.to_string()).unwrap();
    let ndjson = [
        json!({"resourceType": "Patient", "id": "nd1", "name": [{"family": "Bulk"}]}).to_string(),
        "{this is not json".to_string(),
        json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/nd1"}})
            .to_string(),
        String::new(),
    ]
    .join("\n");
    std::fs::write(data.join("Patient.ndjson"), ndjson).unwrap();
    std::fs::write(data.join("broken.json"), "{\"resourceType\": ").unwrap();

    let db = dir.path().join("import.db");
    let report = dir.path().join("report.txt");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(["import", "--db"])
            .arg(&db)
            .arg("--report")
            .arg(&report)
            .arg(&data)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        out.contains("6 imported, 0 skipped (already present), 3 rejected"),
        "{out}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("broken.json")
            && text.contains("Patient.ndjson:2")
            && text.contains("Spaceship"),
        "{text}"
    );

    let second = run();
    let out = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(out.contains("0 imported, 6 skipped"), "{out}");

    let store = Store::open(&db).unwrap();
    let reader = store.reader().unwrap();
    let obs = reader
        .read("Observation", "a0000000-0000-0000-0000-000000000002")
        .unwrap();
    let obs: Value = serde_json::from_str(&obs.json).unwrap();
    assert_eq!(
        obs["subject"]["reference"],
        "Patient/a0000000-0000-0000-0000-000000000001"
    );
    let (_, found) = reader
        .search(
            "Encounter",
            &[("participant".into(), "Practitioner/doc1".into())],
            false,
        )
        .unwrap();
    assert_eq!(
        found.matches.len(),
        1,
        "absolute reference to another entry made relative"
    );
    let (_, found) = reader
        .search("Condition", &[("patient".into(), "nd1".into())], false)
        .unwrap();
    assert_eq!(found.matches.len(), 1);
}

#[test]
fn cli_errors_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(["import", "--db"])
        .arg(dir.path().join("never.db"))
        .arg("/definitely/not/here.json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("never.db").exists());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("bedside "));
}

#[test]
fn the_import_report_goes_to_the_state_folder_not_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let state = dir.path().join("state");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("broken.json"), "{\"resourceType\": ").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bedside"))
        .current_dir(&work)
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", &state)
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .args(["import", "--db"])
        .arg(dir.path().join("import.db"))
        .arg(work.join("broken.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("1 rejected"), "{stdout}");
    let reports: Vec<_> = std::fs::read_dir(state.join("bedside"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("import-report-"))
        .collect();
    assert_eq!(reports.len(), 1, "{stdout}");
    assert!(
        stdout.contains(&reports[0].display().to_string()),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(&reports[0])
            .unwrap()
            .contains("broken.json")
    );
    // Nothing is left where the command was run.
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&reports[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// The synthetic population is valid FHIR R4 (as the server's validation judges every write),
/// so a clinician can change any seeded record through the API.
#[test]
fn seeded_records_are_valid_fhir() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    seed(&Store::open(&db).unwrap(), &opts(40, 3, 1), |_| {}).unwrap();
    let mut problems = BTreeMap::new();
    let mut n = 0;
    for (key, mut v) in dump(&db) {
        n += 1;
        let id = key.split('/').nth(1).unwrap().to_string();
        v["id"] = json!(id);
        for issue in bedside::fhir::validate::validate(&v) {
            problems
                .entry(format!("{}: {}", issue.path, issue.message))
                .or_insert(key.clone());
        }
    }
    assert!(n > 1000, "{n} resources");
    assert!(problems.is_empty(), "{problems:#?}");
}
