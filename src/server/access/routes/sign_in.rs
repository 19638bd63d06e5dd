//! Signing in and out, who is signed in, passwords, electronic signature checks and PINs.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::record::agent;
use super::super::session::{ClientAddr, audited, session_or_refusal};
use super::{auth_body, auth_error, auth_error_code, connect_address, user_json};
use crate::server::AppState;
use crate::server::audit::Agent;
use crate::server::audit::{Event, Subtype};
use crate::server::auth::AuthError;
use crate::server::store::Store;

#[derive(Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
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
    let result = match st
        .work
        .run_or_refuse(move || auth.login(&name, &request.password, request.totp.as_deref()))
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
    if let Ok(Err(_)) | Err(_) = st.work.run_or_refuse(move || auth.logout(&done)).await {
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
    let result = match st
        .work
        .run_or_refuse(move || {
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
    let result = st
        .work
        .run_or_refuse(move || auth.verify_signature(&username, &request.secret))
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
    let result = st
        .work
        .run_or_refuse(move || auth.set_signature_pin(&username, &request.password, &request.pin))
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
