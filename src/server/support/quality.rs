//! The data-quality scan: references to resources that are not there, clinical records that
//! belong to no patient, dates in the future, identifiers shared by two patients, stays that
//! never ended. Each kind is counted in full and lists its first records by reference (never
//! their content). One scan at a time.

use std::sync::Mutex;

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::server::store::{Result as StoreResult, Store, StoreError};

/// Records listed per kind (all are counted).
pub const LISTED: usize = 200;

/// A stay still open after this many days is reported.
pub const OPEN_STAY_DAYS: i64 = 60;

/// One problem found: the record, and what is wrong with it in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub reference: String,
    pub detail: String,
}

/// One kind of problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Kind {
    pub code: &'static str,
    pub title: &'static str,
    pub count: usize,
    pub listed: Vec<Finding>,
}

static SCANNING: Mutex<()> = Mutex::new(());

fn push(kind: &mut Kind, reference: String, detail: String) {
    kind.count += 1;
    if kind.listed.len() < LISTED {
        kind.listed.push(Finding { reference, detail });
    }
}

fn kind(code: &'static str, title: &'static str) -> Kind {
    Kind {
        code,
        title,
        count: 0,
        listed: Vec::new(),
    }
}

/// Clinical types that name their patient (and so must have one).
const NEEDS_PATIENT: [&str; 14] = [
    "AllergyIntolerance",
    "CarePlan",
    "Composition",
    "Condition",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Flag",
    "Immunization",
    "MedicationRequest",
    "Observation",
    "Procedure",
    "ServiceRequest",
    "Task",
];

/// Dates that record something that happened (a future one is a typing error).
const PAST_DATES: [(&str, &str); 10] = [
    ("Patient", "birthdate"),
    ("Observation", "date"),
    ("Condition", "onset-date"),
    ("Condition", "recorded-date"),
    ("Procedure", "date"),
    ("DocumentReference", "date"),
    ("DiagnosticReport", "date"),
    ("AllergyIntolerance", "date"),
    ("Immunization", "date"),
    ("MedicationRequest", "authoredon"),
];

