//! Reads: the current version, a past version, history, and a patient's whole chart.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Reader, Result, StoreError};
use crate::fhir::is_supported;

/// A stored resource as served: its type, id and exact JSON.
#[derive(Debug, Clone)]
pub struct Row {
    pub rtype: String,
    pub id: String,
    pub version: i64,
    pub updated: i64,
    pub json: String,
    /// The patients whose compartments hold it, as the index has them (listings only; `None`
    /// where not read): lets the gate judge a listed row without parsing its JSON.
    pub patients: Option<Vec<String>>,
}

/// One version in a history listing; `json` is `None` for a delete.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub rtype: String,
    pub id: String,
    pub version: i64,
    pub updated: i64,
    pub method: String,
    pub json: Option<String>,
}

/// Which history to list.
pub enum HistoryScope<'a> {
    Instance(&'a str, &'a str),
    Type(&'a str),
    /// Every type in the list (the types the reader may see).
    System(&'a [&'a str]),
}

/// A page of a listing: the rows and whether more follow.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
    pub total: Option<i64>,
}

pub(crate) fn read_current(conn: &Connection, rtype: &str, id: &str) -> Result<Row> {
    if !is_supported(rtype) {
        return Err(StoreError::UnknownType(rtype.to_string()));
    }
    let found = conn
        .prepare_cached(
            "SELECT r.version, r.updated, v.json FROM resource r
             JOIN version v ON v.rid = r.rid AND v.version = r.version
             WHERE r.type = ?1 AND r.id = ?2",
        )?
        .query_row(params![rtype, id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    match found {
        None => Err(StoreError::NotFound(rtype.to_string(), id.to_string())),
        Some((_, _, None)) => Err(StoreError::Gone(rtype.to_string(), id.to_string())),
        Some((version, updated, Some(json))) => Ok(Row {
            rtype: rtype.to_string(),
            id: id.to_string(),
            version,
            updated,
            json,
            patients: None,
        }),
    }
}

impl super::Tx<'_> {
    /// The current version as this transaction sees it.
    pub fn read(&self, rtype: &str, id: &str) -> Result<Row> {
        read_current(self.conn(), rtype, id)
    }
}

/// Which resources a bulk export takes.
#[derive(Debug, Clone)]
pub enum Within {
    /// Every resource of the type (system-level export).
    All,
    /// Those in any patient's compartment (Patient-level export).
    AnyPatient,
    /// Those in the compartments of these patients (Group-level export).
    Patients(Vec<String>),
}

impl Reader {
    /// One page of a bulk export: up to `limit` current resources of `rtype` after the row id
    /// `after`, in row-id order, changed since `since_ms` if given, with their row ids.
    pub fn export_page(
        &self,
        rtype: &str,
        within: &Within,
        since_ms: Option<i64>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, Row)>> {
        if !is_supported(rtype) {
            return Err(StoreError::UnknownType(rtype.to_string()));
        }
        let mut args: Vec<rusqlite::types::Value> = vec![
            rtype.to_string().into(),
            after.into(),
            since_ms.unwrap_or(i64::MIN).into(),
        ];
        let within_sql = match within {
            Within::All => String::new(),
            Within::AnyPatient => " AND r.rid IN (SELECT rid FROM compartment)".to_string(),
            Within::Patients(ids) => {
                let marks = vec!["?"; ids.len()].join(",");
                args.extend(ids.iter().cloned().map(Into::into));
                format!(" AND r.rid IN (SELECT rid FROM compartment WHERE patient_id IN ({marks}))")
            }
        };
        let sql = format!(
            "SELECT r.rid FROM resource r WHERE r.type = ?1 AND r.rid > ?2 AND r.updated >= ?3
             AND r.deleted = 0{within_sql} ORDER BY r.rid LIMIT {limit}"
        );
        let rids: Vec<i64> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let rows = fetch(&self.conn, &rids)?;
        Ok(rids.into_iter().zip(rows).collect())
    }

    pub fn read(&self, rtype: &str, id: &str) -> Result<Row> {
        read_current(&self.conn, rtype, id)
    }

    /// Whether the current version of Patient `id` carries a restriction label (R or V); a
    /// patient not stored, or deleted, is not restricted.
    pub fn is_restricted_patient(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM restricted_patient WHERE patient_id = ?1")?
            .exists([id])?)
    }

    pub fn vread(&self, rtype: &str, id: &str, version: &str) -> Result<Row> {
        if !is_supported(rtype) {
            return Err(StoreError::UnknownType(rtype.to_string()));
        }
        let not_found =
            || StoreError::NotFound(rtype.to_string(), format!("{id}/_history/{version}"));
        let version: i64 = version.parse().map_err(|_| not_found())?;
        let found = self
            .conn
            .prepare_cached(
                "SELECT v.updated, v.json FROM resource r
                 JOIN version v ON v.rid = r.rid AND v.version = ?3
                 WHERE r.type = ?1 AND r.id = ?2",
            )?
            .query_row(params![rtype, id, version], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .optional()?;
        match found {
            None => Err(not_found()),
            Some((_, None)) => Err(StoreError::Gone(
                rtype.to_string(),
                format!("{id}/_history/{version}"),
            )),
            Some((updated, Some(json))) => Ok(Row {
                rtype: rtype.to_string(),
                id: id.to_string(),
                version,
                updated,
                json,
                patients: None,
            }),
        }
    }

    /// A patient's chart as it was at `at_ms`, rebuilt from history: of every resource that is
    /// or was in the compartment of this patient (or of a record merged with it), the version
    /// current at that moment, when that version existed, was not a delete and named this
    /// patient. The Patient first, then the others in the order written. At most `limit`.
    pub fn as_of(&self, patient_id: &str, at_ms: i64, limit: usize) -> Result<Vec<Row>> {
        let _snapshot = self.conn.unchecked_transaction()?;
        read_exists(&self.conn, "Patient", patient_id)?;
        // This record and those linked to it by a merge.
        let mut patients = vec![patient_id.to_string()];
        if let Ok(row) = read_current(&self.conn, "Patient", patient_id) {
            if let Ok(p) = serde_json::from_str::<serde_json::Value>(&row.json) {
                for l in p["link"].as_array().into_iter().flatten() {
                    if let Some(other) = l["other"]["reference"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("Patient/"))
                    {
                        patients.push(other.to_string());
                    }
                }
            }
        }
        let mut rids: Vec<i64> = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rid FROM compartment WHERE patient_id = ?1")?;
        for p in &patients {
            let found = stmt.query_map([p], |r| r.get::<_, i64>(0))?;
            for rid in found {
                rids.push(rid?);
            }
        }
        // Deleted resources have no index rows: their last version says whose they were.
        let named = format!("\"Patient/{patient_id}\"");
        let mut deleted = self.conn.prepare_cached(
            "SELECT r.rid FROM resource r WHERE r.deleted = 1 AND EXISTS (
                 SELECT 1 FROM version v WHERE v.rid = r.rid AND v.json IS NOT NULL
                 AND instr(v.json, ?1) > 0)",
        )?;
        for rid in deleted.query_map([&named], |r| r.get::<_, i64>(0))? {
            rids.push(rid?);
        }
        rids.sort_unstable();
        rids.dedup();
        if rids.len() > limit * 4 {
            return Err(StoreError::TooCostly(format!(
                "this chart has {} records over its history, more than can be rebuilt at once",
                rids.len()
            )));
        }
        let mut at = self.conn.prepare_cached(
            "SELECT r.type, r.id, v.version, v.updated, v.json FROM resource r
             JOIN version v ON v.rid = r.rid WHERE r.rid = ?1 AND v.updated <= ?2
             ORDER BY v.version DESC LIMIT 1",
        )?;
        let mut out: Vec<(i64, Row)> = Vec::new();
        for rid in rids {
            let row = at
                .query_row(params![rid, at_ms], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .optional()?;
            let Some((rtype, id, version, updated, Some(json))) = row else {
                continue;
            };
            let mine = if rtype == "Patient" {
                id == patient_id
            } else {
                json.contains(&named)
            };
            if !mine || rtype == "AuditEvent" {
                continue;
            }
            let order = if rtype == "Patient" {
                i64::MIN
            } else {
                updated
            };
            out.push((
                order,
                Row {
                    patients: (rtype != "Patient").then(|| vec![patient_id.to_string()]),
                    rtype,
                    id,
                    version,
                    updated,
                    json,
                },
            ));
            if out.len() > limit {
                return Err(StoreError::TooCostly(format!(
                    "the chart as it was holds more than {limit} records; ask for a narrower moment"
                )));
            }
        }
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, row)| row).collect())
    }

    /// Versions newest first, from `offset`, at most `count`, optionally only since `since_ms`.
    pub fn history(
        &self,
        scope: HistoryScope,
        since_ms: Option<i64>,
        offset: i64,
        count: i64,
    ) -> Result<Page<HistoryEntry>> {
        let since = since_ms.unwrap_or(i64::MIN);
        let _snapshot = self.conn.unchecked_transaction()?;
        let (filter, rtype, id) = match scope {
            HistoryScope::Instance(rtype, id) => {
                if !is_supported(rtype) {
                    return Err(StoreError::UnknownType(rtype.to_string()));
                }
                read_exists(&self.conn, rtype, id)?;
                ("r.type = ?1 AND r.id = ?2".to_string(), rtype, id)
            }
            HistoryScope::Type(rtype) => {
                if !is_supported(rtype) {
                    return Err(StoreError::UnknownType(rtype.to_string()));
                }
                ("r.type = ?1 AND ?2 = ?2".to_string(), rtype, "")
            }
            HistoryScope::System(types) => {
                // Only names from the type registry reach the SQL text.
                let listed: Vec<String> = types
                    .iter()
                    .filter(|t| is_supported(t))
                    .map(|t| format!("'{t}'"))
                    .collect();
                let filter = format!(
                    "?1 = ?1 AND ?2 = ?2 AND r.type IN ({})",
                    if listed.is_empty() {
                        "NULL".to_string()
                    } else {
                        listed.join(",")
                    }
                );
                (filter, "", "")
            }
        };
        let sql = format!(
            "SELECT r.type, r.id, v.version, v.updated, v.method, v.json FROM version v
             JOIN resource r ON r.rid = v.rid
             WHERE {filter} AND v.updated >= ?3
             ORDER BY v.updated DESC, v.vid DESC LIMIT ?4 OFFSET ?5"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows: Vec<HistoryEntry> = stmt
            .query_map(params![rtype, id, since, count + 1, offset], |r| {
                Ok(HistoryEntry {
                    rtype: r.get(0)?,
                    id: r.get(1)?,
                    version: r.get(2)?,
                    updated: r.get(3)?,
                    method: r.get(4)?,
                    json: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let has_next = rows.len() as i64 > count;
        rows.truncate(count as usize);
        let total = if !has_next {
            Some(offset + rows.len() as i64)
        } else {
            let count_sql = format!(
                "SELECT COUNT(*) FROM version v JOIN resource r ON r.rid = v.rid
                 WHERE {filter} AND v.updated >= ?3"
            );
            Some(
                self.conn
                    .query_row(&count_sql, params![rtype, id, since], |r| r.get(0))?,
            )
        };
        Ok(Page {
            rows,
            has_next,
            total,
        })
    }

    /// A patient's chart: the Patient, every resource in its compartment, and the resources
    /// those reference (practitioners, locations...). Audit events are left out unless
    /// `types` asks for them: they record access to the chart, they are not part of it.
    ///
    /// The members are listed as row ids first (one index range scan), ordered and counted
    /// here, and only the requested page's JSON is read.
    pub fn everything(
        &self,
        patient_id: &str,
        types: &[String],
        since_ms: Option<i64>,
        offset: i64,
        count: i64,
    ) -> Result<Page<Row>> {
        // One read transaction: one snapshot for the count and the page, and one lock.
        let _snapshot = self.conn.unchecked_transaction()?;
        read_current(&self.conn, "Patient", patient_id)?;
        // The listing is cached under the database's write generation, read in this snapshot:
        // any write since makes the next lookup a miss, never a stale page.
        let generation: i64 = self.conn.query_row(
            "SELECT CAST(value AS INTEGER) FROM store_info WHERE key = 'generation'",
            [],
            |r| r.get(0),
        )?;
        if let Some(t) = types.iter().find(|t| !is_supported(t)) {
            return Err(StoreError::UnknownType(t.clone()));
        }
        let key = format!("{patient_id}|{}|{since_ms:?}", types.join(","));
        let all = match self.store.cached_listing(&key, generation) {
            Some(all) => all,
            None => {
                let all =
                    std::sync::Arc::new(self.everything_listing(patient_id, types, since_ms)?);
                self.store.cache_listing(key, generation, all.clone());
                all
            }
        };
        let total = all.len() as i64;
        let start = (offset.max(0) as usize).min(all.len());
        let end = (start + count.max(0) as usize).min(all.len());
        // 3. The page's JSON.
        let rows = fetch(&self.conn, &all[start..end])?;
        Ok(Page {
            rows,
            has_next: (end as i64) < total,
            total: Some(total),
        })
    }

    /// The row ids of a patient's `$everything`: the Patient, its compartment, then what the
    /// compartment references.
    fn everything_listing(
        &self,
        patient_id: &str,
        types: &[String],
        since_ms: Option<i64>,
    ) -> Result<Vec<i64>> {
        let since = since_ms.unwrap_or(i64::MIN);
        let wanted = |rtype: &str, updated: i64| {
            updated >= since
                && if types.is_empty() {
                    rtype != "AuditEvent"
                } else {
                    types.iter().any(|t| t == rtype)
                }
        };
        // 1. The compartment: the Patient first, then its resources in the order written.
        let mut patient_rows = Vec::new();
        let mut members = Vec::new();
        let mut in_compartment = std::collections::HashSet::new();
        let compartment_sql = "SELECT c.rid, r.type, r.updated FROM compartment c
             JOIN resource r ON r.rid = c.rid WHERE c.patient_id = ?1 AND r.deleted = 0";
        for (rid, rtype, updated) in listed(&self.conn, compartment_sql, patient_id)? {
            in_compartment.insert(rid);
            if wanted(&rtype, updated) {
                if rtype == "Patient" {
                    patient_rows.push(rid)
                } else {
                    members.push(rid)
                }
            }
        }
        members.sort_unstable();
        // 2. What the compartment references and is not itself in it: practitioners, places,
        // medications. Another patient's records are never part of this chart, even when one
        // of its records points at them (a merge's Provenance, a misfiled document's).
        // Distinct targets first: a large chart has tens of thousands of references to a few
        // hundred resources.
        let referenced_sql = "SELECT t.rid, t.type, t.updated FROM (
                 SELECT DISTINCT x.target_type AS tt, x.target_id AS ti FROM compartment c
                 JOIN idx_ref x ON x.rid = c.rid
                 WHERE c.patient_id = ?1 AND x.target_type != 'Patient') d
             JOIN resource t ON t.type = d.tt AND t.id = d.ti WHERE t.deleted = 0
             AND NOT EXISTS (SELECT 1 FROM compartment o WHERE o.rid = t.rid)";
        let mut referenced: Vec<i64> = listed(&self.conn, referenced_sql, patient_id)?
            .into_iter()
            .filter(|(rid, rtype, updated)| {
                !in_compartment.contains(rid) && wanted(rtype, *updated)
            })
            .map(|(rid, _, _)| rid)
            .collect();
        referenced.sort_unstable();
        let all: Vec<i64> = patient_rows
            .into_iter()
            .chain(members)
            .chain(referenced)
            .collect();
        Ok(all)
    }
}

/// (rid, type, updated) rows of a member listing for one patient.
fn listed(conn: &Connection, sql: &str, patient_id: &str) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([patient_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn read_exists(conn: &Connection, rtype: &str, id: &str) -> Result<()> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT rid FROM resource WHERE type = ?1 AND id = ?2")?
        .query_row(params![rtype, id], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(rtype.to_string(), id.to_string()))
}

/// The stored JSON of the given row ids, in that order, each with the patients whose
/// compartments hold it.
pub(crate) fn fetch(conn: &Connection, rids: &[i64]) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.type, r.id, r.version, r.updated, v.json,
                CASE WHEN r.type = 'Patient' THEN NULL ELSE
                (SELECT group_concat(c.patient_id, char(31)) FROM compartment c WHERE c.rid = r.rid)
                END
         FROM resource r
         JOIN version v ON v.rid = r.rid AND v.version = r.version WHERE r.rid = ?1",
    )?;
    let mut out = Vec::with_capacity(rids.len());
    for rid in rids {
        out.push(stmt.query_row([rid], |r| {
            let rtype: String = r.get(0)?;
            // A Patient is judged by its own id (the gate does not ask).
            let patients: Option<String> = r.get(5)?;
            let patients = (rtype != "Patient").then(|| {
                patients
                    .map(|p| p.split('\u{1f}').map(str::to_string).collect())
                    .unwrap_or_default()
            });
            Ok(Row {
                rtype,
                id: r.get(1)?,
                version: r.get(2)?,
                updated: r.get(3)?,
                json: r.get(4)?,
                patients,
            })
        })?);
    }
    Ok(out)
}
