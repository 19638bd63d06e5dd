//! A result to review: when a laboratory result is filed final (an Observation, or a
//! DiagnosticReport that lists no Observations of its own), or amended or corrected, the
//! server makes a `Task` (code `review-result`) for the clinician responsible, in the same
//! transaction, whichever way the result came in: REST, a transaction or batch, a conditional
//! operation, an import. The results inbox lists these Tasks; acknowledging one completes it,
//! forwarding changes its owner, so both are shared between terminals and audited.
//!
//! Who is responsible: the requester of the order the result is based on, else the first
//! practitioner of its encounter, else the patient's general practitioner; with none, the
//! Task has no owner and the ward's safety net shows it. Its priority says how abnormal the
//! result is: `stat` for a critical flag, `urgent` for another abnormal one, `routine`. Only
//! results from the last `REVIEW_WINDOW_MS` are new: an import of years of history does not
//! fill the inbox.

use serde_json::{Value, json};

use crate::server::store::search::Scope;
use crate::server::store::{StoreError, Tx, Written};

pub const TASK_CODE_SYSTEM: &str = "urn:bedside:task";
pub const REVIEW: &str = "review-result";
/// The identifier system of review Tasks: the value is the result (`Type/id`, and the version
/// for an amended or corrected one), so each is reviewed once.
pub const REVIEW_SYSTEM: &str = "urn:bedside:review";
/// Results older than this (by `issued`, else their effective time) are history, not news.
pub const REVIEW_WINDOW_MS: i64 = 2 * 24 * 3_600_000;

const CRITICAL: &[&str] = &["HH", "LL", "AA", "HU", "LU"];
const ABNORMAL: &[&str] = &["H", "L", "A", ">", "<", "R", "I", "W"];

/// Categories of Observation that are not results to review (charted at the bedside or asked
/// of the patient).
const NOT_RESULTS: &[&str] = &[
    "vital-signs",
    "social-history",
    "survey",
    "activity",
    "exam",
    "therapy",
];

fn categories(r: &Value) -> Vec<&str> {
    r["category"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .filter_map(|c| c["code"].as_str())
        .collect()
}

/// Whether `r` (an Observation or a DiagnosticReport as stored) is a result someone must
/// review now, and under which identifier.
fn needs_review(r: &Value, written: &Written, now_ms: i64) -> Option<String> {
    let status = r["status"].as_str()?;
    let key = match status {
        "final" => format!("{}/{}", written.rtype, written.id),
        "amended" | "corrected" => format!(
            "{}/{}/_history/{}",
            written.rtype, written.id, written.version
        ),
        _ => return None,
    };
    let cats = categories(r);
    match written.rtype.as_str() {
        "Observation" if cats.iter().any(|c| NOT_RESULTS.contains(c)) => return None,
        "Observation" if !cats.iter().any(|c| *c == "laboratory" || *c == "imaging") => {
            return None;
        }
        // A report's Observations are reviewed one by one.
        "DiagnosticReport" if r["result"].as_array().is_some_and(|a| !a.is_empty()) => {
            return None;
        }
        "Observation" | "DiagnosticReport" => {}
        _ => return None,
    }
    let when = ["issued", "effectiveDateTime", "effectiveInstant"]
        .iter()
        .find_map(|k| r[*k].as_str())
        .or_else(|| r["effectivePeriod"]["start"].as_str())
        .and_then(crate::fhir::date::parse_range)?
        .lo;
    (now_ms - when <= REVIEW_WINDOW_MS).then_some(key)
}

/// How abnormal a result is: its interpretation codes, its components' too.
fn priority(r: &Value) -> &'static str {
    fn codes(v: &Value) -> impl Iterator<Item = &str> {
        v["interpretation"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|i| i["coding"].as_array().into_iter().flatten())
            .filter_map(|c| c["code"].as_str())
    }
    let codes: Vec<&str> = codes(r)
        .chain(
            r["component"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(codes),
        )
        .collect();
    if codes.iter().any(|c| CRITICAL.contains(c)) {
        "stat"
    } else if codes.iter().any(|c| ABNORMAL.contains(c)) {
        "urgent"
    } else {
        "routine"
    }
}

fn read(tx: &mut Tx, reference: &str) -> Option<Value> {
    let (rtype, id) = reference.split_once('/')?;
    let row = tx.read(rtype, id).ok()?;
    serde_json::from_str(&row.json).ok()
}

fn practitioner(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|r| r.starts_with("Practitioner/"))
        .map(str::to_string)
}

