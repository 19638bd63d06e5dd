//! The support desk's operations, for the `support` role: duplicate patients
//! (`GET Patient/$duplicates`, `POST Patient/$not-duplicate`), merging them
//! (`POST Patient/$merge`, with `preview`; `POST Patient/$unmerge` from the merge's
//! Provenance), moving a note or result filed to the wrong patient (`POST {type}/{id}/$move`).
//! Every one is audited with the patients it concerned and the reason given.
//! Support staff see demographics; what moves in a merge is counted by type, never shown.

pub mod duplicates;
pub mod merge;
pub mod quality;
pub mod refile;
pub mod status;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::fhir::IssueCode;
use crate::server::AppState;
use crate::server::access::{AuditNote, RequestAudit};
use crate::server::auth::{Role, Session};
use crate::server::response::{ApiError, json_response};

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

/// Only support staff use the desk.
pub fn check_role(session: &Session, what: &str) -> Result<(), ApiError> {
    if session.role == Role::Support {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        IssueCode::Forbidden,
        format!(
            "forbidden: the {} role does not have the permission 'support.{what}' (the support desk is for support staff)",
            session.role.as_str()
        ),
    ))
}

/// A `Parameters` body's parameter `name`: its value (any `value[x]`) or `None`.
pub fn param<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            p.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        })
}

/// A change needs a sign-in whose scopes allow changes (a provider's `user/*.rs` reads only).
fn check_writes(session: &Session) -> Result<(), ApiError> {
    if session.may_write {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        IssueCode::Forbidden,
        "forbidden: this sign-in's scopes allow reading only (user/*.rs); sign in with write scopes (user/*.cruds) to make changes",
    ))
}

fn parameters(body: &Value) -> Result<(), ApiError> {
    if body["resourceType"] != "Parameters" || !body["parameter"].is_array() {
        return Err(ApiError::bad_request(
            "the body must be a Parameters resource with a 'parameter' list",
        ));
    }
    if body["parameter"].as_array().is_some_and(|p| p.len() > 20) {
        return Err(ApiError::bad_request("too many parameters (at most 20)"));
    }
    Ok(())
}

/// A patient id from a Reference parameter (`Patient/id`) or a plain id.
pub fn patient_param(body: &Value, name: &str) -> Result<String, ApiError> {
    let v = param(body, name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "the parameter '{name}' (a Patient reference) is missing"
        ))
    })?;
    let text = v["reference"].as_str().or(v.as_str()).unwrap_or_default();
    let id = text.strip_prefix("Patient/").unwrap_or(text);
    if !crate::fhir::valid_id(id) {
        return Err(ApiError::bad_request(format!(
            "the parameter '{name}' must be a reference Patient/id"
        )));
    }
    Ok(id.to_string())
}

/// A reason in words: required, a few characters at least, bounded, no control characters.
pub fn reason_param(body: &Value, name: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = param(body, name) else {
        return Ok(None);
    };
    let text = v.as_str().unwrap_or_default().trim();
    if text.chars().count() < 4 {
        return Err(ApiError::bad_request(format!(
            "the parameter '{name}' needs a reason in words (a few words at least)"
        )));
    }
    if text.chars().count() > MAX_REASON || text.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "the parameter '{name}' must be one line of at most {MAX_REASON} characters"
        )));
    }
    Ok(Some(text.to_string()))
}

fn required_reason(body: &Value) -> Result<String, ApiError> {
    reason_param(body, "reason")?.ok_or_else(|| {
        ApiError::bad_request(
            "the parameter 'reason' is missing: say why, it is kept with the change",
        )
    })
}

fn ok(body: Value, note: AuditNote) -> Response {
    note.attach(json_response(
        StatusCode::OK,
        HeaderMap::new(),
        body.to_string(),
    ))
}

/// A Parameters resource of `parameter`, with the audit note.
fn answer(parameter: Vec<Value>, note: AuditNote) -> Response {
    ok(
        json!({"resourceType": "Parameters", "parameter": parameter}),
        note,
    )
}

