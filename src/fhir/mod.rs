//! FHIR R4 basics shared by the store, the server and the importers: which resource types exist
//! here, what a valid id is, and how an OperationOutcome looks.

pub mod date;
pub mod diff;
pub mod extract;
pub mod params;
pub mod path;
pub mod spec;
pub mod subset;
pub mod terminology;
pub mod validate;

mod r4 {
    pub mod types;
}

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Every resource type of R4 (generated from the specification), sorted: the embedded server
/// stores, searches and serves them all.
pub use r4::types::RESOURCE_TYPES;

pub fn is_supported(resource_type: &str) -> bool {
    RESOURCE_TYPES.binary_search(&resource_type).is_ok()
}

/// FHIR `id`: 1 to 64 of `[A-Za-z0-9\-\.]`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Issue codes from the FHIR `issue-type` value set that this server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    Invalid,
    Structure,
    Required,
    Value,
    NotFound,
    Deleted,
    NotSupported,
    Conflict,
    Duplicate,
    TooCostly,
    Exception,
    Processing,
    Informational,
    Login,
    Forbidden,
    /// Try again later (the server is busy).
    Transient,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Invalid => "invalid",
            IssueCode::Structure => "structure",
            IssueCode::Required => "required",
            IssueCode::Value => "value",
            IssueCode::NotFound => "not-found",
            IssueCode::Deleted => "deleted",
            IssueCode::NotSupported => "not-supported",
            IssueCode::Conflict => "conflict",
            IssueCode::Duplicate => "duplicate",
            IssueCode::TooCostly => "too-costly",
            IssueCode::Exception => "exception",
            IssueCode::Processing => "processing",
            IssueCode::Informational => "informational",
            IssueCode::Login => "login",
            IssueCode::Forbidden => "forbidden",
            IssueCode::Transient => "transient",
        }
    }
}

/// An OperationOutcome with one issue whose `diagnostics` is written for a person.
pub fn operation_outcome(severity: &str, code: IssueCode, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": severity,
            "code": code.as_str(),
            "diagnostics": diagnostics,
        }]
    })
}

/// Reorders a resource so `resourceType`, `id` and `meta` come first, as FHIR JSON usually reads;
/// every other element keeps its place and its exact content.
pub fn with_meta(mut resource: Map<String, Value>, id: &str, version: i64, updated: &str) -> Value {
    let resource_type = resource.remove("resourceType").unwrap_or(Value::Null);
    resource.remove("id");
    let mut meta = match resource.remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.insert("versionId".into(), Value::String(version.to_string()));
    meta.insert("lastUpdated".into(), Value::String(updated.to_string()));
    let mut out = Map::with_capacity(resource.len() + 3);
    out.insert("resourceType".into(), resource_type);
    out.insert("id".into(), Value::String(id.to_string()));
    out.insert("meta".into(), Value::Object(meta));
    out.extend(resource);
    Value::Object(out)
}

/// A `reference` string split into type and id, for relative (`Patient/1`), versioned
/// (`Patient/1/_history/2`) and absolute (`http://x/fhir/Patient/1`) references.
pub fn parse_reference(reference: &str) -> Option<(&str, &str)> {
    let reference = reference.split('#').next()?;
    let path = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let mut parts = path.rsplitn(3, '/');
    let id = parts.next()?;
    let rtype = parts.next()?;
    if valid_id(id) && rtype.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        Some((rtype, id))
    } else {
        None
    }
}

/// The type (`Composition.type`) of an I-PASS shift handoff summary: a local code, as LOINC
/// has no code for I-PASS.
pub const HANDOFF: (&str, &str) = ("urn:bedside:note", "ipass-handoff");

/// The code (`List.code`) of a personal patient list: one clinician's own list, read and
/// changed only by whom its `source` names (the server's rule; the workstation's lists).
pub const PERSONAL_LIST: (&str, &str) = ("urn:bedside:list", "personal");

/// For a personal patient list, whose it is: `Some(practitioner id)`, or `Some("")` when its
/// `source` names no practitioner (then it is no one's to read). `None`: not a personal list.
pub fn personal_list_owner(rtype: &str, resource: &Value) -> Option<String> {
    if rtype != "List" {
        return None;
    }
    let (system, code) = PERSONAL_LIST;
    let personal = resource["code"]["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["system"] == system && c["code"] == code);
    if !personal {
        return None;
    }
    Some(
        resource["source"]["reference"]
            .as_str()
            .and_then(|r| r.strip_prefix("Practitioner/"))
            .unwrap_or_default()
            .to_string(),
    )
}

const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// True when a Patient is marked restricted (`meta.security` R or V).
pub fn is_restricted(patient: &Value) -> bool {
    patient["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["system"] == CONFIDENTIALITY && matches!(s["code"].as_str(), Some("R" | "V")))
}

/// The security label the seed and import use to mark a restricted record.
pub fn restricted_label() -> Value {
    json!({"system": CONFIDENTIALITY, "code": "R", "display": "restricted"})
}

/// A resource's `meta.security` labels as `system|code`, sorted (to compare two versions).
pub fn security_labels(resource: &Value) -> Vec<String> {
    let mut labels: Vec<String> = resource["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{}|{}",
                s["system"].as_str().unwrap_or_default(),
                s["code"].as_str().unwrap_or_default()
            )
        })
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

/// Replaces every `reference` that names another entry's fullUrl with the resource's new
/// `Type/id`.
pub fn rewrite_references(value: &mut Value, map: &HashMap<String, String>) {
    match value {
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                match v {
                    Value::String(s) if key == "reference" => {
                        if let Some(new) = map.get(s.as_str()) {
                            *s = new.clone();
                        }
                    }
                    _ => rewrite_references(v, map),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_references(i, map)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sorted_for_binary_search() {
        let mut sorted = RESOURCE_TYPES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESOURCE_TYPES);
        assert!(is_supported("Patient"));
        assert!(!is_supported("Spaceship"));
    }

    #[test]
    fn ids() {
        assert!(valid_id("example-1.2"));
        assert!(!valid_id(""));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(&"a".repeat(65)));
    }

    #[test]
    fn references() {
        assert_eq!(parse_reference("Patient/1"), Some(("Patient", "1")));
        assert_eq!(
            parse_reference("Patient/1/_history/3"),
            Some(("Patient", "1"))
        );
        assert_eq!(
            parse_reference("http://h/fhir/Patient/p-1"),
            Some(("Patient", "p-1"))
        );
        assert_eq!(parse_reference("urn:uuid:abc"), None);
        assert_eq!(parse_reference("#contained"), None);
    }

    #[test]
    fn meta_goes_first_and_keeps_other_meta() {
        let r: Value = serde_json::from_str(
            r#"{"status": "final", "resourceType": "Observation", "meta": {"profile": ["x"]},
                "valueQuantity": {"value": 6.10}}"#,
        )
        .unwrap();
        let Value::Object(m) = r else { unreachable!() };
        let out = with_meta(m, "o1", 2, "2026-01-01T00:00:00.000Z");
        let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["resourceType", "id", "meta", "status", "valueQuantity"]
        );
        assert_eq!(out["meta"]["profile"][0], "x");
        assert_eq!(out["meta"]["versionId"], "2");
        assert!(serde_json::to_string(&out).unwrap().contains("6.10"));
    }
}
