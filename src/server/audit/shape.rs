//! The FHIR AuditEvent an `Event` is served as, written from borrowed parts of it (field order
//! as in the FHIR spec's examples).

use serde::Serialize;

#[derive(Serialize, Clone, Copy)]
pub struct Coding {
    pub system: &'static str,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<&'static str>,
}

impl Coding {
    pub fn new(system: &'static str, code: &'static str) -> Coding {
        Coding {
            system,
            code,
            display: None,
        }
    }

    pub fn shown(system: &'static str, code: &'static str, display: &'static str) -> Coding {
        Coding {
            system,
            code,
            display: Some(display),
        }
    }
}

/// A coding whose code is borrowed (a user's role).
#[derive(Serialize)]
pub struct BorrowedCoding<'a> {
    pub system: &'static str,
    pub code: &'a str,
}

#[derive(Serialize)]
pub struct CodeableConcept<'a, C: Serialize = Coding> {
    pub coding: [C; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: Coding,
    pub subtype: [Coding; 1],
    pub action: &'static str,
    pub recorded: String,
    pub outcome: &'static str,
    pub agent: [AgentShape<'a>; 1],
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose_of_event: Option<Vec<CodeableConcept<'a>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entity: Vec<Entity<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentShape<'a> {
    #[serde(rename = "type")]
    pub kind: CodeableConcept<'a>,
    pub requestor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<Who<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<[CodeableConcept<'a, BorrowedCoding<'a>>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network<'a>>,
}

#[derive(Serialize)]
pub struct Who<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Network<'a> {
    pub address: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize)]
pub struct Display {
    pub display: &'static str,
}

#[derive(Serialize)]
pub struct Source {
    pub observer: Display,
    #[serde(rename = "type")]
    pub kind: [Coding; 1],
}

#[derive(Serialize)]
pub struct Entity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<Reference<'a>>,
    #[serde(rename = "type")]
    pub kind: Coding,
    pub role: Coding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

/// `{"reference": ...}`: a patient's written as `Patient/<id>` without an allocation.
pub enum Reference<'a> {
    Patient(&'a str),
    Plain(&'a str),
}

impl Serialize for Reference<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Patient<'a>(&'a str);
        impl Serialize for Patient<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("Patient/{}", self.0))
            }
        }
        let mut out = s.serialize_struct("Reference", 1)?;
        match self {
            Reference::Patient(id) => out.serialize_field("reference", &Patient(id))?,
            Reference::Plain(reference) => out.serialize_field("reference", reference)?,
        }
        out.end()
    }
}
