//! Break-the-glass: emergency access to a restricted record, with a reason, for a time.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::record::agent;
use super::super::session::{ClientAddr, audited, session_or_refusal};
use super::{auth_body, connect_address};
use crate::fhir::IssueCode;
use crate::server::AppState;
use crate::server::access::forbidden;
use crate::server::audit::{Event, Subtype};
use crate::server::auth::policy;
use crate::server::response::ApiError;

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
            st.work
                .run_or_refuse(move || store.reader().and_then(|r| r.read("Patient", &p)).is_ok())
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
            match st
                .work
                .run_or_refuse(move || auth.break_glass(&s, &p, &r))
                .await
            {
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
