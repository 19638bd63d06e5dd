//! The support desk's data, no UI: the server's answers (duplicate pairs, data quality, server
//! status, the access log, a resource's history) read into plain records, and every list as a
//! table that writes itself as CSV or NDJSON (for `bedside support ...` and the desk's
//! export). A malformed answer is an error naming what was wrong, never a partial list.

pub mod raw;

use serde_json::{Value, json};

/// A list as rows of text under named columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// RFC 4180 CSV with a header line.
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = w.write_record(&self.columns);
        for row in &self.rows {
            let _ = w.write_record(row);
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// One JSON object per line, keyed by column.
    pub fn ndjson(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            let obj: serde_json::Map<String, Value> = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.to_string(), json!(v)))
                .collect();
            out.push_str(&Value::Object(obj).to_string());
            out.push('\n');
        }
        out
    }
}

fn bad(what: &str) -> String {
    format!("the server's answer is not what was expected: {what}")
}

fn parameters(v: &Value) -> Result<&Vec<Value>, String> {
    if v["resourceType"] != "Parameters" {
        return Err(bad("not a Parameters resource"));
    }
    v["parameter"]
        .as_array()
        .ok_or_else(|| bad("no parameters"))
}

fn part<'a>(p: &'a Value, name: &str) -> Option<&'a Value> {
    p["part"].as_array()?.iter().find(|x| x["name"] == name)
}

fn parts<'a>(p: &'a Value, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    p["part"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |x| x["name"] == name)
}

/// A patient as the desk names it: id and "NAME (MRN, born)".
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Named {
    pub id: String,
    pub words: String,
}

fn named(reference: &Value) -> Result<Named, String> {
    let id = reference["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix("Patient/"))
        .ok_or_else(|| bad("a pair without its patients"))?;
    Ok(Named {
        id: id.to_string(),
        words: reference["display"].as_str().unwrap_or(id).to_string(),
    })
}

/// A pair of records that may be one person.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub a: Named,
    pub b: Named,
    pub score: f64,
    pub sure: bool,
    /// Each field's weight and why, strongest first.
    pub why: Vec<String>,
}

/// `Patient/$duplicates`: the total and this page's pairs.
pub fn duplicates(v: &Value) -> Result<(usize, Vec<Pair>), String> {
    let mut total = None;
    let mut out = Vec::new();
    for p in parameters(v)? {
        match p["name"].as_str() {
            Some("total") => total = p["valueInteger"].as_u64().map(|n| n as usize),
            Some("pair") => {
                let a = named(
                    &part(p, "patient").ok_or_else(|| bad("a pair without 'patient'"))?["valueReference"],
                )?;
                let b = named(
                    &part(p, "other").ok_or_else(|| bad("a pair without 'other'"))?["valueReference"],
                )?;
                let score = part(p, "score")
                    .and_then(|s| s["valueDecimal"].as_f64())
                    .ok_or_else(|| bad("a pair without its score"))?;
                let sure = part(p, "verdict").is_some_and(|s| s["valueCode"] == "sure");
                let why = parts(p, "field")
                    .filter_map(|f| f["valueString"].as_str().map(str::to_string))
                    .collect();
                out.push(Pair {
                    a,
                    b,
                    score,
                    sure,
                    why,
                });
            }
            _ => {}
        }
    }
    Ok((total.ok_or_else(|| bad("no total"))?, out))
}

