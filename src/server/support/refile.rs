//! Moving a note or a result filed to the wrong patient: the wrong copy is marked
//! entered-in-error on its chart (every version stays in its history), a copy is filed on the
//! right chart, a Provenance links the two, and the author is told by a Communication naming
//! both patients. A report moves with its results. One write transaction.

use serde_json::{Value, json};

use super::merge::{self, Named, Who};
use crate::server::store::{Result as StoreResult, StoreError, Tx, Written};

/// The kinds of record that are refiled.
pub const KINDS: [&str; 3] = ["DocumentReference", "Observation", "DiagnosticReport"];

/// The code of the Provenance's activity.
pub const ACTIVITY: (&str, &str) = ("urn:bedside:support", "refile");

/// What a move did.
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: Named,
    pub to: Named,
    /// The copies filed on the right chart (the record first).
    pub filed: Vec<Written>,
    /// The wrong copies, now entered-in-error.
    pub withdrawn: Vec<Written>,
    pub provenance: Written,
    /// The Communications telling the authors.
    pub told: Vec<Written>,
    /// Review tasks of the wrong copies that were cancelled.
    pub cancelled: Vec<Written>,
}

fn patient_of(r: &Value) -> Option<String> {
    let reference = r["subject"]["reference"].as_str()?;
    let id = reference
        .split("/_history/")
        .next()?
        .rsplit_once("Patient/")?
        .1;
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

fn authors(rtype: &str, r: &Value) -> Vec<String> {
    let lists: &[&str] = match rtype {
        "DocumentReference" => &["author", "authenticator"],
        _ => &["performer", "resultsInterpreter"],
    };
    let mut out: Vec<String> = Vec::new();
    for key in lists {
        let items = match &r[*key] {
            Value::Array(a) => a.clone(),
            Value::Object(_) => vec![r[*key].clone()],
            _ => Vec::new(),
        };
        for item in items {
            if let Some(reference) = item["reference"].as_str() {
                if reference.starts_with("Practitioner/") && !out.iter().any(|o| o == reference) {
                    out.push(reference.to_string());
                }
            }
        }
    }
    out
}

fn what(rtype: &str) -> &'static str {
    match rtype {
        "DocumentReference" => "note",
        "DiagnosticReport" => "report",
        _ => "result",
    }
}

fn when(r: &Value) -> String {
    ["date", "effectiveDateTime", "issued", "created"]
        .iter()
        .find_map(|k| r[*k].as_str())
        .or_else(|| r["context"]["period"]["start"].as_str())
        .map(|d| d.chars().take(16).collect::<String>().replace('T', " "))
        .unwrap_or_else(|| "an unknown date".into())
}

/// The copy filed on the right chart: no id or meta, every reference to the wrong patient
/// made one to the right one, the wrong patient's encounter left out (it is not this
/// patient's stay).
fn copy_for(r: &Value, from: &str, to: &str) -> Value {
    let mut copy = r.clone();
    if let Some(obj) = copy.as_object_mut() {
        obj.remove("id");
        obj.remove("meta");
        obj.remove("encounter");
        if let Some(context) = obj.get_mut("context").and_then(Value::as_object_mut) {
            context.remove("encounter");
        }
    }
    merge::repoint(&mut copy, from, to);
    copy
}

