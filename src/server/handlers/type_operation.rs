//! Operations on a type (`POST /fhir/Patient/$validate`, `GET /fhir/Observation/$lastn`) and
//! `$validate` on an instance.

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::*;
use crate::fhir::validate::{outcome, validate};

/// `GET /fhir/{rtype}/${op}` (reached through the read route).
pub(super) async fn type_operation_get(
    st: AppState,
    session: Session,
    rtype: String,
    operation: String,
    headers: HeaderMap,
    q: Option<String>,
) -> Result<Response, ApiError> {
    check_type(&rtype)?;
    if (rtype.as_str(), operation.as_str()) == ("Patient", "$export") {
        let level = crate::server::export::Level::Patient;
        return crate::server::export::kick_off(st, session, level, headers, q).await;
    }
    let ctx = ctx(&headers, q)?;
    match (rtype.as_str(), operation.as_str()) {
        ("Observation", "$lastn") => lastn(st, session, ctx).await,
        ("Patient", "$duplicates") => {
            crate::server::support::duplicates_get(st, session, ctx.params).await
        }
        _ => Err(unknown(&rtype, &operation)),
    }
}

fn unknown(rtype: &str, operation: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotSupported,
        format!(
            "{rtype}/{operation} is not an operation this server supports (see /fhir/metadata)"
        ),
    )
}

/// `POST /fhir/{rtype}/{op}`: `$validate` (and `$lastn` by POST).
pub async fn type_operation_post(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(request): Extension<RequestAudit>,
    Path((rtype, operation)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    check_type(&rtype)?;
    use crate::server::support;
    match (rtype.as_str(), operation.as_str()) {
        ("Patient", "$merge") => {
            let body = json_body(&st, &headers, body).await?;
            return support::merge_post(st, session, request, body).await;
        }
        ("Patient", "$unmerge") => {
            let body = json_body(&st, &headers, body).await?;
            return support::unmerge_post(st, session, request, body).await;
        }
        ("Patient", "$not-duplicate") => {
            let body = json_body(&st, &headers, body).await?;
            return support::not_duplicate(st, session, body).await;
        }
        _ => {}
    }
    match operation.as_str() {
        "$validate" => {
            let ctx = ctx(&headers, q)?;
            let body = json_body(&st, &headers, body).await?;
            validate_response(&rtype, body, &ctx)
        }
        "$lastn" => type_operation_get(st, session, rtype, operation, headers, q).await,
        _ => Err(unknown(&rtype, &operation)),
    }
}

/// `$validate`: the verdict a create or update would give, without storing anything. The
/// body is the resource, or a Parameters whose `resource` parameter holds it.
pub(super) fn validate_response(
    rtype: &str,
    body: Value,
    _ctx: &Ctx,
) -> Result<Response, ApiError> {
    let resource = if body["resourceType"] == "Parameters" {
        body["parameter"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "resource")
            .map(|p| p["resource"].clone())
            .ok_or_else(|| {
                ApiError::bad_request("the Parameters have no 'resource' parameter to validate")
            })?
    } else {
        body
    };
    if resource["resourceType"].as_str() != Some(rtype) {
        return Err(ApiError::bad_request(format!(
            "the resource to validate is not a {rtype}"
        )));
    }
    let issues = validate(&resource);
    Ok(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        outcome(&issues).to_string(),
    ))
}

/// Observations looked at per `$lastn` request at most (the newest first); past it the
/// answer says it may be incomplete.
const LASTN_CANDIDATES: i64 = 5000;

/// `$lastn`: for each code, the newest `max` (default 1) Observations matching the search
/// (a patient's latest vitals or labs), newest first within each code. Gated as the search
/// it is made of.
async fn lastn(st: AppState, session: Session, ctx: Ctx) -> Result<Response, ApiError> {
    policy::read_access(session.role, "Observation").map_err(forbidden)?;
    let mut max = 1usize;
    let mut params = Vec::new();
    for (k, v) in &ctx.params {
        match k.as_str() {
            "max" => {
                max = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request("max must be a whole number from 1 to 100")
                    })?;
            }
            "_count" | "_offset" | "_sort" => {}
            _ => params.push((k.clone(), v.clone())),
        }
    }
    if !params
        .iter()
        .any(|(k, _)| matches!(k.split(':').next(), Some("patient" | "subject")))
    {
        return Err(ApiError::bad_request(
            "$lastn needs a patient (or subject): the latest results of whom?",
        ));
    }
    params.push(("_sort".into(), "-date".into()));
    params.push(("_count".into(), LASTN_CANDIDATES.to_string()));
    params.push(("_total".into(), "none".into()));
    let strict = ctx.strict;
    let ((query, found), note) = gated(&st, session, move |gate, st| {
        interact::search(
            gate,
            &mut st.store.reader()?,
            "Observation",
            &params,
            strict,
        )
    })
    .await?;
    let mut per_code: std::collections::HashMap<String, usize> = Default::default();
    let mut kept = Vec::new();
    let incomplete = found.has_next;
    for row in found.matches {
        let value: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
        let key = code_key(&value);
        let n = per_code.entry(key).or_default();
        if *n < max {
            *n += 1;
            kept.push(row);
        }
    }
    let mut found = crate::server::store::Found {
        matches: kept,
        ..Default::default()
    };
    found.total = (!incomplete).then_some(found.matches.len() as i64);
    let mut bundle = bundle::search_result(&ctx.base, &query, found);
    bundle.link.clear();
    if incomplete {
        bundle.total = None;
    }
    let mut json: Value = serde_json::from_str(&bundle.to_json()).unwrap_or(Value::Null);
    if incomplete {
        let warning = operation_outcome(
            "warning",
            IssueCode::TooCostly,
            &format!(
                "only the newest {LASTN_CANDIDATES} matching Observations were looked at; narrow the search (category, code, date) for a complete answer"
            ),
        );
        let outcome = serde_json::json!({"resource": warning, "search": {"mode": "outcome"}});
        match json["entry"].as_array_mut() {
            Some(entries) => entries.push(outcome),
            None => json["entry"] = Value::Array(vec![outcome]),
        }
    }
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        json.to_string(),
    )))
}

/// What `$lastn` groups by: the Observation's first coded `code` (system|code), else its text.
fn code_key(o: &Value) -> String {
    let coding = o["code"]["coding"].as_array().and_then(|c| c.first());
    match coding {
        Some(c) => format!(
            "{}|{}",
            c["system"].as_str().unwrap_or_default(),
            c["code"].as_str().unwrap_or_default()
        ),
        None => format!("text:{}", o["code"]["text"].as_str().unwrap_or_default()),
    }
}
