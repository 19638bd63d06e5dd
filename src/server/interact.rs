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
    // A List's members are its content: `_list` needs the List itself to be readable.
    for (_, value) in params.iter().filter(|(k, _)| k == "_list") {
        for id in value.split(',').filter(|v| !v.is_empty()) {
            read(gate, src, "List", id.rsplit('/').next().unwrap_or_default())?;
        }
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

/// Refuses a resource that breaks the specification's definitions (400, every problem listed
/// with its path).
pub fn check_valid(resource: &Value) -> Result<(), ApiError> {
    let issues = crate::fhir::validate::validate(resource);
    if issues.is_empty() {
        return Ok(());
    }
    let mut refused = ApiError::bad_request("");
    refused.outcome = crate::fhir::validate::outcome(&issues);
    Err(refused)
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
    // The role first: a refusal does not depend on what was sent.
    gate.check_change(rtype, None, None, &resource)?;
    check_valid(&resource)?;
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
    if rtype == "Patient" {
        crate::server::mrn::assign(tx, &gate.mrn, &mut resource)?;
    }
    if rtype == "Encounter" {
        crate::server::beds::check(tx, id, &resource)?;
    }
    let written = tx.create(resource, id)?;
    gate.wrote(&written);
    if let Some(task) = crate::server::inbox::on_result(tx, &written, crate::fhir::date::now_ms())?
    {
        gate.wrote(&task);
    }
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
    if let Some(t) = resource.get("resourceType").and_then(Value::as_str) {
        if t != rtype {
            return Err(ApiError::bad_request(format!(
                "the resource is a {t} but the URL is for {rtype}"
            )));
        }
    }
    let before = before(tx, rtype, id)?;
    gate.check_change(rtype, Some(id), before.as_ref(), &resource)?;
    check_valid(&resource)?;
    let mut resource = resource;
    if rtype == "Patient" {
        match &before {
            // Created by this PUT: numbered as any new patient.
            None => crate::server::mrn::assign(tx, &gate.mrn, &mut resource)?,
            Some(_) => crate::server::mrn::check_kept(&gate.mrn, before.as_ref(), &resource)?,
        }
    }
    if gate.correction.is_some()
        && gate.role() == crate::server::auth::Role::Support
        && if_match.is_none()
    {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            IssueCode::Required,
            format!(
                "a correction names the version it corrects: send If-Match: W/\"n\" with the version of Patient/{id} you read"
            ),
        ));
    }
    if rtype == "Encounter" {
        crate::server::beds::check(tx, Some(id), &resource)?;
    }
    let written = tx.update(rtype, id, resource, if_match)?;
    gate.wrote(&written);
    if let Some(task) = crate::server::inbox::on_result(tx, &written, crate::fhir::date::now_ms())?
    {
        gate.wrote(&task);
    }
    if let Some(reason) = gate.correction.clone() {
        // Why it changed, beside the version it made (and in the audit record).
        let target = format!("{rtype}/{id}/_history/{}", written.version);
        let recorded = crate::fhir::date::instant(written.updated);
        let provenance = crate::server::correction::provenance(
            &target,
            &recorded,
            &gate.session.username,
            &reason,
        );
        let stored = tx.create(provenance, None)?;
        gate.wrote(&stored);
        gate.note.reason = Some(reason);
    }
    Ok(written)
}

/// Operations one JSON Patch may hold.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// A PATCH: `patch` (JSON Patch) applied to the current version, then written as an update
/// would be, the gate judging the version replaced and the new one alike. A patch may not
/// change the type or the id.
pub fn patch(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    id: &str,
    patch: Value,
    if_match: Option<&str>,
) -> Result<Written, ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a JSON Patch (an array of operations such as \
             {{\"op\": \"replace\", \"path\": \"/status\", \"value\": \"final\"}}): {e}"
        ))
    })?;
    if ops.0.len() > MAX_PATCH_OPERATIONS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::TooCostly,
            format!(
                "the patch has {} operations; this server applies at most {MAX_PATCH_OPERATIONS}",
                ops.0.len()
            ),
        ));
    }
    let Some(mut resource) = before(tx, rtype, id)? else {
        return Err(StoreError::NotFound(rtype.to_string(), id.to_string()).into());
    };
    json_patch::patch(&mut resource, &ops).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            format!("the patch could not be applied to {rtype}/{id}: {e}; nothing was changed"),
        )
    })?;
    if resource.get("resourceType").and_then(Value::as_str) != Some(rtype)
        || resource.get("id").and_then(Value::as_str) != Some(id)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            "a patch may not change a resource's type or id",
        ));
    }
    update(gate, tx, rtype, id, resource, if_match)
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

