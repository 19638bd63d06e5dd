//! The FHIR DocumentReference a note becomes on the server.

use base64::Engine;
use serde_json::{Value, json};

use super::drafts::Draft;

const LOINC: &str = "http://loinc.org";

/// `final` when signed, `preliminary` when saved unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    Final,
    Preliminary,
}

impl DocStatus {
    pub fn code(self) -> &'static str {
        match self {
            DocStatus::Final => "final",
            DocStatus::Preliminary => "preliminary",
        }
    }
}

/// The DocumentReference for `draft`: status `current`, the LOINC note type, subject,
/// encounter, author, date, the text as a UTF-8 attachment, and `relatesTo` for an addendum.
pub fn document_reference(draft: &Draft, status: DocStatus, author: &Value, now: &str) -> Value {
    let mut doc = json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": status.code(),
        "type": {"coding": [{"system": LOINC, "code": draft.loinc, "display": draft.loinc_display}],
                 "text": draft.loinc_display},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                  "code": "clinical-note", "display": "Clinical Note"}]}],
        "subject": {"reference": format!("Patient/{}", draft.patient_id), "display": draft.patient_name},
        "date": now,
        "author": [author],
        "description": draft.title,
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "language": "en",
            "title": draft.title,
            "data": base64::engine::general_purpose::STANDARD.encode(draft.text.as_bytes()),
            "creation": draft.created,
        }}],
        // The draft's id: a retried send is recognisably the same note.
        "identifier": [{"system": "urn:bedside:draft", "value": draft.id}],
    });
    if let Some(encounter) = &draft.encounter {
        doc["context"] = json!({"encounter": [{"reference": encounter}]});
    }
    if let Some(original) = &draft.appends {
        doc["relatesTo"] = json!([{"code": "appends", "target": {"reference": format!("DocumentReference/{original}")}}]);
    }
    if let Some(id) = &draft.server_id {
        doc["id"] = json!(id);
    }
    doc
}
