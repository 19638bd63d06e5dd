//! Sign-in, the bearer-token check in front of every FHIR route, the audit record written for
//! every request, and the per-request gate that applies roles, restricted records and
//! break-the-glass to what a handler returns.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::response::ApiError;
use crate::fhir::IssueCode;
use crate::server::audit::{self, Agent, Event, Subtype};
use crate::server::auth::policy;
use crate::server::auth::{AuthError, Role, Session};
use crate::server::store::Store;

pub use super::gate::{AuditNote, RequestAudit, forbidden};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, IssueCode::Login, message).into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"bedside\""),
    );
    response
}

/// The client's address, as the server's connection saw it.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

macro_rules! connected {
    ($listener:ty) => {
        impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, $listener>>
            for ClientAddr
        {
            fn connect_info(stream: axum::serve::IncomingStream<'_, $listener>) -> Self {
                ClientAddr(*stream.remote_addr())
            }
        }
    };
}
connected!(tokio::net::TcpListener);
connected!(super::tls::TlsListener);

async fn session_for(st: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    let Some(token) = bearer(headers).map(str::to_string) else {
        return Err(unauthorized(
            "sign in first: POST /auth/login, then send Authorization: Bearer <access_token>",
        ));
    };
    // Usually answered here at once; only when every reader is busy does it wait its turn.
    let checked = match st.auth.try_session(&token) {
        Some(checked) => Ok(checked),
        None => {
            let auth = st.auth.clone();
            st.work.run(move || auth.session(&token)).await
        }
    };
    match checked {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(AuthError::Store(e))) => Err(ApiError::from(e).into_response()),
        Ok(Err(e)) => Err(unauthorized(&e.to_string())),
        Err(refused) => Err(refused.into_response()),
    }
}

/// The session of a request's token; a request without a valid one is refused and leaves an
/// audit record (rate-limited per address, see `RefusalLog`).
async fn session_or_refusal(
    st: &AppState,
    headers: &HeaderMap,
    address: Option<IpAddr>,
    what: String,
) -> Result<Session, Response> {
    match session_for(st, headers).await {
        Ok(session) => Ok(session),
        Err(response) => {
            let suppressed = match address {
                Some(ip) => st.refusals.admit(ip, crate::server::auth::now_ms()),
                None => Some(0),
            };
            let Some(suppressed) = suppressed else {
                return Err(response);
            };
            let mut event = Event::new(Subtype::AuthFailure, Agent::default());
            event.address = address.map(|a| a.to_string());
            event.success = false;
            event.status = Some(response.status().as_u16());
            let mut description = format!("{what}: no valid sign-in token");
            if suppressed > 0 {
                description.push_str(&format!(
                    "; {suppressed} earlier refusals from this address were not recorded one by one"
                ));
            }
            event.description = Some(description);
            Err(audited(&st.store, event, response).await)
        }
    }
}

/// Refused requests recorded per client address: the first `PER_MINUTE` in each minute get a
/// record of their own, the rest are counted and noted in the next record, so a flood of bad
/// tokens cannot fill the disk.
#[derive(Default)]
pub struct RefusalLog {
    windows: std::sync::Mutex<HashMap<IpAddr, RefusalWindow>>,
}

struct RefusalWindow {
    start_ms: i64,
    recorded: u32,
    suppressed: u64,
}

impl RefusalLog {
    pub const PER_MINUTE: u32 = 20;
    /// Addresses remembered at once; past it the table starts over.
    const ADDRESSES: usize = 10_000;

    /// Whether a refusal from `ip` at `now_ms` is recorded: `Some(n)` with the number of
    /// refusals from it that were not, since the last record; `None` to count it only.
    pub fn admit(&self, ip: IpAddr, now_ms: i64) -> Option<u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= Self::ADDRESSES && !windows.contains_key(&ip) {
            windows.retain(|_, w| now_ms - w.start_ms < 60_000);
            if windows.len() >= Self::ADDRESSES {
                windows.clear();
            }
        }
        let window = windows.entry(ip).or_insert(RefusalWindow {
            start_ms: now_ms,
            recorded: 0,
            suppressed: 0,
        });
        if now_ms - window.start_ms >= 60_000 {
            window.start_ms = now_ms;
            window.recorded = 0;
        }
        if window.recorded < Self::PER_MINUTE {
            window.recorded += 1;
            Some(std::mem::take(&mut window.suppressed))
        } else {
            window.suppressed += 1;
            None
        }
    }
}

