//! Bulk Data `$export` (FHIR Bulk Data Access 1.0): system, Patient and Group level, `_type`
//! and `_since`, the asynchronous kick-off (202 and a status URL), the status (202 while
//! running, then the manifest), NDJSON files, and `DELETE` of a job.
//!
//! Every resource goes through the requester's gate as a search result would: a role sees
//! what it may read (support: metadata only; an administrator: the directory), a restricted
//! chart is cut to its metadata without a grant. The files are the requester's alone, live in
//! a private folder beside the database, and are deleted on `DELETE` or `KEEP` after the job
//! ends, whichever comes first. The export is audited when it ends, with every patient whose
//! data it wrote.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Extension, Path as UrlPath, RawQuery, State};
use axum::http::header::{CONTENT_LOCATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::access::Gate;
use super::auth::{Session, policy};
use super::ctx::ctx;
use super::response::{ApiError, json_response};
use crate::fhir::{IssueCode, RESOURCE_TYPES, is_supported, operation_outcome};
use crate::server::store::{Store, Within};

/// How long a finished job's files are kept.
pub const KEEP: Duration = Duration::from_secs(3600);
/// Resources in one output file (a type with more is written in several).
const PER_FILE: usize = 10_000;
/// Resources one export may write; past it the job fails and its files are removed.
pub const MAX_RESOURCES: u64 = 5_000_000;
/// Jobs running at once, in all and per user.
const MAX_RUNNING: usize = 2;
/// Members of a Group exported at most.
const MAX_GROUP: usize = 10_000;

/// The export jobs of one server.
pub struct Exports {
    dir: PathBuf,
    jobs: Mutex<HashMap<String, Job>>,
}

struct Job {
    owner: String,
    request: String,
    transaction_time: String,
    state: State_,
    /// When a finished job's files go.
    expires: Option<Instant>,
}

#[allow(non_camel_case_types)]
enum State_ {
    Running { written: u64 },
    Done { output: Vec<Value> },
    Failed(String),
}

/// What an export takes.
#[derive(Clone, Debug)]
pub enum Level {
    System,
    Patient,
    Group(String),
}

impl Exports {
    /// The jobs of the database at `db`; files of an earlier run are removed.
    pub fn new(db: &Path) -> Exports {
        let mut dir = db.as_os_str().to_owned();
        dir.push(".exports");
        let dir = PathBuf::from(dir);
        let _ = std::fs::remove_dir_all(&dir);
        Exports {
            dir,
            jobs: Mutex::new(HashMap::new()),
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes the jobs whose time is up, and their files.
    pub fn sweep(&self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .jobs()
            .iter()
            .filter(|(_, j)| j.expires.is_some_and(|e| e <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove(&id);
        }
    }

    fn remove(&self, id: &str) {
        self.jobs().remove(id);
        let _ = std::fs::remove_dir_all(self.dir.join(id));
    }

    fn set(&self, id: &str, state: State_) {
        if let Some(job) = self.jobs().get_mut(id) {
            if !matches!(state, State_::Running { .. }) {
                job.expires = Some(Instant::now() + KEEP);
            }
            job.state = state;
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        "no such export job (it may have been deleted or have expired)",
    )
}

/// `GET /fhir/$export`, `/fhir/Patient/$export`, `/fhir/Group/{id}/$export`: starts a job.
pub async fn kick_off(
    st: AppState,
    session: Session,
    level: Level,
    headers: HeaderMap,
    query: Option<String>,
) -> Result<Response, ApiError> {
    let ctx = ctx(&headers, query.clone())?;
    st.exports.sweep();
    let async_asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .any(|p| p.contains("respond-async"));
    if !async_asked {
        return Err(ApiError::bad_request(
            "$export runs in the background: send Prefer: respond-async",
        ));
    }
    let mut types: Vec<String> = Vec::new();
    let mut since = None;
    for (k, v) in &ctx.params {
        match k.as_str() {
            "_type" => types.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            ),
            "_since" => {
                since = Some(
                    crate::fhir::date::parse_range(v)
                        .filter(|_| crate::fhir::date::is_instant(v))
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "_since '{v}' is not an instant (YYYY-MM-DDThh:mm:ssZ)"
                            ))
                        })?
                        .lo,
                )
            }
            "_outputFormat"
                if !matches!(
                    v.as_str(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) =>
            {
                return Err(ApiError::bad_request(format!(
                    "_outputFormat '{v}' is not supported; this server writes application/fhir+ndjson"
                )));
            }
            "_typeFilter" | "_elements" | "includeAssociatedData" => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    IssueCode::NotSupported,
                    format!("{k} is not supported by this server's $export"),
                ));
            }
            _ => {}
        }
    }
    if let Some(t) = types.iter().find(|t| !is_supported(t)) {
        return Err(ApiError::bad_request(format!(
            "_type: '{t}' is not a resource type"
        )));
    }
    types.sort();
    types.dedup();
    if types.is_empty() {
        types = RESOURCE_TYPES.iter().map(|t| t.to_string()).collect();
    }
    // The audit trail is read through its own API, never exported in bulk.
    types.retain(|t| t != "AuditEvent");
    if !matches!(level, Level::System) {
        policy::read_access(session.role, "Patient").map_err(super::access::forbidden)?;
    }
    // A bulk copy of patients' records is not registration work: registration staff register
    // one patient at a time.
    if session.role == policy::Role::Clerk {
        return Err(super::access::forbidden(policy::Denied {
            permission: "export",
            role: session.role,
            detail: "registration staff register one patient at a time; bulk export is not theirs"
                .into(),
        }));
    }
    {
        let jobs = st.exports.jobs();
        let running = |j: &&Job| matches!(j.state, State_::Running { .. });
        let mine = jobs
            .values()
            .filter(running)
            .filter(|j| j.owner == session.username)
            .count();
        if mine > 0 || jobs.values().filter(running).count() >= MAX_RUNNING {
            let mut busy = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                IssueCode::Transient,
                "an export is already running (one per user, two in all); try again when it ends",
            );
            busy.retry_after = Some(30);
            return Err(busy);
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let request = format!(
        "{}/{}$export{}",
        ctx.base,
        match &level {
            Level::System => String::new(),
            Level::Patient => "Patient/".to_string(),
            Level::Group(g) => format!("Group/{g}/"),
        },
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    st.exports.jobs().insert(
        id.clone(),
        Job {
            owner: session.username.clone(),
            request: request.clone(),
            transaction_time: crate::fhir::date::instant(crate::fhir::date::now_ms()),
            state: State_::Running { written: 0 },
            expires: None,
        },
    );
    let job = Job_ {
        id: id.clone(),
        dir: st.exports.dir.join(&id),
        base: ctx.base.clone(),
        types,
        since,
        level,
    };
    let state = st.clone();
    tokio::spawn(async move {
        let exports = state.exports.clone();
        let store = state.store.clone();
        let auth = state.auth.clone();
        let who = session.clone();
        let job_id = job.id.clone();
        let progress = exports.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut gate = Gate::new(&auth, &who);
            let outcome = run(&store, &mut gate, &job, &progress);
            (outcome, gate.note.patients)
        })
        .await;
        let (outcome, patients) = match result {
            Ok(r) => r,
            Err(_) => (
                Err("the export stopped unexpectedly".to_string()),
                Vec::new(),
            ),
        };
        let mut event = super::audit::Event::new(
            super::audit::Subtype::Export,
            super::access::agent(&session),
        );
        event.query = Some(request);
        event.patients = patients;
        match &outcome {
            Ok(output) => {
                let n: u64 = output.iter().filter_map(|o| o["count"].as_u64()).sum();
                event.description = Some(format!("bulk export: {n} resources"));
            }
            Err(why) => {
                event.success = false;
                event.description = Some(format!("bulk export failed: {why}"));
            }
        }
        let audited = super::audit::record(&state.store, &[event]).await;
        match (outcome, audited) {
            (Ok(output), Ok(())) => exports.set(&job_id, State_::Done { output }),
            (Ok(_), Err(e)) => {
                // Files that were not audited are not handed out.
                let _ = std::fs::remove_dir_all(exports.dir.join(&job_id));
                exports.set(
                    &job_id,
                    State_::Failed(format!("the export could not be audited: {e}")),
                );
            }
            (Err(why), _) => {
                let _ = std::fs::remove_dir_all(exports.dir.join(&job_id));
                exports.set(&job_id, State_::Failed(why));
            }
        }
    });
    let mut response = StatusCode::ACCEPTED.into_response();
    let status_url = format!("{}/$export-status/{id}", ctx.base);
    if let Ok(v) = HeaderValue::from_str(&status_url) {
        response.headers_mut().insert(CONTENT_LOCATION, v);
    }
    Ok(response)
}

