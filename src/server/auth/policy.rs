//! What each role may do, decided by the server (hiding a menu entry is not a control).
//!
//! | | physician | nurse | support | admin | clerk |
//! |---|---|---|---|---|---|
//! | patients (demographics): read, search | yes | yes | yes | no | yes |
//! | patients: register and edit (Patient, Coverage) | yes | yes | correct details, with a reason | no | yes |
//! | directory (Practitioner, Organization, Location, Medication): read | yes | yes | yes | yes | yes |
//! | clinical content: read | yes | yes | metadata only (Provenance whole); whole with break-the-glass | no | Coverage only |
//! | notes (DocumentReference): write | yes | yes | no | no | no |
//! | vital signs (Observation, category vital-signs): write | yes | yes | no | no | no |
//! | allergies and intolerances (AllergyIntolerance): write | yes | yes | no | no | no |
//! | admissions, transfers, discharges (Encounter): write | yes | yes | no | no | no |
//! | medication orders | sign | draft, for a physician to co-sign | no | no | no |
//! | other clinical writes | yes | no | no | no | no |
//! | directory writes | no | no | no | yes | no |
//! | delete | yes (not audit) | no | no | no | no |
//! | audit trail: read | no | no | yes | yes | no |
//! | user management | no | no | no | yes | no |
//! | break-the-glass | yes | yes | yes | no | no |
//!
//! A new Patient is given its MRN by the server (`mrn.rs`), and an MRN never changes.
//!
//! Restricted patients (`meta.security` R) need break-the-glass for clinical content whatever
//! the role; the server checks that beside these rules.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Physician,
    Nurse,
    Support,
    Admin,
    /// Registration staff: patients' demographics and insurance, nothing clinical.
    Clerk,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Physician,
        Role::Nurse,
        Role::Support,
        Role::Admin,
        Role::Clerk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Physician => "physician",
            Role::Nurse => "nurse",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::Clerk => "clerk",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles that act in charts and so are tied to a Practitioner.
    pub fn is_clinical(self) -> bool {
        matches!(self, Role::Physician | Role::Nurse)
    }

    pub fn may_break_glass(self) -> bool {
        !matches!(self, Role::Admin | Role::Clerk)
    }

    pub fn may_read_audit(self) -> bool {
        matches!(self, Role::Support | Role::Admin)
    }

    pub fn manages_users(self) -> bool {
        self == Role::Admin
    }
}

/// What kind of data a resource type holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Demographic,
    Directory,
    Clinical,
    Audit,
}

/// A type is clinical when it can hold patient data: one of its elements can reference a
/// Patient or any resource (per the specification's definitions: Observation, Task, Bundle,
/// Coverage...). The rest (Practitioner, Organization, Location, Medication, ValueSet,
/// Questionnaire, Slot...) is the shared directory.
pub fn class(rtype: &str) -> Class {
    match rtype {
        "Patient" => Class::Demographic,
        "AuditEvent" => Class::Audit,
        // An unknown type is treated as patient data: the closed side.
        t if crate::fhir::is_supported(t) && !crate::fhir::spec::holds_patient_data(t) => {
            Class::Directory
        }
        _ => Class::Clinical,
    }
}

/// How much of a resource a role may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAccess {
    Full,
    /// id, meta and which patient it belongs to, nothing clinical.
    Metadata,
}

/// A refusal: the permission that is missing, worded for the OperationOutcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    pub permission: &'static str,
    pub role: Role,
    pub detail: String,
}

impl Denied {
    fn new(role: Role, permission: &'static str, detail: impl Into<String>) -> Denied {
        Denied {
            permission,
            role,
            detail: detail.into(),
        }
    }

    pub fn message(&self) -> String {
        format!(
            "forbidden: the {} role does not have the permission '{}' ({})",
            self.role.as_str(),
            self.permission,
            self.detail
        )
    }
}

pub fn read_access(role: Role, rtype: &str) -> Result<ReadAccess, Denied> {
    match (class(rtype), role) {
        (Class::Directory, _) => Ok(ReadAccess::Full),
        (Class::Audit, r) if r.may_read_audit() => Ok(ReadAccess::Full),
        (Class::Audit, r) => Err(Denied::new(
            r,
            "audit.read",
            "the audit trail is for support and privacy review",
        )),
        (_, Role::Admin) => Err(Denied::new(
            role,
            if class(rtype) == Class::Demographic {
                "demographics.read"
            } else {
                "clinical.read"
            },
            "administrators manage users and have no access to patient records",
        )),
        (Class::Demographic, _) => Ok(ReadAccess::Full),
        (Class::Clinical, Role::Clerk) if rtype == "Coverage" => Ok(ReadAccess::Full),
        (Class::Clinical, Role::Clerk) => Err(Denied::new(
            role,
            "clinical.read",
            "registration staff see patients' demographics and insurance (Coverage), nothing clinical",
        )),
        // Who changed a record and why is the support desk's to read, as the audit trail is.
        (Class::Clinical, Role::Support) if rtype == "Provenance" => Ok(ReadAccess::Full),
        (Class::Clinical, Role::Support) => Ok(ReadAccess::Metadata),
        (Class::Clinical, _) => Ok(ReadAccess::Full),
    }
}