/// Resources one conditional delete may remove; a condition matching more is refused (412)
/// and removes none.
pub const MAX_CONDITIONAL_DELETE: usize = 100;

/// A conditional delete: every resource `condition` matches (none is fine), at most
/// `MAX_CONDITIONAL_DELETE`, each as a delete of its own would be (gate and audit).
pub fn delete_matching(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    condition: &[(String, String)],
) -> Result<Vec<Written>, ApiError> {
    // The role must be allowed to delete before its condition is run: a refusal must not
    // depend on what matched.
    gate.check_removal(rtype, "", None)?;
    if condition.is_empty() {
        return Err(ApiError::bad_request(
            "a conditional delete needs a condition (deleting a whole type is not allowed)",
        ));
    }
    let scope = gate.search_scope(rtype, condition)?;
    let ids = tx.matching_ids_up_to(rtype, condition, &scope, MAX_CONDITIONAL_DELETE + 1)?;
    if ids.len() > MAX_CONDITIONAL_DELETE {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            IssueCode::TooCostly,
            format!(
                "the conditional delete matched more than {MAX_CONDITIONAL_DELETE} resources; nothing was deleted: make the condition more specific"
            ),
        ));
    }
    let mut deleted = Vec::new();
    for id in ids {
        deleted.extend(delete(gate, tx, rtype, &id)?);
    }
    Ok(deleted)
}

/// A conditional update (`PUT Type?condition`): the one resource `condition` matches is
/// replaced; with no match the resource is created (under the id it carries, if any); more
/// than one match is refused (412). The role is checked before the condition runs.
pub fn update_matching(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    condition: &[(String, String)],
    resource: Value,
    if_match: Option<&str>,
) -> Result<Written, ApiError> {
    let id = matched_update_id(gate, tx, rtype, condition, &resource)?;
    update(gate, tx, rtype, &id, resource, if_match)
}

/// The id a conditional update writes to: the one match, or the resource's own id, or a new
/// one.
pub fn matched_update_id(
    gate: &mut Gate,
    tx: &mut Tx,
    rtype: &str,
    condition: &[(String, String)],
    resource: &Value,
) -> Result<String, ApiError> {
    gate.check_change(rtype, None, None, resource)?;
    if condition.is_empty() {
        return Err(ApiError::bad_request(
            "a conditional update needs a condition, e.g. PUT Patient?identifier=system|value",
        ));
    }
    let scope = gate.search_scope(rtype, condition)?;
    let body_id = resource.get("id").and_then(Value::as_str);
    match tx.matching_ids_in(rtype, condition, &scope)?.as_slice() {
        [] => match body_id {
            Some(id) => {
                if tx.read(rtype, id).is_ok() {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        IssueCode::Conflict,
                        format!(
                            "{rtype}/{id} exists but does not match the update's condition; nothing was written"
                        ),
                    ));
                }
                Ok(id.to_string())
            }
            None => Ok(uuid::Uuid::new_v4().to_string()),
        },
        [matched] => match body_id {
            Some(id) if id != matched => Err(ApiError::bad_request(format!(
                "the resource's id '{id}' is not the id of the resource the condition matched ({rtype}/{matched})"
            ))),
            _ => Ok(matched.clone()),
        },
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            IssueCode::Duplicate,
            "the conditional update matched more than one resource; nothing was written: make the condition more specific",
        )),
    }
}