pub fn agent(session: &Session) -> Agent {
    Agent {
        username: Some(session.username.clone()),
        name: Some(session.name.clone()),
        role: Some(session.role.as_str().to_string()),
        reference: session.reference(),
    }
}

/// Writes `events` to the trail; if it cannot be written the request fails (an access that
/// cannot be audited is not allowed to succeed silently).
async fn record(store: &Store, events: Vec<Event>) -> Result<(), Response> {
    if events.is_empty() {
        return Ok(());
    }
    match audit::record(store, &events).await {
        Ok(()) => Ok(()),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            IssueCode::Exception,
            "the access could not be recorded in the audit trail, so it was not allowed; try again",
        )
        .into_response()),
    }
}

/// `response`, once `event` is in the trail (or a refusal if it cannot be written).
async fn audited(store: &Store, event: Event, response: Response) -> Response {
    audited_all(store, vec![event], response).await
}

async fn audited_all(store: &Store, events: Vec<Event>, response: Response) -> Response {
    match record(store, events).await {
        Ok(()) => response,
        Err(refused) => refused,
    }
}

/// What a FHIR request is, from its method and path (for the audit when a handler said
/// nothing, e.g. it failed).
fn classify(method: &Method, path: &str) -> (Subtype, Vec<String>, Option<String>) {
    let rest = path.trim_start_matches("/fhir").trim_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let resource = |t: &str, id: &str| vec![format!("{t}/{id}")];
    let patient = |t: &str, id: &str| (t == "Patient").then(|| id.to_string());
    match (method, segments.as_slice()) {
        (_, []) => (Subtype::Transaction, Vec::new(), None),
        (&Method::POST, [_]) => (Subtype::Create, Vec::new(), None),
        (_, ["_history"]) | (_, [_, "_history"]) => (Subtype::History, Vec::new(), None),
        (_, [_]) | (_, [_, "_search"]) => (Subtype::Search, Vec::new(), None),
        (&Method::PUT, [t, id]) => (Subtype::Update, resource(t, id), patient(t, id)),
        (&Method::DELETE, [t, id]) => (Subtype::Delete, resource(t, id), patient(t, id)),
        (_, [t, id]) => (Subtype::Read, resource(t, id), patient(t, id)),
        (_, [t, id, "_history"]) => (Subtype::History, resource(t, id), patient(t, id)),
        (_, [t, id, "_history", _]) => (Subtype::Vread, resource(t, id), patient(t, id)),
        (_, [t, id, ..]) => (Subtype::Operation, resource(t, id), patient(t, id)),
    }
}

/// The patient a search names (`patient=`, `subject=`, `_id` on Patient).
fn query_patient(path: &str, query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| {
        let named = matches!(k.as_ref(), "patient" | "subject")
            || (k == "_id" && path.ends_with("/Patient"));
        named.then(|| v.rsplit('/').next().unwrap_or_default().to_string())
    })
}

