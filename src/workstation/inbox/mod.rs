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
    /// When the Task was made (the result came in), as the server wrote it.
    pub authored: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// In the safety net: the clinician responsible (or that no one is); in my inbox, none.
    pub owner: Option<String>,
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
            authored: task["authoredOn"].as_str().unwrap_or_default().to_string(),
        };
        match out.iter_mut().find(|g| g.patient_id == patient) {
            Some(g) => g.items.push(item),
            None => {
                let info = find(&format!("Patient/{patient}")).and_then(read_patient);
                out.push(Group {
                    owner: None,
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

/// The safety net's search: the review Tasks still open that are `priority` (`stat`:
/// critical, `urgent`: abnormal) and were made before `before`, `owner`'s or everyone's,
/// with their results, patients and owners.
pub fn overdue_search(
    owner: Option<&str>,
    priority: &str,
    before: &str,
) -> Vec<(&'static str, String)> {
    let mut params = search(owner.unwrap_or_default());
    params.retain(|(k, _)| *k != "owner");
    if let Some(o) = owner {
        params.push(("owner", o.to_string()));
    }
    params.push(("priority", priority.to_string()));
    params.push(("authored-on", format!("lt{before}")));
    params.push(("_include", "Task:owner:Practitioner".to_string()));
    params.push(("_sort", "authored-on".to_string()));
    params
}

/// Which review Tasks to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxQuery {
    /// `owner`'s results waiting (my inbox).
    Mine(String),
    /// The safety net: critical results made before `critical_before`, abnormal ones before
    /// `abnormal_before`, still open; `owner`'s, or everyone's.
    Overdue {
        owner: Option<String>,
        critical_before: String,
        abnormal_before: String,
    },
}

/// How long a result may wait for review before the safety net lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    pub critical_ms: i64,
    pub abnormal_ms: i64,
}

impl Default for Overdue {
    fn default() -> Overdue {
        Overdue {
            critical_ms: 3_600_000,
            abnormal_ms: 3 * 86_400_000,
        }
    }
}

/// `9 h` or `3 d`: how long something has waited.
pub fn waited(ms: i64) -> String {
    let hours = ms.max(0) / 3_600_000;
    if hours < 48 {
        format!("{hours} h")
    } else {
        format!("{} d", hours / 24)
    }
}

/// The safety net: of `found` (open review Tasks with their results, patients and owners),
/// the critical ones waiting longer than `limits.critical_ms` and the abnormal ones longer
/// than `limits.abnormal_ms` at `now_ms` (judged here too, whatever the server matched),
/// grouped by the clinician responsible and then by patient; no one responsible first.
pub fn overdue(found: &[Value], now_ms: i64, limits: Overdue) -> Vec<Group> {
    let owner_name = |task: &Value| -> String {
        let Some(reference) = task["owner"]["reference"].as_str() else {
            return "NO ONE responsible".to_string();
        };
        let (rtype, id) = reference.split_once('/').unwrap_or(("", reference));
        found
            .iter()
            .find(|r| r["resourceType"] == rtype && r["id"] == id)
            .and_then(|p| {
                let n = &p["name"][0];
                n["text"].as_str().map(str::to_string).or_else(|| {
                    let family = n["family"].as_str()?;
                    let prefix = n["prefix"][0]
                        .as_str()
                        .map(|p| format!("{p} "))
                        .unwrap_or_default();
                    Some(format!("{prefix}{family}"))
                })
            })
            .or_else(|| task["owner"]["display"].as_str().map(str::to_string))
            .unwrap_or_else(|| reference.to_string())
    };
    let mut out: Vec<Group> = Vec::new();
    for task in found.iter().filter(|r| r["resourceType"] == "Task") {
        let owner = owner_name(task);
        // One task at a time through `groups`, so each keeps its own reading.
        let mut alone: Vec<Value> = vec![task.clone()];
        alone.extend(
            found
                .iter()
                .filter(|r| r["resourceType"] != "Task")
                .cloned(),
        );
        for mut g in groups(&alone, &[]) {
            g.items.retain(|i| {
                let Some(at) = crate::fhir::date::parse_range(&i.authored).map(|r| r.lo) else {
                    return false;
                };
                match i.urgency {
                    Urgency::Critical => now_ms - at > limits.critical_ms,
                    Urgency::Abnormal => now_ms - at > limits.abnormal_ms,
                    Urgency::Normal => false,
                }
            });
            if g.items.is_empty() {
                continue;
            }
            match out.iter_mut().find(|x| {
                x.patient_id == g.patient_id && x.owner.as_deref() == Some(owner.as_str())
            }) {
                Some(x) => x.items.append(&mut g.items),
                None => {
                    g.owner = Some(owner.clone());
                    out.push(g);
                }
            }
        }
    }
    for g in &mut out {
        g.items
            .sort_by(|a, b| a.urgency.cmp(&b.urgency).then(a.authored.cmp(&b.authored)));
    }
    out.sort_by(|a, b| {
        let nobody = |g: &Group| !g.owner.as_deref().is_some_and(|o| o.starts_with("NO ONE"));
        nobody(a)
            .cmp(&nobody(b))
            .then(a.owner.cmp(&b.owner))
            .then(a.most_urgent().cmp(&b.most_urgent()))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// The transaction that forwards `item` to `to` (a Reference with its display) with
/// `comment`, as `by` at `now`: the Task's owner changed on the version read, who forwarded
/// it, to whom and why in its note. It stays open: the colleague acknowledges it.
pub fn forward(item: &Item, to: &Value, by: &Value, comment: &str, now: &str) -> Value {
    let mut t = item.task.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("meta");
        o.insert("owner".into(), to.clone());
        o.insert("lastModified".into(), json!(now));
        let mut notes = match o.remove("note") {
            Some(Value::Array(n)) => n,
            _ => Vec::new(),
        };
        let from = by["display"].as_str().unwrap_or("a clinician");
        let whom = to["display"].as_str().unwrap_or("a colleague");
        let mut note = json!({"text": format!("Forwarded by {from} to {whom} at {now}: {comment}"), "time": now});
        if let Some(r) = by.get("reference") {
            note["authorReference"] = json!({"reference": r});
        }
        notes.push(note);
        o.insert("note".into(), Value::Array(notes));
    }
    let mut request = json!({"method": "PUT", "url": format!("Task/{}", item.task_id)});
    if !item.version.is_empty() {
        request["ifMatch"] = json!(format!("W/\"{}\"", item.version));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": t, "request": request}]})
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
