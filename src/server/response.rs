//! HTTP responses in FHIR's terms: `application/fhir+json`, ETag and Location headers, and every
//! error as an OperationOutcome.

use axum::http::header::{CONTENT_TYPE, ETAG, HeaderName, HeaderValue, LAST_MODIFIED, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::fhir::{IssueCode, operation_outcome};
use crate::server::store::StoreError;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A failed request: its status and the OperationOutcome that explains it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub outcome: Value,
    /// The patients the refused request concerned, for its audit record.
    pub patients: Vec<String>,
    /// The Bundle entries processed before the request failed, for their audit records.
    pub entries: Option<Box<Vec<super::access::EntryAudit>>>,
    /// Seconds the client should wait before trying again (sent as `Retry-After`).
    pub retry_after: Option<u16>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: IssueCode, diagnostics: impl AsRef<str>) -> Self {
        ApiError {
            status,
            outcome: operation_outcome("error", code, diagnostics.as_ref()),
            patients: Vec::new(),
            entries: None,
            retry_after: None,
        }
    }

    pub fn bad_request(diagnostics: impl AsRef<str>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, diagnostics)
    }

    pub fn diagnostics(&self) -> &str {
        self.outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if matches!(e, StoreError::Db(_) | StoreError::Pool(_)) {
            // Internal detail goes to the log (no resource content is in these errors).
            tracing::error!(error = %e, "database error");
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = ApiError::new(status, e.issue_code(), e.public_message());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Busy, or out of connections: it passes; the client is told when to come back.
            error.retry_after = Some(2);
        }
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(secs) = self.retry_after {
            headers.insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        let response = json_response(self.status, headers, self.outcome.to_string());
        super::access::AuditNote {
            patients: self.patients,
            entries: self.entries.map(|e| *e).unwrap_or_default(),
            ..Default::default()
        }
        .attach(response)
    }
}

pub fn json_response(status: StatusCode, mut headers: HeaderMap, body: String) -> Response {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    (status, headers, body).into_response()
}

/// ETag, Last-Modified and (for creates) Location of a stored version.
pub fn version_headers(version: i64, updated_ms: i64, location: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    insert(&mut headers, ETAG, &format!("W/\"{version}\""));
    if let Some(t) = chrono::DateTime::from_timestamp_millis(updated_ms) {
        insert(
            &mut headers,
            LAST_MODIFIED,
            &t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        );
    }
    if let Some(location) = location {
        insert(&mut headers, LOCATION, location);
        insert(
            &mut headers,
            HeaderName::from_static("content-location"),
            location,
        );
    }
    headers
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The version number in an `If-Match` header (`W/"3"`, `"3"` or `3`).
pub fn parse_etag(value: &str) -> String {
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}
