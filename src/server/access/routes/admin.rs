//! Users, for administrators: list, add, and change (role, state, password reset).

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::record::agent;
use super::super::session::{ClientAddr, audited, session_or_refusal};
use super::{auth_body, auth_error, connect_address};
use crate::server::AppState;
use crate::server::access::forbidden;
use crate::server::audit::{Event, Subtype};
use crate::server::auth::policy;
use crate::server::auth::{AuthError, Role, Session};

async fn admin_session(
    st: &AppState,
    headers: &HeaderMap,
    info: ClientAddr,
    changes: bool,
) -> Result<Session, Response> {
    let session = session_or_refusal(st, headers, Some(info.0.ip()), "/auth/users".into()).await?;
    if changes && !session.may_write {
        return Err(auth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "this sign-in's scopes allow reading only (user/*.rs): sign in with write scopes to manage users",
        ));
    }
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
    if let Err(r) = admin_session(&st, &headers, info, false).await {
        return r;
    }
    let auth = st.auth.clone();
    match st.work.run_or_refuse(move || auth.list_users()).await {
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
    let session = match admin_session(&st, &headers, info, true).await {
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
    let result = st
        .work
        .run_or_refuse(move || auth.add_user_one_time(&new.username, &new.name, role))
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

/// `POST /auth/users/{username}/{disable|enable|reset}`.
pub async fn change_user(
    State(st): State<AppState>,
    ConnectInfo(info): ConnectInfo<ClientAddr>,
    Path((username, change)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let session = match admin_session(&st, &headers, info, true).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let auth = st.auth.clone();
    let name = username.clone();
    // `reset` answers with a new one-time password; the others with nothing.
    let result: Result<Result<Option<String>, AuthError>, Response> = match change.as_str() {
        "disable" | "enable" => {
            let disabled = change == "disable";
            st.work
                .run_or_refuse(move || auth.set_disabled(&name, disabled).map(|()| None))
                .await
        }
        "reset" => {
            st.work
                .run_or_refuse(move || auth.reset_one_time(&name).map(Some))
                .await
        }
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
