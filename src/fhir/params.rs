//! The search parameters the embedded server indexes: for each resource type, the parameter's
//! name, kind and the element paths it reads. `_id` and `_lastUpdated` apply to every type and
//! are answered from the resource table, not from these indexes.

/// The FHIR search parameter types this server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Token,
    Date,
    Reference,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Token => "token",
            Kind::Date => "date",
            Kind::Reference => "reference",
        }
    }
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// Dotted element paths from the resource root; every step flattens arrays.
    pub paths: &'static [&'static str],
    /// For references: the target types indexed (empty: any type).
    pub targets: &'static [&'static str],
    /// Another parameter of the same type whose index rows answer this one (e.g. `patient` is
    /// `subject` restricted to Patient targets); an alias stores no rows of its own.
    pub alias_of: Option<&'static str>,
}

impl Param {
    /// References to a Patient through `patient` or `subject` put a resource in that patient's
    /// compartment (what `Patient/{id}/$everything` returns).
    pub fn is_patient_compartment(&self) -> bool {
        self.kind == Kind::Reference
            && self.alias_of.is_none()
            && matches!(self.name, "patient" | "subject")
    }
}

const fn s(name: &'static str, paths: &'static [&'static str]) -> Param {
    Param {
        name,
        kind: Kind::String,
        paths,
        targets: &[],
        alias_of: None,
    }
}
const fn t(name: &'static str, paths: &'static [&'static str]) -> Param {
    Param {
        name,
        kind: Kind::Token,
        paths,
        targets: &[],
        alias_of: None,
    }
}
const fn d(name: &'static str, paths: &'static [&'static str]) -> Param {
    Param {
        name,
        kind: Kind::Date,
        paths,
        targets: &[],
        alias_of: None,
    }
}
const fn r(name: &'static str, paths: &'static [&'static str]) -> Param {
    Param {
        name,
        kind: Kind::Reference,
        paths,
        targets: &[],
        alias_of: None,
    }
}
const fn rt(
    name: &'static str,
    paths: &'static [&'static str],
    to: &'static [&'static str],
) -> Param {
    Param {
        name,
        kind: Kind::Reference,
        paths,
        targets: to,
        alias_of: None,
    }
}

/// An alias: answered from `of`'s index rows.
const fn alias(
    name: &'static str,
    kind: Kind,
    of: &'static str,
    targets: &'static [&'static str],
) -> Param {
    Param {
        name,
        kind,
        paths: &[],
        targets,
        alias_of: Some(of),
    }
}

const PATIENT: &[&str] = &["Patient"];
/// `patient` where the element is `subject`: the subject index, restricted to Patients.
const PATIENT_SUBJECT: Param = alias("patient", Kind::Reference, "subject", PATIENT);

static PATIENT_PARAMS: &[Param] = &[
    s("name", &["name"]),
    s("family", &["name.family"]),
    s("given", &["name.given"]),
    t("identifier", &["identifier"]),
    d("birthdate", &["birthDate"]),
    t("gender", &["gender"]),
    t("active", &["active"]),
    t("telecom", &["telecom"]),
    s("address", &["address"]),
    s("address-postalcode", &["address.postalCode"]),
    r("general-practitioner", &["generalPractitioner"]),
    r("organization", &["managingOrganization"]),
];

static PRACTITIONER_PARAMS: &[Param] = &[
    s("name", &["name"]),
    s("family", &["name.family"]),
    s("given", &["name.given"]),
    t("identifier", &["identifier"]),
    t("active", &["active"]),
];

static ORGANIZATION_PARAMS: &[Param] = &[
    s("name", &["name", "alias"]),
    t("identifier", &["identifier"]),
    t("active", &["active"]),
    t("type", &["type"]),
];

static LOCATION_PARAMS: &[Param] = &[
    s("name", &["name", "alias"]),
    t("identifier", &["identifier"]),
    t("status", &["status"]),
    t("operational-status", &["operationalStatus"]),
    t("type", &["type"]),
    t("physical-type", &["physicalType"]),
    r("partof", &["partOf"]),
    r("organization", &["managingOrganization"]),
];

static ENCOUNTER_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    d("date", &["period"]),
    t("status", &["status"]),
    t("class", &["class"]),
    t("type", &["type"]),
    t("identifier", &["identifier"]),
    r("location", &["location.location"]),
    r("participant", &["participant.individual"]),
    t("reason-code", &["reasonCode"]),
    r("service-provider", &["serviceProvider"]),
];

