//! Operations (`$everything` and the others), by GET and by POST.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::history::{listing_params, since_param};
use super::*;

pub async fn operation(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path((rtype, id, operation)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    if rtype == "Group" && operation == "$export" {
        let level = crate::server::export::Level::Group(id);
        return crate::server::export::kick_off(st, session, level, headers, q).await;
    }
    let ctx = ctx(&headers, q)?;
    check_type(&rtype)?;
    if rtype == "Patient" && operation == "$as-of" {
        return as_of(st, session, id, ctx).await;
    }
    if rtype != "Patient" || operation != "$everything" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotSupported,
            format!(
                "{rtype}/{{id}}/{operation} is not an operation this server supports (Patient/{{id}}/$everything is)"
            ),
        ));
    }
    let (offset, count) = offset_and_count(&ctx.params, 100, 5000)?;
    let since = since_param(&ctx.params)?;
    let mut types: Vec<String> = ctx
        .params
        .iter()
        .filter(|(k, _)| k == "_type")
        .flat_map(|(_, v)| v.split(',').map(str::to_string))
        .filter(|t| !t.is_empty())
        .collect();
    // A type named twice is listed once (and each is a known type, checked by the store).
    types.sort_unstable();
    types.dedup();
    policy::read_access(session.role, "Patient").map_err(forbidden)?;
    // The whole chart is clinical: a role that reads no clinical content (registration
    // staff) is refused it whole, rather than served a page whose total counts what it
    // may not see.
    policy::read_access(session.role, "Observation").map_err(forbidden)?;
    let patient = id.clone();
    let (page, note) = gated(&st, session, move |gate, st| {
        let reader = st.store.reader()?;
        gate.restrictions_from(&reader, std::slice::from_ref(&patient));
        // A restricted chart is refused whole (not served as metadata) so the workstation can
        // offer break-the-glass; support staff get metadata of an unrestricted one.
        whole_chart(gate, &patient)?;
        let mut page = reader.everything(&patient, &types, since, offset, count)?;
        page.rows = page
            .rows
            .into_iter()
            .filter_map(|r| gate.listed(r))
            .collect();
        if !gate.note.patients.contains(&patient) {
            gate.note.patients.push(patient.clone());
        }
        Ok(page)
    })
    .await?;
    let url = format!("{}/Patient/{id}/$everything", ctx.base);
    let params = listing_params(&ctx.params);
    let paging = Paging {
        url: &url,
        params: &params,
        offset,
        count,
        has_next: page.has_next,
    };
    let bundle = bundle::searchset(&ctx.base, page.total, page.rows, Vec::new(), &paging, None);
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        bundle.to_json(),
    )))
}

/// A restricted chart is refused whole (not served as metadata) without the glass, so the
/// workstation can offer break-the-glass.
fn whole_chart(gate: &mut Gate, patient: &str) -> Result<(), ApiError> {
    if gate.is_restricted(patient) && gate.glass(patient).is_none() {
        let mut refused = ApiError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            format!(
                "forbidden: Patient/{patient} is a restricted record; break the glass (POST /auth/break-glass with a reason) to open it. Emergency access is audited."
            ),
        );
        refused.patients = vec![patient.to_string()];
        return Err(refused);
    }
    Ok(())
}

/// The most records `Patient/{id}/$as-of` rebuilds.
const AS_OF_LIMIT: usize = 50_000;

/// `GET Patient/{id}/$as-of?at=INSTANT`: the chart as it was at that moment, rebuilt from
/// history (each record's version current then), through the gate as `$everything` is.
async fn as_of(st: AppState, session: Session, id: String, ctx: Ctx) -> Result<Response, ApiError> {
    let mut at = None;
    for (k, v) in &ctx.params {
        match k.as_str() {
            "at" => {
                at = Some(
                    crate::fhir::date::parse_range(v)
                        .ok_or_else(|| {
                            ApiError::bad_request(format!("at '{v}' is not a date or instant"))
                        })?
                        .hi,
                )
            }
            "_format" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "Patient/$as-of takes 'at' (a moment), not '{other}'"
                )));
            }
        }
    }
    let at = at.ok_or_else(|| ApiError::bad_request("Patient/$as-of needs 'at' (a moment)"))?;
    policy::read_access(session.role, "Patient").map_err(forbidden)?;
    policy::read_access(session.role, "Observation").map_err(forbidden)?;
    let patient = id.clone();
    let (rows, note) = gated(&st, session, move |gate, st| {
        let reader = st.store.reader()?;
        gate.restrictions_from(&reader, std::slice::from_ref(&patient));
        whole_chart(gate, &patient)?;
        let rows: Vec<Row> = reader
            .as_of(&patient, at, AS_OF_LIMIT)?
            .into_iter()
            .filter_map(|r| gate.listed(r))
            .collect();
        if !gate.note.patients.contains(&patient) {
            gate.note.patients.push(patient.clone());
        }
        Ok(rows)
    })
    .await?;
    let url = format!("{}/Patient/{id}/$as-of", ctx.base);
    let paging = Paging {
        url: &url,
        params: &ctx.params,
        offset: 0,
        count: rows.len() as i64,
        has_next: false,
    };
    let total = rows.len() as i64;
    let bundle = bundle::searchset(&ctx.base, Some(total), rows, Vec::new(), &paging, None);
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        bundle.to_json(),
    )))
}

pub async fn operation_post(
    st: State<AppState>,
    session: Extension<Session>,
    request: Extension<RequestAudit>,
    path: Path<(String, String, String)>,
    headers: HeaderMap,
    q: RawQuery,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    if path.0.2 == "$move" {
        check_type(&path.0.0)?;
        let body = super::json_body(&st.0, &headers, body).await?;
        let (rtype, id, _) = path.0;
        return crate::server::support::move_post(st.0, session.0, request.0, rtype, id, body)
            .await;
    }
    if path.0.2 == "$validate" {
        // `$validate` of an instance: the body as an update of it would be judged.
        let ctx = ctx(&headers, q.0)?;
        check_type(&path.0.0)?;
        let body = super::json_body(&st.0, &headers, body).await?;
        return super::type_operation::validate_response(&path.0.0, body, &ctx);
    }
    operation(st, session, path, headers, q).await
}