/// The clinician responsible for `r`, and the order it answers, if any.
fn responsible(tx: &mut Tx, r: &Value) -> (Option<String>, Option<String>) {
    let order = r["basedOn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["reference"].as_str())
        .find(|b| b.starts_with("ServiceRequest/"))
        .map(str::to_string);
    if let Some(owner) = order
        .as_deref()
        .and_then(|o| read(tx, o))
        .and_then(|o| practitioner(&o["requester"]["reference"]))
    {
        return (Some(owner), order);
    }
    if let Some(owner) = r["encounter"]["reference"]
        .as_str()
        .filter(|e| e.starts_with("Encounter/"))
        .and_then(|e| read(tx, e))
        .and_then(|e| {
            e["participant"]
                .as_array()?
                .iter()
                .find_map(|p| practitioner(&p["individual"]["reference"]))
        })
    {
        return (Some(owner), order);
    }
    let gp = r["subject"]["reference"]
        .as_str()
        .filter(|s| s.starts_with("Patient/"))
        .and_then(|p| read(tx, p))
        .and_then(|p| {
            p["generalPractitioner"]
                .as_array()?
                .iter()
                .find_map(|g| practitioner(&g["reference"]))
        });
    (gp, order)
}

/// After `written` (an Observation or DiagnosticReport, stored as `resource`) was filed: the
/// review Task it needs, made once. `None` when it needs none or has one.
pub fn on_result(
    tx: &mut Tx,
    written: &Written,
    now_ms: i64,
) -> Result<Option<Written>, StoreError> {
    if !matches!(written.rtype.as_str(), "Observation" | "DiagnosticReport") {
        return Ok(None);
    }
    let Some(json) = &written.json else {
        return Ok(None);
    };
    // Most results filed are vital signs: those are passed over without parsing them.
    let maybe = ["\"final\"", "\"amended\"", "\"corrected\""]
        .iter()
        .any(|s| json.contains(s))
        && (written.rtype == "DiagnosticReport"
            || json.contains("\"laboratory\"")
            || json.contains("\"imaging\""));
    if !maybe {
        return Ok(None);
    }
    let Ok(r) = serde_json::from_str::<Value>(json) else {
        return Ok(None);
    };
    let Some(key) = needs_review(&r, written, now_ms) else {
        return Ok(None);
    };
    let Some(patient) = r["subject"]["reference"]
        .as_str()
        .filter(|s| s.starts_with("Patient/"))
    else {
        return Ok(None);
    };
    let condition = vec![("identifier".to_string(), format!("{REVIEW_SYSTEM}|{key}"))];
    if !tx
        .matching_ids_in("Task", &condition, &Scope::all())?
        .is_empty()
    {
        return Ok(None);
    }
    let (owner, order) = responsible(tx, &r);
    let now = crate::fhir::date::instant(now_ms);
    let mut task = json!({
        "resourceType": "Task",
        "identifier": [{"system": REVIEW_SYSTEM, "value": key}],
        "status": "requested",
        "intent": "order",
        "priority": priority(&r),
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": REVIEW, "display": "Review result"}], "text": "Review result"},
        "focus": {"reference": format!("{}/{}", written.rtype, written.id)},
        "for": {"reference": patient},
        "authoredOn": now,
        "lastModified": now,
    });
    if let Some(e) = r["encounter"]["reference"].as_str() {
        task["encounter"] = json!({"reference": e});
    }
    if let Some(o) = owner {
        task["owner"] = json!({"reference": o});
    }
    if let Some(o) = order {
        task["basedOn"] = json!([{"reference": o}]);
    }
    tx.create(task, None).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(rtype: &str, version: i64) -> Written {
        Written {
            rtype: rtype.into(),
            id: "r1".into(),
            version,
            updated: 0,
            json: None,
            created: version == 1,
            unchanged: false,
        }
    }

    #[test]
    fn which_results_are_reviewed_and_how_urgently() {
        let now = crate::fhir::date::parse_range("2026-12-02T12:00:00Z")
            .unwrap()
            .lo;
        let lab = json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"code": "laboratory"}]}],
            "effectiveDateTime": "2026-12-02T06:00:00Z",
            "interpretation": [{"coding": [{"code": "HH"}]}]});
        let w = written("Observation", 1);
        assert_eq!(
            needs_review(&lab, &w, now).as_deref(),
            Some("Observation/r1")
        );
        assert_eq!(priority(&lab), "stat");
        let mut amended = lab.clone();
        amended["status"] = json!("amended");
        assert_eq!(
            needs_review(&amended, &written("Observation", 3), now).as_deref(),
            Some("Observation/r1/_history/3")
        );
        let mut old = lab.clone();
        old["effectiveDateTime"] = json!("2026-11-01T06:00:00Z");
        assert_eq!(needs_review(&old, &w, now), None, "history, not news");
        let mut vital = lab.clone();
        vital["category"] = json!([{"coding": [{"code": "vital-signs"}]}]);
        assert_eq!(needs_review(&vital, &w, now), None);
        let mut preliminary = lab.clone();
        preliminary["status"] = json!("preliminary");
        assert_eq!(needs_review(&preliminary, &w, now), None);
        let report = json!({"resourceType": "DiagnosticReport", "status": "final",
            "issued": "2026-12-02T06:00:00Z", "result": [{"reference": "Observation/x"}]});
        assert_eq!(
            needs_review(&report, &written("DiagnosticReport", 1), now),
            None
        );
        let mut narrative = report.clone();
        narrative["result"] = json!([]);
        assert!(needs_review(&narrative, &written("DiagnosticReport", 1), now).is_some());
        let high = json!({"interpretation": [{"coding": [{"code": "H"}]}]});
        assert_eq!(priority(&high), "urgent");
        assert_eq!(priority(&json!({})), "routine");
    }
}
