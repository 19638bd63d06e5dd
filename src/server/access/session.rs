//! The session check in front of every FHIR route: the bearer token, the session it names,
//! refusals (rate-limited in the log), and the request's audit record, written before the
//! response leaves.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::fhir::IssueCode;
use crate::server::AppState;
use crate::server::audit::{self, Agent, Event, Subtype};
use crate::server::auth::oidc::{self, TokenError};
use crate::server::auth::{AuthError, Session};
use crate::server::response::ApiError;
use crate::server::store::Store;

use super::record::{AuditNote, RequestAudit, agent, request_events};

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
connected!(crate::server::tls::TlsListener);

async fn session_for(st: &AppState, headers: &HeaderMap) -> Result<Session, Response> {
    let Some(token) = bearer(headers).map(str::to_string) else {
        return Err(unauthorized(
            "sign in first: POST /auth/login, then send Authorization: Bearer <access_token>",
        ));
    };
    if let Some(provider) = st.oidc.as_ref().filter(|_| oidc::looks_like_jwt(&token)) {
        return provider_session(st, provider, token).await;
    }
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

/// The session of a JWT from the site's identity provider: the token checked (its signature
/// once, then remembered until it expires), then the bedside account it names.
async fn provider_session(
    st: &AppState,
    provider: &oidc::Provider,
    token: String,
) -> Result<Session, Response> {
    let verified = match provider.verify(&token).await {
        Ok(verified) => verified,
        Err(TokenError::Invalid(message)) => return Err(unauthorized(&message)),
        Err(TokenError::Forbidden(message)) => {
            return Err(
                ApiError::new(StatusCode::FORBIDDEN, IssueCode::Forbidden, message).into_response(),
            );
        }
        Err(TokenError::Unavailable(message)) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Transient,
                message,
            )
            .into_response());
        }
    };
    let auth = st.auth.clone();
    match st
        .work
        .run(move || auth.provider_session(&token, &verified))
        .await
    {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(AuthError::UnknownUser(user))) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            format!(
                "the identity provider's user {user:?} has no bedside account: an administrator adds it with `bedside user add {user} --role ...`"
            ),
        )
        .into_response()),
        Ok(Err(AuthError::Disabled)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            AuthError::Disabled.to_string(),
        )
        .into_response()),
        Ok(Err(AuthError::Store(e))) => Err(ApiError::from(e).into_response()),
        Ok(Err(e)) => Err(unauthorized(&e.to_string())),
        Err(refused) => Err(refused.into_response()),
    }
}

/// The session of a request's token; a request without a valid one is refused and leaves an
/// audit record (rate-limited per address, see `RefusalLog`).
pub(super) async fn session_or_refusal(
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

/// Writes `events` to the trail; if it cannot be written the request fails (an access that
/// cannot be audited is not allowed to succeed silently).
pub(super) async fn record(store: &Store, events: Vec<Event>) -> Result<(), Response> {
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
pub(super) async fn audited(store: &Store, event: Event, response: Response) -> Response {
    audited_all(store, vec![event], response).await
}

pub(super) async fn audited_all(store: &Store, events: Vec<Event>, response: Response) -> Response {
    match record(store, events).await {
        Ok(()) => response,
        Err(refused) => refused,
    }
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
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    st.slow.note(
        request.method.as_str(),
        &request.path,
        started.elapsed().as_millis() as u64,
        response.status().as_u16(),
    );
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

fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0.0.ip())
}
