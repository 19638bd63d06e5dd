//! Writes: create, update, delete and upsert inside one SQLite transaction, keeping the version
//! history and the search indexes in step with the resource.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::{ParamIds, Result, StoreError};
use crate::fhir::date::{instant, now_ms};
use crate::fhir::extract::{Canonical, Extracted, IndexValue, Num, extract};
use crate::fhir::{is_supported, valid_id, with_meta};

/// A write inside an open transaction (the caller begins it, and commits or rolls it back).
pub struct Tx<'a> {
    tx: &'a Connection,
    pids: &'a ParamIds,
    now: i64,
    pending: PendingIndex,
    /// Index rows extracted ahead for the next write (`upsert_extracted`): type, id, rows.
    extracted: Option<(String, String, Extracted)>,
}

/// Index rows waiting to be written. They are written in key order when the transaction
/// commits or is about to search, so a bulk load touches each index page once per batch
/// instead of at random for every resource.
#[derive(Default)]
struct PendingIndex {
    /// (pid, value, rid, raw)
    strings: Vec<(i64, String, i64, String)>,
    /// (pid, code, system, rid, text)
    tokens: Vec<(i64, String, String, i64, String)>,
    /// (pid, lo, hi, rid)
    dates: Vec<(i64, i64, i64, i64)>,
    /// (pid, target_id, target_type, rid)
    refs: Vec<(i64, String, String, i64)>,
    /// (pid, lo, hi, system, code, rid, canonical)
    quantities: Vec<Quantity>,
    /// (pid, code1, system1, code2, system2, lo2, hi2, rid, canonical)
    composites: Vec<Composite>,
    /// (patient_id, rid)
    compartments: Vec<(String, i64)>,
    /// (patient_id, rid) of restricted Patients
    restricted: Vec<(String, i64)>,
}

type Quantity = (i64, Num, Num, String, String, i64, Option<Canonical>);

type Composite = (
    i64,
    String,
    String,
    String,
    String,
    Num,
    Num,
    i64,
    Option<Canonical>,
);

/// What a write did.
#[derive(Debug, Clone)]
pub struct Written {
    pub rtype: String,
    pub id: String,
    pub version: i64,
    pub updated: i64,
    /// The stored JSON; `None` for a delete.
    pub json: Option<String>,
    pub created: bool,
    /// An upsert found the same content already stored and wrote nothing.
    pub unchanged: bool,
}

struct Current {
    rid: i64,
    version: i64,
    deleted: bool,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(tx: &'a Connection, pids: &'a ParamIds) -> Self {
        Tx {
            tx,
            pids,
            now: now_ms(),
            pending: PendingIndex::default(),
            extracted: None,
        }
    }

    /// Stores audit records in this transaction: they commit with the write they describe,
    /// or not at all.
    pub fn record_audit(&mut self, rows: &[super::AuditRow]) -> Result<()> {
        super::trail::insert_rows(self.tx, rows, super::trail::PatientRows::Indexed)?;
        Ok(())
    }

