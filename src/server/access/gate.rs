//! The one gate every request passes, whichever way it came in: a plain REST interaction, an
//! entry of a batch or transaction, an `_include`, a history listing, `$everything`, or the
//! condition of a conditional create or delete. It applies the requester's role, the patient
//! compartment, the restriction label and any break-the-glass grant, and remembers which
//! patients were touched for the audit record. Used on a blocking thread.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::record::{AuditNote, RequestAudit};
use crate::fhir::IssueCode;
use crate::server::auth::policy::{self, Class, ReadAccess};
use crate::server::auth::{Auth, Role, Session};
use crate::server::response::ApiError;
use crate::server::store::search::Scope;
use crate::server::store::{Reader, Row, Tx};

/// How one resource may be shown to the requesting user.
pub enum View {
    Full,
    Metadata,
    /// A restricted record without break-the-glass: the message to give.
    Restricted(String),
    /// A type the role may not read at all (left out of listings).
    Hidden,
}

/// Patients whose restriction a request asks its own reader about up front (a search naming
/// more asks about the rest as their rows come).
const PREFETCHED: usize = 64;

pub struct Gate {
    auth: Auth,
    pub session: Session,
    restricted: HashMap<String, bool>,
    glass: HashMap<String, Option<String>>,
    grants: Option<Vec<String>>,
    pub note: AuditNote,
    /// The request being served, when its writes store their own audit records.
    pub request: Option<RequestAudit>,
    /// The site's MRN system: numbers for new patients, kept on updates.
    pub mrn: crate::server::mrn::MrnPolicy,
    /// The reason a `PUT` or `PATCH Patient/id` gave for its change (`X-Provenance`); never
    /// set for a Bundle's entries.
    pub correction: Option<String>,
}

impl Gate {
    pub fn new(auth: &Auth, session: &Session) -> Gate {
        Gate {
            auth: auth.clone(),
            session: session.clone(),
            restricted: HashMap::new(),
            glass: HashMap::new(),
            grants: None,
            note: AuditNote::default(),
            request: None,
            mrn: crate::server::mrn::MrnPolicy::default(),
            correction: None,
        }
    }

    /// Notes a version written, for the audit record (`Type/id/_history/n`: who wrote what,
    /// down to the version).
    pub fn wrote(&mut self, written: &crate::server::store::Written) {
        self.note.resources.push(format!(
            "{}/{}/_history/{}",
            written.rtype, written.id, written.version
        ));
    }

    /// Stores this request's audit records (it will answer `status`) in the write transaction
    /// `tx`, so the write and its record commit together. Without a request (a test, the
    /// fuzzer) the caller's own audit applies.
    pub fn record_write(&mut self, tx: &mut Tx, status: u16) -> Result<(), ApiError> {
        let Some(request) = &self.request else {
            return Ok(());
        };
        let events = super::record::request_events(request, status, &self.note);
        crate::server::audit::record_in(tx, &events)?;
        self.note.in_write = true;
        for entry in &mut self.note.entries {
            entry.in_write = true;
        }
        Ok(())
    }

    /// Stores the record of the Bundle entry just audited (the last one), and the label
    /// changes it made, in its write transaction `tx`.
    pub fn record_entry(&mut self, tx: &mut Tx, labels_from: usize) -> Result<(), ApiError> {
        let Some(request) = &self.request else {
            return Ok(());
        };
        let Some(entry) = self.note.entries.last() else {
            return Ok(());
        };
        let mut events = vec![super::record::entry_event(request, entry)];
        events.extend(super::record::label_events(
            request,
            self.note
                .label_changes
                .get(labels_from..)
                .unwrap_or_default(),
            &entry.emergency,
        ));
        crate::server::audit::record_in(tx, &events)?;
        Ok(())
    }

    pub fn role(&self) -> Role {
        self.session.role
    }

    /// Whether the stored Patient `patient` is restricted (as committed; a patient not stored
    /// is not).
    pub fn is_restricted(&mut self, patient: &str) -> bool {
        if let Some(known) = self.restricted.get(patient) {
            return *known;
        }
        let answer = self
            .auth
            .store
            .reader()
            .and_then(|r| r.is_restricted_patient(patient));
        self.learn_restricted(patient, answer)
    }