/// In front of every `/fhir` route but `metadata`: a valid token, then the request, then its
/// audit record (durable before the response leaves). A request that wrote resources has
/// stored its records in its own transaction (`Gate::record_write`); every other one goes
/// through the trail's group commit here.
pub async fn require_session(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path().trim_end_matches('/') == "/fhir/metadata" {
        return next.run(req).await;
    }
    let ip = client_ip(&req);
    let what = format!("{} {}", req.method(), req.uri().path());
    let session = match session_or_refusal(&st, req.headers(), ip, what).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let request = RequestAudit {
        agent: agent(&session),
        address: ip.map(|a| a.to_string()),
        method: req.method().clone(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
    };
    req.extensions_mut().insert(session);
    req.extensions_mut().insert(request.clone());
    let response = next.run(req).await;
    let note = response
        .extensions()
        .get::<AuditNote>()
        .cloned()
        .unwrap_or_default();
    let events = request_events(&request, response.status().as_u16(), &note);
    // A batch whose entries wrote (each audited with its write) is answered as it happened:
    // refusing it now would tell the client that writes which are stored did not happen.
    if note.entries.iter().any(|e| e.in_write) {
        if record(&st.store, events).await.is_err() {
            tracing::error!(
                "a batch's own audit record could not be written (its writes are audited)"
            );
        }
        return response;
    }
    audited_all(&st.store, events, response).await
}

/// The audit records of one FHIR request that answered `status`: its own (unless its write
/// stored it), one per Bundle entry not stored with its write, and one per restriction label
/// changed.
pub fn request_events(request: &RequestAudit, status: u16, note: &AuditNote) -> Vec<Event> {
    let success = (200..300).contains(&status);
    let mut events = Vec::new();
    if !note.in_write {
        let (subtype, resources, patient) = classify(&request.method, &request.path);
        let mut event = Event::new(subtype, request.agent.clone());
        event.address = request.address.clone();
        event.status = Some(status);
        event.success = success;
        event.query = request
            .query
            .as_ref()
            .filter(|_| subtype == Subtype::Search)
            .cloned();
        event.patients = note.patients.clone();
        event.patients.extend(patient);
        event.patients.extend(
            request
                .query
                .as_deref()
                .and_then(|q| query_patient(&request.path, q)),
        );
        event.resources = if note.resources.is_empty() {
            resources
        } else {
            note.resources.clone()
        };
        event.emergency_reason = note.emergency.clone();
        if !success {
            event.description = Some(
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("failed")
                    .to_string(),
            );
        }
        events.push(event);
    }
    // Each Bundle entry has a record of its own, naming its patients.
    for entry in note.entries.iter().filter(|e| !e.in_write) {
        events.push(entry_event(request, entry));
    }
    // A restriction label changed: a security event of its own.
    if success && !note.in_write {
        events.extend(label_events(request, &note.label_changes, &note.emergency));
    }
    events
}

/// The record of one Bundle entry.
pub fn entry_event(request: &RequestAudit, entry: &super::gate::EntryAudit) -> Event {
    let mut e = Event::new(entry.subtype, request.agent.clone());
    e.address = request.address.clone();
    e.status = Some(entry.status);
    e.success = entry.status < 400 && entry.description.is_none();
    e.patients = entry.patients.clone();
    e.resources = entry.resources.clone();
    e.query = entry.query.clone();
    e.emergency_reason = entry.emergency.clone();
    e.description = Some(match &entry.description {
        Some(d) => format!("Bundle entry {}: {d}", entry.index),
        None => format!("Bundle entry {}", entry.index),
    });
    e
}

/// The security events of restriction labels changed.
pub fn label_events(
    request: &RequestAudit,
    patients: &[String],
    emergency: &Option<String>,
) -> Vec<Event> {
    patients
        .iter()
        .map(|patient| {
            let mut e = Event::new(Subtype::SecurityLabel, request.agent.clone());
            e.address = request.address.clone();
            e.patients = vec![patient.clone()];
            e.resources = vec![format!("Patient/{patient}")];
            e.emergency_reason = emergency.clone();
            e.description = Some(format!(
                "the security labels of Patient/{patient} were changed"
            ));
            e
        })
        .collect()
}

fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0.0.ip())
}

// ---------------------------------------------------------------------------------------------
// /auth routes.

#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// The JSON body of an `/auth` request, read within the auth body limit and the body timeout.
async fn auth_body<T: serde::de::DeserializeOwned>(
    st: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    shape: &str,
) -> Result<T, Response> {
    let bytes = super::handlers::read_body(st, headers, body, super::AUTH_BODY_LIMIT)
        .await
        .map_err(IntoResponse::into_response)?;
    serde_json::from_slice::<T>(&bytes).map_err(|_| {
        auth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("send JSON {shape}"),
        )
    })
}

fn auth_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": message})),
    )
        .into_response()
}

/// The status and OAuth-style error code a sign-in failure answers with.
fn auth_error_code(e: &AuthError) -> (StatusCode, &'static str) {
    match e {
        AuthError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp_required"),
        AuthError::TotpWrong => (StatusCode::UNAUTHORIZED, "totp_invalid"),
        AuthError::Locked { .. } => (StatusCode::UNAUTHORIZED, "locked"),
        AuthError::Disabled => (StatusCode::FORBIDDEN, "disabled"),
        AuthError::PasswordChangeRequired => (StatusCode::FORBIDDEN, "password_change_required"),
        AuthError::Weak(_) => (StatusCode::BAD_REQUEST, "weak_password"),
        AuthError::Invalid(_) => (StatusCode::FORBIDDEN, "mfa_not_enrolled"),
        AuthError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
        _ => (StatusCode::UNAUTHORIZED, "invalid_grant"),
    }
}

