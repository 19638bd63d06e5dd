//! Batch and transaction Bundles. A transaction is one SQLite transaction: every entry is
//! applied or none is, and `urn:uuid:` references between its entries are resolved to the ids
//! the server assigns.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::bundle::{self, Bundle, Entry, EntryResponse, Paging, raw, raw_value};
use super::response::ApiError;
use crate::fhir::date::instant;
use crate::fhir::rewrite_references;
use crate::store::{Row, Store, StoreError, Tx, Written};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Method {
    // Declared in the order a transaction processes them.
    Delete,
    Post,
    Put,
    Get,
}

struct Op {
    index: usize,
    method: Method,
    rtype: String,
    id: Option<String>,
    version: Option<String>,
    query: Option<Vec<(String, String)>>,
    resource: Option<Value>,
    full_url: Option<String>,
    if_match: Option<String>,
    if_none_exist: Option<Vec<(String, String)>>,
    label: String,
}

/// Processes a batch or transaction Bundle and returns the response Bundle's JSON.
pub fn process_bundle(store: &Store, bundle: Value, base: &str) -> Result<String, ApiError> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ApiError::bad_request(
            "POST /fhir takes a Bundle of type batch or transaction",
        ));
    }
    let kind = bundle
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entries = match bundle.get("entry") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(ApiError::bad_request("Bundle.entry must be an array")),
    };
    match kind {
        "transaction" => {
            let ops = entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| parse_entry(i, e, base))
                .collect::<Result<Vec<_>, _>>()?;
            transaction(store, ops, base)
        }
        "batch" => Ok(batch(store, entries, base)),
        other => Err(ApiError::bad_request(format!(
            "a Bundle of type '{other}' cannot be processed; POST a batch or transaction (use `bedside import` for collections)"
        ))),
    }
}

fn parse_entry(index: usize, entry: Value, base: &str) -> Result<Op, ApiError> {
    let fail = |msg: &str| ApiError::bad_request(format!("entry {index}: {msg}"));
    let request = entry.get("request").ok_or_else(|| fail("has no request"))?;
    let method = match request.get("method").and_then(Value::as_str) {
        Some("GET") | Some("HEAD") => Method::Get,
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("DELETE") => Method::Delete,
        Some(m) => return Err(fail(&format!("method {m} is not supported"))),
        None => return Err(fail("request.method is missing")),
    };
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("request.url is missing"))?;
    let relative = url
        .strip_prefix(base)
        .unwrap_or(url)
        .trim_start_matches('/');
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (
            p,
            Some(form_urlencoded::parse(q.as_bytes()).into_owned().collect()),
        ),
        None => (relative, None),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (rtype, id, version) = match segments.as_slice() {
        [t] => (t.to_string(), None, None),
        [t, id] => (t.to_string(), Some(id.to_string()), None),
        [t, id, "_history", v] => (t.to_string(), Some(id.to_string()), Some(v.to_string())),
        _ => {
            return Err(fail(&format!(
                "request.url '{url}' is not a resource URL this server understands"
            )));
        }
    };
    let header = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let op = Op {
        index,
        method,
        label: format!(
            "entry {index} ({} {url})",
            request["method"].as_str().unwrap_or_default()
        ),
        rtype,
        id,
        version,
        query,
        resource: entry.get("resource").cloned(),
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        if_match: header("ifMatch").map(|v| super::response::parse_etag(&v)),
        if_none_exist: header("ifNoneExist").map(|q| {
            form_urlencoded::parse(q.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect()
        }),
    };
    match op.method {
        Method::Post | Method::Put if op.resource.is_none() => Err(fail("has no resource")),
        Method::Put if op.id.is_none() => Err(fail(
            "PUT needs Type/id (conditional update is not supported)",
        )),
        Method::Post if op.id.is_some() => {
            Err(fail("POST goes to the type, e.g. 'Patient', not to an id"))
        }
        Method::Delete if op.id.is_none() && op.query.is_none() => Err(fail(
            "DELETE needs Type/id or Type?search (deleting a whole type is not allowed)",
        )),
        _ => Ok(op),
    }
}

fn transaction(store: &Store, mut ops: Vec<Op>, base: &str) -> Result<String, ApiError> {
    let count = ops.len();
    ops.sort_by_key(|op| (op.method, op.index));
    let mut responses: Vec<Option<Entry>> = (0..count).map(|_| None).collect();
    store
        .write(|tx| {
            // Give every POST its id first (or find the match of its If-None-Exist), so that
            // references to it can be rewritten before anything is written.
            let mut ids: HashMap<usize, (String, bool)> = HashMap::new();
            let mut map: HashMap<String, String> = HashMap::new();
            for op in ops.iter().filter(|op| op.method == Method::Post) {
                let existing = match &op.if_none_exist {
                    Some(cond) => match tx
                        .matching_ids(&op.rtype, cond)
                        .map_err(|e| tag(op, e))?
                        .as_slice()
                    {
                        [] => None,
                        [id] => Some(id.clone()),
                        _ => {
                            return Err(tag(
                                op,
                                StoreError::PreconditionFailed(
                                    "ifNoneExist matched more than one resource".into(),
                                ),
                            ));
                        }
                    },
                    None => None,
                };
                let matched = existing.is_some();
                let id = existing.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                if let Some(full) = &op.full_url {
                    map.insert(full.clone(), format!("{}/{id}", op.rtype));
                }
                ids.insert(op.index, (id, matched));
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
                let entry = match op.method {
                    Method::Post => {
                        let (id, matched) = &ids[&op.index];
                        if *matched {
                            let row = tx.read(&op.rtype, id).map_err(|e| tag(op, e))?;
                            row_entry(base, row, "200 OK")
                        } else {
                            let resource = op.resource.clone().unwrap_or_default();
                            let w = create_with_id(tx, &op.rtype, resource, id)
                                .map_err(|e| tag(op, e))?;
                            written_entry(base, w, "201 Created")
                        }
                    }
                    _ => apply(tx, op, base).map_err(|e| tag(op, e))?,
                };
                responses[op.index] = Some(entry);
            }
            Ok(())
        })
        .map_err(|e| {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            ApiError::new(
                status,
                e.issue_code(),
                format!("the transaction was not applied (nothing was saved): {e}"),
            )
        })?;
    let mut out = Bundle::new("transaction-response");
    out.entry = responses
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    Ok(out.to_json())
}

