//! Batch and transaction Bundles. A transaction is one SQLite transaction: every entry is
//! applied or none is, and `urn:uuid:` references between its entries are resolved to the ids
//! the server assigns.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::access::{AuditNote, EntryAudit, Gate};
use super::bundle::{self, Bundle, Entry, EntryResponse, raw};
use super::interact::{self, Created};
use super::response::ApiError;
use crate::fhir::IssueCode;
use crate::fhir::date::instant;
use crate::fhir::rewrite_references;
use crate::server::audit::Subtype;
use crate::server::store::{Lookup, Row, Store, Tx, Written};

mod batch;
mod entry;

use batch::batch;
use entry::{Method, Op, parse_entry};

/// The largest number of entries one Bundle may hold.
pub const MAX_ENTRIES: usize = 5000;

/// Processes a batch or transaction Bundle, every entry through `gate` as if it had come on its
/// own, and returns the response Bundle's JSON. `gate.note.entries` gets one audit record per
/// entry processed.
pub fn process_bundle(
    store: &Store,
    gate: &mut Gate,
    bundle: Value,
    base: &str,
) -> Result<String, ApiError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ApiError::bad_request(
            "POST /fhir takes a Bundle of type batch or transaction",
        ));
    }
    let kind = bundle
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let entries = match bundle {
        Value::Object(mut b) => match b.remove("entry") {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ApiError::bad_request("Bundle.entry must be an array")),
        },
        _ => Vec::new(),
    };
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::TooCostly,
            format!(
                "the Bundle has {} entries; this server accepts at most {MAX_ENTRIES} in one batch or transaction",
                entries.len()
            ),
        ));
    }
    match kind.as_str() {
        "transaction" => {
            let ops = entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| parse_entry(i, e, base))
                .collect::<Result<Vec<_>, _>>()?;
            transaction(store, gate, ops, base)
        }
        "batch" => Ok(batch(store, gate, entries, base)),
        other => Err(ApiError::bad_request(format!(
            "a Bundle of type '{other}' cannot be processed; POST a batch or transaction (use `bedside import` for collections)"
        ))),
    }
}

/// Runs `f` for one entry with a fresh audit note, and files that note as the entry's record.
fn audited_entry<T>(
    gate: &mut Gate,
    op: &Op,
    f: impl FnOnce(&mut Gate) -> Result<T, ApiError>,
    status_of: impl Fn(&T) -> u16,
) -> Result<T, ApiError> {
    let outer = std::mem::take(&mut gate.note);
    let result = f(gate);
    let note = std::mem::replace(&mut gate.note, outer);
    let (status, description, mut patients) = match &result {
        Ok(value) => (status_of(value), None, Vec::new()),
        Err(e) => (
            e.status.as_u16(),
            Some(e.status.canonical_reason().unwrap_or("failed").to_string()),
            e.patients.clone(),
        ),
    };
    for p in &note.patients {
        if !patients.contains(p) {
            patients.push(p.clone());
        }
    }
    let subtype = match op.method {
        Method::Get if op.id.is_none() => Subtype::Search,
        Method::Get if op.version.is_some() => Subtype::Vread,
        Method::Get => Subtype::Read,
        Method::Post => Subtype::Create,
        Method::Put => Subtype::Update,
        Method::Delete => Subtype::Delete,
    };
    let resources = if note.resources.is_empty() {
        op.id
            .as_ref()
            .map(|id| format!("{}/{id}", op.rtype))
            .into_iter()
            .collect()
    } else {
        note.resources.clone()
    };
    gate.note.entries.push(EntryAudit {
        index: op.index,
        subtype,
        status,
        patients: patients.clone(),
        resources,
        query: op.query.as_ref().map(|q| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(q)
                .finish()
        }),
        emergency: note.emergency.clone(),
        description,
        in_write: false,
    });
    // The request's own record names every entry's patients too.
    gate.note.merge(AuditNote {
        patients,
        emergency: note.emergency,
        label_changes: note.label_changes,
        ..AuditNote::default()
    });
    result
}

