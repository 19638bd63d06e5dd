//! The results inbox, with no UI code: the review Tasks the server made for new results
//! (`server/inbox.rs`), read with the results and patients they name, grouped per patient,
//! critical and abnormal first, each with its value, flag, range and the value before it; and
//! the acknowledgement of some of them as one transaction of Task updates, each on the version
//! read (`If-Match`), so one acknowledged meanwhile on another terminal is not overwritten.

use serde_json::{Value, json};

use crate::workstation::census::{REVIEW, TASK_SYSTEM};
use crate::workstation::chart::{Flag, read_observation, read_patient, short_name, value_text};

/// Task statuses that still wait for the clinician.
pub const OPEN: &str = "requested,received,accepted,ready,in-progress";

/// How urgent a result is, by its Task's priority and its own flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Critical,
    Abnormal,
    Normal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub task_id: String,
    /// The Task's version, for `If-Match`.
    pub version: String,
    /// The Task as read (acknowledging updates it).
    pub task: Value,
    /// `Observation/id` or `DiagnosticReport/id`.
    pub focus: String,
    pub urgency: Urgency,
    pub name: String,
    /// `6.9 mmol/L`, or "(result not returned)".
    pub value: String,
    /// `H`, `L!!`... (never colour alone).
    pub flag: String,
    pub range: String,
    /// When the result was taken (as the server wrote it).
    pub when: String,
    /// The value before it, with its flag and date.
    pub previous: Option<String>,
    /// The result's code, to find the value before it.
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub patient_id: String,
    pub name: String,
    pub mrn: Option<String>,
    pub items: Vec<Item>,
}

impl Group {
    fn most_urgent(&self) -> Urgency {
        self.items
            .iter()
            .map(|i| i.urgency)
            .min()
            .unwrap_or(Urgency::Normal)
    }
}

/// The search that lists `owner`'s results waiting for review.
pub fn search(owner: &str) -> Vec<(&'static str, String)> {
    vec![
        ("owner", owner.to_string()),
        ("code", format!("{TASK_SYSTEM}|{REVIEW}")),
        ("status", OPEN.to_string()),
        // Typed: a focus may be any resource, and an include that could reach the audit
        // trail is refused.
        ("_include", "Task:focus:Observation".to_string()),
        ("_include", "Task:focus:DiagnosticReport".to_string()),
        ("_include", "Task:patient".to_string()),
        ("_count", "500".to_string()),
    ]
}

fn urgency(task: &Value, flag: Flag) -> Urgency {
    match task["priority"].as_str() {
        Some("stat" | "asap") => Urgency::Critical,
        _ if flag.is_critical() => Urgency::Critical,
        Some("urgent") => Urgency::Abnormal,
        _ if flag != Flag::Normal => Urgency::Abnormal,
        _ => Urgency::Normal,
    }
}

fn code_key(r: &Value) -> Option<String> {
    let c = &r["code"]["coding"][0];
    Some(format!("{}|{}", c["system"].as_str()?, c["code"].as_str()?))
}

