//! The `/auth` routes: signing in and out, passwords, signature checks and PINs, users
//! (administrators), and break-the-glass. What they share is here.

mod admin;
mod glass;
mod sign_in;

pub use admin::{add_user, change_user, list_users};
pub use glass::break_glass;
pub use sign_in::{change_password, check_signature, login, logout, set_signature_pin, whoami};

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::session::ClientAddr;
use crate::server::AppState;
use crate::server::auth::{AuthError, Session};

/// The JSON body of an `/auth` request, read within the auth body limit and the body timeout.
pub(super) async fn auth_body<T: serde::de::DeserializeOwned>(
    st: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    shape: &str,
) -> Result<T, Response> {
    let bytes =
        crate::server::handlers::read_body(st, headers, body, crate::server::AUTH_BODY_LIMIT)
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

/// `.well-known/smart-configuration`: where a SMART app signs in to this server (the site's
/// identity provider, `serve --oidc-issuer`); 404 when the server has only its own sign-in.
pub async fn smart_configuration(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> Response {
    let Some(provider) = st.oidc.clone() else {
        return auth_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "this server has no identity provider: sign in with POST /auth/login",
        );
    };
    match provider.smart_configuration().await {
        Ok(document) => Json(document).into_response(),
        Err(e) => auth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            &format!("the identity provider cannot be reached: {e}"),
        ),
    }
}

pub(super) fn auth_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": message})),
    )
        .into_response()
}

/// The status and OAuth-style error code a sign-in failure answers with.
pub(super) fn auth_error_code(e: &AuthError) -> (StatusCode, &'static str) {
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

pub(super) fn user_json(session: &Session) -> Value {
    json!({
        "username": session.username,
        "name": session.name,
        "role": session.role.as_str(),
        "practitioner": session.practitioner,
    })
}

pub(super) fn connect_address(info: ClientAddr) -> Option<String> {
    Some(info.0.ip().to_string())
}