fn reference(id: &str, named: &merge::Named) -> Value {
    json!({"reference": format!("Patient/{id}"), "display": named.words()})
}

/// `GET Patient/$duplicates?_count=&_offset=&sure=true`: pairs of records that may be one
/// person, best first, each with its score, verdict and every field's weight and why.
pub async fn duplicates_get(
    st: AppState,
    session: Session,
    params: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    check_role(&session, "duplicates")?;
    let (offset, count) = crate::server::bundle::offset_and_count(&params, 50, 500)?;
    let mut only_sure = false;
    for (k, v) in &params {
        match k.as_str() {
            "sure" => only_sure = v == "true",
            "_count" | "_offset" | "_format" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "Patient/$duplicates does not take '{other}' (it takes _count, _offset and sure)"
                )));
            }
        }
    }
    let store = st.store.clone();
    let system = st.mrn.system.clone();
    let (total, page, names) = st
        .work
        .try_run(move || {
            let pairs = duplicates::scan(&store, &system, 2)?;
            let (total, page, names) = store.read_side(|c| {
                let distinct = duplicates::distinct(c)?;
                let kept: Vec<&duplicates::Pair> = pairs
                    .iter()
                    .filter(|p| !only_sure || p.sure)
                    .filter(|p| !distinct.contains(&(p.a.clone(), p.b.clone())))
                    .collect();
                let page: Vec<duplicates::Pair> = kept
                    .iter()
                    .skip(offset as usize)
                    .take(count as usize)
                    .map(|p| (*p).clone())
                    .collect();
                let mut names = std::collections::HashMap::new();
                for p in &page {
                    for id in [&p.a, &p.b] {
                        if let Some((v, json)) = merge::current(c, "Patient", id)? {
                            names.insert(id.clone(), merge::named(id, v, &json, &system));
                        }
                    }
                }
                Ok((kept.len(), page, names))
            })?;
            Ok::<_, ApiError>((total, page, names))
        })
        .await?;
    let mut out = Vec::new();
    let mut note = AuditNote::default();
    for p in &page {
        let (Some(a), Some(b)) = (names.get(&p.a), names.get(&p.b)) else {
            continue;
        };
        for id in [&p.a, &p.b] {
            if !note.patients.contains(id) {
                note.patients.push(id.clone());
            }
        }
        let mut parts = vec![
            json!({"name": "patient", "valueReference": reference(&p.a, a)}),
            json!({"name": "other", "valueReference": reference(&p.b, b)}),
            json!({"name": "score", "valueDecimal": (p.score * 10.0).round() / 10.0}),
            json!({"name": "verdict", "valueCode": if p.sure { "sure" } else { "review" }}),
        ];
        parts.extend(
            p.why
                .iter()
                .map(|w| json!({"name": "field", "valueString": w})),
        );
        out.push(json!({"name": "pair", "part": parts}));
    }
    let mut parameter = vec![
        json!({"name": "total", "valueInteger": total}),
        json!({"name": "offset", "valueInteger": offset}),
    ];
    parameter.extend(out);
    Ok(answer(parameter, note))
}