/// A job's work order.
struct Job_ {
    id: String,
    dir: PathBuf,
    base: String,
    types: Vec<String>,
    since: Option<i64>,
    level: Level,
}

/// Writes the files; the manifest's `output` on success.
fn run(
    store: &Store,
    gate: &mut Gate,
    job: &Job_,
    exports: &Exports,
) -> Result<Vec<Value>, String> {
    crate::files::private_dir(&job.dir)
        .map_err(|e| format!("cannot create the export folder: {e}"))?;
    let reader = store.reader().map_err(|e| e.to_string())?;
    let within = match &job.level {
        Level::System => Within::All,
        Level::Patient => Within::AnyPatient,
        Level::Group(id) => {
            let row = reader.read("Group", id).map_err(|e| e.public_message())?;
            let row = gate.single(row).map_err(|e| e.diagnostics().to_string())?;
            let group: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
            let members: Vec<String> = group["member"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["entity"]["reference"].as_str())
                .filter_map(crate::fhir::parse_reference)
                .filter(|(t, _)| *t == "Patient")
                .map(|(_, id)| id.to_string())
                .collect();
            if members.len() > MAX_GROUP {
                return Err(format!(
                    "the Group has {} patients; this server exports at most {MAX_GROUP} at once",
                    members.len()
                ));
            }
            Within::Patients(members)
        }
    };
    let mut output = Vec::new();
    let mut written = 0u64;
    for rtype in &job.types {
        // A type the role may not read is left out (an administrator's export is the
        // directory), as a search of it would be refused.
        if gate.read_type(rtype).is_err() {
            continue;
        }
        let mut after = 0;
        let mut part = 0;
        let mut in_file = 0;
        let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
        loop {
            let page = reader
                .export_page(rtype, &within, job.since, after, 1000)
                .map_err(|e| e.public_message())?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = *last;
            for (_, row) in page {
                let Some(row) = gate.listed(row) else {
                    continue;
                };
                if file.is_none() || in_file >= PER_FILE {
                    if let Some(mut f) = file.take() {
                        f.flush().map_err(|e| e.to_string())?;
                        output.push(entry(&job.base, &job.id, rtype, part, in_file));
                    }
                    part += 1;
                    in_file = 0;
                    let path = job.dir.join(file_name(rtype, part));
                    crate::files::private_file(&path).map_err(|e| e.to_string())?;
                    let f = std::fs::OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&path)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    file = Some(std::io::BufWriter::new(f));
                }
                if let Some(f) = file.as_mut() {
                    f.write_all(row.json.as_bytes())
                        .and_then(|()| f.write_all(b"\n"))
                        .map_err(|e| format!("cannot write the export: {e}"))?;
                }
                in_file += 1;
                written += 1;
                if written > MAX_RESOURCES {
                    return Err(format!(
                        "more than {MAX_RESOURCES} resources; narrow the export with _type or _since"
                    ));
                }
            }
            exports.set(&job.id, State_::Running { written });
        }
        if let Some(mut f) = file.take() {
            f.flush().map_err(|e| e.to_string())?;
            output.push(entry(&job.base, &job.id, rtype, part, in_file));
        }
    }
    Ok(output)
}