/// True when an Observation is a vital sign (category `vital-signs`).
fn is_vital_sign(resource: &Value) -> bool {
    resource["category"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().into_iter().flatten())
        .any(|c| c["code"] == "vital-signs")
}

/// May `role` create or update `resource` of type `rtype`?
pub fn check_write(role: Role, rtype: &str, resource: &Value) -> Result<(), Denied> {
    let none = |permission: &'static str, detail: &str| Err(Denied::new(role, permission, detail));
    match class(rtype) {
        Class::Audit => none(
            "audit.write",
            "audit records are written by the server only and cannot be created, changed or deleted",
        ),
        Class::Directory if role == Role::Admin => Ok(()),
        Class::Directory => none(
            "directory.write",
            "practitioners, organisations, locations and medications are maintained by administrators",
        ),
        // Registration: clerks, nurses and physicians register patients and their insurance.
        Class::Demographic if matches!(role, Role::Clerk | Role::Nurse | Role::Physician) => Ok(()),
        Class::Clinical
            if rtype == "Coverage"
                && matches!(role, Role::Clerk | Role::Nurse | Role::Physician) =>
        {
            Ok(())
        }
        Class::Demographic if role == Role::Support => none(
            "demographics.correct",
            "support staff correct a patient's registration details only with a reason: PUT or PATCH Patient/id with an X-Provenance header (a Provenance whose reason says why) and If-Match",
        ),
        _ if role == Role::Clerk => none(
            "clinical.write",
            "registration staff write patients' demographics and insurance (Coverage) only",
        ),
        _ if !role.is_clinical() => none(
            "clinical.write",
            "only physicians and nurses write to patient records",
        ),
        _ if role == Role::Physician => Ok(()),
        // A nurse:
        Class::Demographic => none(
            "demographics.write",
            "patient registration details are changed by physicians or registration staff",
        ),
        Class::Clinical => match rtype {
            // Nurses take and record the allergy history at admission, and admit, move and
            // discharge the ward's patients (bed management).
            "DocumentReference" | "DetectedIssue" | "AllergyIntolerance" | "Encounter" => Ok(()),
            "Observation" if is_vital_sign(resource) => Ok(()),
            "Observation" => none(
                "results.write",
                "nurses record vital signs (category vital-signs); other results come from the lab or a physician",
            ),
            "MedicationRequest" if resource["status"] == "draft" => Ok(()),
            // The shift handoff (I-PASS) of their patients.
            "Composition" if is_handoff(resource) => Ok(()),
            "MedicationRequest" => none(
                "orders.sign",
                "a nurse's medication order needs a physician's co-signature: file it with status 'draft' for a physician to sign",
            ),
            _ => none(
                "clinical.write",
                "nurses write notes, record vital signs and allergies, admit, transfer and discharge, and draft medication orders",
            ),
        },
    }
}

/// Elements of a Patient a support correction leaves alone: they change what the record is
/// (merged, inactive, deceased, whose), not how its details are written.
const NOT_CORRECTED: &[&str] = &[
    "active",
    "link",
    "deceasedBoolean",
    "deceasedDateTime",
    "managingOrganization",
];

/// May `role` correct the Patient `before` into `after`? Support staff correct registration
/// details (names, birth date, sex, addresses, contacts, language) when they give a reason;
/// whether the record is active, merged or deceased is not theirs to change, and its
/// restriction label and MRN are guarded for every role.
pub fn check_correction(role: Role, before: &Value, after: &Value) -> Result<(), Denied> {
    if role != Role::Support {
        return check_change(role, "Patient", Some(before), after, None);
    }
    for field in NOT_CORRECTED {
        if before.get(*field) != after.get(*field) {
            return Err(Denied::new(
                role,
                "demographics.correct",
                format!(
                    "a correction changes registration details; '{field}' says whether the record is active, merged or deceased and is changed by clinicians or the merge"
                ),
            ));
        }
    }
    Ok(())
}