/// `POST Patient/$not-duplicate` (patient, other, reason): the pair is never proposed again.
pub async fn not_duplicate(
    st: AppState,
    session: Session,
    body: Value,
) -> Result<Response, ApiError> {
    check_role(&session, "duplicates")?;
    check_writes(&session)?;
    parameters(&body)?;
    let a = patient_param(&body, "patient")?;
    let b = patient_param(&body, "other")?;
    let reason = required_reason(&body)?;
    if a == b {
        return Err(ApiError::bad_request(
            "a record cannot be a duplicate of itself",
        ));
    }
    let store = st.store.clone();
    let username = session.username.clone();
    let note_reason = reason.clone();
    let (x, y) = (a.clone(), b.clone());
    let new = st
        .work
        .try_run(move || {
            Ok(store.write_side(|tx| {
                for id in [&x, &y] {
                    if merge::current(tx, "Patient", id)?.is_none() {
                        return Err(crate::server::store::StoreError::NotFound(
                            "Patient".into(),
                            id.clone(),
                        ));
                    }
                }
                duplicates::mark_distinct(tx, &x, &y, &username, &reason)
            })?)
        })
        .await?;
    let note = AuditNote {
        patients: vec![a.clone(), b.clone()],
        reason: Some(note_reason),
        ..Default::default()
    };
    let words = if new {
        "marked as two people: this pair will not be proposed again"
    } else {
        "already marked as two people"
    };
    Ok(ok(
        crate::fhir::operation_outcome(
            "information",
            IssueCode::Informational,
            &format!("Patient/{a} and Patient/{b} {words}"),
        ),
        note,
    ))
}

fn who(session: &Session) -> merge::Who {
    merge::Who {
        username: session.username.clone(),
        practitioner: session.reference(),
    }
}

fn preview_parameters(p: &merge::Preview) -> Vec<Value> {
    let mut out = vec![
        json!({"name": "source", "valueReference": reference(&p.source.id, &p.source)}),
        json!({"name": "target", "valueReference": reference(&p.target.id, &p.target)}),
        json!({"name": "moves", "valueInteger": p.moving.len()}),
    ];
    out.extend(p.counts.iter().map(|(t, n)| {
        json!({"name": "moved", "part": [
            {"name": "type", "valueCode": t},
            {"name": "count", "valueInteger": n}
        ]})
    }));
    out.push(json!({"name": "active-orders-source", "valueInteger": p.active_orders.0}));
    out.push(json!({"name": "active-orders-target", "valueInteger": p.active_orders.1}));
    out.extend(
        p.refusals
            .iter()
            .map(|r| json!({"name": "refused", "valueString": r})),
    );
    if p.needs_order_reason() {
        out.push(json!({"name": "needs", "valueString": "both records have active orders: confirm with active-orders-reason"}));
    }
    out
}

/// `POST Patient/$merge` (FHIR's operation): `source-patient`, `target-patient`, `reason`,
/// `preview` (true: say what would move, write nothing), `active-orders-reason` (needed when
/// both records have active orders).
pub async fn merge_post(
    st: AppState,
    session: Session,
    request: RequestAudit,
    body: Value,
) -> Result<Response, ApiError> {
    check_role(&session, "merge")?;
    parameters(&body)?;
    let source = patient_param(&body, "source-patient")?;
    let target = patient_param(&body, "target-patient")?;
    let preview_only = param(&body, "preview").and_then(Value::as_bool) == Some(true);
    let reason = if preview_only {
        reason_param(&body, "reason")?.unwrap_or_default()
    } else {
        required_reason(&body)?
    };
    let orders_reason = reason_param(&body, "active-orders-reason")?;
    if !preview_only {
        check_writes(&session)?;
    }
    let system = st.mrn.system.clone();
    let who = who(&session);
    let patients = vec![source.clone(), target.clone()];
    if preview_only {
        let store = st.store.clone();
        let p = st
            .work
            .try_run(move || Ok(store.read_side(|c| merge::preview(c, &source, &target, &system))?))
            .await?;
        let mut parameter = vec![json!({"name": "preview", "valueBoolean": true})];
        parameter.extend(preview_parameters(&p));
        let note = AuditNote {
            patients,
            ..Default::default()
        };
        return Ok(answer(parameter, note));
    }
    let (merged, note) =
        crate::server::handlers::gated_write(&st, session, request, move |gate, st| {
            gate.note.patients = patients;
            gate.note.reason = Some(reason.clone());
            st.store.write_with(|tx| {
                let merged = merge::apply(
                    tx,
                    &source,
                    &target,
                    &system,
                    &reason,
                    orders_reason.as_deref(),
                    &who,
                )?;
                for w in &merged.written {
                    gate.wrote(w);
                }
                gate.wrote(&merged.provenance);
                gate.record_write(tx, 200)?;
                Ok::<_, ApiError>(merged)
            })
        })
        .await?;
    let mut parameter = vec![
        json!({"name": "outcome", "resource": crate::fhir::operation_outcome(
            "information",
            IssueCode::Informational,
            &format!(
                "{} merged into {}: {} records moved",
                merged.preview.source.words(),
                merged.preview.target.words(),
                merged.preview.moving.len()
            ),
        )}),
    ];
    parameter.extend(preview_parameters(&merged.preview));
    parameter.push(json!({"name": "provenance", "valueReference": {"reference": format!("Provenance/{}", merged.provenance.id)}}));
    if let Some(t) = merged
        .written
        .iter()
        .find(|w| w.rtype == "Patient" && w.id == merged.preview.target.id)
    {
        if let Some(json) = &t.json {
            if let Ok(v) = serde_json::from_str::<Value>(json) {
                parameter.push(json!({"name": "result", "resource": v}));
            }
        }
    }
    Ok(answer(parameter, note))
}