fn tag(op: &Op, e: StoreError) -> StoreError {
    let status = e.status();
    let msg = format!("{}: {e}", op.label);
    match status {
        404 => StoreError::NotFound(
            op.rtype.clone(),
            format!("{} ({msg})", op.id.clone().unwrap_or_default()),
        ),
        412 => StoreError::PreconditionFailed(msg),
        409 => StoreError::Conflict(msg),
        410 => StoreError::Gone(op.rtype.clone(), msg),
        _ => StoreError::Invalid(msg),
    }
}

fn create_with_id(
    tx: &mut Tx,
    rtype: &str,
    mut resource: Value,
    id: &str,
) -> crate::store::Result<Written> {
    if let Some(obj) = resource.as_object_mut() {
        obj.remove("id");
        if obj.get("resourceType").and_then(Value::as_str) != Some(rtype) {
            return Err(StoreError::invalid(format!(
                "the resource is not a {rtype}"
            )));
        }
    }
    tx.create(resource, Some(id))
}

/// DELETE, PUT and GET entries; shared by transactions and batches.
fn apply(tx: &mut Tx, op: &Op, base: &str) -> crate::store::Result<Entry> {
    match op.method {
        Method::Delete => {
            let ids = match (&op.id, &op.query) {
                (Some(id), _) => vec![id.clone()],
                (None, Some(q)) => {
                    let ids = tx.matching_ids(&op.rtype, q)?;
                    if ids.len() > 1 {
                        return Err(StoreError::PreconditionFailed(
                            "the conditional delete matched more than one resource".into(),
                        ));
                    }
                    ids
                }
                (None, None) => Vec::new(),
            };
            for id in ids {
                tx.delete(&op.rtype, &id)?;
            }
            Ok(Entry {
                response: Some(status_only("204 No Content")),
                ..Entry::default()
            })
        }
        Method::Put => {
            let id = op.id.as_deref().unwrap_or_default();
            let resource = op.resource.clone().unwrap_or_default();
            let w = tx.update(&op.rtype, id, resource, op.if_match.as_deref())?;
            let status = if w.created { "201 Created" } else { "200 OK" };
            Ok(written_entry(base, w, status))
        }
        Method::Get => match (&op.id, &op.version) {
            (Some(id), None) => Ok(row_entry(base, tx.read(&op.rtype, id)?, "200 OK")),
            (Some(_), Some(_)) => Err(StoreError::NotSupported(
                "version reads inside a Bundle are not supported".into(),
            )),
            (None, _) => {
                let params = op.query.clone().unwrap_or_default();
                let (query, found) = tx.search(&op.rtype, &params, false)?;
                let url = format!("{base}/{}", op.rtype);
                let paging = Paging {
                    url: &url,
                    params: &query.canonical,
                    offset: query.offset,
                    count: query.count,
                    has_next: found.has_next,
                };
                let result = bundle::searchset(
                    base,
                    found.total,
                    found.matches,
                    found.included,
                    &paging,
                    None,
                );
                Ok(Entry {
                    resource: raw(result.to_json()),
                    response: Some(status_only("200 OK")),
                    ..Entry::default()
                })
            }
        },
        Method::Post => Err(StoreError::invalid("POST is handled by the caller")),
    }
}

fn batch(store: &Store, entries: Vec<Value>, base: &str) -> String {
    let mut out = Bundle::new("batch-response");
    for (index, entry) in entries.into_iter().enumerate() {
        let result = parse_entry(index, entry, base).and_then(|op| {
            store
                .write(|tx| match op.method {
                    Method::Post => {
                        if let Some(cond) = &op.if_none_exist {
                            match tx.matching_ids(&op.rtype, cond)?.as_slice() {
                                [] => {}
                                [id] => {
                                    return Ok(row_entry(base, tx.read(&op.rtype, id)?, "200 OK"));
                                }
                                _ => {
                                    return Err(StoreError::PreconditionFailed(
                                        "ifNoneExist matched more than one resource".into(),
                                    ));
                                }
                            }
                        }
                        let w = tx.create(op.resource.clone().unwrap_or_default(), None)?;
                        Ok(written_entry(base, w, "201 Created"))
                    }
                    _ => apply(tx, &op, base),
                })
                .map_err(ApiError::from)
        });
        out.entry.push(match result {
            Ok(entry) => entry,
            Err(e) => Entry {
                response: Some(EntryResponse {
                    status: format!(
                        "{} {}",
                        e.status.as_u16(),
                        e.status.canonical_reason().unwrap_or("")
                    ),
                    outcome: raw_value(&e.outcome),
                    ..EntryResponse::default()
                }),
                ..Entry::default()
            },
        });
    }
    out.to_json()
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