fn transaction(
    store: &Store,
    gate: &mut Gate,
    mut ops: Vec<Op>,
    base: &str,
) -> Result<String, ApiError> {
    let count = ops.len();
    ops.sort_by_key(|op| (op.method, op.index));
    let mut responses: Vec<Option<Entry>> = (0..count).map(|_| None).collect();
    store
        .write_with(|tx| {
            // Give every POST its id first (or find the match of its If-None-Exist), so that
            // references to it can be rewritten before anything is written.
            let mut ids: HashMap<usize, String> = HashMap::new();
            let mut map: HashMap<String, String> = HashMap::new();
            for op in ops.iter().filter(|op| op.method == Method::Post) {
                let matched = match (&op.if_none_exist, &op.resource) {
                    (Some(cond), Some(resource)) => {
                        interact::matched_id(gate, tx, &op.rtype, resource, cond)
                            .map_err(|e| tagged(op, e))?
                    }
                    _ => None,
                };
                let id = matched.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                if let Some(full) = &op.full_url {
                    map.insert(full.clone(), format!("{}/{id}", op.rtype));
                }
                ids.insert(op.index, id);
            }
            // A conditional update's target is found now too, so it can be referred to.
            for op in ops
                .iter_mut()
                .filter(|op| op.method == Method::Put && op.id.is_none())
            {
                let (Some(cond), Some(resource)) = (&op.query, &op.resource) else {
                    continue;
                };
                let id = interact::matched_update_id(gate, tx, &op.rtype, cond, resource)
                    .map_err(|e| tagged(op, e))?;
                op.id = Some(id);
            }
            for op in ops.iter().filter(|op| op.method == Method::Put) {
                if let (Some(full), Some(id)) = (&op.full_url, &op.id) {
                    map.insert(full.clone(), format!("{}/{id}", op.rtype));
                }
            }
            for op in &mut ops {
                if let Some(resource) = &mut op.resource {
                    rewrite_references(resource, &map);
                }
            }
            for op in &ops {
                let entry = audited_entry(
                    gate,
                    op,
                    |gate| match op.method {
                        Method::Post => {
                            let resource = op.resource.clone().unwrap_or_default();
                            let created = interact::create(
                                gate,
                                tx,
                                &op.rtype,
                                resource,
                                Some(&ids[&op.index]),
                                op.if_none_exist.as_deref(),
                            )?;
                            Ok(created_entry(base, created))
                        }
                        _ => apply(gate, tx, op, base),
                    },
                    entry_status,
                )
                .map_err(|e| tagged(op, e))?;
                responses[op.index] = Some(entry);
            }
            // Every entry's record and the request's own commit with the entries.
            gate.record_write(tx, StatusCode::OK.as_u16())?;
            Ok::<_, ApiError>(())
        })
        .map_err(|e| {
            // Rolled back, records included: the failure is recorded on the trail.
            gate.note.in_write = false;
            for entry in &mut gate.note.entries {
                entry.in_write = false;
            }
            let mut failed = ApiError::new(
                e.status,
                issue_code(&e),
                format!(
                    "the transaction was not applied (nothing was saved): {}",
                    e.diagnostics()
                ),
            );
            failed.patients = e.patients;
            failed
        })?;
    let mut out = Bundle::new("transaction-response");
    out.entry = responses
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    Ok(out.to_json())
}

/// The issue code an error's OperationOutcome carries.
fn issue_code(e: &ApiError) -> IssueCode {
    match e.outcome["issue"][0]["code"].as_str() {
        Some("forbidden") => IssueCode::Forbidden,
        Some("not-found") => IssueCode::NotFound,
        Some("deleted") => IssueCode::Deleted,
        Some("conflict") => IssueCode::Conflict,
        Some("duplicate") => IssueCode::Duplicate,
        Some("too-costly") => IssueCode::TooCostly,
        Some("not-supported") => IssueCode::NotSupported,
        Some("exception") => IssueCode::Exception,
        _ => IssueCode::Invalid,
    }
}

/// `e` with the entry it came from named in its message.
fn tagged(op: &Op, e: ApiError) -> ApiError {
    let mut out = ApiError::new(
        e.status,
        issue_code(&e),
        format!("{}: {}", op.label, e.diagnostics()),
    );
    out.patients = e.patients;
    out
}

