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
use super::capability::capability_statement;
pub use super::ctx::{Ctx, Return, ctx};
use super::interact::{self, Created};
use super::response::{ApiError, json_response, parse_etag, version_headers};
use super::transaction::process_bundle;
use crate::fhir::{IssueCode, is_supported, operation_outcome};
use crate::server::auth::Session;
use crate::server::auth::policy;
use crate::server::store::{HistoryScope, Row, StoreError, Written};

mod history;
mod operation;

pub use history::{history_instance, history_system, history_type};
pub use operation::{operation, operation_post};

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
pub(super) async fn gated_write<T: Send + 'static>(
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

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
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

pub async fn metadata(headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    Ok(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        capability_statement(&ctx.base).to_string(),
    ))
}

pub async fn read(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    ctx(&headers, q)?;
    if rtype == "AuditEvent" {
        return super::audit_api::read(st, session, id).await;
    }
    let (row, note) = gated(&st, session, move |gate, st| {
        interact::read(gate, &mut st.store.reader()?, &rtype, &id)
    })
    .await?;
    Ok(note.attach(row_response(StatusCode::OK, row, None)))
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
    let resource = parse_json(&read_body(&st, &headers, body, st.body_limit).await?)?;
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
    let resource = parse_json(&read_body(&st, &headers, body, st.body_limit).await?)?;
    let if_match = headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(parse_etag);
    let (written, note) = gated_write(&st, session, request, move |gate, st| {
        st.store.write_with(|tx| {
            let written = interact::update(gate, tx, &rtype, &id, resource, if_match.as_deref())?;
            let status = if written.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            gate.record_write(tx, status.as_u16())?;
            Ok(written)
        })
    })
    .await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(note.attach(written_response(&ctx, written, status)))
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
    let ((query, found), note) = gated(&st, session, move |gate, st| {
        interact::search(gate, &mut st.store.reader()?, &rtype, &params, strict)
    })
    .await?;
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
    let bundle = parse_json(&read_body(&st, &headers, body, st.body_limit).await?)?;
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