/// Moves `rtype/id` to `target` in `tx`.
pub fn apply(
    tx: &mut Tx,
    rtype: &str,
    id: &str,
    target: &str,
    mrn_system: &str,
    reason: &str,
    who: &Who,
) -> StoreResult<Moved> {
    if !KINDS.contains(&rtype) {
        return Err(StoreError::invalid(format!(
            "only notes (DocumentReference) and results (Observation, DiagnosticReport) are moved; not {rtype}"
        )));
    }
    let (version, record) = merge::current(tx.conn(), rtype, id)?
        .ok_or_else(|| StoreError::NotFound(rtype.to_string(), id.to_string()))?;
    if record["status"] == "entered-in-error" {
        return Err(StoreError::Conflict(format!(
            "{rtype}/{id} is already marked entered in error"
        )));
    }
    let from = patient_of(&record).ok_or_else(|| {
        StoreError::invalid(format!(
            "{rtype}/{id} does not name the patient it is filed to"
        ))
    })?;
    if from == target {
        return Err(StoreError::invalid(format!(
            "{rtype}/{id} is already filed to Patient/{target}"
        )));
    }
    let (fv, f) = merge::current(tx.conn(), "Patient", &from)?
        .ok_or_else(|| StoreError::NotFound("Patient".into(), from.clone()))?;
    let (tv, t) = merge::current(tx.conn(), "Patient", target)?
        .ok_or_else(|| StoreError::NotFound("Patient".into(), target.to_string()))?;
    let (from_named, to_named) = (
        merge::named(&from, fv, &f, mrn_system),
        merge::named(target, tv, &t, mrn_system),
    );
    if let Some(into) = &to_named.replaced_by {
        return Err(StoreError::Conflict(format!(
            "Patient/{target} was merged into Patient/{into}: file it there"
        )));
    }
    // The record, then (for a report) its results filed to the same wrong patient.
    let mut moving: Vec<(String, String, i64, Value)> =
        vec![(rtype.to_string(), id.to_string(), version, record.clone())];
    if rtype == "DiagnosticReport" {
        for r in record["result"].as_array().into_iter().flatten() {
            let Some((t, rid)) = r["reference"].as_str().and_then(|s| s.split_once('/')) else {
                continue;
            };
            if t != "Observation" {
                continue;
            }
            if let Some((v, obs)) = merge::current(tx.conn(), t, rid)? {
                if patient_of(&obs).as_deref() == Some(from.as_str())
                    && obs["status"] != "entered-in-error"
                {
                    moving.push((t.to_string(), rid.to_string(), v, obs));
                }
            }
        }
    }
    let now = crate::fhir::date::now_ms();
    let mut filed = Vec::new();
    let mut withdrawn = Vec::new();
    let mut entities = Vec::new();
    let mut renamed: Vec<(String, String)> = Vec::new();
    // Results first, so the report's copy can point at theirs.
    for (t, rid, v, body) in moving.iter().skip(1) {
        let w = tx.create(copy_for(body, &from, target), None)?;
        renamed.push((format!("{t}/{rid}"), format!("{t}/{}", w.id)));
        entities.push(format!("{t}/{rid}/_history/{v}"));
        filed.push(w);
    }
    let mut main = copy_for(&record, &from, target);
    if let Some(results) = main["result"].as_array_mut() {
        for r in results {
            if let Some(new) = r["reference"]
                .as_str()
                .and_then(|s| renamed.iter().find(|(old, _)| old == s))
            {
                r["reference"] = json!(new.1);
            }
        }
    }
    if rtype == "DocumentReference" {
        main["relatesTo"] =
            json!([{"code": "replaces", "target": {"reference": format!("{rtype}/{id}")}}]);
    }
    let main_written = tx.create(main, None)?;
    entities.insert(0, format!("{rtype}/{id}/_history/{version}"));
    filed.insert(0, main_written);
    // The wrong copies: entered in error, nothing else changed.
    for (t, rid, v, body) in &moving {
        let mut wrong = body.clone();
        wrong["status"] = json!("entered-in-error");
        if t == "DocumentReference" {
            wrong["docStatus"] = json!("entered-in-error");
        }
        withdrawn.push(tx.update(t, rid, wrong, Some(&v.to_string()))?);
    }
    // Their review tasks are cancelled; the copies get their own.
    let mut cancelled = Vec::new();
    for (t, rid, _, _) in &moving {
        let condition = vec![("focus".to_string(), format!("{t}/{rid}"))];
        let tasks = tx.matching_ids_in("Task", &condition, &crate::server::store::Scope::all())?;
        for task in tasks {
            if let Some((tv, mut body)) = merge::current(tx.conn(), "Task", &task)? {
                if matches!(
                    body["status"].as_str(),
                    Some("requested" | "received" | "accepted" | "ready" | "in-progress")
                ) {
                    body["status"] = json!("cancelled");
                    body["statusReason"] =
                        json!({"text": "the result was filed to the wrong patient and moved"});
                    cancelled.push(tx.update("Task", &task, body, Some(&tv.to_string()))?);
                }
            }
        }
    }
    for w in filed.clone() {
        if let Some(task) = crate::server::inbox::on_result(tx, &w, now)? {
            cancelled.push(task);
        }
    }
    let reference = |w: &Written| format!("{}/{}/_history/{}", w.rtype, w.id, w.version);
    let mut targets: Vec<Value> = filed
        .iter()
        .map(|w| json!({"reference": reference(w)}))
        .collect();
    targets.extend(withdrawn.iter().map(|w| json!({"reference": reference(w)})));
    let mut agent = json!({"display": who.username});
    if let Some(p) = &who.practitioner {
        agent["reference"] = json!(p);
    }
    let provenance = tx.create(
        json!({
            "resourceType": "Provenance",
            "target": targets,
            "recorded": crate::fhir::date::instant(now),
            "activity": {"coding": [{"system": ACTIVITY.0, "code": ACTIVITY.1, "display": "Filed to the wrong patient and moved"}]},
            "reason": [{"text": reason}],
            "agent": [{"who": agent}],
            "entity": entities.iter().map(|e| json!({"role": "source", "what": {"reference": e}})).collect::<Vec<_>>(),
        }),
        None,
    )?;
    let message = format!(
        "Your {} of {} was filed to {} and has been moved to {} by {} (support): {}. The copy on the first chart is marked entered in error.",
        what(rtype),
        when(&record),
        from_named.words(),
        to_named.words(),
        who.username,
        reason
    );
    let mut told = Vec::new();
    for author in authors(rtype, &record) {
        let mut c = json!({
            "resourceType": "Communication",
            "status": "completed",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/communication-category", "code": "notification"}]}],
            "subject": {"reference": format!("Patient/{target}")},
            "about": [{"reference": format!("{}/{}", filed[0].rtype, filed[0].id)}, {"reference": format!("Provenance/{}", provenance.id)}],
            "recipient": [{"reference": author}],
            "sent": crate::fhir::date::instant(now),
            "payload": [{"contentString": message}],
        });
        if let Some(p) = &who.practitioner {
            c["sender"] = json!({"reference": p});
        }
        told.push(tx.create(c, None)?);
    }
    Ok(Moved {
        from: from_named,
        to: to_named,
        filed,
        withdrawn,
        provenance,
        told,
        cancelled,
    })
}