/// `POST Patient/$unmerge` (`provenance`: the merge's Provenance id, `reason`).
pub async fn unmerge_post(
    st: AppState,
    session: Session,
    request: RequestAudit,
    body: Value,
) -> Result<Response, ApiError> {
    check_role(&session, "merge")?;
    check_writes(&session)?;
    parameters(&body)?;
    let reason = required_reason(&body)?;
    let id = param(&body, "provenance")
        .and_then(|v| v["reference"].as_str().or(v.as_str()))
        .map(|r| r.trim_start_matches("Provenance/").to_string())
        .filter(|id| crate::fhir::valid_id(id))
        .ok_or_else(|| ApiError::bad_request("the parameter 'provenance' (the merge's Provenance) is missing or not Provenance/id"))?;
    let who = who(&session);
    let system = st.mrn.system.clone();
    let ((undone, source, target), note) =
        crate::server::handlers::gated_write(&st, session, request, move |gate, st| {
            gate.note.reason = Some(reason.clone());
            st.store.write_with(|tx| {
                let undone = merge::undo(tx, &id, &reason, &who)?;
                gate.note.patients = vec![undone.source.clone(), undone.target.clone()];
                for w in &undone.written {
                    gate.wrote(w);
                }
                gate.wrote(&undone.provenance);
                let name = |pid: &str| -> Result<merge::Named, ApiError> {
                    let (v, p) =
                        merge::current(tx.conn(), "Patient", pid)?.unwrap_or((0, Value::Null));
                    Ok(merge::named(pid, v, &p, &system))
                };
                let (s, t) = (name(&undone.source)?, name(&undone.target)?);
                gate.record_write(tx, 200)?;
                Ok::<_, ApiError>((undone, s, t))
            })
        })
        .await?;
    let outcome = crate::fhir::operation_outcome(
        "information",
        IssueCode::Informational,
        &format!(
            "the merge of {} into {} was undone: {} records written back",
            source.words(),
            target.words(),
            undone.written.len()
        ),
    );
    Ok(ok(
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "outcome", "resource": outcome},
            {"name": "provenance", "valueReference": {"reference": format!("Provenance/{}", undone.provenance.id)}}
        ]}),
        note,
    ))
}