pub fn duplicates_table(pairs: &[Pair]) -> Table {
    Table {
        columns: vec![
            "patient",
            "patient_name",
            "other",
            "other_name",
            "score",
            "verdict",
            "why",
        ],
        rows: pairs
            .iter()
            .map(|p| {
                vec![
                    p.a.id.clone(),
                    p.a.words.clone(),
                    p.b.id.clone(),
                    p.b.words.clone(),
                    format!("{:.1}", p.score),
                    if p.sure { "sure" } else { "review" }.to_string(),
                    p.why
                        .iter()
                        .map(|w| w.trim())
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
    }
}

/// What a merge would move (or moved): both patients, counts by type, active orders, why not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergePreview {
    pub source: Named,
    pub target: Named,
    pub moves: usize,
    pub counts: Vec<(String, usize)>,
    pub active_orders: (usize, usize),
    pub refused: Vec<String>,
    /// Both records have active orders: a reason is needed.
    pub needs_orders_reason: bool,
    /// After a merge: its Provenance (for undo) and the server's words.
    pub provenance: Option<String>,
    pub said: Option<String>,
}

pub fn merge_preview(v: &Value) -> Result<MergePreview, String> {
    let mut m = MergePreview::default();
    let mut seen = (false, false);
    for p in parameters(v)? {
        match p["name"].as_str() {
            Some("source") => {
                m.source = named(&p["valueReference"])?;
                seen.0 = true;
            }
            Some("target") => {
                m.target = named(&p["valueReference"])?;
                seen.1 = true;
            }
            Some("moves") => m.moves = p["valueInteger"].as_u64().unwrap_or(0) as usize,
            Some("moved") => {
                if let (Some(t), Some(n)) = (
                    part(p, "type").and_then(|t| t["valueCode"].as_str()),
                    part(p, "count").and_then(|n| n["valueInteger"].as_u64()),
                ) {
                    m.counts.push((t.to_string(), n as usize));
                }
            }
            Some("active-orders-source") => {
                m.active_orders.0 = p["valueInteger"].as_u64().unwrap_or(0) as usize
            }
            Some("active-orders-target") => {
                m.active_orders.1 = p["valueInteger"].as_u64().unwrap_or(0) as usize
            }
            Some("refused") => m
                .refused
                .extend(p["valueString"].as_str().map(str::to_string)),
            Some("needs") => m.needs_orders_reason = true,
            Some("provenance") => {
                m.provenance = p["valueReference"]["reference"]
                    .as_str()
                    .map(str::to_string)
            }
            Some("outcome") => {
                m.said = p["resource"]["issue"][0]["diagnostics"]
                    .as_str()
                    .map(str::to_string)
            }
            _ => {}
        }
    }
    if seen != (true, true) {
        return Err(bad("a merge answer that does not name both patients"));
    }
    Ok(m)
}

/// One kind of data-quality problem.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityKind {
    pub code: String,
    pub title: String,
    pub count: usize,
    /// (reference, what is wrong)
    pub records: Vec<(String, String)>,
}

pub fn quality(v: &Value) -> Result<Vec<QualityKind>, String> {
    parameters(v)?
        .iter()
        .filter(|p| p["name"] == "kind")
        .map(|k| {
            let text = |n: &str, key: &str| {
                part(k, n)
                    .and_then(|x| x[key].as_str())
                    .map(str::to_string)
                    .ok_or_else(|| bad("a data-quality kind without its name"))
            };
            Ok(QualityKind {
                code: text("code", "valueCode")?,
                title: text("title", "valueString")?,
                count: part(k, "count")
                    .and_then(|c| c["valueInteger"].as_u64())
                    .ok_or_else(|| bad("a data-quality kind without its count"))?
                    as usize,
                records: parts(k, "record")
                    .map(|r| {
                        (
                            part(r, "reference")
                                .and_then(|x| x["valueReference"]["reference"].as_str())
                                .unwrap_or_default()
                                .to_string(),
                            part(r, "detail")
                                .and_then(|x| x["valueString"].as_str())
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect(),
            })
        })
        .collect()
}

pub fn quality_table(kinds: &[QualityKind]) -> Table {
    Table {
        columns: vec!["kind", "record", "detail"],
        rows: kinds
            .iter()
            .flat_map(|k| {
                k.records
                    .iter()
                    .map(|(r, d)| vec![k.code.clone(), r.clone(), d.clone()])
            })
            .collect(),
    }
}

/// The server status as (name, value) lines, in the server's order.
pub fn status(v: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for p in parameters(v)? {
        let name = p["name"].as_str().unwrap_or_default();
        let value = |p: &Value| -> String {
            p.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.starts_with("value")))
                .map(|(_, v)| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default()
        };
        match name {
            "count" => out.push((
                format!("count {}", part(p, "type").map(value).unwrap_or_default()),
                part(p, "count").map(value).unwrap_or_default(),
            )),
            "file" => out.push((
                format!("bytes {}", part(p, "name").map(value).unwrap_or_default()),
                part(p, "bytes").map(value).unwrap_or_default(),
            )),
            "slow" => out.push((
                format!("slow {}", part(p, "route").map(value).unwrap_or_default()),
                format!(
                    "{} ms, status {}, at {}",
                    part(p, "ms").map(value).unwrap_or_default(),
                    part(p, "status").map(value).unwrap_or_default(),
                    part(p, "at").map(value).unwrap_or_default()
                ),
            )),
            _ => out.push((name.to_string(), value(p))),
        }
    }
    Ok(out)
}

pub fn status_table(lines: &[(String, String)]) -> Table {
    Table {
        columns: vec!["name", "value"],
        rows: lines
            .iter()
            .map(|(n, v)| vec![n.clone(), v.clone()])
            .collect(),
    }
}

/// One access, from an AuditEvent.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Access {
    pub when: String,
    pub user: String,
    pub role: String,
    pub action: String,
    pub outcome: String,
    pub patients: Vec<String>,
    pub records: Vec<String>,
    /// The reason given for emergency (break-the-glass) access.
    pub emergency: Option<String>,
    /// The reason given for a change.
    pub reason: Option<String>,
    pub address: String,
}

/// The accesses of an AuditEvent search Bundle page.
pub fn accesses(bundle: &Value) -> Result<Vec<Access>, String> {
    if bundle["resourceType"] != "Bundle" {
        return Err(bad("not a Bundle"));
    }
    Ok(bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| access(&e["resource"]))
        .collect())
}

pub fn access(e: &Value) -> Access {
    let agent = e["agent"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["requestor"] == true).or(a.first()))
        .cloned()
        .unwrap_or(Value::Null);
    let user = agent["altId"]
        .as_str()
        .or(agent["who"]["display"].as_str())
        .unwrap_or("?")
        .to_string();
    let role = agent["role"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["coding"].as_array().into_iter().flatten())
        .find_map(|c| {
            (c["system"] == "urn:bedside:role")
                .then(|| c["code"].as_str())
                .flatten()
        })
        .unwrap_or_default()
        .to_string();
    let mut patients = Vec::new();
    let mut records = Vec::new();
    for en in e["entity"].as_array().into_iter().flatten() {
        let what = en["what"]["reference"].as_str().unwrap_or_default();
        if en["role"]["code"] == "1" {
            if let Some(p) = what.strip_prefix("Patient/") {
                patients.push(p.to_string());
            }
        } else if en["role"]["code"] == "4" && !what.is_empty() {
            records.push(what.to_string());
        }
    }
    let purposes: Vec<&Value> = e["purposeOfEvent"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let emergency = purposes
        .iter()
        .find(|p| {
            p["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["code"] == "BTG")
        })
        .map(|p| p["text"].as_str().unwrap_or("emergency access").to_string());
    let reason = purposes
        .iter()
        .find(|p| {
            !p["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["code"] == "BTG")
        })
        .and_then(|p| p["text"].as_str().map(str::to_string));
    Access {
        when: e["recorded"].as_str().unwrap_or_default().to_string(),
        user,
        role,
        action: e["subtype"][0]["code"]
            .as_str()
            .or(e["subtype"][0]["display"].as_str())
            .unwrap_or_default()
            .to_string(),
        outcome: match e["outcome"].as_str() {
            Some("0") => "success".into(),
            Some("4") => "minor failure".into(),
            Some("8") => "serious failure".into(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        patients,
        records,
        emergency,
        reason,
        address: agent["network"]["address"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

pub fn access_table(rows: &[Access]) -> Table {
    Table {
        columns: vec![
            "time",
            "user",
            "role",
            "action",
            "outcome",
            "patients",
            "records",
            "emergency",
            "reason",
            "address",
        ],
        rows: rows
            .iter()
            .map(|a| {
                vec![
                    a.when.clone(),
                    a.user.clone(),
                    a.role.clone(),
                    a.action.clone(),
                    a.outcome.clone(),
                    a.patients.join(" "),
                    a.records.join(" "),
                    a.emergency.clone().unwrap_or_default(),
                    a.reason.clone().unwrap_or_default(),
                    a.address.clone(),
                ]
            })
            .collect(),
    }
}

/// A record of the chart as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Was {
    /// When the item happened, as the chart shows it ("" for a record not on the timeline).
    pub when: String,
    /// What kind of item (Result, Note, Medication...), or the record's type.
    pub what: String,
    /// The chart's line for it: flag and summary, as the timeline shows them then.
    pub summary: String,
    pub reference: String,
    pub version: i64,
    pub updated: String,
    pub status: String,
}

/// The chart as it was (`Patient/{id}/$as-of`), read by the chart's own parser: its timeline
/// (newest first), each line with the record and version it came from, then the records
/// that are not on the timeline.
pub fn as_of(bundle: &Value, patient: &str, zone: chrono::FixedOffset) -> Result<Vec<Was>, String> {
    if bundle["resourceType"] != "Bundle" {
        return Err("the server's answer is not a Bundle".into());
    }
    let resources: Vec<Value> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect();
    let mut records: Vec<Was> = resources
        .iter()
        .map(|r| Was {
            when: String::new(),
            what: r["resourceType"].as_str().unwrap_or("?").to_string(),
            summary: String::new(),
            reference: format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or("?"),
                r["id"].as_str().unwrap_or("?")
            ),
            version: r["meta"]["versionId"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            updated: r["meta"]["lastUpdated"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: r["status"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let mut chart = crate::workstation::chart::Chart::for_patient(patient);
    chart.add_page(resources);
    chart.finish();
    let mut out = Vec::new();
    for item in &chart.timeline {
        let Some(source) = chart.source_of(item.target) else {
            continue;
        };
        let Some(i) = records.iter().position(|w| w.reference == source) else {
            continue;
        };
        let mut w = records[i].clone();
        w.when = item.when.display(zone);
        w.what = item.kind.label().to_string();
        let marker = item.flag.marker();
        w.summary = if marker.is_empty() {
            item.summary.clone()
        } else {
            format!("{marker} {}", item.summary)
        };
        out.push(w);
    }
    let shown: std::collections::HashSet<String> =
        out.iter().map(|w| w.reference.clone()).collect();
    records.retain(|w| !shown.contains(&w.reference));
    records.sort_by(|a, b| a.reference.cmp(&b.reference));
    out.extend(records);
    Ok(out)
}

pub fn as_of_table(rows: &[Was]) -> Table {
    Table {
        columns: vec!["when", "what", "summary", "record", "version", "status"],
        rows: rows
            .iter()
            .map(|x| {
                vec![
                    x.when.clone(),
                    x.what.clone(),
                    x.summary.clone(),
                    x.reference.clone(),
                    x.version.to_string(),
                    x.status.clone(),
                ]
            })
            .collect(),
    }
}

/// A record's versions as a table: when, how, by whom, and which fields changed from the
/// version before. `writers` are (version, user) from the audit trail.
pub fn history_table(versions: &[raw::Version], writers: &[(String, String)]) -> Table {
    let mut rows = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let changed = match versions.get(i + 1) {
            Some(older) => raw::changes(older, v)
                .iter()
                .map(|c| c.path.clone())
                .collect::<Vec<_>>()
                .join("; "),
            None => "(first version)".into(),
        };
        let who = writers
            .iter()
            .find(|(n, _)| *n == v.version)
            .map(|(_, u)| u.clone())
            .unwrap_or_default();
        rows.push(vec![
            v.version.clone(),
            v.when.clone(),
            v.method.clone(),
            who,
            changed,
        ]);
    }
    Table {
        columns: vec!["version", "when", "method", "user", "changed"],
        rows,
    }
}

/// Who wrote each version of `reference` (`Type/id`), from an AuditEvent search Bundle.
pub fn writers(reference: &str, audit: &Value) -> Option<Vec<(String, String)>> {
    if audit["resourceType"] != "Bundle" {
        return None;
    }
    let mut out = Vec::new();
    for e in audit["entry"].as_array().into_iter().flatten() {
        let a = access(&e["resource"]);
        for r in &a.records {
            if let Some(version) = r.strip_prefix(&format!("{reference}/_history/")) {
                let who = if a.role.is_empty() {
                    a.user.clone()
                } else {
                    format!("{} ({})", a.user, a.role)
                };
                out.push((version.to_string(), who));
            }
        }
    }
    Some(out)
}

/// The interface's message log (`$hl7-messages`) as a table, newest first.
pub fn messages_table(v: &Value) -> Result<Table, String> {
    let mut rows = Vec::new();
    for m in parameters(v)?.iter().filter(|p| p["name"] == "message") {
        let text = |n: &str| -> String {
            part(m, n)
                .and_then(|x| {
                    x.as_object()?
                        .iter()
                        .find(|(k, _)| k.starts_with("value"))
                        .map(|(_, v)| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                })
                .unwrap_or_default()
        };
        let wrote: Vec<String> = parts(m, "wrote")
            .filter_map(|w| {
                w["valueReference"]["reference"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        rows.push(vec![
            text("seq"),
            text("received"),
            text("sender"),
            text("control-id"),
            text("type"),
            text("status"),
            text("ack"),
            text("error"),
            wrote.join(" "),
        ]);
    }
    Ok(Table {
        columns: vec![
            "seq",
            "received",
            "sender",
            "control_id",
            "type",
            "status",
            "ack",
            "error",
            "wrote",
        ],
        rows,
    })
}

/// The parameters of a `Patient/$merge`.
pub fn merge_parameters(
    source: &str,
    target: &str,
    preview: bool,
    reason: Option<&str>,
    orders_reason: Option<&str>,
) -> Value {
    let mut p = vec![
        json!({"name": "source-patient", "valueReference": {"reference": format!("Patient/{source}")}}),
        json!({"name": "target-patient", "valueReference": {"reference": format!("Patient/{target}")}}),
    ];
    if preview {
        p.push(json!({"name": "preview", "valueBoolean": true}));
    }
    if let Some(r) = reason {
        p.push(json!({"name": "reason", "valueString": r}));
    }
    if let Some(r) = orders_reason {
        p.push(json!({"name": "active-orders-reason", "valueString": r}));
    }
    json!({"resourceType": "Parameters", "parameter": p})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_ndjson_is_one_object_a_line() {
        let t = Table {
            columns: vec!["a", "b"],
            rows: vec![
                vec!["x, y".into(), "say \"hi\"".into()],
                vec!["1".into(), "line\nbreak".into()],
            ],
        };
        assert_eq!(
            t.csv(),
            "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n1,\"line\nbreak\"\n"
        );
        let lines: Vec<Value> = t
            .ndjson()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["b"], "say \"hi\"");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn malformed_answers_are_errors_not_empty_lists() {
        assert!(duplicates(&json!({"resourceType": "Bundle"})).is_err());
        assert!(duplicates(&json!({"resourceType": "Parameters", "parameter": []})).is_err());
        let no_patients = json!({"resourceType": "Parameters", "parameter": [
            {"name": "total", "valueInteger": 1},
            {"name": "pair", "part": [{"name": "score", "valueDecimal": 20.0}]}]});
        assert!(duplicates(&no_patients).is_err());
        assert!(
            quality(
                &json!({"resourceType": "Parameters", "parameter": [{"name": "kind", "part": []}]})
            )
            .is_err()
        );
        assert!(merge_preview(&json!({"resourceType": "Parameters", "parameter": []})).is_err());
        assert!(accesses(&json!({"resourceType": "OperationOutcome"})).is_err());
    }
}
