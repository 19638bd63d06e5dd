//! The clinician's unsigned work, with no UI code: medication orders a nurse filed as drafts
//! waiting for a prescriber's co-signature (signed, with the order checks re-run, or rejected
//! with a reason, each written over the version read), what became of a nurse's own drafts,
//! and the notes and addenda a clinician saved unsigned.
//!
//! A nurse's draft is tagged with who entered it (`meta.tag` `urn:bedside:entered-by|<id>`),
//! so it can be found again once a physician has signed it (the physician becomes its
//! `requester`, the nurse its `recorder`) or rejected it (`cancelled`, the reason in its
//! `statusReason`).

use serde_json::{Value, json};

use crate::workstation::chart::read_patient;

/// The tag system naming who entered an order (a Practitioner id).
pub const ENTERED_BY: &str = "urn:bedside:entered-by";

/// The tag a nurse's draft carries.
pub fn entered_by_tag(requester: &Value) -> Option<Value> {
    let id = requester["reference"]
        .as_str()?
        .strip_prefix("Practitioner/")?;
    Some(json!({"system": ENTERED_BY, "code": id}))
}

/// What became of a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Waiting,
    /// Signed, by whom.
    Signed(String),
    /// Rejected: who and why, as the record says.
    Rejected(String),
    /// Any other status (stopped, entered in error...).
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub id: String,
    pub version: String,
    pub resource: Value,
    pub patient_id: String,
    pub patient: String,
    pub mrn: Option<String>,
    /// The medication's name and RxNorm code.
    pub medication: String,
    pub rxnorm: Option<String>,
    pub dosage: String,
    pub entered_by: String,
    /// When it was entered, as the server wrote it.
    pub entered: String,
    pub outcome: Outcome,
}

fn name_of(found: &[Value], reference: Option<&str>) -> Option<String> {
    let (rtype, id) = reference?.split_once('/')?;
    let r = found
        .iter()
        .find(|r| r["resourceType"] == rtype && r["id"] == id)?;
    let n = &r["name"][0];
    n["text"].as_str().map(str::to_string).or_else(|| {
        let family = n["family"].as_str()?;
        let prefix = n["prefix"][0]
            .as_str()
            .map(|p| format!("{p} "))
            .unwrap_or_default();
        Some(format!("{prefix}{family}"))
    })
}

fn person(found: &[Value], r: &Value) -> String {
    name_of(found, r["reference"].as_str())
        .or_else(|| r["display"].as_str().map(str::to_string))
        .unwrap_or_else(|| "someone not named".into())
}