fn user_json(session: &Session) -> Value {
    json!({
        "username": session.username,
        "name": session.name,
        "role": session.role.as_str(),
        "practitioner": session.practitioner,
    })
}

fn connect_address(info: ClientAddr) -> Option<String> {
    Some(info.0.ip().to_string())
}

/// Runs `f` on a blocking thread when the server has a worker free (see `work.rs`).
async fn blocking<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    st.work.run(f).await.map_err(IntoResponse::into_response)
}

pub async fn login(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let shape = "{\"username\": ..., \"password\": ..., \"totp\": ... (if enrolled)}";
    let request: LoginRequest = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let auth = st.auth.clone();
    let username = request.username.trim().to_lowercase();
    let name = username.clone();
    let result = match blocking(&st, move || {
        auth.login(&name, &request.password, request.totp.as_deref())
    })
    .await
    {
        Ok(r) => r,
        Err(response) => return response,
    };
    let mut event = Event::new(
        Subtype::Login,
        Agent {
            username: Some(username),
            ..Agent::default()
        },
    );
    event.address = connect_address(info);
    signed_in(&st.store, event, result, None).await
}

/// The answer to a sign-in (a password change signs in too): the token, or why not; audited.
async fn signed_in(
    store: &Store,
    mut event: Event,
    result: Result<crate::server::auth::Issued, AuthError>,
    done: Option<&str>,
) -> Response {
    let response = match result {
        Ok(issued) => {
            event.agent = agent(&issued.session);
            event.description = done.map(str::to_string);
            Json(json!({
                "access_token": issued.token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "user": user_json(&issued.session),
            }))
            .into_response()
        }
        Err(e) => {
            event.success = false;
            event.description = Some(e.to_string());
            let (status, code) = auth_error_code(&e);
            auth_error(status, code, &e.to_string())
        }
    };
    audited(store, event, response).await
}

pub async fn logout(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let session = match session_or_refusal(
        &st,
        &headers,
        Some(info.0.ip()),
        "POST /auth/logout".into(),
    )
    .await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let auth = st.auth.clone();
    let done = session.clone();
    if let Ok(Err(_)) | Err(_) = blocking(&st, move || auth.logout(&done)).await {
        return auth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "sign-out could not be recorded; try again",
        );
    }
    let mut event = Event::new(Subtype::Logout, agent(&session));
    event.address = connect_address(info);
    audited(&st.store, event, StatusCode::NO_CONTENT.into_response()).await
}

