//! Each FHIR interaction, written once, behind the gate. The REST handlers and every entry of a
//! batch or transaction call these, so a rule holds whichever way a request came in.

use axum::http::StatusCode;
use serde_json::Value;

use super::access::Gate;
use super::response::ApiError;
use crate::fhir::IssueCode;
use crate::server::store::{Found, Lookup, Query, Row, StoreError, Tx, Written};

/// A create, or the existing resource a conditional create matched.
pub enum Created {
    New(Written),
    Existing(Row),
}

pub fn read(
    gate: &mut Gate,
    src: &mut impl Lookup,
    rtype: &str,
    id: &str,
) -> Result<Row, ApiError> {
    gate.read_type(rtype)?;
    let row = src.current(rtype, id)?;
    gate.single(row)
}

pub fn search(
    gate: &mut Gate,
    src: &mut impl Lookup,
    rtype: &str,
    params: &[(String, String)],
    strict: bool,
) -> Result<(Query, Found), ApiError> {
    if let Some(reader) = src.snapshot() {
        gate.restrictions_named(reader, params);
    }
    let scope = gate.search_scope(rtype, params)?;
    let (query, mut found) = src.find(rtype, params, strict, &scope)?;
    found.matches = found
        .matches
        .into_iter()
        .filter_map(|r| gate.listed(r))
        .collect();
    found.included = found
        .included
        .into_iter()
        .filter_map(|r| gate.listed(r))
        .collect();
    Ok((query, found))
}

/// The current version of `rtype/id` as JSON, or `None` when there is none (never created, or
/// deleted).
fn before(tx: &mut Tx, rtype: &str, id: &str) -> Result<Option<Value>, ApiError> {
    match tx.read(rtype, id) {
        Ok(row) => Ok(Some(serde_json::from_str(&row.json).unwrap_or(Value::Null))),
        Err(StoreError::NotFound(..) | StoreError::Gone(..)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Creates `resource` (as `id` when the caller assigned one), unless `condition` matches an
/// existing resource, which is then returned as the user may see it.
pub fn create(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    mut resource: Value,
    id: Option<&str>,
    condition: Option<&[(String, String)]>,
) -> Result<Created, ApiError> {
    if let Some(t) = resource.get("resourceType").and_then(Value::as_str) {
        if t != rtype {
            return Err(ApiError::bad_request(format!(
                "the resource is a {t} but was posted to {rtype}"
            )));
        }
    }
    gate.check_change(rtype, None, None, &resource)?;
    if let Some(condition) = condition {
        let scope = gate.search_scope(rtype, condition)?;
        match tx.matching_ids_in(rtype, condition, &scope)?.as_slice() {
            [] => {}
            [id] => {
                let row = tx.read(rtype, id)?;
                return Ok(Created::Existing(gate.single(row)?));
            }
            _ => {
                return Err(StoreError::PreconditionFailed(
                    "the create's condition (If-None-Exist) matched more than one resource; make it more specific".into(),
                )
                .into());
            }
        }
    }
    if let (Some(_), Some(obj)) = (id, resource.as_object_mut()) {
        obj.remove("id");
    }
    let written = tx.create(resource, id)?;
    gate.wrote(&written);
    Ok(Created::New(written))
}

/// The one resource a conditional create's `condition` matches, if exactly one does (checked
/// as the create itself would be, so nothing is learnt by a user who may not create it).
pub fn matched_id(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    resource: &Value,
    condition: &[(String, String)],
) -> Result<Option<String>, ApiError> {
    gate.check_change(rtype, None, None, resource)?;
    let scope = gate.search_scope(rtype, condition)?;
    let ids = tx.matching_ids_in(rtype, condition, &scope)?;
    Ok(match ids.as_slice() {
        [id] => Some(id.clone()),
        _ => None,
    })
}

pub fn update(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    id: &str,
    resource: Value,
    if_match: Option<&str>,
) -> Result<Written, ApiError> {
    let before = before(tx, rtype, id)?;
    gate.check_change(rtype, Some(id), before.as_ref(), &resource)?;
    let written = tx.update(rtype, id, resource, if_match)?;
    gate.wrote(&written);
    Ok(written)
}

pub fn delete(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    id: &str,
) -> Result<Option<Written>, ApiError> {
    let before = before(tx, rtype, id)?;
    gate.check_removal(rtype, id, before.as_ref())?;
    let deleted = tx.delete(rtype, id)?;
    if let Some(written) = &deleted {
        gate.wrote(written);
    }
    Ok(deleted)
}

/// A conditional delete: the one resource `condition` matches, if any.
pub fn delete_matching(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    condition: &[(String, String)],
) -> Result<Option<Written>, ApiError> {
    // The role must be allowed to delete before its condition is run: a refusal must not
    // depend on what matched.
    gate.check_removal(rtype, "", None)?;
    let scope = gate.search_scope(rtype, condition)?;
    let ids = tx.matching_ids_in(rtype, condition, &scope)?;
    match ids.as_slice() {
        [] => Ok(None),
        [id] => delete(gate, tx, rtype, id),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            IssueCode::Duplicate,
            "the conditional delete matched more than one resource; make the condition more specific",
        )),
    }
}
