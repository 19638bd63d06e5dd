//! Merging two records of one patient, following FHIR `Patient/$merge`: every resource that
//! refers to the source patient is made to refer to the target, the source becomes inactive
//! with a `link` replaced-by the target, the target gets a `link` that replaces the source,
//! and one Provenance names every version written and the version each replaced, so the
//! merge can be undone while nothing it touched has changed since.
//!
//! Everything here runs inside one write transaction: the preview a merge is judged on is the
//! state it writes over.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::server::store::{Result as StoreResult, StoreError, Tx, Written};

/// The most resources one merge moves: more would hold the writer for too long; such a chart
/// is merged by the site's data team, in downtime.
pub const MAX_MOVES: usize = 50_000;

/// ISO 21089 record lifecycle events (the code system FHIR's Provenance.activity suggests).
pub const LIFECYCLE: &str = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";

/// One of the two patients, as the preview and the confirmation name it.
#[derive(Clone, Debug, PartialEq)]
pub struct Named {
    pub id: String,
    pub version: i64,
    pub name: String,
    pub birth: String,
    pub mrn: String,
    pub active: bool,
    pub restricted: bool,
    /// The patient this record was merged into, when it was.
    pub replaced_by: Option<String>,
}

impl Named {
    /// "SMITH, John (MRN 0001234, born 1950-01-02)".
    pub fn words(&self) -> String {
        format!(
            "{} (MRN {}, born {})",
            if self.name.is_empty() {
                "name not recorded"
            } else {
                &self.name
            },
            if self.mrn.is_empty() {
                "none"
            } else {
                &self.mrn
            },
            if self.birth.is_empty() {
                "unknown"
            } else {
                &self.birth
            },
        )
    }
}

/// A resource the merge rewrites: its type, id and the version it replaces.
#[derive(Clone, Debug, PartialEq)]
pub struct Moving {
    pub rtype: String,
    pub id: String,
    pub version: i64,
}

/// What a merge would do, and why it may not.
#[derive(Clone, Debug)]
pub struct Preview {
    pub source: Named,
    pub target: Named,
    pub moving: Vec<Moving>,
    /// How many of each type move.
    pub counts: BTreeMap<String, usize>,
    /// Active or on-hold orders (MedicationRequest, ServiceRequest) on each record.
    pub active_orders: (usize, usize),
    /// Why the merge cannot go ahead at all (empty: it may).
    pub refusals: Vec<String>,
}

impl Preview {
    /// Both records hold active orders: the merge needs a confirmation with a reason.
    pub fn needs_order_reason(&self) -> bool {
        self.active_orders.0 > 0 && self.active_orders.1 > 0
    }
}