/// Who the token belongs to.
pub async fn whoami(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let what = "GET /auth/session".to_string();
    match session_or_refusal(&st, &headers, Some(info.0.ip()), what).await {
        Ok(session) => {
            let mut user = user_json(&session);
            user["expires_at"] = json!(session.expires_ms);
            Json(user).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct GlassRequest {
    patient: String,
    reason: String,
}

/// Emergency access to one patient's record, for a limited time, with a reason.
pub async fn break_glass(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let what = "POST /auth/break-glass".to_string();
    let session = match session_or_refusal(&st, &headers, Some(info.0.ip()), what).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shape = "{\"patient\": \"<Patient id>\", \"reason\": \"...\"}";
    let request: GlassRequest = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let patient = request
        .patient
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut event = Event::new(Subtype::BreakGlass, agent(&session));
    event.address = connect_address(info);
    event.patients = vec![patient.clone()];
    event.emergency_reason = Some(request.reason.trim().to_string());
    let response = if !session.role.may_break_glass() {
        event.success = false;
        event.description = Some("the role may not break the glass".into());
        forbidden(policy::Denied {
            permission: "break-glass",
            role: session.role,
            detail: "administrators have no access to patient records, even in an emergency".into(),
        })
        .into_response()
    } else {
        let auth = st.auth.clone();
        let (s, p, r) = (session.clone(), patient.clone(), request.reason.clone());
        let exists = {
            let store = st.store.clone();
            let p = patient.clone();
            blocking(&st, move || {
                store.reader().and_then(|r| r.read("Patient", &p)).is_ok()
            })
            .await
            .unwrap_or(false)
        };
        if !exists {
            event.success = false;
            event.description = Some("no such patient".into());
            ApiError::new(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("Patient/{patient} was not found"),
            )
            .into_response()
        } else {
            match blocking(&st, move || auth.break_glass(&s, &p, &r)).await {
                Ok(Ok(expires)) => Json(json!({
                    "patient": patient,
                    "expires_at": expires,
                    "expires_in": (expires - crate::server::auth::now_ms()) / 1000,
                }))
                .into_response(),
                Ok(Err(e)) => {
                    event.success = false;
                    event.description = Some(e.to_string());
                    ApiError::bad_request(e.to_string()).into_response()
                }
                Err(r) => r,
            }
        }
    };
    audited(&st.store, event, response).await
}

// User management over HTTP, for administrators (the CLI works on the database directly).

async fn admin_session(
    st: &AppState,
    headers: &HeaderMap,
    info: ClientAddr,
) -> Result<Session, Response> {
    let session = session_or_refusal(st, headers, Some(info.0.ip()), "/auth/users".into()).await?;
    if !session.role.manages_users() {
        return Err(forbidden(policy::Denied {
            permission: "users.manage",
            role: session.role,
            detail: "user management is for administrators".into(),
        })
        .into_response());
    }
    Ok(session)
}

pub async fn list_users(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admin_session(&st, &headers, info).await {
        return r;
    }
    let auth = st.auth.clone();
    match blocking(&st, move || auth.list_users()).await {
        Ok(Ok(users)) => Json(json!({"users": users})).into_response(),
        Ok(Err(e)) => auth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            &e.to_string(),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct NewUser {
    username: String,
    #[serde(default)]
    name: String,
    role: String,
    /// Refused: the server issues a one-time password.
    #[serde(default)]
    password: Option<String>,
}

/// `POST /auth/users`: adds a user with a one-time password, returned once in the answer for
/// the administrator to hand over; the user chooses their own at first sign-in.
pub async fn add_user(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let session = match admin_session(&st, &headers, info).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shape = "{\"username\", \"name\", \"role\"}";
    let new: NewUser = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    if new.password.is_some() {
        return auth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "do not send a password: the server issues a one-time password, and the user chooses their own at first sign-in",
        );
    }
    let Some(role) = Role::parse(&new.role) else {
        return auth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "role must be physician, nurse, support or admin",
        );
    };
    let auth = st.auth.clone();
    let username = new.username.clone();
    let result = blocking(&st, move || {
        auth.add_user_one_time(&new.username, &new.name, role)
    })
    .await;
    let mut event = Event::new(Subtype::UserAdmin, agent(&session));
    event.address = connect_address(info);
    event.description = Some(format!(
        "add user {username} as {} with a one-time password",
        role.as_str()
    ));
    let response = match result {
        Ok(Ok((user, one_time))) => {
            let mut body = json!(user);
            body["one_time_password"] = json!(one_time);
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Ok(Err(e)) => {
            event.success = false;
            auth_error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string())
        }
        Err(r) => r,
    };
    audited(&st.store, event, response).await
}

#[derive(Deserialize)]
pub struct PasswordChange {
    username: String,
    password: String,
    new_password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /auth/password`: a user replaces their password (a one-time password at first
/// sign-in, or any time), proving the current one as at sign-in. Answers like a sign-in.
pub async fn change_password(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let shape = "{\"username\", \"password\", \"new_password\", \"totp\" (if enrolled)}";
    let request: PasswordChange = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let username = request.username.trim().to_lowercase();
    let auth = st.auth.clone();
    let name = username.clone();
    let result = match blocking(&st, move || {
        auth.change_password(
            &name,
            &request.password,
            &request.new_password,
            request.totp.as_deref(),
        )
    })
    .await
    {
        Ok(r) => r,
        Err(response) => return response,
    };
    let mut event = Event::new(
        Subtype::PasswordChange,
        Agent {
            username: Some(username),
            ..Agent::default()
        },
    );
    event.address = connect_address(info);
    signed_in(
        &st.store,
        event,
        result,
        Some("the user set a new password"),
    )
    .await
}

/// `POST /auth/users/{username}/{disable|enable|reset}`.
pub async fn change_user(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    Path((username, change)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let session = match admin_session(&st, &headers, info).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let auth = st.auth.clone();
    let name = username.clone();
    // `reset` answers with a new one-time password; the others with nothing.
    let result: Result<Result<Option<String>, AuthError>, Response> = match change.as_str() {
        "disable" | "enable" => {
            let disabled = change == "disable";
            blocking(&st, move || {
                auth.set_disabled(&name, disabled).map(|()| None)
            })
            .await
        }
        "reset" => blocking(&st, move || auth.reset_one_time(&name).map(Some)).await,
        _ => {
            return auth_error(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "use /auth/users/{username}/disable, /enable or /reset",
            );
        }
    };
    let mut event = Event::new(Subtype::UserAdmin, agent(&session));
    event.address = connect_address(info);
    event.description = Some(format!("{change} user {username}"));
    let response = match result {
        Ok(Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(Some(one_time))) => {
            Json(json!({"username": username, "one_time_password": one_time})).into_response()
        }
        Ok(Err(e @ AuthError::UnknownUser(_))) => {
            event.success = false;
            auth_error(StatusCode::NOT_FOUND, "not_found", &e.to_string())
        }
        Ok(Err(e)) => {
            event.success = false;
            auth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                &e.to_string(),
            )
        }
        Err(r) => r,
    };
    audited(&st.store, event, response).await
}

#[derive(Deserialize)]
pub struct SignatureCheck {
    /// The password, or the signature PIN where the site allows PINs.
    secret: String,
    /// What is being signed: "note" or "orders" (no patient data).
    #[serde(default)]
    what: String,
}

/// `POST /auth/signature`: checks the signed-in user's electronic signature (their password,
/// or their PIN) before a note or an order basket is signed. 204 when right; a wrong one is
/// refused (403, not 401: the sign-in itself stays good) and counts towards the lockout like
/// a failed sign-in. Every check is audited.
pub async fn check_signature(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let what = "POST /auth/signature".to_string();
    let session = match session_or_refusal(&st, &headers, Some(info.0.ip()), what).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shape = "{\"secret\": \"<password or PIN>\", \"what\": \"note|orders\"}";
    let request: SignatureCheck = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let signing = match request.what.as_str() {
        "note" | "orders" => request.what.clone(),
        _ => "a record".to_string(),
    };
    let auth = st.auth.clone();
    let username = session.username.clone();
    let result = blocking(&st, move || {
        auth.verify_signature(&username, &request.secret)
    })
    .await;
    let mut event = Event::new(Subtype::Signature, agent(&session));
    event.address = connect_address(info);
    let response = match result {
        Ok(Ok(())) => {
            event.description = Some(format!("electronic signature for {signing}"));
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(Err(e)) => {
            event.success = false;
            event.description = Some(format!("signature refused for {signing}: {e}"));
            let (status, code) = match &e {
                AuthError::Locked { .. } => (StatusCode::LOCKED, "locked"),
                AuthError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
                _ => (StatusCode::FORBIDDEN, "wrong_signature"),
            };
            let message = match &e {
                AuthError::WrongCredentials => {
                    "the signature code is not right: nothing was signed".to_string()
                }
                e => e.to_string(),
            };
            auth_error(status, code, &message)
        }
        Err(r) => r,
    };
    audited(&st.store, event, response).await
}

#[derive(Deserialize)]
pub struct PinChange {
    password: String,
    pin: String,
}

/// `POST /auth/signature-pin`: the signed-in user sets a signature PIN (where the site
/// allows them), proving their password. Audited.
pub async fn set_signature_pin(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let what = "POST /auth/signature-pin".to_string();
    let session = match session_or_refusal(&st, &headers, Some(info.0.ip()), what).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let shape = "{\"password\", \"pin\"}";
    let request: PinChange = match auth_body(&st, &headers, body, shape).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let auth = st.auth.clone();
    let username = session.username.clone();
    let result = blocking(&st, move || {
        auth.set_signature_pin(&username, &request.password, &request.pin)
    })
    .await;
    let mut event = Event::new(Subtype::Signature, agent(&session));
    event.address = connect_address(info);
    event.description = Some("set a signature PIN".into());
    let response = match result {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => {
            event.success = false;
            let (status, code) = match &e {
                AuthError::Weak(_) => (StatusCode::BAD_REQUEST, "weak_pin"),
                AuthError::Invalid(_) => (StatusCode::FORBIDDEN, "pins_not_allowed"),
                AuthError::Locked { .. } => (StatusCode::LOCKED, "locked"),
                AuthError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
                _ => (StatusCode::FORBIDDEN, "wrong_password"),
            };
            auth_error(status, code, &e.to_string())
        }
        Err(r) => r,
    };
    audited(&st.store, event, response).await
}
