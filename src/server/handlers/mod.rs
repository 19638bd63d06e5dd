//! Route handlers: each turns an HTTP request into a store call on a blocking thread and the
//! result into a FHIR response.

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::access::{AuditNote, Gate, RequestAudit, forbidden};
use super::bundle::{self, Paging, expand_page, offset_and_count};
use super::capability::capability_json;
pub use super::ctx::{Ctx, Return, ctx};
use super::interact::{self, Created};
use super::response::{ApiError, json_response, parse_etag, version_headers};
use super::transaction::process_bundle;
use crate::fhir::subset::Subset;
use crate::fhir::{IssueCode, is_supported, operation_outcome};
use crate::server::auth::Session;
use crate::server::auth::policy;
use crate::server::store::{HistoryScope, Row, StoreError, Written};

mod history;
mod operation;
mod type_operation;

pub use history::{history_instance, history_system, history_type};
pub use operation::{operation, operation_post};
pub use type_operation::type_operation_post;

/// Runs `f` with a gate for `session` on a blocking thread. What the gate noted for the audit
/// goes with the answer, a refusal included.
pub(super) async fn gated<T: Send + 'static>(
    st: &AppState,
    session: Session,
    f: impl FnOnce(&mut Gate, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, AuditNote), ApiError> {
    gated_as(st, session, None, f).await
}

/// `gated` for a request that writes: its writes store the request's audit records in their
/// own transactions (`Gate::record_write`).
pub(crate) async fn gated_write<T: Send + 'static>(
    st: &AppState,
    session: Session,
    request: RequestAudit,
    f: impl FnOnce(&mut Gate, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, AuditNote), ApiError> {
    gated_as(st, session, Some(request), f).await
}

async fn gated_as<T: Send + 'static>(
    st: &AppState,
    session: Session,
    request: Option<RequestAudit>,
    f: impl FnOnce(&mut Gate, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, AuditNote), ApiError> {
    let state = st.clone();
    let writes = request.is_some();
    let work = move || {
        let st = state;
        let mut gate = Gate::new(&st.auth, &session);
        gate.request = request;
        gate.mrn = st.mrn.clone();
        match f(&mut gate, &st) {
            Ok(value) => Ok((value, gate.note)),
            Err(mut refused) => {
                for p in gate.note.patients {
                    if !refused.patients.contains(&p) {
                        refused.patients.push(p);
                    }
                }
                // A transaction that failed applied none of its entries.
                let mut entries = gate.note.entries;
                for entry in &mut entries {
                    if entry.status < 400 {
                        entry.description =
                            Some("not applied: the transaction it was part of failed".into());
                    }
                }
                refused.entries = (!entries.is_empty()).then(|| Box::new(entries));
                Err(refused)
            }
        }
    };
    if writes {
        st.work.run_write(work).await?
    } else {
        st.work.run(work).await?
    }
}

fn check_type(rtype: &str) -> Result<(), ApiError> {
    if is_supported(rtype) {
        Ok(())
    } else {
        Err(StoreError::UnknownType(rtype.to_string()).into())
    }
}

/// Reads a request body of at most `limit` bytes within the server's body timeout: a larger
/// declared body is refused before a byte is read, and a body that trickles in is cut off.
pub(super) async fn read_body(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            IssueCode::TooCostly,
            format!(
                "the request body is larger than this server's limit of {} bytes",
                limit
            ),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let timeout = st.timeouts.body;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            IssueCode::TooCostly,
            format!(
                "the request body did not arrive within this server's limit of {} s",
                timeout.as_secs()
            ),
        )),
        Ok(Err(e)) if e.to_string().contains("length limit") => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::bad_request(
            "the request body could not be read (was the connection closed?)",
        )),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// A request's body as FHIR JSON: its type checked (415) before a byte is read, read within