/// The groups of `found` (Tasks with their included results and patients), patients with a
/// critical result first; `earlier` holds those patients' earlier results of the same codes.
pub fn groups(found: &[Value], earlier: &[Value]) -> Vec<Group> {
    let find = |reference: &str| {
        let (rtype, id) = reference.split_once('/')?;
        found
            .iter()
            .find(|r| r["resourceType"] == rtype && r["id"] == id)
    };
    let mut out: Vec<Group> = Vec::new();
    for task in found.iter().filter(|r| r["resourceType"] == "Task") {
        let (Some(task_id), Some(patient)) = (
            task["id"].as_str(),
            task["for"]["reference"]
                .as_str()
                .and_then(|r| r.strip_prefix("Patient/")),
        ) else {
            continue;
        };
        let focus = task["focus"]["reference"].as_str().unwrap_or_default();
        let result = find(focus);
        let obs = result.and_then(read_observation);
        let (name, value, flag, range) = match (&obs, result) {
            (Some(o), _) => (
                short_name(o).to_string(),
                value_text(o),
                o.flag,
                o.range.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
            ),
            (None, Some(r)) => (
                r["code"]["text"]
                    .as_str()
                    .or_else(|| r["code"]["coding"][0]["display"].as_str())
                    .unwrap_or("report")
                    .to_string(),
                r["conclusion"]
                    .as_str()
                    .unwrap_or("(see the report)")
                    .to_string(),
                Flag::Normal,
                String::new(),
            ),
            (None, None) => (
                "result".to_string(),
                "(result not returned: open the chart)".to_string(),
                Flag::Normal,
                String::new(),
            ),
        };
        let when = result
            .and_then(|r| {
                r["effectiveDateTime"]
                    .as_str()
                    .or_else(|| r["issued"].as_str())
            })
            .unwrap_or_default()
            .to_string();
        let code = result.and_then(code_key);
        let previous = code.as_ref().and_then(|code| {
            earlier
                .iter()
                .filter(|e| {
                    e["subject"]["reference"].as_str() == Some(&format!("Patient/{patient}"))
                        && code_key(e).as_ref() == Some(code)
                        && format!("Observation/{}", e["id"].as_str().unwrap_or_default()) != focus
                        && e["effectiveDateTime"].as_str().unwrap_or_default() < when.as_str()
                })
                .max_by(|a, b| {
                    a["effectiveDateTime"]
                        .as_str()
                        .cmp(&b["effectiveDateTime"].as_str())
                })
                .map(|e| {
                    let date: String = e["effectiveDateTime"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(10)
                        .collect();
                    (e, date)
                })
                .and_then(|(e, date)| Some((read_observation(e)?, date)))
                .map(|(p, date)| {
                    format!("{} {} {date}", value_text(&p), p.flag.marker())
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        });
        let item = Item {
            task_id: task_id.to_string(),
            version: task["meta"]["versionId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            task: task.clone(),
            focus: focus.to_string(),
            urgency: urgency(task, flag),
            name,
            value,
            flag: flag.marker().to_string(),
            range,
            when,
            previous,
            code,
        };
        match out.iter_mut().find(|g| g.patient_id == patient) {
            Some(g) => g.items.push(item),
            None => {
                let info = find(&format!("Patient/{patient}")).and_then(read_patient);
                out.push(Group {
                    patient_id: patient.to_string(),
                    name: info
                        .as_ref()
                        .map_or_else(|| "(patient not returned)".into(), |i| i.display_name()),
                    mrn: info.and_then(|i| i.mrn),
                    items: vec![item],
                });
            }
        }
    }
    for g in &mut out {
        g.items
            .sort_by(|a, b| a.urgency.cmp(&b.urgency).then(b.when.cmp(&a.when)));
    }
    out.sort_by(|a, b| {
        a.most_urgent()
            .cmp(&b.most_urgent())
            .then(a.name.cmp(&b.name))
    });
    out
}

/// The codes of `groups`' results, per patient: what the search for earlier values asks.
pub fn codes(groups: &[Group]) -> (Vec<String>, Vec<String>) {
    let mut patients: Vec<String> = groups.iter().map(|g| g.patient_id.clone()).collect();
    let mut codes: Vec<String> = groups
        .iter()
        .flat_map(|g| g.items.iter().filter_map(|i| i.code.clone()))
        .collect();
    patients.sort();
    patients.dedup();
    codes.sort();
    codes.dedup();
    (patients, codes)
}

/// The transaction that acknowledges `items` as `who` (a Reference) at `now`: each Task
/// completed on the version read, with who and when in its note.
pub fn acknowledgement(items: &[&Item], who: &Value, now: &str) -> Value {
    let entries: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut t = i.task.clone();
            if let Some(o) = t.as_object_mut() {
                o.remove("meta");
                o.insert("status".into(), json!("completed"));
                o.insert("lastModified".into(), json!(now));
                o.insert(
                    "executionPeriod".into(),
                    json!({"start": i.task["authoredOn"].clone(), "end": now}),
                );
                let by = who["display"].as_str().unwrap_or("the clinician");
                let mut notes = match o.remove("note") {
                    Some(Value::Array(n)) => n,
                    _ => Vec::new(),
                };
                let mut note = json!({"text": format!("Acknowledged by {by} at {now}")});
                if let Some(r) = who.get("reference") {
                    note["authorReference"] = json!({"reference": r});
                }
                notes.push(note);
                o.insert("note".into(), Value::Array(notes));
            }
            let mut request = json!({"method": "PUT", "url": format!("Task/{}", i.task_id)});
            if !i.version.is_empty() {
                request["ifMatch"] = json!(format!("W/\"{}\"", i.version));
            }
            json!({"resource": t, "request": request})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

#[cfg(test)]
mod tests;