/// The medication orders of `found` (with their included patients and practitioners), oldest
/// first: a prescriber's queue (drafts) or a nurse's own (any status, with what became of it).
pub fn drafts(found: &[Value]) -> Vec<Draft> {
    let mut out: Vec<Draft> = found
        .iter()
        .filter(|r| r["resourceType"] == "MedicationRequest")
        .filter_map(|m| {
            let patient_id = m["subject"]["reference"]
                .as_str()?
                .strip_prefix("Patient/")?
                .to_string();
            let info = found
                .iter()
                .find(|r| r["resourceType"] == "Patient" && r["id"] == patient_id.as_str())
                .and_then(read_patient);
            let concept = &m["medicationCodeableConcept"];
            let rxnorm = concept["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm")
                .and_then(|c| c["code"].as_str())
                .map(str::to_string);
            let medication = concept["text"]
                .as_str()
                .or_else(|| concept["coding"][0]["display"].as_str())
                .unwrap_or("(medication not named)")
                .to_string();
            // The one who entered it: the recorder once signed, else the requester.
            let entered_by = if m["recorder"].is_object() {
                person(found, &m["recorder"])
            } else {
                person(found, &m["requester"])
            };
            let outcome = match m["status"].as_str() {
                Some("draft") => Outcome::Waiting,
                Some("active" | "completed") => Outcome::Signed(person(found, &m["requester"])),
                Some("cancelled") => Outcome::Rejected(
                    m["statusReason"]["text"]
                        .as_str()
                        .unwrap_or("no reason recorded")
                        .to_string(),
                ),
                Some(other) => Outcome::Other(other.to_string()),
                None => Outcome::Other("no status".into()),
            };
            Some(Draft {
                id: m["id"].as_str()?.to_string(),
                version: m["meta"]["versionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                resource: m.clone(),
                patient: info
                    .as_ref()
                    .map_or_else(|| "(patient not returned)".into(), |i| i.display_name()),
                mrn: info.and_then(|i| i.mrn),
                patient_id,
                medication,
                rxnorm,
                dosage: m["dosageInstruction"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                entered_by,
                entered: m["authoredOn"].as_str().unwrap_or_default().to_string(),
                outcome,
            })
        })
        .collect();
    out.sort_by(|a, b| a.entered.cmp(&b.entered));
    out
}

fn update_entry(draft: &Draft, resource: Value) -> Value {
    let mut request = json!({"method": "PUT", "url": format!("MedicationRequest/{}", draft.id)});
    if !draft.version.is_empty() {
        request["ifMatch"] = json!(format!("W/\"{}\"", draft.version));
    }
    json!({"resource": resource, "request": request})
}

fn base(draft: &Draft) -> Value {
    let mut m = draft.resource.clone();
    if let Some(o) = m.as_object_mut()
        && let Some(meta) = o.get_mut("meta").and_then(Value::as_object_mut)
    {
        meta.remove("versionId");
        meta.remove("lastUpdated");
    }
    m
}

fn add_note(m: &mut Value, text: String, by: &Value, now: &str) {
    let mut note = json!({"text": text, "time": now});
    if let Some(r) = by.get("reference") {
        note["authorReference"] = json!({"reference": r});
    }
    let mut notes = m["note"].as_array().cloned().unwrap_or_default();
    notes.push(note);
    m["note"] = Value::Array(notes);
}

/// The transaction that co-signs `draft` as `signer` (a Reference with its display) at
/// `now`: the order active on the version read, the signer its requester and the one who
/// entered it its recorder; each high-severity alert overridden is a DetectedIssue (what,
/// why, the reason) linked from the order, as when a basket is signed.
pub fn cosigned(draft: &Draft, signer: &Value, now: &str, overrides: &[(String, String)]) -> Value {
    let mut m = base(draft);
    let entered = m["requester"].clone();
    m["status"] = json!("active");
    if !m["recorder"].is_object() && entered.is_object() {
        m["recorder"] = entered;
    }
    m["requester"] = signer.clone();
    let by = signer["display"].as_str().unwrap_or("the prescriber");
    add_note(&mut m, format!("Co-signed by {by} at {now}"), signer, now);
    let mut entries = Vec::new();
    let mut issues = Vec::new();
    for (what, reason) in overrides {
        let url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        issues.push(json!({"reference": url}));
        entries.push(json!({
            "fullUrl": url,
            "resource": {
                "resourceType": "DetectedIssue", "status": "final", "severity": "high",
                "patient": {"reference": format!("Patient/{}", draft.patient_id)},
                "identifiedDateTime": now, "author": signer,
                "implicated": [{"reference": format!("MedicationRequest/{}", draft.id)}],
                "detail": what,
                "mitigation": [{"action": {"text": format!("Overridden: {reason}")}, "date": now, "author": signer}]
            },
            "request": {"method": "POST", "url": "DetectedIssue"}
        }));
    }
    if !issues.is_empty() {
        let mut all = m["detectedIssue"].as_array().cloned().unwrap_or_default();
        all.extend(issues);
        m["detectedIssue"] = Value::Array(all);
    }
    entries.insert(0, update_entry(draft, m));
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// The transaction that rejects `draft` as `by` with `reason`: cancelled on the version read,
/// the reason in its `statusReason` (what the nurse sees) and a note.
pub fn rejected(draft: &Draft, by: &Value, reason: &str, now: &str) -> Value {
    let mut m = base(draft);
    let who = by["display"].as_str().unwrap_or("the prescriber");
    m["status"] = json!("cancelled");
    m["statusReason"] = json!({"text": format!("Rejected by {who}: {reason}")});
    add_note(
        &mut m,
        format!("Rejected by {who} at {now}: {reason}"),
        by,
        now,
    );
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [update_entry(draft, m)]})
}

/// A note or addendum saved unsigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsigned {
    pub id: String,
    pub patient_id: String,
    pub patient: String,
    pub title: String,
    pub date: String,
    pub addendum: bool,
}

/// The notes of `found` (DocumentReferences with their patients) that are saved but not
/// signed (`docStatus` preliminary, still current), oldest first.
pub fn unsigned(found: &[Value]) -> Vec<Unsigned> {
    let mut out: Vec<Unsigned> = found
        .iter()
        .filter(|d| d["resourceType"] == "DocumentReference")
        .filter(|d| d["docStatus"] == "preliminary" && d["status"] == "current")
        .filter_map(|d| {
            let patient_id = d["subject"]["reference"]
                .as_str()?
                .strip_prefix("Patient/")?
                .to_string();
            let patient = found
                .iter()
                .find(|r| r["resourceType"] == "Patient" && r["id"] == patient_id.as_str())
                .and_then(read_patient)
                .map_or_else(|| "(patient not returned)".into(), |i| i.display_name());
            let addendum = d["relatesTo"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["code"] == "appends");
            Some(Unsigned {
                id: d["id"].as_str()?.to_string(),
                patient_id,
                patient,
                title: d["description"]
                    .as_str()
                    .or_else(|| d["type"]["text"].as_str())
                    .or_else(|| d["type"]["coding"][0]["display"].as_str())
                    .unwrap_or("Note")
                    .to_string(),
                date: d["date"].as_str().unwrap_or_default().to_string(),
                addendum,
            })
        })
        .collect();
    out.sort_by(|a, b| a.date.cmp(&b.date));
    out
}

#[cfg(test)]
mod tests;