/// the limits, parsed.
/// `json_body` for the other rooms' routes.
pub(crate) async fn json_body_of(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, ApiError> {
    json_body(st, headers, body).await
}

pub(super) async fn json_body(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, ApiError> {
    check_body_type(headers)?;
    parse_json(&read_body(st, headers, body, st.body_limit).await?)
}

/// The version an `If-Match` header names, if any.
/// The reason a change to `Patient/id` gives (`X-Provenance`); other types keep theirs to
/// themselves.
fn patient_reason(rtype: &str, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if rtype != "Patient" {
        return Ok(None);
    }
    crate::server::correction::reason(headers)
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(parse_etag)
}

/// Refuses a body this server cannot read (XML, a form) with 415, before reading it.
fn check_body_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(content_type) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = matches!(
        mime.as_str(),
        "application/fhir+json" | "application/json" | "application/json+fhir" | "text/json"
    );
    if json {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        IssueCode::NotSupported,
        format!("this server reads FHIR JSON (Content-Type: application/fhir+json), not '{mime}'"),
    ))
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.first() == Some(&b'<') {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueCode::NotSupported,
            "this server reads FHIR JSON (application/fhir+json); the body looks like XML",
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request has no body; send a FHIR resource as JSON",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

fn row_response(status: StatusCode, row: Row, location: Option<&str>) -> Response {
    json_response(
        status,
        version_headers(row.version, row.updated, location),
        row.json,
    )
}

/// The response to a create or update, shaped by the client's `Prefer: return=`.
fn written_response(ctx: &Ctx, w: Written, status: StatusCode) -> Response {
    let location = format!("{}/{}/{}/_history/{}", ctx.base, w.rtype, w.id, w.version);
    let headers = version_headers(w.version, w.updated, Some(&location));
    let body = match ctx.prefer {
        Return::Representation => w.json.unwrap_or_default(),
        Return::Minimal => String::new(),
        Return::OperationOutcome => {
            let msg = format!("{}/{} stored as version {}", w.rtype, w.id, w.version);
            operation_outcome("information", IssueCode::Informational, &msg).to_string()
        }
    };
    json_response(status, headers, body)
}

pub async fn metadata(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    Ok(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        capability_json(&ctx.base, st.cors, st.oidc.is_some())
            .as_ref()
            .clone(),
    ))
}

pub async fn read(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    if id.starts_with('$') {
        return type_operation::type_operation_get(st, session, rtype, id, headers, q).await;
    }
    let ctx = ctx(&headers, q)?;
    if rtype == "AuditEvent" {
        return super::audit_api::read(st, session, id).await;
    }
    let subset = Subset::from_params(&ctx.params).map_err(ApiError::bad_request)?;
    let (mut row, note) = gated(&st, session, move |gate, st| {
        interact::read(gate, &mut st.store.reader()?, &rtype, &id)
    })
    .await?;
    if not_modified(&headers, &row) {
        let mut response = json_response(
            StatusCode::NOT_MODIFIED,
            version_headers(row.version, row.updated, None),
            String::new(),
        );
        response.headers_mut().remove(CONTENT_TYPE);
        return Ok(note.attach(response));
    }
    row.json = subset.apply_json(&row.rtype, row.json);
    Ok(note.attach(row_response(StatusCode::OK, row, None)))
}

/// Whether a conditional read (`If-None-Match: W/"3"`, `If-Modified-Since: <date>`) finds the
/// client's copy current. `If-None-Match` decides when both are sent, as HTTP says.
fn not_modified(headers: &HeaderMap, row: &Row) -> bool {
    if let Some(tags) = headers.get("if-none-match").and_then(|v| v.to_str().ok()) {
        let current = row.version.to_string();
        return tags
            .split(',')
            .any(|t| t.trim() == "*" || parse_etag(t) == current);
    }
    let since = headers
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
    // HTTP dates have whole seconds: the version is unmodified if it is no newer than that.
    since.is_some_and(|t| row.updated / 1000 <= t.timestamp())
}

pub async fn vread(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path((rtype, id, vid)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    ctx(&headers, q)?;
    policy::read_access(session.role, &rtype).map_err(forbidden)?;
    if rtype == "AuditEvent" {
        return Err(audit_history_refused());
    }
    let (row, note) = gated(&st, session, move |gate, st| {
        let row = st.store.reader()?.vread(&rtype, &id, &vid)?;
        gate.single(row)
    })
    .await?;
    Ok(note.attach(row_response(StatusCode::OK, row, None)))
}

fn audit_history_refused() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        IssueCode::NotSupported,
        "audit records have one version only; read them with GET /fhir/AuditEvent?patient=...",
    )
}