/// The HTTP status a response entry carries, as a number.
fn entry_status(entry: &Entry) -> u16 {
    entry
        .response
        .as_ref()
        .and_then(|r| r.status.split(' ').next()?.parse().ok())
        .unwrap_or(200)
}

fn created_entry(base: &str, created: Created) -> Entry {
    match created {
        Created::New(w) => written_entry(base, w, "201 Created"),
        Created::Existing(row) => row_entry(base, row, "200 OK"),
    }
}

/// DELETE, PUT and GET entries; shared by transactions and batches.
fn apply(gate: &mut Gate, tx: &mut Tx, op: &Op, base: &str) -> Result<Entry, ApiError> {
    match op.method {
        Method::Delete => {
            match (&op.id, &op.query) {
                (Some(id), _) => {
                    interact::delete(gate, tx, &op.rtype, id)?;
                }
                (None, Some(q)) => {
                    interact::delete_matching(gate, tx, &op.rtype, q)?;
                }
                (None, None) => {}
            }
            Ok(Entry {
                response: Some(status_only("204 No Content")),
                ..Entry::default()
            })
        }
        Method::Put => {
            let resource = op.resource.clone().unwrap_or_default();
            let w = match (&op.id, &op.query) {
                (Some(id), _) => {
                    interact::update(gate, tx, &op.rtype, id, resource, op.if_match.as_deref())?
                }
                (None, Some(cond)) => interact::update_matching(
                    gate,
                    tx,
                    &op.rtype,
                    cond,
                    resource,
                    op.if_match.as_deref(),
                )?,
                (None, None) => return Err(ApiError::bad_request("PUT needs Type/id")),
            };
            let status = if w.created { "201 Created" } else { "200 OK" };
            Ok(written_entry(base, w, status))
        }
        Method::Get => read_entry(gate, tx, op, base),
        Method::Post => Err(ApiError::bad_request("POST is handled by the caller")),
    }
}

/// A GET entry: a read or a search, as the same interaction would answer it on its own.
fn read_entry(
    gate: &mut Gate,
    src: &mut impl Lookup,
    op: &Op,
    base: &str,
) -> Result<Entry, ApiError> {
    if op.rtype == "AuditEvent" {
        gate.read_type(&op.rtype)?;
        return Err(ApiError::bad_request(
            "read the audit trail with GET /fhir/AuditEvent, not inside a Bundle",
        ));
    }
    match (&op.id, &op.version) {
        (Some(id), None) => Ok(row_entry(
            base,
            interact::read(gate, src, &op.rtype, id)?,
            "200 OK",
        )),
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "version reads inside a Bundle are not supported; use GET /fhir/Type/id/_history/n",
        )),
        (None, _) => {
            let params = op.query.clone().unwrap_or_default();
            let (query, found) = interact::search(gate, src, &op.rtype, &params, false)?;
            let result = bundle::search_result(base, &query, found);
            Ok(Entry {
                resource: raw(result.to_json()),
                response: Some(status_only("200 OK")),
                ..Entry::default()
            })
        }
    }
}

fn status_only(status: &str) -> EntryResponse {
    EntryResponse {
        status: status.to_string(),
        ..EntryResponse::default()
    }
}

fn written_entry(base: &str, w: Written, status: &str) -> Entry {
    Entry {
        full_url: Some(format!("{base}/{}/{}", w.rtype, w.id)),
        response: Some(EntryResponse {
            status: status.to_string(),
            location: Some(format!("{}/{}/_history/{}", w.rtype, w.id, w.version)),
            etag: Some(format!("W/\"{}\"", w.version)),
            last_modified: Some(instant(w.updated)),
            outcome: None,
        }),
        resource: w.json.and_then(raw),
        ..Entry::default()
    }
}

fn row_entry(base: &str, row: Row, status: &str) -> Entry {
    Entry {
        full_url: Some(format!("{base}/{}/{}", row.rtype, row.id)),
        response: Some(EntryResponse {
            status: status.to_string(),
            location: Some(format!("{}/{}/_history/{}", row.rtype, row.id, row.version)),
            etag: Some(format!("W/\"{}\"", row.version)),
            last_modified: Some(instant(row.updated)),
            outcome: None,
        }),
        resource: raw(row.json),
        ..Entry::default()
    }
}