/// `POST DocumentReference|Observation|DiagnosticReport/{id}/$move` (`target-patient`,
/// `reason`): the record filed to the wrong patient is moved to the right one.
pub async fn move_post(
    st: AppState,
    session: Session,
    request: RequestAudit,
    rtype: String,
    id: String,
    body: Value,
) -> Result<Response, ApiError> {
    check_role(&session, "refile")?;
    check_writes(&session)?;
    parameters(&body)?;
    if !refile::KINDS.contains(&rtype.as_str()) {
        return Err(ApiError::bad_request(format!(
            "{rtype}/$move: only notes (DocumentReference) and results (Observation, DiagnosticReport) are moved"
        )));
    }
    let target = patient_param(&body, "target-patient")?;
    let reason = required_reason(&body)?;
    let who = who(&session);
    let system = st.mrn.system.clone();
    let (moved, note) =
        crate::server::handlers::gated_write(&st, session, request, move |gate, st| {
            gate.note.reason = Some(reason.clone());
            st.store.write_with(|tx| {
                let moved = refile::apply(tx, &rtype, &id, &target, &system, &reason, &who)?;
                gate.note.patients = vec![moved.from.id.clone(), moved.to.id.clone()];
                for w in moved
                    .filed
                    .iter()
                    .chain(&moved.withdrawn)
                    .chain(&moved.told)
                    .chain(&moved.cancelled)
                {
                    gate.wrote(w);
                }
                gate.wrote(&moved.provenance);
                gate.record_write(tx, 200)?;
                Ok::<_, ApiError>(moved)
            })
        })
        .await?;
    let outcome = crate::fhir::operation_outcome(
        "information",
        IssueCode::Informational,
        &format!(
            "moved from {} to {}: {} record(s) filed on the right chart, the wrong copies marked entered in error; {} author(s) told",
            moved.from.words(),
            moved.to.words(),
            moved.filed.len(),
            moved.told.len()
        ),
    );
    let mut parameter = vec![
        json!({"name": "outcome", "resource": outcome}),
        json!({"name": "from", "valueReference": reference(&moved.from.id, &moved.from)}),
        json!({"name": "to", "valueReference": reference(&moved.to.id, &moved.to)}),
        json!({"name": "provenance", "valueReference": {"reference": format!("Provenance/{}", moved.provenance.id)}}),
    ];
    parameter.extend(moved.filed.iter().map(|w| {
        json!({"name": "filed", "valueReference": {"reference": format!("{}/{}", w.rtype, w.id)}})
    }));
    Ok(answer(parameter, note))
}

/// `GET /fhir/$data-quality` (support): each kind of problem, counted, its first records
/// listed by reference.
pub async fn quality_get(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
) -> Result<Response, ApiError> {
    check_role(&session, "quality")?;
    let store = st.store.clone();
    let kinds = st
        .work
        .try_run(move || Ok(quality::scan(&store, crate::fhir::date::now_ms())?))
        .await?;
    let mut note = AuditNote::default();
    let parameter: Vec<Value> = kinds
        .iter()
        .map(|k| {
            let mut parts = vec![
                json!({"name": "code", "valueCode": k.code}),
                json!({"name": "title", "valueString": k.title}),
                json!({"name": "count", "valueInteger": k.count}),
            ];
            for f in &k.listed {
                if let Some(p) = f.reference.strip_prefix("Patient/") {
                    if !note.patients.iter().any(|x| x == p) {
                        note.patients.push(p.to_string());
                    }
                }
                parts.push(json!({"name": "record", "part": [
                    {"name": "reference", "valueReference": {"reference": f.reference}},
                    {"name": "detail", "valueString": f.detail}
                ]}));
            }
            json!({"name": "kind", "part": parts})
        })
        .collect();
    Ok(answer(parameter, note))
}

/// `GET /fhir/$server-status` (support and admin).
pub async fn status_get(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
) -> Result<Response, ApiError> {
    if session.role != Role::Admin {
        check_role(&session, "status")?;
    }
    let store = st.store.clone();
    let slow = st.slow.clone();
    let body = st
        .work
        .try_run(move || Ok(status::status(&store, &slow, crate::fhir::date::now_ms())?))
        .await?;
    Ok(ok(body, AuditNote::default()))
}

