//! What every FHIR request carries, read once from its headers and query: the base URL its
//! links are written with, its parameters, `Prefer: handling=strict` and `return=...`.

use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};

use super::bundle::expand_page;
use super::response::ApiError;
use crate::fhir::IssueCode;

/// What every request carries: the base URL to write links with, its query, its preferences.
pub struct Ctx {
    pub base: String,
    pub params: Vec<(String, String)>,
    pub strict: bool,
    pub prefer: Return,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Representation,
    Minimal,
    OperationOutcome,
}

pub fn ctx(headers: &HeaderMap, query: Option<String>) -> Result<Ctx, ApiError> {
    // Set by `origin::stamp` for every request (a client's own value is replaced).
    let base = headers
        .get(super::origin::BASE_HEADER)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http://localhost/fhir")
        .to_string();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let wants_xml = |v: &str| v.contains("xml") && !v.contains("json") && !v.contains("*/*");
    let format = params
        .iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v.as_str());
    let accept = headers.get(ACCEPT).and_then(|h| h.to_str().ok());
    if format.is_some_and(wants_xml) || (format.is_none() && accept.is_some_and(wants_xml)) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            IssueCode::NotSupported,
            "this server speaks FHIR JSON only (application/fhir+json)",
        ));
    }
    let mut strict = false;
    let mut prefer = Return::Representation;
    for pref in headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
    {
        for token in pref.split([',', ';']).map(str::trim) {
            match token {
                "handling=strict" => strict = true,
                "return=minimal" => prefer = Return::Minimal,
                "return=OperationOutcome" => prefer = Return::OperationOutcome,
                _ => {}
            }
        }
    }
    Ok(Ctx {
        base,
        params: expand_page(params)?,
        strict,
        prefer,
    })
}
