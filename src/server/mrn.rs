//! Medical record numbers, assigned by the server: a Patient created without one in the
//! site's MRN system gets the next free number there (sequential, zero-padded), in the same
//! write transaction, so registrations made at once get distinct numbers. An MRN sent with a
//! new Patient must belong to no other patient, and an MRN never changes once given: an
//! update that alters or drops it is refused (the wrong-patient hazard of a reused number).

use serde_json::{Value, json};

use axum::http::StatusCode;

use crate::fhir::IssueCode;
use crate::server::response::ApiError;
use crate::server::store::StoreError;
use crate::server::store::Tx;
use crate::server::store::search::Scope;

/// The site's MRN system and how many digits a number has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrnPolicy {
    pub system: String,
    pub width: usize,
}

impl Default for MrnPolicy {
    fn default() -> MrnPolicy {
        MrnPolicy {
            system: crate::server::seed::MRN_SYSTEM.to_string(),
            width: 7,
        }
    }
}

/// The next number is kept here, in the store's key/value table.
const NEXT: &str = "mrn_next";
/// Numbers tried past taken ones before giving up (imports can leave long runs taken).
const TRIES: u64 = 100_000;

/// The MRN `patient` carries in `system`, if any.
pub fn mrn_in(patient: &Value, system: &str) -> Option<String> {
    patient["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == system)
        .and_then(|i| i["value"].as_str())
        .map(str::to_string)
}

fn taken(tx: &mut Tx, system: &str, value: &str) -> Result<Vec<String>, ApiError> {
    Ok(tx.matching_ids_in(
        "Patient",
        &[("identifier".to_string(), format!("{system}|{value}"))],
        &Scope::all(),
    )?)
}

/// Before a Patient is created: checks an MRN it carries, or gives it the next one.
pub fn assign(tx: &mut Tx, policy: &MrnPolicy, patient: &mut Value) -> Result<(), ApiError> {
    if let Some(mrn) = mrn_in(patient, &policy.system) {
        if !taken(tx, &policy.system, &mrn)?.is_empty() {
            return Err(ApiError::from(StoreError::Conflict(format!(
                "MRN {mrn} already belongs to another patient; leave it out and the server assigns one"
            ))));
        }
        return Ok(());
    }
    let stored: Option<String> = tx
        .conn()
        .query_row("SELECT value FROM store_info WHERE key = ?1", [NEXT], |r| {
            r.get(0)
        })
        .ok();
    let mut next = match stored.and_then(|s| s.parse::<u64>().ok()) {
        Some(n) => n,
        // First use: after as many as there are patients (a seeded or imported site numbers
        // from 1); the check below steps over any that are taken.
        None => {
            let count: i64 = tx
                .conn()
                .query_row(
                    "SELECT count(*) FROM resource WHERE type = 'Patient'",
                    [],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?;
            count.max(0) as u64 + 1
        }
    };
    let mut value = None;
    for _ in 0..TRIES {
        let candidate = format!("{next:0width$}", width = policy.width);
        next += 1;
        if taken(tx, &policy.system, &candidate)?.is_empty() {
            value = Some(candidate);
            break;
        }
    }
    let Some(value) = value else {
        return Err(ApiError::from(StoreError::Conflict(
            "no free MRN was found: the site's numbers need attention".to_string(),
        )));
    };
    tx.conn()
        .execute(
            "INSERT OR REPLACE INTO store_info (key, value) VALUES (?1, ?2)",
            rusqlite::params![NEXT, next.to_string()],
        )
        .map_err(StoreError::from)?;
    let identifier = json!({
        "use": "usual",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}], "text": "MRN"},
        "system": policy.system,
        "value": value,
    });
    match patient.get_mut("identifier").and_then(Value::as_array_mut) {
        Some(list) => list.insert(0, identifier),
        None => patient["identifier"] = json!([identifier]),
    }
    Ok(())
}

/// Before a Patient is updated: the MRN it had stays as it was.
pub fn check_kept(
    policy: &MrnPolicy,
    before: Option<&Value>,
    after: &Value,
) -> Result<(), ApiError> {
    let Some(had) = before.and_then(|b| mrn_in(b, &policy.system)) else {
        return Ok(());
    };
    match mrn_in(after, &policy.system) {
        Some(now) if now == had => Ok(()),
        Some(now) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            format!("an MRN never changes: this patient's is {had}, not {now}"),
        )),
        None => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            format!("an MRN never changes: keep this patient's identifier {had} in the update"),
        )),
    }
}