/// The Practitioners a resource names as its author: who requested, wrote, performed or
/// recorded it.
fn authors(resource: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for field in ["requester", "author", "performer", "recorder", "asserter"] {
        let items: Vec<&Value> = match &resource[field] {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        };
        for item in items {
            let reference = item["reference"]
                .as_str()
                .or_else(|| item["actor"]["reference"].as_str());
            if let Some(r) = reference.filter(|r| r.contains("Practitioner/")) {
                out.push(r);
            }
        }
    }
    out
}

/// An I-PASS handoff summary (a Composition of the handoff type), which nurses write too.
fn is_handoff(resource: &Value) -> bool {
    resource["type"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["system"] == crate::fhir::HANDOFF.0 && c["code"] == crate::fhir::HANDOFF.1)
}

/// May `role` (acting as the Practitioner `actor`) replace `before` with `after`? The new
/// body must be the role's to write, and so must the version it replaces: a nurse may not
/// turn a physician's signed order into a draft or relabel a lab result as a vital sign, and
/// changes only what she or he recorded.
pub fn check_change(
    role: Role,
    rtype: &str,
    before: Option<&Value>,
    after: &Value,
    actor: Option<&str>,
) -> Result<(), Denied> {
    check_write(role, rtype, after)?;
    let Some(before) = before else {
        return Ok(());
    };
    check_write(role, rtype, before).map_err(|d| Denied {
        detail: format!("the version being replaced: {}", d.detail),
        ..d
    })?;
    if role == Role::Nurse {
        let by_others = authors(before);
        let own = |r: &&str| actor.is_some_and(|a| r.ends_with(a));
        if !by_others.is_empty() && !by_others.iter().any(own) {
            return Err(Denied::new(
                role,
                "records.others",
                "a nurse changes only what she or he recorded; this was recorded by someone else",
            ));
        }
    }
    Ok(())
}

/// The resource types an `_include` or `_revinclude` value can bring into a result: the
/// source type of a `_revinclude`, the target type(s) of an `_include`.
pub fn include_types(name: &str, value: &str) -> Vec<String> {
    let mut parts = value.split(':');
    let (Some(source), Some(param)) = (parts.next(), parts.next()) else {
        return Vec::new();
    };
    if name == "_revinclude" {
        return vec![source.to_string()];
    }
    if let Some(target) = parts.next() {
        return vec![target.to_string()];
    }
    crate::fhir::params::find(source, param)
        .map(|p| p.targets.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

/// Whether a search parameter tests a resource's clinical content (rather than which record
/// it is, whose it is, when it was stored, or how the answer is paged): a role that may not
/// read the content may not learn it from a match either.
pub fn tests_content(rtype: &str, key: &str, value: &str) -> bool {
    !content_tested(rtype, key, value).is_empty()
}

/// The types whose content a search parameter tests: `rtype` itself for a parameter on its
/// clinical content, and the types a chain or a `_has` reaches (`Patient?_has:Observation:...`
/// tests Observations). Each must be readable in full by the role that searches.
pub fn content_tested(rtype: &str, key: &str, value: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_tested(rtype, key, value, &mut out, 0);
    out.sort();
    out.dedup();
    out
}

fn collect_tested(rtype: &str, key: &str, value: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        out.push(rtype.to_string());
        return;
    }
    if let Some(rest) = key.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let source = parts.next().unwrap_or_default();
        let inner = parts.nth(1).unwrap_or_default();
        // Which source records point here is itself the source's content.
        out.push(source.to_string());
        collect_tested(source, inner, value, out, depth + 1);
        return;
    }
    if let Some((head, rest)) = key.split_once('.') {
        let (name, target) = match head.split_once(':') {
            Some((n, t)) => (n, Some(t)),
            None => (head, None),
        };
        if class(rtype) == Class::Clinical {
            out.push(rtype.to_string());
        }
        let targets: Vec<String> = match target {
            Some(t) => vec![t.to_string()],
            None => crate::fhir::params::find(rtype, name)
                .map(|p| {
                    p.alias_target
                        .map(|t| vec![t.to_string()])
                        .unwrap_or_else(|| p.targets.iter().map(|t| t.to_string()).collect())
                })
                .unwrap_or_default(),
        };
        if targets.is_empty() {
            // Unknown targets: the closed side.
            out.push(rtype.to_string());
        }
        for t in targets {
            if class(&t) == Class::Clinical {
                out.push(t.clone());
            }
            collect_tested(&t, rest, value, out, depth + 1);
        }
        return;
    }
    if plain_tests_content(rtype, key, value) {
        out.push(rtype.to_string());
    }
}

