//! One patient to a bed. An Encounter that is under way (arrived, triaged, in progress, on
//! leave) and names a bed as an active location holds that bed; a second one naming the same
//! bed is refused (409), whichever way it comes in: a create, an update, a PATCH, a
//! transaction or batch entry, a conditional operation, an import. The check runs inside the
//! write's transaction, and the store has one writer, so two admissions to one bed at the same
//! moment cannot both pass: the second sees the first.

use serde_json::Value;

use crate::server::store::search::Scope;
use crate::server::store::{StoreError, Tx};

/// Encounter statuses that keep a bed.
const HOLDING: &[&str] = &["arrived", "triaged", "in-progress", "onleave"];

/// The beds `encounter` holds (`Location/id`), if it holds any.
fn beds_held(tx: &mut Tx, encounter: &Value) -> Vec<String> {
    if !encounter["status"]
        .as_str()
        .is_some_and(|s| HOLDING.contains(&s))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for entry in encounter["location"].as_array().into_iter().flatten() {
        // Planned, reserved and completed stays do not hold the bed now.
        if entry
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s != "active")
        {
            continue;
        }
        let Some(reference) = entry["location"]["reference"].as_str() else {
            continue;
        };
        let Some(id) = reference.strip_prefix("Location/") else {
            continue;
        };
        let bed_code = |v: &Value| {
            v["physicalType"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["code"] == "bd")
        };
        let is_bed = bed_code(entry)
            || tx
                .read("Location", id)
                .ok()
                .and_then(|row| serde_json::from_str::<Value>(&row.json).ok())
                .is_some_and(|l| bed_code(&l));
        if is_bed && !out.iter().any(|b| b == reference) {
            out.push(reference.to_string());
        }
    }
    out
}

/// Refuses `encounter` (to be stored as `Encounter/id`, `id` None for a new one) when a bed it
/// holds is held by another Encounter. The answer names the bed, not who is in it.
pub fn check(tx: &mut Tx, id: Option<&str>, encounter: &Value) -> Result<(), StoreError> {
    for bed in beds_held(tx, encounter) {
        // Only stays under way: a bed's years of finished stays are never read.
        let params = vec![
            ("location".to_string(), bed.clone()),
            ("status".to_string(), HOLDING.join(",")),
        ];
        let others = tx.matching_ids_in("Encounter", &params, &Scope::all())?;
        for other in others.iter().filter(|o| Some(o.as_str()) != id) {
            let Ok(row) = tx.read("Encounter", other) else {
                continue;
            };
            let Ok(held) = serde_json::from_str::<Value>(&row.json) else {
                continue;
            };
            if beds_held(tx, &held).contains(&bed) {
                return Err(StoreError::Conflict(format!(
                    "{bed} is occupied: another admission (Encounter/{other}) holds it; transfer or discharge that stay first, or choose a free bed"
                )));
            }
        }
    }
    Ok(())
}