static CONDITION_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["code"]),
    t("category", &["category"]),
    t("clinical-status", &["clinicalStatus"]),
    alias("status", Kind::Token, "clinical-status", &[]),
    t("verification-status", &["verificationStatus"]),
    d("onset-date", &["onsetDateTime", "onsetPeriod"]),
    d("recorded-date", &["recordedDate"]),
    d("date", &["onsetDateTime", "onsetPeriod", "recordedDate"]),
    r("encounter", &["encounter"]),
    t("identifier", &["identifier"]),
];

static ALLERGY_PARAMS: &[Param] = &[
    rt("patient", &["patient"], PATIENT),
    t("code", &["code", "reaction.substance"]),
    t("category", &["category"]),
    t("clinical-status", &["clinicalStatus"]),
    alias("status", Kind::Token, "clinical-status", &[]),
    t("verification-status", &["verificationStatus"]),
    t("criticality", &["criticality"]),
    t("type", &["type"]),
    d("date", &["recordedDate"]),
    r("encounter", &["encounter"]),
    t("identifier", &["identifier"]),
];

static MEDICATION_REQUEST_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["medicationCodeableConcept"]),
    r("medication", &["medicationReference"]),
    t("status", &["status"]),
    t("intent", &["intent"]),
    t("category", &["category"]),
    t("priority", &["priority"]),
    d("authoredon", &["authoredOn"]),
    alias("date", Kind::Date, "authoredon", &[]),
    r("encounter", &["encounter"]),
    r("requester", &["requester"]),
    t("identifier", &["identifier"]),
];

static OBSERVATION_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["code"]),
    t("category", &["category"]),
    d(
        "date",
        &["effectiveDateTime", "effectivePeriod", "effectiveInstant"],
    ),
    t("status", &["status"]),
    r("encounter", &["encounter"]),
    t("identifier", &["identifier"]),
    r("based-on", &["basedOn"]),
    r("performer", &["performer"]),
    r("has-member", &["hasMember"]),
    t("component-code", &["component.code"]),
];

static DIAGNOSTIC_REPORT_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["code"]),
    t("category", &["category"]),
    d("date", &["effectiveDateTime", "effectivePeriod"]),
    d("issued", &["issued"]),
    t("status", &["status"]),
    r("encounter", &["encounter"]),
    r("result", &["result"]),
    r("based-on", &["basedOn"]),
    t("identifier", &["identifier"]),
];

static SERVICE_REQUEST_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["code"]),
    t("category", &["category"]),
    t("status", &["status"]),
    t("intent", &["intent"]),
    t("priority", &["priority"]),
    d("authored", &["authoredOn"]),
    alias("date", Kind::Date, "authored", &[]),
    r("encounter", &["encounter"]),
    r("requester", &["requester"]),
    r("based-on", &["basedOn"]),
    t("identifier", &["identifier"]),
];

static DOCUMENT_REFERENCE_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("type", &["type"]),
    t("category", &["category"]),
    d("date", &["date"]),
    d("period", &["context.period"]),
    t("status", &["status"]),
    t("doc-status", &["docStatus"]),
    r("encounter", &["context.encounter"]),
    r("author", &["author"]),
    r("relatesto", &["relatesTo.target"]),
    t("relation", &["relatesTo.code"]),
    t("identifier", &["identifier", "masterIdentifier"]),
];

static PROCEDURE_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    t("code", &["code"]),
    t("category", &["category"]),
    d("date", &["performedDateTime", "performedPeriod"]),
    t("status", &["status"]),
    r("encounter", &["encounter"]),
    r("performer", &["performer.actor"]),
    t("identifier", &["identifier"]),
];