    /// Asks `reader` (the request's own, whose snapshot its rows come from) whether the
    /// patients a search or `$everything` names are restricted, so the checks that follow need
    /// no reader of their own. At most `PREFETCHED` patients; any others are asked when met.
    pub fn restrictions_from(&mut self, reader: &Reader, patients: &[String]) {
        for patient in patients.iter().take(PREFETCHED) {
            if !self.restricted.contains_key(patient) {
                self.learn_restricted(patient, reader.is_restricted_patient(patient));
            }
        }
    }

    /// Restrictions named by a search's `patient`/`subject` parameters, from `reader`.
    pub fn restrictions_named(&mut self, reader: &Reader, params: &[(String, String)]) {
        self.restrictions_from(reader, &named_patients(params));
    }

    fn learn_restricted(
        &mut self,
        patient: &str,
        answer: crate::server::store::Result<bool>,
    ) -> bool {
        // Closed when the answer is unknown: a record is never shown as unrestricted because
        // the check could not run.
        let restricted = answer.unwrap_or_else(|e| {
            tracing::error!(error = %e, "a restriction check could not run");
            true
        });
        self.restricted.insert(patient.to_string(), restricted);
        restricted
    }

    /// The reason of the user's active break-the-glass on `patient`, if any.
    pub fn glass(&mut self, patient: &str) -> Option<String> {
        if let Some(known) = self.glass.get(patient) {
            return known.clone();
        }
        let reason = self
            .auth
            .glass_broken(&self.session.username, patient)
            .ok()
            .flatten()
            .map(|(_, reason)| reason);
        self.glass.insert(patient.to_string(), reason.clone());
        reason
    }

    /// The patients the user holds an active break-the-glass grant on.
    fn grants(&mut self) -> Vec<String> {
        if let Some(g) = &self.grants {
            return g.clone();
        }
        let grants = self
            .auth
            .glass_grants(&self.session.username)
            .unwrap_or_default();
        self.grants = Some(grants.clone());
        grants
    }

    fn touched(&mut self, patient: &str) {
        if !patient.is_empty() && !self.note.patients.iter().any(|p| p == patient) {
            self.note.patients.push(patient.to_string());
        }
    }

    fn emergency(&mut self, reason: String) {
        self.note.emergency.get_or_insert(reason);
    }

    /// May the user read resources of `rtype` at all, and how much of them?
    pub fn read_type(&self, rtype: &str) -> Result<ReadAccess, ApiError> {
        policy::read_access(self.role(), rtype).map_err(forbidden)
    }

    /// Whether `resource` is a personal patient list that is not this user's: hidden whichever
    /// way it is asked for, and not to be changed.
    pub fn others_list(&self, rtype: &str, resource: &Value) -> bool {
        crate::fhir::personal_list_owner(rtype, resource).is_some_and(|owner| {
            owner.is_empty() || self.session.practitioner.as_deref() != Some(owner.as_str())
        })
    }

    fn refuse_others_list(&self) -> ApiError {
        forbidden(policy::Denied {
            permission: "list.personal",
            role: self.role(),
            detail: "a personal patient list is read and changed only by the clinician it belongs to (its source)".into(),
        })
    }

    /// How `resource` may be shown.
    pub fn view(&mut self, rtype: &str, id: &str, resource: &Value) -> View {
        let patients = policy::patients_of(rtype, id, resource);
        self.view_of(rtype, &patients)
    }