/// `GET /fhir/$hl7-messages?status=&_count=` (support): the interface's message log, newest
/// first: when, from whom, which message, its status and error, the acknowledgement's MSA and
/// the records it wrote. The message itself is not listed (an error may name an MRN, as
/// support staff see on any chart's banner).
pub async fn hl7_messages_get(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    check_role(&session, "interfaces")?;
    let params: Vec<(String, String)> = q
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut status = None;
    let mut count = 100;
    for (k, v) in &params {
        match k.as_str() {
            "status" => {
                if !matches!(
                    v.as_str(),
                    "received" | "applied" | "rejected" | "error" | "waiting"
                ) {
                    return Err(ApiError::bad_request(
                        "status is one of received, applied, rejected, error, waiting",
                    ));
                }
                status = Some(v.clone());
            }
            "_count" => {
                count = v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| ApiError::bad_request("_count is a number from 1 to 1000"))?
            }
            "_format" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "$hl7-messages takes status and _count, not '{other}'"
                )));
            }
        }
    }
    let store = st.store.clone();
    let logged = st
        .work
        .try_run(move || {
            Ok(crate::server::hl7::log::list(
                &store,
                status.as_deref(),
                count,
            )?)
        })
        .await?;
    // The audit names the patients whose records the listed messages wrote.
    let mut note = AuditNote::default();
    for p in logged
        .iter()
        .flat_map(|l| &l.resources)
        .filter_map(|r| r.strip_prefix("Patient/"))
        .filter_map(|r| r.split('/').next())
    {
        if !note.patients.iter().any(|x| x == p) {
            note.patients.push(p.to_string());
        }
    }
    let parameter: Vec<Value> = logged
        .iter()
        .map(|l| {
            let msa = l
                .ack
                .as_deref()
                .and_then(|a| a.split('\r').find(|s| s.starts_with("MSA")))
                .unwrap_or_default();
            let mut parts = vec![
                json!({"name": "seq", "valueInteger": l.seq}),
                json!({"name": "received", "valueInstant": crate::fhir::date::instant(l.received)}),
                json!({"name": "sender", "valueString": l.sender}),
                json!({"name": "control-id", "valueString": l.control_id}),
                json!({"name": "type", "valueString": l.kind}),
                json!({"name": "status", "valueCode": l.status}),
                json!({"name": "ack", "valueString": msa}),
            ];
            if let Some(e) = &l.error {
                parts.push(json!({"name": "error", "valueString": e}));
            }
            parts.extend(
                l.resources
                    .iter()
                    .map(|r| json!({"name": "wrote", "valueReference": {"reference": r}})),
            );
            json!({"name": "message", "part": parts})
        })
        .collect();
    Ok(answer(parameter, note))
}

/// `POST /fhir/$hl7-reprocess` (`seq`, `reason`; support): a rejected or failed message of
/// the interface's log applied again after a fix; its new status recorded and audited with
/// the reason.
pub async fn hl7_reprocess_post(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::Extension(session): axum::Extension<Session>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    check_role(&session, "interfaces")?;
    check_writes(&session)?;
    let body = crate::server::handlers::json_body_of(&st, &headers, body).await?;
    parameters(&body)?;
    let reason = required_reason(&body)?;
    let seq = param(&body, "seq").and_then(Value::as_i64).ok_or_else(|| {
        ApiError::bad_request("the parameter 'seq' (the message's number in the log) is missing")
    })?;
    let Some(options) = st.hl7.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            IssueCode::NotSupported,
            "the HL7 interface is not running on this server (bedside serve --mllp)",
        ));
    };
    let store = st.store.clone();
    let (status, error) = st
        .work
        .try_run(move || {
            crate::server::hl7::handle::reprocess(&store, seq, &options)
                .map_err(|e| ApiError::new(StatusCode::CONFLICT, IssueCode::Conflict, e))
        })
        .await?;
    let note = AuditNote {
        reason: Some(reason),
        ..Default::default()
    };
    let said = match &error {
        None => format!("message {seq} applied"),
        Some(e) => format!("message {seq} {status} again: {e}"),
    };
    Ok(answer(
        vec![
            json!({"name": "status", "valueCode": status}),
            json!({"name": "outcome", "resource": crate::fhir::operation_outcome("information", IssueCode::Informational, &said)}),
        ],
        note,
    ))
}
