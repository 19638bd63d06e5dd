//! `_history`: of one resource, of a type, of the server; each page through the gate.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::*;

pub async fn history_instance(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path((rtype, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    policy::read_access(session.role, &rtype).map_err(forbidden)?;
    if rtype == "AuditEvent" {
        return Err(audit_history_refused());
    }
    let url = format!("{}/{rtype}/{id}/_history", ctx.base);
    history(
        st,
        session,
        ctx,
        url,
        true,
        move |r, since, offset, count| {
            r.history(HistoryScope::Instance(&rtype, &id), since, offset, count)
        },
    )
    .await
}

pub async fn history_type(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    Path(rtype): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    policy::read_access(session.role, &rtype).map_err(forbidden)?;
    if rtype == "AuditEvent" {
        return Err(audit_history_refused());
    }
    let url = format!("{}/{rtype}/_history", ctx.base);
    history(
        st,
        session,
        ctx,
        url,
        false,
        move |r, since, offset, count| r.history(HistoryScope::Type(&rtype), since, offset, count),
    )
    .await
}

pub async fn history_system(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, q)?;
    let url = format!("{}/_history", ctx.base);
    // Only the types the role may read are listed at all (an administrator sees the
    // directory's history, nothing of any patient's).
    let role = session.role;
    let readable: Vec<&'static str> = crate::fhir::RESOURCE_TYPES
        .iter()
        .copied()
        .filter(|t| *t != "AuditEvent" && policy::read_access(role, t).is_ok())
        .collect();
    history(
        st,
        session,
        ctx,
        url,
        false,
        move |r, since, offset, count| {
            r.history(HistoryScope::System(&readable), since, offset, count)
        },
    )
    .await
}

type HistoryPage =
    crate::server::store::Result<crate::server::store::Page<crate::server::store::HistoryEntry>>;

async fn history(
    st: AppState,
    session: Session,
    ctx: Ctx,
    url: String,
    instance: bool,
    list: impl FnOnce(&crate::server::store::Reader, Option<i64>, i64, i64) -> HistoryPage
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    let (offset, count) = offset_and_count(&ctx.params, 50, 1000)?;
    let since = since_param(&ctx.params)?;
    let (page, note) = gated(&st, session, move |gate, st| {
        let mut page = list(&st.store.reader()?, since, offset, count)?;
        let mut kept = Vec::with_capacity(page.rows.len());
        for mut entry in page.rows {
            if let Some(json) = entry.json.take() {
                if instance {
                    // One resource's history is read as the resource is: refused whole when
                    // a read would be.
                    let row = Row {
                        rtype: entry.rtype.clone(),
                        id: entry.id.clone(),
                        version: entry.version,
                        updated: entry.updated,
                        json,
                        patients: None,
                    };
                    entry.json = Some(gate.single(row)?.json);
                } else {
                    match gate.listed_json(&entry.rtype, &entry.id, json) {
                        Some(json) => entry.json = Some(json),
                        None => continue,
                    }
                }
            }
            kept.push(entry);
        }
        page.rows = kept;
        Ok(page)
    })
    .await?;
    let params = listing_params(&ctx.params);
    let paging = Paging {
        url: &url,
        params: &params,
        offset,
        count,
        has_next: page.has_next,
    };
    let bundle = bundle::history(&ctx.base, page.total, page.rows, &paging);
    Ok(note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        bundle.to_json(),
    )))
}

pub(super) fn since_param(params: &[(String, String)]) -> Result<Option<i64>, ApiError> {
    params
        .iter()
        .find(|(k, _)| k == "_since")
        .map(|(_, v)| {
            crate::fhir::date::parse_range(v)
                .map(|r| r.lo)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("_since '{v}' is not a valid instant"))
                })
        })
        .transpose()
}

pub(super) fn listing_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| k != "_offset" && k != "_page")
        .cloned()
        .collect()
}