    /// `view` of a resource of `rtype` in the compartments of `patients` (or none). A record
    /// in several charts (an Appointment of two patients, a Group) is shown whole only when
    /// every one of them is open to the user.
    fn view_of(&mut self, rtype: &str, patients: &[String]) -> View {
        let Ok(access) = policy::read_access(self.role(), rtype) else {
            return View::Hidden;
        };
        for p in patients {
            self.touched(p);
        }
        if policy::class(rtype) != Class::Clinical {
            return View::Full;
        }
        let mut view = match access {
            ReadAccess::Full => View::Full,
            ReadAccess::Metadata => View::Metadata,
        };
        if patients.is_empty() {
            return view;
        }
        view = View::Full;
        for patient in patients {
            let restricted = self.is_restricted(patient);
            if !restricted && access == ReadAccess::Full {
                continue;
            }
            match self.glass(patient) {
                Some(reason) => self.emergency(reason),
                None if restricted => return View::Restricted(restricted_message(patient)),
                None => view = View::Metadata,
            }
        }
        view
    }

    /// One resource read on its own: whole, cut to metadata, or refused.
    pub fn single(&mut self, mut row: Row) -> Result<Row, ApiError> {
        let value: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
        if self.others_list(&row.rtype, &value) {
            return Err(self.refuse_others_list());
        }
        match self.view(&row.rtype, &row.id, &value) {
            View::Full => {}
            View::Metadata => {
                row.json = policy::metadata_only(&row.rtype, &row.id, &value).to_string();
            }
            View::Restricted(message) => {
                let mut refused =
                    ApiError::new(StatusCode::FORBIDDEN, IssueCode::Forbidden, message);
                refused.patients = self.note.patients.clone();
                return Err(refused);
            }
            View::Hidden => {
                return Err(self.read_type(&row.rtype).err().unwrap_or_else(|| {
                    ApiError::new(StatusCode::FORBIDDEN, IssueCode::Forbidden, "forbidden")
                }));
            }
        }
        Ok(row)
    }

    /// A row in a listing: whole, cut to metadata, or left out (a type the role may not read).
    pub fn listed(&mut self, mut row: Row) -> Option<Row> {
        if row.rtype == "List" {
            let value: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
            if self.others_list(&row.rtype, &value) {
                return None;
            }
        }
        // A patient's own record or the directory's is shown as its type allows: only whose it
        // is (for the audit) is needed, and that is its id.
        if policy::class(&row.rtype) != Class::Clinical {
            let own = (row.rtype == "Patient").then(|| row.id.clone());
            return match self.view_of(&row.rtype, own.as_slice()) {
                View::Hidden => None,
                _ => Some(row),
            };
        }
        // Most rows are shown whole: for those only whose they are is needed, from the
        // compartment index the listing read, else from the text.
        let patients = row
            .patients
            .take()
            .or_else(|| policy::patients_of_json(&row.rtype, &row.id, &row.json));
        if let Some(patients) = patients {
            match self.view_of(&row.rtype, &patients) {
                View::Full => return Some(row),
                View::Hidden => return None,
                View::Metadata | View::Restricted(_) => {}
            }
        }
        let Ok(value) = serde_json::from_str::<Value>(&row.json) else {
            return Some(row);
        };
        match self.view(&row.rtype, &row.id, &value) {
            View::Full => {}
            View::Hidden => return None,
            View::Metadata | View::Restricted(_) => {
                row.json = policy::metadata_only(&row.rtype, &row.id, &value).to_string();
            }
        }
        Some(row)
    }

    /// A JSON text in a listing (history), or `None` to leave it out.
    pub fn listed_json(&mut self, rtype: &str, id: &str, json: String) -> Option<String> {
        let Ok(value) = serde_json::from_str::<Value>(&json) else {
            return Some(json);
        };
        if self.others_list(rtype, &value) {
            return None;
        }
        match self.view(rtype, id, &value) {
            View::Full => Some(json),
            View::Hidden => None,
            _ => Some(policy::metadata_only(rtype, id, &value).to_string()),
        }
    }