pub async fn create(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    let resource = json_body(&st, &headers, body).await?;
    let condition: Option<Vec<(String, String)>> = headers
        .get("if-none-exist")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            form_urlencoded::parse(v.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect()
        });
    let (outcome, note) = gated_write(&st, session, request, move |gate, st| {
        st.store.write_with(|tx| {
            let created = interact::create(gate, tx, &rtype, resource, None, condition.as_deref())?;
            let status = match created {
                Created::New(_) => StatusCode::CREATED,
                Created::Existing(_) => StatusCode::OK,
            };
            gate.record_write(tx, status.as_u16())?;
            Ok(created)
        })
    })
    .await?;
    let response = match outcome {
        Created::New(written) => written_response(&ctx, written, StatusCode::CREATED),
        Created::Existing(existing) => {
            let location = format!(
                "{}/{}/{}/_history/{}",
                ctx.base, existing.rtype, existing.id, existing.version
            );
            row_response(StatusCode::OK, existing, Some(&location))
        }
    };
    Ok(note.attach(response))
}

pub async fn update(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    let resource = json_body(&st, &headers, body).await?;
    let if_match = if_match(&headers);
    let reason = patient_reason(&rtype, &headers)?;
    version_write(st, session, request, &ctx, move |gate, tx| {
        gate.correction = reason;
        interact::update(gate, tx, &rtype, &id, resource, if_match.as_deref())
    })
    .await
}

/// Runs a write that makes one version (an update, a conditional update, a patch) and
/// answers it: 201 when it created the resource, 200 when it replaced one.
async fn version_write(
    st: AppState,
    session: Session,
    request: RequestAudit,
    ctx: &Ctx,
    f: impl FnOnce(&mut Gate, &mut crate::server::store::Tx) -> Result<Written, ApiError>
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    let created_or_ok = |w: &Written| {
        if w.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        }
    };
    let (written, note) = gated_write(&st, session, request, move |gate, st| {
        st.store.write_with(|tx| {
            let written = f(gate, tx)?;
            gate.record_write(tx, created_or_ok(&written).as_u16())?;
            Ok(written)
        })
    })
    .await?;
    let status = created_or_ok(&written);
    Ok(note.attach(written_response(ctx, written, status)))
}

/// `PATCH /fhir/Type/id` with a JSON Patch (`application/json-patch+json`).
pub async fn patch(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    let is_patch = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json-patch+json"));
    if !is_patch {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueCode::NotSupported,
            "PATCH takes a JSON Patch: send it with Content-Type: application/json-patch+json",
        ));
    }
    let body = parse_json(&read_body(&st, &headers, body, st.body_limit).await?)?;
    let if_match = if_match(&headers);
    let reason = patient_reason(&rtype, &headers)?;
    version_write(st, session, request, &ctx, move |gate, tx| {
        gate.correction = reason;
        interact::patch(gate, tx, &rtype, &id, body, if_match.as_deref())
    })
    .await
}

pub async fn delete(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    ctx(&headers, q)?;
    check_type(&rtype)?;
    let (deleted, note) = gated_write(&st, session, request, move |gate, st| {
        st.store.write_with(|tx| {
            let deleted = interact::delete(gate, tx, &rtype, &id)?;
            gate.record_write(tx, StatusCode::NO_CONTENT.as_u16())?;
            Ok(deleted)
        })
    })
    .await?;
    let headers = match &deleted {
        Some(w) => version_headers(w.version, w.updated, None),
        None => HeaderMap::new(),
    };
    let mut response = json_response(StatusCode::NO_CONTENT, headers, String::new());
    response.headers_mut().remove(CONTENT_TYPE);
    Ok(note.attach(response))
}

