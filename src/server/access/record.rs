//! What a request leaves in the audit trail: the note a handler fills in, who asked what, and
//! the records written from them (one per request, one per batch or transaction entry, one
//! per patient whose restriction label changed).

use axum::http::{Method, StatusCode};

use crate::server::audit::{Agent, Event, Subtype};
use crate::server::auth::Session;

/// What a handler tells the audit about a request it served.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    pub patients: Vec<String>,
    pub resources: Vec<String>,
    /// Set when any of it was served under break-the-glass: the reason.
    pub emergency: Option<String>,
    /// The reason the request gave for its change (`X-Provenance`).
    pub reason: Option<String>,
    /// Patients whose restriction label this request changed (each gets its own record).
    pub label_changes: Vec<String>,
    /// One record per entry of a batch or transaction.
    pub entries: Vec<EntryAudit>,
    /// The request's own record (and its label changes) were stored in its write's
    /// transaction (`Gate::record_write`).
    pub in_write: bool,
}

/// Who asked what, for the audit records of one FHIR request (set by the session check).
#[derive(Clone, Debug)]
pub struct RequestAudit {
    pub agent: Agent,
    pub address: Option<String>,
    pub method: axum::http::Method,
    pub path: String,
    pub query: Option<String>,
}

impl AuditNote {
    pub fn attach(self, mut response: axum::response::Response) -> axum::response::Response {
        response.extensions_mut().insert(self);
        response
    }

    /// Adds what `other` touched to this note.
    pub fn merge(&mut self, other: AuditNote) {
        for p in other.patients {
            if !self.patients.contains(&p) {
                self.patients.push(p);
            }
        }
        self.resources.extend(other.resources);
        if self.emergency.is_none() {
            self.emergency = other.emergency;
        }
        self.label_changes.extend(other.label_changes);
        self.entries.extend(other.entries);
    }
}

/// The audit of one Bundle entry.
#[derive(Clone, Debug)]
pub struct EntryAudit {
    pub index: usize,
    pub subtype: Subtype,
    pub status: u16,
    pub patients: Vec<String>,
    pub resources: Vec<String>,
    pub query: Option<String>,
    pub emergency: Option<String>,
    pub description: Option<String>,
    /// Stored in the entry's own write transaction.
    pub in_write: bool,
}

pub fn agent(session: &Session) -> Agent {
    Agent {
        username: Some(session.username.clone()),
        name: Some(session.name.clone()),
        role: Some(session.role.as_str().to_string()),
        reference: session.reference(),
    }
}

/// What a FHIR request is, from its method and path (for the audit when a handler said
/// nothing, e.g. it failed).
pub(super) fn classify(method: &Method, path: &str) -> (Subtype, Vec<String>, Option<String>) {
    let rest = path.trim_start_matches("/fhir").trim_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let resource = |t: &str, id: &str| vec![format!("{t}/{id}")];
    let patient = |t: &str, id: &str| (t == "Patient").then(|| id.to_string());
    match (method, segments.as_slice()) {
        (_, []) => (Subtype::Transaction, Vec::new(), None),
        (&Method::POST, [_]) => (Subtype::Create, Vec::new(), None),
        // Conditional update and delete: which records, the handler notes.
        (&Method::PUT, [_]) => (Subtype::Update, Vec::new(), None),
        (&Method::DELETE, [_]) => (Subtype::Delete, Vec::new(), None),
        (_, ["_history"]) | (_, [_, "_history"]) => (Subtype::History, Vec::new(), None),
        // An operation on a type (`Patient/$merge`): the handler notes what it concerned.
        (_, [_, op]) | (_, [op]) if op.starts_with('$') => (Subtype::Operation, Vec::new(), None),
        (_, [_]) | (_, [_, "_search"]) => (Subtype::Search, Vec::new(), None),
        (&Method::PUT, [t, id]) => (Subtype::Update, resource(t, id), patient(t, id)),
        (&Method::DELETE, [t, id]) => (Subtype::Delete, resource(t, id), patient(t, id)),
        (&Method::PATCH, [t, id]) => (Subtype::Patch, resource(t, id), patient(t, id)),
        (_, [t, id]) => (Subtype::Read, resource(t, id), patient(t, id)),
        (_, [t, id, "_history"]) => (Subtype::History, resource(t, id), patient(t, id)),
        (_, [t, id, "_history", _]) => (Subtype::Vread, resource(t, id), patient(t, id)),
        (_, [t, id, ..]) => (Subtype::Operation, resource(t, id), patient(t, id)),
    }
}

/// The patient a search names (`patient=`, `subject=`, `_id` on Patient).
fn query_patient(path: &str, query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| {
        let named = matches!(k.as_ref(), "patient" | "subject")
            || (k == "_id" && path.ends_with("/Patient"));
        named.then(|| v.rsplit('/').next().unwrap_or_default().to_string())
    })
}

/// The audit records of one FHIR request that answered `status`: its own (unless its write
/// stored it), one per Bundle entry not stored with its write, and one per restriction label
/// changed.
pub fn request_events(request: &RequestAudit, status: u16, note: &AuditNote) -> Vec<Event> {
    let success = (200..300).contains(&status);
    let mut events = Vec::new();
    if !note.in_write {
        let (subtype, resources, patient) = classify(&request.method, &request.path);
        let mut event = Event::new(subtype, request.agent.clone());
        event.address = request.address.clone();
        event.status = Some(status);
        event.success = success;
        event.query = request
            .query
            .as_ref()
            .filter(|_| subtype == Subtype::Search)
            .cloned();
        event.patients = note.patients.clone();
        event.patients.extend(patient);
        event.patients.extend(
            request
                .query
                .as_deref()
                .and_then(|q| query_patient(&request.path, q)),
        );
        event.resources = if note.resources.is_empty() {
            resources
        } else {
            note.resources.clone()
        };
        event.emergency_reason = note.emergency.clone();
        event.reason = note.reason.clone();
        if !success {
            event.description = Some(
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("failed")
                    .to_string(),
            );
        }
        events.push(event);
    }
    // Each Bundle entry has a record of its own, naming its patients.
    for entry in note.entries.iter().filter(|e| !e.in_write) {
        events.push(entry_event(request, entry));
    }
    // A restriction label changed: a security event of its own.
    if success && !note.in_write {
        events.extend(label_events(request, &note.label_changes, &note.emergency));
    }
    events
}

/// The record of one Bundle entry.
pub fn entry_event(request: &RequestAudit, entry: &EntryAudit) -> Event {
    let mut e = Event::new(entry.subtype, request.agent.clone());
    e.address = request.address.clone();
    e.status = Some(entry.status);
    e.success = entry.status < 400 && entry.description.is_none();
    e.patients = entry.patients.clone();
    e.resources = entry.resources.clone();
    e.query = entry.query.clone();
    e.emergency_reason = entry.emergency.clone();
    e.description = Some(match &entry.description {
        Some(d) => format!("Bundle entry {}: {d}", entry.index),
        None => format!("Bundle entry {}", entry.index),
    });
    e
}

/// The security events of restriction labels changed.
pub fn label_events(
    request: &RequestAudit,
    patients: &[String],
    emergency: &Option<String>,
) -> Vec<Event> {
    patients
        .iter()
        .map(|patient| {
            let mut e = Event::new(Subtype::SecurityLabel, request.agent.clone());
            e.address = request.address.clone();
            e.patients = vec![patient.clone()];
            e.resources = vec![format!("Patient/{patient}")];
            e.emergency_reason = emergency.clone();
            e.description = Some(format!(
                "the security labels of Patient/{patient} were changed"
            ));
            e
        })
        .collect()
}