fn missing_references(c: &Connection, k: &mut Kind) -> StoreResult<()> {
    let mut stmt = c.prepare(
        "SELECT DISTINCT r.type, r.id, x.target_type, x.target_id FROM idx_ref x
         JOIN resource r ON r.rid = x.rid AND r.deleted = 0
         LEFT JOIN resource t ON t.type = x.target_type AND t.id = x.target_id
         WHERE (t.rid IS NULL OR t.deleted = 1) AND r.type NOT IN ('AuditEvent', 'Provenance')
         ORDER BY r.type, r.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (rt, id, tt, ti): (String, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        push(
            k,
            format!("{rt}/{id}"),
            format!("refers to {tt}/{ti}, which is not stored or was deleted"),
        );
    }
    Ok(())
}

fn no_patient(c: &Connection, k: &mut Kind) -> StoreResult<()> {
    let listed: Vec<String> = NEEDS_PATIENT.iter().map(|t| format!("'{t}'")).collect();
    let mut stmt = c.prepare(&format!(
        "SELECT r.type, r.id FROM resource r WHERE r.deleted = 0 AND r.type IN ({})
         AND NOT EXISTS (SELECT 1 FROM compartment c WHERE c.rid = r.rid) ORDER BY r.type, r.id",
        listed.join(",")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (rt, id): (String, String) = (row.get(0)?, row.get(1)?);
        push(k, format!("{rt}/{id}"), "names no patient".into());
    }
    Ok(())
}

fn future_dates(c: &Connection, k: &mut Kind, now_ms: i64) -> StoreResult<()> {
    // A day's grace: clocks and time zones.
    let limit = now_ms + 86_400_000;
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT r.type, r.id, d.lo FROM search_param p
         JOIN idx_date d ON d.pid = p.pid JOIN resource r ON r.rid = d.rid AND r.deleted = 0
         WHERE p.type = ?1 AND p.name = ?2 AND d.lo > ?3 ORDER BY r.id",
    )?;
    for (rtype, name) in PAST_DATES {
        let mut rows = stmt.query(params![rtype, name, limit])?;
        while let Some(row) = rows.next()? {
            let (rt, id, lo): (String, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let when = crate::fhir::date::instant(lo);
            push(
                k,
                format!("{rt}/{id}"),
                format!(
                    "its {name} is {} (in the future)",
                    &when[..10.min(when.len())]
                ),
            );
        }
    }
    Ok(())
}

fn shared_identifiers(c: &Connection, k: &mut Kind) -> StoreResult<()> {
    let mut stmt = c.prepare(
        "SELECT t.system, t.code, group_concat(r.id, char(31)) FROM search_param p
         JOIN idx_token t ON t.pid = p.pid JOIN resource r ON r.rid = t.rid AND r.deleted = 0
         WHERE p.type = 'Patient' AND p.name = 'identifier'
         GROUP BY t.system, t.code HAVING COUNT(DISTINCT r.rid) > 1",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (system, _code, ids): (String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        // Records merged into another are one patient: not a problem.
        let mut live: Vec<String> = Vec::new();
        for id in ids.split('\u{1f}') {
            let merged = super::merge::current(c, "Patient", id)?
                .is_some_and(|(_, p)| super::merge::named(id, 0, &p, "").replaced_by.is_some());
            if !merged && !live.iter().any(|l| l == id) {
                live.push(id.to_string());
            }
        }
        if live.len() > 1 {
            let others: Vec<String> = live[1..].iter().map(|i| format!("Patient/{i}")).collect();
            let system = if system.is_empty() {
                "no system".to_string()
            } else {
                system
            };
            push(
                k,
                format!("Patient/{}", live[0]),
                format!("shares an identifier ({system}) with {}", others.join(", ")),
            );
        }
    }
    Ok(())
}

fn open_stays(c: &Connection, k: &mut Kind, now_ms: i64) -> StoreResult<()> {
    let mut stmt = c.prepare(
        "SELECT r.id, v.json FROM search_param p JOIN idx_token t ON t.pid = p.pid
         JOIN resource r ON r.rid = t.rid AND r.deleted = 0
         JOIN version v ON v.rid = r.rid AND v.version = r.version
         WHERE p.type = 'Encounter' AND p.name = 'status'
         AND t.code IN ('planned', 'arrived', 'triaged', 'in-progress', 'onleave')",
    )?;
    let mut rows = stmt.query([])?;
    let cutoff = now_ms - OPEN_STAY_DAYS * 86_400_000;
    while let Some(row) = rows.next()? {
        let (id, json): (String, Option<String>) = (row.get(0)?, row.get(1)?);
        let Some(e) = json.and_then(|j| serde_json::from_str::<Value>(&j).ok()) else {
            continue;
        };
        let start = e["period"]["start"]
            .as_str()
            .and_then(crate::fhir::date::parse_range)
            .map(|r| r.lo);
        let status = e["status"].as_str().unwrap_or_default();
        match start {
            Some(lo) if lo < cutoff => push(
                k,
                format!("Encounter/{id}"),
                format!(
                    "{status} since {} ({} days), never ended",
                    e["period"]["start"]
                        .as_str()
                        .unwrap_or_default()
                        .get(..10)
                        .unwrap_or_default(),
                    (now_ms - lo) / 86_400_000
                ),
            ),
            None if status == "in-progress" => push(
                k,
                format!("Encounter/{id}"),
                "in progress with no start".into(),
            ),
            _ => {}
        }
    }
    Ok(())
}

/// The whole scan, read in one snapshot.
pub fn scan(store: &Store, now_ms: i64) -> StoreResult<Vec<Kind>> {
    let Ok(_one) = SCANNING.try_lock() else {
        return Err(StoreError::TooCostly(
            "a data-quality scan is already running; try again in a minute".into(),
        ));
    };
    store.read_side(|c| {
        let _snapshot = c.unchecked_transaction()?;
        let mut kinds = vec![
            kind("missing-reference", "References to missing resources"),
            kind("no-patient", "Clinical records with no patient"),
            kind("future-date", "Dates in the future"),
            kind("shared-identifier", "Identifiers shared by two patients"),
            kind("open-encounter", "Encounters that never ended"),
        ];
        missing_references(c, &mut kinds[0])?;
        no_patient(c, &mut kinds[1])?;
        future_dates(c, &mut kinds[2], now_ms)?;
        shared_identifiers(c, &mut kinds[3])?;
        open_stays(c, &mut kinds[4], now_ms)?;
        Ok(kinds)
    })
}