/// `PUT /fhir/Type?condition`: replaces the one resource the condition matches, or creates
/// it.
pub async fn conditional_update(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    let resource = json_body(&st, &headers, body).await?;
    let if_match = if_match(&headers);
    let condition = ctx.params.clone();
    version_write(st, session, request, &ctx, move |gate, tx| {
        interact::update_matching(gate, tx, &rtype, &condition, resource, if_match.as_deref())
    })
    .await
}

/// `DELETE /fhir/Type?condition`: deletes every resource the condition matches (at most
/// `interact::MAX_CONDITIONAL_DELETE`; more, and none is deleted).
pub async fn conditional_delete(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    let condition = ctx.params.clone();
    let (deleted, note) = gated_write(&st, session, request, move |gate, st| {
        st.store.write_with(|tx| {
            let deleted = interact::delete_matching(gate, tx, &rtype, &condition)?;
            gate.record_write(tx, StatusCode::OK.as_u16())?;
            Ok(deleted)
        })
    })
    .await?;
    let message = match deleted.len() {
        0 => "nothing matched the condition; nothing was deleted".to_string(),
        n => format!(
            "deleted {n}: {}",
            deleted
                .iter()
                .map(|w| format!("{}/{}", w.rtype, w.id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let outcome = operation_outcome("information", IssueCode::Informational, &message);
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        outcome.to_string(),
    )))
}

/// `GET /fhir/$export`: a system-level Bulk Data export.
pub async fn export_system(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    super::export::kick_off(st, session, super::export::Level::System, headers, q).await
}

pub async fn search_get(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    search(st, session, rtype, ctx).await
}

pub async fn search_post(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let mut ctx = ctx(&headers, q)?;
    let form = read_body(&st, &headers, body, st.body_limit).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !form.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::bad_request(
            "POST _search takes its parameters as application/x-www-form-urlencoded",
        ));
    }
    let mut params: Vec<(String, String)> = form_urlencoded::parse(&form).into_owned().collect();
    params.append(&mut ctx.params);
    ctx.params = expand_page(params)?;
    search(st, session, rtype, ctx).await
}

async fn search(
    st: AppState,
    session: Session,
    rtype: String,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    check_type(&rtype)?;
    policy::read_access(session.role, &rtype).map_err(forbidden)?;
    if rtype == "AuditEvent" {
        return super::audit_api::search(st, session, ctx).await;
    }
    let params = ctx.params.clone();
    let strict = ctx.strict;
    let subset = Subset::from_params(&params).map_err(ApiError::bad_request)?;
    let ((query, mut found), note) = gated(&st, session, move |gate, st| {
        interact::search(gate, &mut st.store.reader()?, &rtype, &params, strict)
    })
    .await?;
    if !subset.is_full() {
        for row in &mut found.matches {
            row.json = subset.apply_json(&row.rtype, std::mem::take(&mut row.json));
        }
    }
    let bundle = bundle::search_result(&ctx.base, &query, found);
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        bundle.to_json(),
    )))
}

pub async fn system_search() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        IssueCode::NotSupported,
        "search across all resource types is not supported; search one type, e.g. GET /fhir/Patient?name=smith",
    )
}

pub async fn bundle_post(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    let bundle = json_body(&st, &headers, body).await?;
    let base = ctx.base.clone();
    let (response, note) = gated_write(&st, session, request, move |gate, st| {
        process_bundle(&st.store, gate, bundle, &base)
    })
    .await?;
    Ok(note.attach(json_response(StatusCode::OK, HeaderMap::new(), response)))
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        "no such endpoint; the FHIR API is under /fhir (see /fhir/metadata)",
    )
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        IssueCode::NotSupported,
        "this endpoint does not accept that HTTP method (see /fhir/metadata)",
    )
}