fn plain_tests_content(rtype: &str, key: &str, value: &str) -> bool {
    if class(rtype) != Class::Clinical {
        return false;
    }
    let name = key.split(':').next().unwrap_or_default();
    match name {
        "patient" | "subject" | "_id" | "_lastUpdated" | "_include" | "_revinclude" => false,
        "_sort" => value
            .split(',')
            .map(|k| k.trim_start_matches('-'))
            .any(|k| !k.is_empty() && k != "_id" && k != "_lastUpdated"),
        n => !crate::server::store::search::is_control_parameter(n),
    }
}

pub fn check_delete(role: Role, rtype: &str) -> Result<(), Denied> {
    if class(rtype) == Class::Audit {
        return Err(Denied::new(
            role,
            "audit.write",
            "audit records cannot be created, changed or deleted",
        ));
    }
    if role == Role::Physician && class(rtype) != Class::Directory {
        return Ok(());
    }
    if role == Role::Admin && class(rtype) == Class::Directory {
        return Ok(());
    }
    Err(Denied::new(
        role,
        "records.delete",
        "deleting records is limited to physicians (patient records) and administrators (directory)",
    ))
}

/// The patients a resource belongs to: its patient compartments (itself for a Patient; the
/// Patient references the specification's compartment definition names for its type; every
/// Patient named by a type outside that definition that can hold patient data).
pub fn patients_of(rtype: &str, id: &str, resource: &Value) -> Vec<String> {
    crate::fhir::extract::compartments(rtype, id, resource)
}