/// The JSON and version of a current (not deleted) resource (`read_current`, with "not
/// there" and "deleted" as `None`).
pub fn current(conn: &Connection, rtype: &str, id: &str) -> StoreResult<Option<(i64, Value)>> {
    match crate::server::store::read_current(conn, rtype, id) {
        Ok(row) => Ok(Some((row.version, parse(&row.json)?))),
        Err(StoreError::NotFound(..) | StoreError::Gone(..)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One version's JSON (`None` when it does not exist or is a delete).
pub fn version(conn: &Connection, rtype: &str, id: &str, v: i64) -> StoreResult<Option<Value>> {
    let json: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT v.json FROM resource r JOIN version v ON v.rid = r.rid
             WHERE r.type = ?1 AND r.id = ?2 AND v.version = ?3",
        )?
        .query_row(params![rtype, id, v], |r| r.get(0))
        .optional()?;
    Ok(match json.flatten() {
        Some(json) => Some(parse(&json)?),
        None => None,
    })
}

/// The patient's name, birth date, MRN (of `mrn_system`) and state.
pub fn named(id: &str, version: i64, p: &Value, mrn_system: &str) -> Named {
    let name = p["name"]
        .as_array()
        .and_then(|names| {
            names
                .iter()
                .find(|n| n["use"] == "official")
                .or(names.first())
        })
        .map(|n| {
            let family = n["family"].as_str().unwrap_or_default().to_uppercase();
            let given: Vec<&str> = n["given"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match (family.is_empty(), given.is_empty()) {
                (false, false) => format!("{family}, {}", given.join(" ")),
                (false, true) => family,
                _ => given.join(" "),
            }
        })
        .unwrap_or_default();
    let mrn = p["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == mrn_system)
        .and_then(|i| i["value"].as_str())
        .unwrap_or_default()
        .to_string();
    let replaced_by = p["link"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["type"] == "replaced-by")
        .and_then(|l| l["other"]["reference"].as_str())
        .map(|r| r.trim_start_matches("Patient/").to_string());
    Named {
        id: id.to_string(),
        version,
        name: name.chars().filter(|c| !c.is_control()).collect(),
        birth: p["birthDate"].as_str().unwrap_or_default().to_string(),
        mrn,
        active: p["active"].as_bool() != Some(false),
        restricted: crate::fhir::is_restricted(p),
        replaced_by,
    }
}

/// The resources that refer to `patient` (its compartment, and any other reference to it),
/// current versions, in a stable order. Patients, Provenances and audit records are left
/// alone: they record what happened and who is who, they are not the chart.
pub fn referring(conn: &Connection, patient: &str) -> StoreResult<Vec<Moving>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.type, r.id, r.version FROM resource r WHERE r.deleted = 0 AND r.rid IN (
             SELECT rid FROM compartment WHERE patient_id = ?1
             UNION SELECT rid FROM idx_ref WHERE target_type = 'Patient' AND target_id = ?1)
         AND r.type NOT IN ('Patient', 'Provenance', 'AuditEvent')
         ORDER BY r.type, r.id",
    )?;
    let rows = stmt.query_map([patient], |r| {
        Ok(Moving {
            rtype: r.get(0)?,
            id: r.get(1)?,
            version: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Active or on-hold orders in a patient's compartment.
pub fn active_orders(conn: &Connection, patient: &str) -> StoreResult<usize> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.json FROM compartment c JOIN resource r ON r.rid = c.rid
         JOIN version v ON v.rid = r.rid AND v.version = r.version
         WHERE c.patient_id = ?1 AND r.deleted = 0
         AND r.type IN ('MedicationRequest', 'ServiceRequest')",
    )?;
    let mut n = 0;
    let mut rows = stmt.query([patient])?;
    while let Some(row) = rows.next()? {
        let json: Option<String> = row.get(0)?;
        let status = json
            .and_then(|j| serde_json::from_str::<Value>(&j).ok())
            .and_then(|v| v["status"].as_str().map(str::to_string));
        if matches!(status.as_deref(), Some("active" | "on-hold")) {
            n += 1;
        }
    }
    Ok(n)
}

fn not_found(_what: &str, id: &str) -> StoreError {
    StoreError::NotFound("Patient".into(), id.to_string())
}

fn parse(json: &str) -> StoreResult<Value> {
    serde_json::from_str(json)
        .map_err(|_| StoreError::invalid("a stored version could not be read as JSON"))
}

/// What merging `source` into `target` would do, read in the transaction (or snapshot) of
/// `conn`.
pub fn preview(
    conn: &Connection,
    source: &str,
    target: &str,
    mrn_system: &str,
) -> StoreResult<Preview> {
    let (sv, s) = current(conn, "Patient", source)?.ok_or_else(|| not_found("source", source))?;
    let (tv, t) = current(conn, "Patient", target)?.ok_or_else(|| not_found("target", target))?;
    let source_named = named(source, sv, &s, mrn_system);
    let target_named = named(target, tv, &t, mrn_system);
    let mut refusals = Vec::new();
    if source == target {
        refusals.push("the source and the target are the same record".to_string());
    }
    if let Some(into) = &source_named.replaced_by {
        refusals.push(format!("the source was already merged into Patient/{into}"));
    }
    if let Some(into) = &target_named.replaced_by {
        refusals.push(format!(
            "the target was itself merged into Patient/{into}: merge into that record"
        ));
    }
    if !target_named.active {
        refusals.push("the target record is inactive".to_string());
    }
    if source_named.restricted != target_named.restricted {
        refusals.push(
            "one record is restricted and the other is not: label both the same first, so the merge neither exposes nor hides a chart".to_string(),
        );
    }
    let moving = if refusals.is_empty() {
        referring(conn, source)?
    } else {
        Vec::new()
    };
    if moving.len() > MAX_MOVES {
        refusals.push(format!(
            "the source refers to {} resources, more than the {MAX_MOVES} one merge moves",
            moving.len()
        ));
    }
    let mut counts = BTreeMap::new();
    for m in &moving {
        *counts.entry(m.rtype.clone()).or_insert(0) += 1;
    }
    let active = (active_orders(conn, source)?, active_orders(conn, target)?);
    Ok(Preview {
        source: source_named,
        target: target_named,
        moving,
        counts,
        active_orders: active,
        refusals,
    })
}

/// Rewrites every reference to `Patient/from` (relative, absolute or versioned) in `value` to
/// `Patient/to`. Returns how many it changed.
pub fn repoint(value: &mut Value, from: &str, to: &str) -> usize {
    let relative = format!("Patient/{from}");
    let mut changed = 0;
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("reference") {
                let bare = reference.split("/_history/").next().unwrap_or_default();
                if bare == relative || bare.ends_with(&format!("/{relative}")) {
                    *reference = format!("Patient/{to}");
                    changed += 1;
                }
            }
            for (key, child) in map.iter_mut() {
                if key != "reference" {
                    changed += repoint(child, from, to);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed += repoint(item, from, to);
            }
        }
        _ => {}
    }
    changed
}

/// Who performed a merge or an undo, for its Provenance.
#[derive(Clone, Debug)]
pub struct Who {
    pub username: String,
    pub practitioner: Option<String>,
}

fn agent(who: &Who) -> Value {
    let mut whom = json!({"display": who.username});
    if let Some(p) = &who.practitioner {
        whom["reference"] = json!(p);
    }
    json!([{
        "type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
            "code": "author", "display": "Author"
        }]},
        "who": whom
    }])
}

/// What a merge wrote.
#[derive(Clone, Debug)]
pub struct Merged {
    pub preview: Preview,
    pub provenance: Written,
    pub written: Vec<Written>,
}

/// Merges `source` into `target` in `tx`. Refused (409) when the preview has refusals, and
/// when both records have active orders and no `orders_reason` is given.
pub fn apply(
    tx: &mut Tx,
    source: &str,
    target: &str,
    mrn_system: &str,
    reason: &str,
    orders_reason: Option<&str>,
    who: &Who,
) -> StoreResult<Merged> {
    let preview = preview(tx.conn(), source, target, mrn_system)?;
    if !preview.refusals.is_empty() {
        return Err(StoreError::Conflict(format!(
            "the merge was refused: {}",
            preview.refusals.join("; ")
        )));
    }
    if preview.needs_order_reason() && orders_reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(StoreError::Conflict(format!(
            "both records have active orders ({} on the source, {} on the target): review them, then confirm the merge with a reason (parameter active-orders-reason)",
            preview.active_orders.0, preview.active_orders.1
        )));
    }
    let mut written = Vec::with_capacity(preview.moving.len() + 2);
    let mut entities = Vec::with_capacity(preview.moving.len() + 2);
    for m in &preview.moving {
        let Some((version, mut body)) = current(tx.conn(), &m.rtype, &m.id)? else {
            continue;
        };
        repoint(&mut body, source, target);
        let w = tx.update(&m.rtype, &m.id, body, Some(&version.to_string()))?;
        entities.push(format!("{}/{}/_history/{version}", m.rtype, m.id));
        written.push(w);
    }
    // The source: inactive, replaced by the target.
    let (sv, mut s) =
        current(tx.conn(), "Patient", source)?.ok_or_else(|| not_found("source", source))?;
    s["active"] = json!(false);
    push_link(&mut s, target, "replaced-by");
    let ws = tx.update("Patient", source, s, Some(&sv.to_string()))?;
    entities.push(format!("Patient/{source}/_history/{sv}"));
    // The target: replaces the source.
    let (tv, mut t) =
        current(tx.conn(), "Patient", target)?.ok_or_else(|| not_found("target", target))?;
    push_link(&mut t, source, "replaces");
    let wt = tx.update("Patient", target, t, Some(&tv.to_string()))?;
    entities.push(format!("Patient/{target}/_history/{tv}"));
    written.push(ws);
    written.push(wt);
    let mut reasons = vec![json!({"text": reason})];
    if let Some(r) = orders_reason.filter(|_| preview.needs_order_reason()) {
        reasons.push(json!({"text": format!("both records had active orders: {r}")}));
    }
    let provenance = json!({
        "resourceType": "Provenance",
        "target": written.iter().map(|w| json!({"reference": format!("{}/{}/_history/{}", w.rtype, w.id, w.version)})).collect::<Vec<_>>(),
        "recorded": crate::fhir::date::instant(crate::fhir::date::now_ms()),
        "activity": {"coding": [{"system": LIFECYCLE, "code": "merge", "display": "Merge Record Lifecycle Event"}]},
        "reason": reasons,
        "agent": agent(who),
        "entity": entities.iter().map(|e| json!({"role": "revision", "what": {"reference": e}})).collect::<Vec<_>>(),
    });
    let provenance = tx.create(provenance, None)?;
    Ok(Merged {
        preview,
        provenance,
        written,
    })
}