    /// What a search of `rtype` with `params` may do: refused outright, or run with the store
    /// leaving out what the user may not learn from a match (restricted charts, when the
    /// search tests clinical content).
    pub fn search_scope(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
    ) -> Result<Scope, ApiError> {
        let access = self.read_type(rtype)?;
        for (key, value) in params {
            let name = key.split(':').next().unwrap_or_default();
            if name != "_include" && name != "_revinclude" {
                continue;
            }
            for rtype in policy::include_types(name, value) {
                if let Err(denied) = policy::read_access(self.role(), &rtype) {
                    let mut refused = forbidden(denied);
                    refused.outcome["issue"][0]["diagnostics"] = Value::String(format!(
                        "{key}={value} would return {rtype} resources: {}",
                        refused.diagnostics()
                    ));
                    return Err(refused);
                }
            }
        }
        // Every type whose content the search tests (through a chain or `_has` too) must be
        // one the role may read: in full, or as metadata only within charts it holds a grant
        // on.
        let mut content: Option<&String> = None;
        let mut metadata_only = false;
        for (key, value) in params {
            for tested in policy::content_tested(rtype, key, value) {
                content.get_or_insert(key);
                match policy::read_access(self.role(), &tested) {
                    Ok(ReadAccess::Full) => {}
                    Ok(ReadAccess::Metadata) => metadata_only = true,
                    Err(denied) => {
                        let mut refused = forbidden(denied);
                        refused.outcome["issue"][0]["diagnostics"] = Value::String(format!(
                            "'{key}' tests {tested} records: {}",
                            refused.diagnostics()
                        ));
                        return Err(refused);
                    }
                }
            }
        }
        let me = Some(self.session.practitioner.clone().unwrap_or_default());
        let Some(key) = content else {
            return Ok(Scope {
                hide_lists_not_of: me,
                ..Scope::all()
            });
        };
        // A metadata-only role may test content only within charts it holds a grant on.
        let grants = self.grants();
        let named = named_patients(params);
        let within_grants = !named.is_empty() && named.iter().all(|p| grants.contains(p));
        if (metadata_only || access == ReadAccess::Metadata) && !within_grants {
            return Err(forbidden(policy::Denied {
                permission: "clinical.search",
                role: self.role(),
                detail: format!(
                    "this role sees record metadata only, so it cannot search {rtype} by its clinical content ('{key}'); search by patient, subject, _id or _lastUpdated"
                ),
            }));
        }
        // A search within named charts that are open to the user has nothing to leave out.
        let open = |gate: &mut Gate, p: &String| grants.contains(p) || !gate.is_restricted(p);
        if !named.is_empty() && named.iter().all(|p| open(self, p)) {
            return Ok(Scope {
                hide_lists_not_of: me,
                ..Scope::all()
            });
        }
        Ok(Scope {
            hide_restricted_except: Some(grants),
            hide_lists_not_of: me,
        })
    }

