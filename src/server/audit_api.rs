//! `GET /fhir/AuditEvent` and `GET /fhir/AuditEvent/{id}`: the audit trail, read-only, for
//! support staff and privacy review. Search parameters: `patient`, `altid` (username; `agent`
//! is taken as a username too), `role`, `subtype`, `outcome`, `emergency=true` (break-the-glass
//! access only), `date` (with ge/gt/le/lt/eq prefixes),
//! `_count`, `_offset`. Newest first.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::AppState;
use super::bundle::{self, Paging, offset_and_count};
use super::ctx::Ctx;
use super::response::{ApiError, json_response, version_headers};
use crate::fhir::IssueCode;
use crate::server::audit::{self, Filter};
use crate::server::auth::Session;
use crate::server::store::Row;

/// An audit event as an administrator may see it: who did what and when, without the patients
/// it concerned, the query that was run or the reason given for emergency access (all of them
/// clinical metadata, which administrators do not read).
fn for_admin(json: String) -> String {
    let Ok(mut event) = serde_json::from_str::<serde_json::Value>(&json) else {
        return json;
    };
    if let Some(entities) = event.get_mut("entity").and_then(|e| e.as_array_mut()) {
        let before = entities.len();
        entities.retain(|e| {
            let role = e["role"]["code"].as_str().unwrap_or_default();
            let what = e["what"]["reference"].as_str().unwrap_or_default();
            // Patients (role 1), queries (24) and any patient's or clinical resource.
            role != "1"
                && role != "24"
                && what.split('/').next().is_none_or(|t| {
                    crate::server::auth::policy::class(t)
                        == crate::server::auth::policy::Class::Directory
                })
        });
        let withheld = before - entities.len();
        if withheld > 0 {
            entities.push(serde_json::json!({
                "description": format!("{withheld} entities withheld: administrators do not see which patients or records an access concerned"),
            }));
        }
    }
    if let Some(purpose) = event
        .get_mut("purposeOfEvent")
        .and_then(|p| p.as_array_mut())
    {
        for p in purpose {
            if let Some(obj) = p.as_object_mut() {
                obj.remove("text");
            }
        }
    }
    event.to_string()
}

pub async fn read(st: AppState, session: Session, id: String) -> Result<Response, ApiError> {
    let store = st.store.clone();
    let wanted = id.clone();
    let found = st
        .work
        .try_run(move || Ok(audit::read(&store, &wanted)?))
        .await?;
    let admin = session.role == crate::server::auth::Role::Admin;
    let found = found.map(|json| if admin { for_admin(json) } else { json });
    match found {
        Some(json) => Ok(json_response(
            StatusCode::OK,
            version_headers(1, 0, None),
            json,
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            format!("AuditEvent/{id} was not found"),
        )),
    }
}

fn filter(params: &[(String, String)]) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    for (key, value) in params {
        let name = key.split(':').next().unwrap_or_default();
        match name {
            "entity" if value.contains('/') => {
                let mut parts = value.trim_start_matches('/').split('/');
                let (Some(t), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(ApiError::bad_request(format!(
                        "entity '{value}' must be Type/id"
                    )));
                };
                if !crate::fhir::is_supported(t) || !crate::fhir::valid_id(id) {
                    return Err(ApiError::bad_request(format!(
                        "entity '{value}' must be Type/id"
                    )));
                }
                f.resource = Some(format!("{t}/{id}"));
            }
            "patient" | "entity" => {
                f.patient = Some(value.rsplit('/').next().unwrap_or_default().to_string())
            }
            "altid" | "agent" => f.username = Some(value.to_lowercase()),
            "subtype" => f.subtype = Some(value.rsplit('|').next().unwrap_or_default().into()),
            "outcome" => f.outcome = Some(value.clone()),
            "role" => f.role = Some(value.rsplit('|').next().unwrap_or_default().to_lowercase()),
            "emergency" => match value.as_str() {
                "true" => f.emergency = true,
                "false" => {}
                _ => {
                    return Err(ApiError::bad_request("emergency takes true or false"));
                }
            },
            "date" => {
                let (prefix, when) = match value.get(..2) {
                    Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
                    _ => ("eq", value.as_str()),
                };
                let range = crate::fhir::date::parse_range(when).ok_or_else(|| {
                    ApiError::bad_request(format!("date '{value}' is not a valid date"))
                })?;
                match prefix {
                    "ge" | "gt" => f.from_ms = Some(range.lo),
                    "le" | "lt" => f.to_ms = Some(range.hi),
                    _ => {
                        f.from_ms = Some(range.lo);
                        f.to_ms = Some(range.hi);
                    }
                }
            }
            "_count" | "_offset" | "_page" | "_sort" | "_format" | "_total" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "AuditEvent search does not support '{other}'; use patient, altid, role, subtype, outcome, emergency or date"
                )));
            }
        }
    }
    Ok(f)
}

pub async fn search(st: AppState, session: Session, ctx: Ctx) -> Result<Response, ApiError> {
    let (offset, count) = offset_and_count(&ctx.params, 50, 500)?;
    let mut f = filter(&ctx.params)?;
    let admin = session.role == crate::server::auth::Role::Admin;
    let patient_record = f.resource.as_deref().is_some_and(|r| {
        r.split('/')
            .next()
            .is_some_and(|t| crate::fhir::spec::holds_patient_data(t) || t == "Patient")
    });
    if admin && (f.patient.is_some() || patient_record) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            "forbidden: the admin role does not have the permission 'audit.patient' (administrators review sign-ins and user management; who opened a patient's record is for support and privacy review)",
        ));
    }
    f.offset = offset;
    f.count = count;
    let patient = f.patient.clone();
    let store = st.store.clone();
    let (rows, total) = st
        .work
        .try_run(move || Ok(audit::search(&store, &f)?))
        .await?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(id, recorded, json)| Row {
            rtype: "AuditEvent".into(),
            id,
            version: 1,
            updated: recorded,
            json: if admin { for_admin(json) } else { json },
            patients: None,
        })
        .collect();
    let url = format!("{}/AuditEvent", ctx.base);
    let params: Vec<(String, String)> = ctx
        .params
        .iter()
        .filter(|(k, _)| k != "_offset" && k != "_page")
        .cloned()
        .collect();
    let paging = Paging {
        url: &url,
        params: &params,
        offset,
        count,
        has_next: offset + count < total,
    };
    let bundle = bundle::searchset(&ctx.base, Some(total), rows, Vec::new(), &paging, None);
    let response = json_response(StatusCode::OK, HeaderMap::new(), bundle.to_json());
    Ok(super::access::AuditNote {
        patients: patient.into_iter().collect(),
        ..Default::default()
    }
    .attach(response))
}