fn push_link(patient: &mut Value, other: &str, kind: &str) {
    let link = json!({"other": {"reference": format!("Patient/{other}")}, "type": kind});
    match patient.get_mut("link").and_then(Value::as_array_mut) {
        Some(links) => links.push(link),
        None => patient["link"] = json!([link]),
    }
}

/// A reference `Type/id/_history/n` split.
fn versioned(reference: &str) -> Option<(&str, &str, i64)> {
    let (resource, v) = reference.split_once("/_history/")?;
    let (rtype, id) = resource.split_once('/')?;
    Some((rtype, id, v.parse().ok()?))
}

/// What an undo wrote.
#[derive(Clone, Debug)]
pub struct Undone {
    pub source: String,
    pub target: String,
    pub provenance: Written,
    pub written: Vec<Written>,
}

/// Undoes the merge recorded by `Provenance/provenance_id`: every version it wrote must still
/// be current (otherwise the undo is refused, naming what changed); each is written back as
/// the version it replaced.
pub fn undo(tx: &mut Tx, provenance_id: &str, reason: &str, who: &Who) -> StoreResult<Undone> {
    let (_, prov) = current(tx.conn(), "Provenance", provenance_id)?
        .ok_or_else(|| StoreError::NotFound("Provenance".into(), provenance_id.to_string()))?;
    let is_merge = prov["activity"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["system"] == LIFECYCLE && c["code"] == "merge");
    if !is_merge {
        return Err(StoreError::invalid(format!(
            "Provenance/{provenance_id} does not record a merge"
        )));
    }
    let targets: Vec<(String, String, i64)> = prov["target"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["reference"].as_str())
        .filter_map(versioned)
        .map(|(t, i, v)| (t.to_string(), i.to_string(), v))
        .collect();
    let before: Vec<(String, String, i64)> = prov["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["what"]["reference"].as_str())
        .filter_map(versioned)
        .map(|(t, i, v)| (t.to_string(), i.to_string(), v))
        .collect();
    if targets.is_empty() || targets.len() != before.len() {
        return Err(StoreError::invalid(format!(
            "Provenance/{provenance_id} does not name the versions a merge wrote and replaced"
        )));
    }
    let mut changed = Vec::new();
    for (rtype, id, v) in &targets {
        let now = tx
            .conn()
            .prepare_cached("SELECT version, deleted FROM resource WHERE type = ?1 AND id = ?2")?
            .query_row(params![rtype, id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
            })
            .optional()?;
        if now != Some((*v, false)) {
            changed.push(format!("{rtype}/{id}"));
        }
    }
    if !changed.is_empty() {
        let shown: Vec<&str> = changed.iter().take(10).map(String::as_str).collect();
        return Err(StoreError::Conflict(format!(
            "the merge cannot be undone: {} record(s) changed since it (or it was undone already): {}{}",
            changed.len(),
            shown.join(", "),
            if changed.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        )));
    }
    // The source is the record the merge made replaced-by the other.
    let patients: Vec<&str> = targets
        .iter()
        .filter(|(t, _, _)| t == "Patient")
        .map(|(_, id, _)| id.as_str())
        .collect();
    let (mut source, mut target) = (String::new(), String::new());
    for id in &patients {
        let Some((_, p)) = current(tx.conn(), "Patient", id)? else {
            continue;
        };
        let merged_into = named(id, 0, &p, "").replaced_by;
        match merged_into {
            Some(other) if patients.contains(&other.as_str()) => {
                source = id.to_string();
                target = other;
            }
            _ => {}
        }
    }
    let mut written = Vec::with_capacity(targets.len());
    for ((rtype, id, v), (brtype, bid, bv)) in targets.iter().zip(&before) {
        if (rtype, id) != (brtype, bid) {
            return Err(StoreError::invalid(format!(
                "Provenance/{provenance_id} pairs {rtype}/{id} with {brtype}/{bid}"
            )));
        }
        let Some(old) = version(tx.conn(), rtype, id, *bv)? else {
            return Err(StoreError::Conflict(format!(
                "the version {rtype}/{id}/_history/{bv} the merge replaced is not stored"
            )));
        };
        written.push(tx.update(rtype, id, old, Some(&v.to_string()))?);
    }
    let provenance = json!({
        "resourceType": "Provenance",
        "target": written.iter().map(|w| json!({"reference": format!("{}/{}/_history/{}", w.rtype, w.id, w.version)})).collect::<Vec<_>>(),
        "recorded": crate::fhir::date::instant(crate::fhir::date::now_ms()),
        "activity": {"coding": [{"system": LIFECYCLE, "code": "unmerge", "display": "Unmerge Record Lifecycle Event"}]},
        "reason": [{"text": reason}],
        "agent": agent(who),
        "entity": [{"role": "source", "what": {"reference": format!("Provenance/{provenance_id}")}}],
    });
    let provenance = tx.create(provenance, None)?;
    Ok(Undone {
        source,
        target,
        provenance,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_repointed_in_every_form() {
        let mut v = json!({
            "subject": {"reference": "Patient/a", "display": "A"},
            "performer": [{"reference": "Practitioner/a"}],
            "contained": [{"x": {"reference": "http://h/fhir/Patient/a"}}],
            "focus": {"reference": "Patient/a/_history/3"},
            "other": {"reference": "Patient/ab"},
        });
        assert_eq!(repoint(&mut v, "a", "b"), 3);
        assert_eq!(v["subject"]["reference"], "Patient/b");
        assert_eq!(v["performer"][0]["reference"], "Practitioner/a");
        assert_eq!(v["contained"][0]["x"]["reference"], "Patient/b");
        assert_eq!(v["focus"]["reference"], "Patient/b");
        assert_eq!(v["other"]["reference"], "Patient/ab");
    }

    #[test]
    fn a_patient_is_named_in_words() {
        let p = json!({"name": [{"family": "Smith", "given": ["Ann", "B"]}], "birthDate": "1950-01-02",
            "identifier": [{"system": "urn:mrn", "value": "0001"}],
            "link": [{"type": "replaced-by", "other": {"reference": "Patient/x"}}]});
        let n = named("p", 2, &p, "urn:mrn");
        assert_eq!(n.words(), "SMITH, Ann B (MRN 0001, born 1950-01-02)");
        assert_eq!(n.replaced_by.as_deref(), Some("x"));
        assert!(n.active);
    }
}