/// `patients_of` read from a stored resource's JSON text without building the whole
/// document: only the top-level elements the compartment definition reads for this type are
/// parsed, the rest is skipped. `None` when the text does not have the plain shape this
/// expects (the caller then parses it whole).
pub fn patients_of_json(rtype: &str, id: &str, json: &str) -> Option<Vec<String>> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    /// Keeps the top-level members named in `fields`, skipping the others unbuilt.
    struct Pick<'f>(&'f [String]);
    impl<'de> DeserializeSeed<'de> for Pick<'_> {
        type Value = serde_json::Map<String, Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Pick<'_> {
        type Value = serde_json::Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a resource")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            // Keys are read as written: an escaped key fails the borrow, and the caller
            // parses the whole text instead.
            while let Some(key) = map.next_key::<&str>()? {
                if self.0.iter().any(|f| f == key) {
                    // A repeated key keeps its last value, as the whole parse does.
                    out.insert(key.to_string(), map.next_value()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let fields = crate::fhir::extract::compartment_fields(rtype)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let small = Pick(fields).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(patients_of(rtype, id, &Value::Object(small)))
}

pub use crate::fhir::{is_restricted, restricted_label};

/// `resource` cut down to its metadata: type, id, meta, and whose it is. Tagged SUBSETTED, as
/// FHIR asks of any resource served incomplete.
pub fn metadata_only(rtype: &str, id: &str, resource: &Value) -> Value {
    let mut out = serde_json::json!({"resourceType": rtype, "id": id});
    let mut meta = resource["meta"].clone();
    if !meta.is_object() {
        meta = serde_json::json!({});
    }
    let subsetted = serde_json::json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
        "display": "clinical content withheld: break-the-glass to see it"
    });
    match meta["tag"].as_array_mut() {
        Some(tags) => tags.push(subsetted),
        None => meta["tag"] = Value::Array(vec![subsetted]),
    }
    out["meta"] = meta;
    // Whose it is: the references that place it in a patient's compartment, kept as they are.
    if let Some(fields) = crate::fhir::extract::compartment_fields(rtype) {
        for field in fields {
            if let Some(reference) = resource[field]["reference"].as_str() {
                out[field.as_str()] = serde_json::json!({"reference": reference});
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whose_a_resource_is_read_from_its_text_as_from_the_whole_document() {
        let texts = [
            r#"{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}"#,
            r#"{"resourceType":"AllergyIntolerance","patient":{"reference":"https://x.org/fhir/Patient/p2/_history/3"}}"#,
            r#"{"subject":{"reference":"Group/g1"},"patient":{"reference":"Patient/p3"}}"#,
            r#"{"subject":{"display":"no reference"},"code":{"text":"\"Patient/\" in a string"}}"#,
            r#"{"subject":{"reference":"Patient/"}}"#,
            r#"{"note":[{"text":"subject"}],"subject":{"reference":"Patient/p\u0034"}}"#,
            r#"{"subject":"Patient/p5"}"#,
            r#"{"subject":{"reference":"Patient/a"},"subject":{"reference":"Patient/b"}}"#,
            r#"{"subject":{"reference":7}}"#,
            r#"{"subject":null,"patient":{"reference":"Patient/p6"}}"#,
            r#"{"performer":[{"reference":"Practitioner/d1"},{"reference":"Patient/p7"}]}"#,
            r#"{"\u0073ubject":{"reference":"Patient/p8"}}"#,
        ];
        for rtype in ["Observation", "AllergyIntolerance", "Coverage", "Task"] {
            for text in texts {
                let whole: Value = serde_json::from_str(text).unwrap();
                let expected = patients_of(rtype, "o1", &whole);
                match patients_of_json(rtype, "o1", text) {
                    Some(found) => assert_eq!(found, expected, "{rtype} {text}"),
                    // Left to the whole parse: an escaped key, or a type read whole.
                    None => assert!(text.contains("\\u0073") || rtype == "Task", "{text}"),
                }
            }
        }
        let obs = |text: &str| patients_of_json("Observation", "o1", text);
        assert_eq!(obs(texts[0]), Some(vec!["p1".to_string()]));
        assert_eq!(obs(texts[10]), Some(vec!["p7".to_string()]));
        assert_eq!(obs(texts[7]), Some(vec!["b".to_string()]));
        assert_eq!(patients_of_json("Patient", "p9", "{not json"), None);
        // A Task is not in the compartment definition: every Patient it names.
        let task = json!({"for": {"reference": "Patient/t1"},
            "input": [{"valueReference": {"reference": "Patient/t2"}}]});
        assert_eq!(patients_of("Task", "x", &task), ["t1", "t2"]);
        assert_eq!(class("Task"), Class::Clinical);
        assert_eq!(class("Coverage"), Class::Clinical);
        assert_eq!(class("Questionnaire"), Class::Directory);
        assert_eq!(class("Slot"), Class::Directory);
        assert_eq!(class("PractitionerRole"), Class::Directory);
    }

    #[test]
    fn nurse_drafts_medication_orders_and_records_vitals_only() {
        let draft = json!({"resourceType": "MedicationRequest", "status": "draft"});
        let active = json!({"resourceType": "MedicationRequest", "status": "active"});
        assert!(check_write(Role::Nurse, "MedicationRequest", &draft).is_ok());
        let refused = check_write(Role::Nurse, "MedicationRequest", &active).unwrap_err();
        assert_eq!(refused.permission, "orders.sign");
        assert!(refused.message().contains("co-signature"));
        let vital = json!({"category": [{"coding": [{"code": "vital-signs"}]}]});
        let lab = json!({"category": [{"coding": [{"code": "laboratory"}]}]});
        assert!(check_write(Role::Nurse, "Observation", &vital).is_ok());
        assert!(check_write(Role::Nurse, "Observation", &lab).is_err());
        assert!(check_write(Role::Physician, "Observation", &lab).is_ok());
        // The allergy history, yes; diagnoses, no.
        assert!(check_write(Role::Nurse, "AllergyIntolerance", &json!({})).is_ok());
        assert!(check_write(Role::Nurse, "Condition", &json!({})).is_err());
        assert!(check_write(Role::Support, "AllergyIntolerance", &json!({})).is_err());
    }

    #[test]
    fn support_sees_metadata_and_admin_no_patients() {
        assert_eq!(
            read_access(Role::Support, "Observation"),
            Ok(ReadAccess::Metadata)
        );
        assert_eq!(read_access(Role::Support, "Patient"), Ok(ReadAccess::Full));
        assert!(read_access(Role::Admin, "Patient").is_err());
        assert!(read_access(Role::Admin, "Practitioner").is_ok());
        assert!(read_access(Role::Physician, "AuditEvent").is_err());
    }

    #[test]
    fn patient_and_redaction() {
        let obs = json!({"resourceType": "Observation", "id": "o1",
            "subject": {"reference": "http://x/fhir/Patient/p9"}, "valueQuantity": {"value": 1},
            "meta": {"versionId": "2"}});
        assert_eq!(patients_of("Observation", "o1", &obs), ["p9"]);
        let cut = metadata_only("Observation", "o1", &obs);
        assert!(cut.get("valueQuantity").is_none());
        assert_eq!(cut["meta"]["versionId"], "2");
        assert_eq!(cut["meta"]["tag"][0]["code"], "SUBSETTED");
        let patient = json!({"meta": {"security": [restricted_label()]}});
        assert!(is_restricted(&patient));
        assert!(!is_restricted(&json!({})));
    }
}