static IMMUNIZATION_PARAMS: &[Param] = &[
    rt("patient", &["patient"], PATIENT),
    t("vaccine-code", &["vaccineCode"]),
    alias("code", Kind::Token, "vaccine-code", &[]),
    d("date", &["occurrenceDateTime"]),
    t("status", &["status"]),
    r("encounter", &["encounter"]),
    r("performer", &["performer.actor"]),
    t("identifier", &["identifier"]),
];

static DETECTED_ISSUE_PARAMS: &[Param] = &[
    rt("patient", &["patient"], PATIENT),
    t("code", &["code"]),
    t("status", &["status"]),
    t("severity", &["severity"]),
    d("identified", &["identifiedDateTime", "identifiedPeriod"]),
    alias("date", Kind::Date, "identified", &[]),
    r("implicated", &["implicated"]),
    r("author", &["author"]),
    t("identifier", &["identifier"]),
];

static AUDIT_EVENT_PARAMS: &[Param] = &[
    rt("patient", &["entity.what"], PATIENT),
    d("date", &["recorded"]),
    t("type", &["type"]),
    t("subtype", &["subtype"]),
    t("action", &["action"]),
    t("outcome", &["outcome"]),
    r("agent", &["agent.who"]),
    r("entity", &["entity.what"]),
    r("source", &["source.observer"]),
    s("address", &["agent.network.address"]),
];

static FLAG_PARAMS: &[Param] = &[
    PATIENT_SUBJECT,
    r("subject", &["subject"]),
    d("date", &["period"]),
    t("status", &["status"]),
    t("category", &["category"]),
    t("code", &["code"]),
    r("encounter", &["encounter"]),
    r("author", &["author"]),
    t("identifier", &["identifier"]),
];

static MEDICATION_PARAMS: &[Param] = &[
    t("code", &["code"]),
    t("status", &["status"]),
    t("form", &["form"]),
    t("ingredient-code", &["ingredient.itemCodeableConcept"]),
    t("identifier", &["identifier"]),
];

/// The indexed parameters of a resource type (empty for a type the server does not know).
pub fn params(resource_type: &str) -> &'static [Param] {
    match resource_type {
        "AllergyIntolerance" => ALLERGY_PARAMS,
        "AuditEvent" => AUDIT_EVENT_PARAMS,
        "Condition" => CONDITION_PARAMS,
        "DetectedIssue" => DETECTED_ISSUE_PARAMS,
        "DiagnosticReport" => DIAGNOSTIC_REPORT_PARAMS,
        "DocumentReference" => DOCUMENT_REFERENCE_PARAMS,
        "Encounter" => ENCOUNTER_PARAMS,
        "Flag" => FLAG_PARAMS,
        "Immunization" => IMMUNIZATION_PARAMS,
        "Location" => LOCATION_PARAMS,
        "Medication" => MEDICATION_PARAMS,
        "MedicationRequest" => MEDICATION_REQUEST_PARAMS,
        "Observation" => OBSERVATION_PARAMS,
        "Organization" => ORGANIZATION_PARAMS,
        "Patient" => PATIENT_PARAMS,
        "Practitioner" => PRACTITIONER_PARAMS,
        "Procedure" => PROCEDURE_PARAMS,
        "ServiceRequest" => SERVICE_REQUEST_PARAMS,
        _ => &[],
    }
}

pub fn find(resource_type: &str, name: &str) -> Option<&'static Param> {
    params(resource_type).iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::RESOURCE_TYPES;

    #[test]
    fn every_type_has_params_and_no_duplicates() {
        for rt in RESOURCE_TYPES {
            let ps = params(rt);
            assert!(!ps.is_empty(), "{rt} has no search parameters");
            let mut names: Vec<_> = ps.iter().map(|p| p.name).collect();
            names.sort_unstable();
            let len = names.len();
            names.dedup();
            assert_eq!(len, names.len(), "{rt} has a duplicate parameter");
            for p in ps.iter().filter_map(|p| p.alias_of.map(|of| (p, of))) {
                let base = find(rt, p.1)
                    .unwrap_or_else(|| panic!("{rt}.{} aliases a missing parameter", p.0.name));
                assert!(
                    base.alias_of.is_none() && base.kind == p.0.kind,
                    "{rt}.{}",
                    p.0.name
                );
            }
        }
    }
}