    /// A token whose scopes allow reading only (a provider's `user/*.rs`) changes nothing,
    /// whichever way the change comes (REST, a batch or transaction entry, a conditional
    /// operation, PATCH).
    fn require_write_scope(&self) -> Result<(), ApiError> {
        if self.session.may_write {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            IssueCode::Forbidden,
            "forbidden: this sign-in's scopes allow reading only (user/*.rs); sign in with write scopes (user/*.cruds) to make changes",
        ))
    }

    /// May this user write `after` over `before` (the version it replaces, if any)? Checks the
    /// role against both versions, both patients' restriction, and a restriction label change.
    pub fn check_change(
        &mut self,
        rtype: &str,
        id: Option<&str>,
        before: Option<&Value>,
        after: &Value,
    ) -> Result<(), ApiError> {
        self.require_write_scope()?;
        if self.others_list(rtype, after) || before.is_some_and(|b| self.others_list(rtype, b)) {
            return Err(self.refuse_others_list());
        }
        let actor = self.session.reference();
        match (before, &self.correction) {
            // Support corrects registration details, with a reason, a version at a time.
            (Some(before), Some(_)) if rtype == "Patient" && self.role() == Role::Support => {
                policy::check_correction(self.role(), before, after).map_err(forbidden)?
            }
            _ => policy::check_change(self.role(), rtype, before, after, actor.as_deref())
                .map_err(forbidden)?,
        }
        let id = id.unwrap_or_default();
        let mut patients: Vec<String> = Vec::new();
        let new_patient = rtype == "Patient" && before.is_none();
        if !new_patient {
            patients.extend(policy::patients_of(rtype, id, after));
        }
        if let Some(before) = before {
            patients.extend(policy::patients_of(rtype, id, before));
        }
        patients.retain(|p| !p.is_empty());
        patients.sort();
        patients.dedup();
        for patient in &patients {
            self.touched(patient);
            self.require_glass_if_restricted(patient)?;
        }
        if rtype == "Patient" {
            if let Some(before) = before {
                let changed =
                    crate::fhir::security_labels(before) != crate::fhir::security_labels(after);
                if changed {
                    if self.role() != Role::Physician || self.glass(id).is_none() {
                        return Err(forbidden(policy::Denied {
                            permission: "security.label",
                            role: self.role(),
                            detail: format!(
                                "changing or removing the security labels of Patient/{id} needs a physician who has broken the glass on that record (POST /auth/break-glass); the change is audited"
                            ),
                        }));
                    }
                    if let Some(reason) = self.glass(id) {
                        self.emergency(reason);
                    }
                    self.note.label_changes.push(id.to_string());
                }
            }
        }
        Ok(())
    }

    /// May this user delete `rtype/id`, whose current version is `before`?
    pub fn check_removal(
        &mut self,
        rtype: &str,
        id: &str,
        before: Option<&Value>,
    ) -> Result<(), ApiError> {
        self.require_write_scope()?;
        policy::check_delete(self.role(), rtype).map_err(forbidden)?;
        if before.is_some_and(|b| self.others_list(rtype, b)) {
            return Err(self.refuse_others_list());
        }
        if let Some(before) = before {
            for patient in policy::patients_of(rtype, id, before) {
                self.touched(&patient);
                self.require_glass_if_restricted(&patient)?;
            }
        }
        Ok(())
    }

    fn require_glass_if_restricted(&mut self, patient: &str) -> Result<(), ApiError> {
        if !self.is_restricted(patient) {
            return Ok(());
        }
        match self.glass(patient) {
            Some(reason) => {
                self.emergency(reason);
                Ok(())
            }
            None => {
                let mut refused = ApiError::new(
                    StatusCode::FORBIDDEN,
                    IssueCode::Forbidden,
                    restricted_message(patient),
                );
                refused.patients = vec![patient.to_string()];
                Err(refused)
            }
        }
    }
}

/// The patients a search names: values of `patient` (or `subject:Patient`), and of `subject`
/// when written `Patient/ID` (a bare `subject` id could be a Group's).
fn named_patients(params: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in params {
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key.as_str(), None),
        };
        let any_form = match (name, modifier) {
            ("patient", None | Some("Patient")) | ("subject", Some("Patient")) => true,
            ("subject", None) => false,
            _ => continue,
        };
        for v in value.split(',') {
            let id = match v.rsplit_once("Patient/") {
                Some((_, id)) => id,
                None if any_form => v,
                None => continue,
            };
            if !id.is_empty() && !id.contains('/') {
                out.push(id.to_string());
            }
        }
    }
    out
}

pub fn restricted_message(patient: &str) -> String {
    format!(
        "forbidden: Patient/{patient} is a restricted record; break the glass (POST /auth/break-glass with a reason) to open it. Emergency access is audited."
    )
}

pub fn forbidden(denied: policy::Denied) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        IssueCode::Forbidden,
        denied.message(),
    )
}

#[cfg(test)]
mod tests {
    use super::named_patients;

    fn named(pairs: &[(&str, &str)]) -> Vec<String> {
        let params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        named_patients(&params)
    }

    #[test]
    fn only_patient_references_name_a_patient() {
        assert_eq!(named(&[("patient", "p1,Patient/p2")]), ["p1", "p2"]);
        assert_eq!(named(&[("subject", "Patient/p3")]), ["p3"]);
        assert_eq!(named(&[("subject:Patient", "p4")]), ["p4"]);
        // A bare subject id could be a Group; a modifier such as :missing names nobody.
        assert!(named(&[("subject", "g1"), ("subject", "Group/g2")]).is_empty());
        assert!(named(&[("patient:missing", "true"), ("code", "x")]).is_empty());
    }
}