    /// Writes the pending index rows, sorted by each table's key.
    pub(crate) fn flush_index(&mut self) -> Result<()> {
        let p = &mut self.pending;
        p.strings.sort_unstable();
        p.strings.dedup();
        p.tokens.sort_unstable();
        p.tokens.dedup();
        p.dates.sort_unstable();
        p.dates.dedup();
        p.refs.sort_unstable();
        p.refs.dedup();
        p.quantities.sort_unstable();
        p.quantities.dedup();
        p.composites.sort_unstable();
        p.composites.dedup();
        p.compartments.sort_unstable();
        p.compartments.dedup();
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_string (pid, value, rid, raw) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in p.strings.drain(..) {
            stmt.execute(params![row.0, row.1, row.2, row.3])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_token (pid, code, system, rid, text)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for row in p.tokens.drain(..) {
            let text = (!row.4.is_empty()).then_some(row.4);
            stmt.execute(params![row.0, row.1, row.2, row.3, text])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_date (pid, lo, hi, rid) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in p.dates.drain(..) {
            stmt.execute(params![row.0, row.1, row.2, row.3])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_ref (pid, target_id, target_type, rid) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in p.refs.drain(..) {
            stmt.execute(params![row.0, row.1, row.2, row.3])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_quantity (pid, lo, hi, system, code, rid, clo, chi, cunit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for row in p.quantities.drain(..) {
            let c = row.6.as_ref();
            stmt.execute(params![
                row.0,
                row.1.0,
                row.2.0,
                row.3,
                row.4,
                row.5,
                c.map(|c| c.lo.0),
                c.map(|c| c.hi.0),
                c.map(|c| &c.unit)
            ])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO idx_composite
             (pid, code1, system1, code2, system2, lo2, hi2, rid, clo2, chi2, cunit2)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for row in p.composites.drain(..) {
            let c = row.8.as_ref();
            stmt.execute(params![
                row.0,
                row.1,
                row.2,
                row.3,
                row.4,
                row.5.0,
                row.6.0,
                row.7,
                c.map(|c| c.lo.0),
                c.map(|c| c.hi.0),
                c.map(|c| &c.unit)
            ])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO compartment (patient_id, rid) VALUES (?1, ?2)",
        )?;
        for row in p.compartments.drain(..) {
            stmt.execute(params![row.0, row.1])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO restricted_patient (patient_id, rid) VALUES (?1, ?2)",
        )?;
        for row in p.restricted.drain(..) {
            stmt.execute(params![row.0, row.1])?;
        }
        Ok(())
    }

    /// The transaction's connection, for reads that must see this transaction's own writes.
    pub fn conn(&self) -> &rusqlite::Connection {
        self.tx
    }

    pub(crate) fn pids(&self) -> &ParamIds {
        self.pids
    }

    /// Creates a resource. With `id` given (seeding, imports) it must not exist yet.
    pub fn create(&mut self, resource: Value, id: Option<&str>) -> Result<Written> {
        let (rtype, body) = check_body(resource, None)?;
        let id = match id {
            Some(id) => {
                check_id(id)?;
                if self.current(&rtype, id)?.is_some() {
                    return Err(StoreError::Conflict(format!("{rtype}/{id} already exists")));
                }
                id.to_string()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        self.store(&rtype, &id, None, Some(body), "POST")
    }

    /// Updates (or creates, if it does not exist) `rtype/id`. `if_match` is the version the
    /// client last saw; a different current version is a conflict.
    pub fn update(
        &mut self,
        rtype: &str,
        id: &str,
        resource: Value,
        if_match: Option<&str>,
    ) -> Result<Written> {
        check_id(id)?;
        let (_, body) = check_body(resource, Some(rtype))?;
        if let Some(body_id) = body.get("id").and_then(Value::as_str) {
            if body_id != id {
                return Err(StoreError::invalid(format!(
                    "the resource's id '{body_id}' does not match the id '{id}' in the URL"
                )));
            }
        }
        let current = self.current(rtype, id)?;
        if let Some(expected) = if_match {
            let live_version = current.as_ref().filter(|c| !c.deleted).map(|c| c.version);
            if live_version.map(|v| v.to_string()).as_deref() != Some(expected) {
                return Err(StoreError::VersionConflict {
                    expected: expected.to_string(),
                    current: live_version.unwrap_or(0),
                });
            }
        }
        self.store(rtype, id, current, Some(body), "PUT")
    }

    /// Stores `resource` as `rtype/id` unless the same content is already current; used by
    /// imports so that loading the same file twice adds nothing.
    /// `upsert` with the resource's index rows already extracted (by a bulk load, on another
    /// thread than the writer's). They must be `extract(rtype, id, &resource)`.
    pub fn upsert_extracted(
        &mut self,
        rtype: &str,
        id: &str,
        resource: Value,
        extracted: Extracted,
    ) -> Result<Written> {
        self.extracted = Some((rtype.to_string(), id.to_string(), extracted));
        let written = self.upsert(rtype, id, resource);
        self.extracted = None;
        written
    }

    pub fn upsert(&mut self, rtype: &str, id: &str, resource: Value) -> Result<Written> {
        check_id(id)?;
        let (_, body) = check_body(resource, Some(rtype))?;
        let current = self.current(rtype, id)?;
        if let Some(cur) = current.as_ref().filter(|c| !c.deleted) {
            let stored: Option<String> = self
                .tx
                .prepare_cached("SELECT json FROM version WHERE rid = ?1 AND version = ?2")?
                .query_row(params![cur.rid, cur.version], |r| r.get(0))?;
            if let Some(stored) = stored {
                if same_content(&stored, &body) {
                    return Ok(Written {
                        rtype: rtype.to_string(),
                        id: id.to_string(),
                        version: cur.version,
                        updated: self.now,
                        json: Some(stored),
                        created: false,
                        unchanged: true,
                    });
                }
            }
        }
        let method = if current.is_some() { "PUT" } else { "POST" };
        self.store(rtype, id, current, Some(body), method)
    }

    /// Deletes `rtype/id`. Deleting what does not exist, or is already deleted, changes nothing.
    pub fn delete(&mut self, rtype: &str, id: &str) -> Result<Option<Written>> {
        if !is_supported(rtype) {
            return Err(StoreError::UnknownType(rtype.to_string()));
        }
        match self.current(rtype, id)? {
            Some(cur) if !cur.deleted => self.store(rtype, id, Some(cur), None, "DELETE").map(Some),
            _ => Ok(None),
        }
    }

    fn current(&self, rtype: &str, id: &str) -> Result<Option<Current>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT rid, version, deleted FROM resource WHERE type = ?1 AND id = ?2",
            )?
            .query_row(params![rtype, id], |r| {
                Ok(Current {
                    rid: r.get(0)?,
                    version: r.get(1)?,
                    deleted: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn store(
        &mut self,
        rtype: &str,
        id: &str,
        current: Option<Current>,
        body: Option<Map<String, Value>>,
        method: &str,
    ) -> Result<Written> {
        let version = current.as_ref().map_or(1, |c| c.version + 1);
        let created = current.as_ref().is_none_or(|c| c.deleted);
        let stored = body.map(|b| with_meta(b, id, version, &instant(self.now)));
        let json = stored
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| {
                StoreError::invalid(format!("the resource could not be serialised: {e}"))
            })?;
        let deleted = stored.is_none();
        let rid = match &current {
            Some(cur) => {
                self.tx
                    .prepare_cached(
                        "UPDATE resource SET version = ?2, updated = ?3, deleted = ?4 WHERE rid = ?1",
                    )?
                    .execute(params![cur.rid, version, self.now, deleted])?;
                self.unindex(cur.rid)?;
                cur.rid
            }
            None => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO resource (type, id, version, updated, deleted)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![rtype, id, version, self.now, deleted])?;
                self.tx.last_insert_rowid()
            }
        };
        self.tx
            .prepare_cached(
                "INSERT INTO version (rid, version, updated, method, json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![rid, version, self.now, method, json])?;
        if let Some(resource) = &stored {
            self.index(rid, rtype, id, resource)?;
        }
        Ok(Written {
            rtype: rtype.to_string(),
            id: id.to_string(),
            version,
            updated: self.now,
            json,
            created,
            unchanged: false,
        })
    }

    fn index(&mut self, rid: i64, rtype: &str, id: &str, resource: &Value) -> Result<()> {
        let extracted = match self.extracted.take() {
            Some((t, i, x)) if t == rtype && i == id => x,
            _ => extract(rtype, id, resource),
        };
        let p = &mut self.pending;
        for (param, value) in extracted.entries {
            let pid = self.pids.get(param);
            match value {
                IndexValue::String { value, raw } => p.strings.push((pid, value, rid, raw)),
                IndexValue::Token { system, code, text } => {
                    p.tokens.push((pid, code, system, rid, text))
                }
                IndexValue::Date { lo, hi } => p.dates.push((pid, lo, hi, rid)),
                IndexValue::Reference { rtype, id } => p.refs.push((pid, id, rtype, rid)),
                IndexValue::Quantity {
                    lo,
                    hi,
                    system,
                    code,
                    canon,
                } => p.quantities.push((pid, lo, hi, system, code, rid, canon)),
                IndexValue::Composite {
                    code1,
                    system1,
                    code2,
                    system2,
                    lo2,
                    hi2,
                    canon2,
                } => p
                    .composites
                    .push((pid, code1, system1, code2, system2, lo2, hi2, rid, canon2)),
            }
        }
        p.compartments.extend(
            extracted
                .compartments
                .into_iter()
                .map(|patient| (patient, rid)),
        );
        if rtype == "Patient" && crate::fhir::is_restricted(resource) {
            p.restricted.push((id.to_string(), rid));
        }
        Ok(())
    }

    /// Removes the index rows of the version being replaced.
    fn unindex(&mut self, rid: i64) -> Result<()> {
        // The rows to remove may still be pending (created earlier in this transaction).
        self.flush_index()?;
        for sql in [
            "DELETE FROM idx_string WHERE rid = ?1",
            "DELETE FROM idx_token WHERE rid = ?1",
            "DELETE FROM idx_date WHERE rid = ?1",
            "DELETE FROM idx_ref WHERE rid = ?1",
            "DELETE FROM idx_quantity WHERE rid = ?1",
            "DELETE FROM idx_composite WHERE rid = ?1",
            "DELETE FROM compartment WHERE rid = ?1",
            "DELETE FROM restricted_patient WHERE rid = ?1",
        ] {
            self.tx.prepare_cached(sql)?.execute([rid])?;
        }
        Ok(())
    }

    /// Rebuilds every search index from the stored resources.
    pub(crate) fn reindex_all(&mut self) -> Result<()> {
        self.tx.execute_batch(
            "DELETE FROM idx_string; DELETE FROM idx_token; DELETE FROM idx_date;
             DELETE FROM idx_ref; DELETE FROM idx_quantity; DELETE FROM idx_composite;
             DELETE FROM compartment; DELETE FROM restricted_patient;",
        )?;
        let rows: Vec<(i64, String, String, String)> = {
            let mut stmt = self.tx.prepare(
                "SELECT r.rid, r.type, r.id, v.json FROM resource r
                 JOIN version v ON v.rid = r.rid AND v.version = r.version
                 WHERE r.deleted = 0",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (rid, rtype, id, json) in rows {
            if let Ok(resource) = serde_json::from_str::<Value>(&json) {
                self.index(rid, &rtype, &id, &resource)?;
            }
        }
        Ok(())
    }
}

fn check_id(id: &str) -> Result<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(StoreError::invalid(format!(
            "'{id}' is not a valid FHIR id (1 to 64 letters, digits, '-' or '.')"
        )))
    }
}

/// Checks that a body is a JSON object of a supported type (matching `expected` when given).
fn check_body(resource: Value, expected: Option<&str>) -> Result<(String, Map<String, Value>)> {
    let Value::Object(body) = resource else {
        return Err(StoreError::invalid(
            "the body must be a JSON object (a FHIR resource)",
        ));
    };
    let Some(rtype) = body.get("resourceType").and_then(Value::as_str) else {
        return Err(StoreError::invalid("the resource has no 'resourceType'"));
    };
    if let Some(expected) = expected {
        if rtype != expected {
            return Err(StoreError::invalid(format!(
                "the resource is a {rtype} but the URL is for {expected}"
            )));
        }
    }
    if !is_supported(rtype) {
        return Err(StoreError::UnknownType(rtype.to_string()));
    }
    Ok((rtype.to_string(), body))
}

/// Equal apart from `meta.versionId` and `meta.lastUpdated`, which the store sets itself.
fn same_content(stored: &str, incoming: &Map<String, Value>) -> bool {
    let Ok(Value::Object(mut stored)) = serde_json::from_str::<Value>(stored) else {
        return false;
    };
    let mut incoming = incoming.clone();
    strip_meta(&mut stored);
    strip_meta(&mut incoming);
    stored.remove("id");
    incoming.remove("id");
    stored == incoming
}

/// Removes the server-managed parts of `meta` (and `meta` itself when nothing else is left).
pub fn strip_meta(resource: &mut Map<String, Value>) {
    if let Some(Value::Object(meta)) = resource.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            resource.remove("meta");
        }
    }
}