fn file_name(rtype: &str, part: usize) -> String {
    format!("{rtype}-{part}.ndjson")
}

fn entry(base: &str, id: &str, rtype: &str, part: usize, count: usize) -> Value {
    json!({
        "type": rtype,
        "url": format!("{base}/$export-file/{id}/{}", file_name(rtype, part)),
        "count": count,
    })
}

/// `GET /fhir/$export-status/{job}`.
pub async fn status(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    st.exports.sweep();
    let jobs = st.exports.jobs();
    let job = jobs
        .get(&id)
        .filter(|j| j.owner == session.username)
        .ok_or_else(not_found)?;
    match &job.state {
        State_::Running { written } => {
            let mut response = StatusCode::ACCEPTED.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{written} resources written")) {
                response.headers_mut().insert("x-progress", v);
            }
            if let Ok(v) = HeaderValue::from_str("2") {
                response.headers_mut().insert("retry-after", v);
            }
            Ok(response)
        }
        State_::Done { output } => {
            let manifest = json!({
                "transactionTime": job.transaction_time,
                "request": job.request,
                "requiresAccessToken": true,
                "output": output,
                "error": [],
            });
            let mut response = (StatusCode::OK, manifest.to_string()).into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
        State_::Failed(why) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            IssueCode::Exception,
            format!("the export failed: {why}"),
        )),
    }
}

/// `DELETE /fhir/$export-status/{job}`: cancels or removes a job and its files.
pub async fn delete(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let owned = st
        .exports
        .jobs()
        .get(&id)
        .is_some_and(|j| j.owner == session.username);
    if !owned {
        return Err(not_found());
    }
    st.exports.remove(&id);
    Ok(json_response(
        StatusCode::ACCEPTED,
        HeaderMap::new(),
        operation_outcome("information", IssueCode::Informational, "export deleted").to_string(),
    ))
}

/// `GET /fhir/$export-file/{job}/{file}`: one NDJSON file, to the job's owner.
pub async fn file(
    State(st): State<AppState>,
    Extension(session): Extension<Session>,
    UrlPath((id, name)): UrlPath<(String, String)>,
    _q: RawQuery,
) -> Result<Response, ApiError> {
    let ready = st
        .exports
        .jobs()
        .get(&id)
        .is_some_and(|j| j.owner == session.username && matches!(j.state, State_::Done { .. }));
    let plain_name = name
        .strip_suffix(".ndjson")
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !ready || !plain_name || !crate::fhir::valid_id(&id.replace('-', "")) {
        return Err(not_found());
    }
    let path = st.exports.dir.join(&id).join(&name);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(not_found)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+ndjson"),
    );
    Ok(response)
}

/// Removes expired jobs every minute while the server runs.
pub fn sweep_every_minute(exports: Arc<Exports>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            exports.sweep();
        }
    })
}
