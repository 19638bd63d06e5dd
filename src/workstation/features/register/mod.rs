//! Registering a patient: the form, the search for likely existing records before anything
//! is created ("is it one of these?", what agrees marked), an explicit choice to register a
//! new one anyway, and the new chart opened with the MRN the server gave.

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::record::registration::{Candidate, Registration, SEXES};

/// The form's fields: label, required, and a hint.
pub const FIELDS: [(&str, bool, &str); 20] = [
    ("family name", true, ""),
    ("given names", true, ""),
    ("sex", true, "female | male | other | unknown"),
    ("gender identity", false, "as the patient says it"),
    ("date of birth", true, "YYYY-MM-DD"),
    ("address", false, ""),
    ("city", false, ""),
    ("postcode", false, ""),
    ("phone", false, ""),
    ("email", false, ""),
    ("language", false, "preferred"),
    ("interpreter", false, "yes | no"),
    ("contact name", false, "emergency contact"),
    ("contact phone", false, ""),
    ("relationship", false, "of the contact"),
    ("GP", false, "general practitioner"),
    ("insurer", false, ""),
    ("member number", false, ""),
    ("cover from", false, "YYYY-MM-DD"),
    ("cover to", false, "YYYY-MM-DD"),
];

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Form,
    /// The duplicate search is on its way.
    Searching,
    /// What it found (or why it could not look); `cursor` past the last is "register new".
    Candidates {
        found: Vec<Candidate>,
        failed: Option<String>,
        cursor: usize,
    },
    Creating,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegisterState {
    pub values: Vec<String>,
    pub at: usize,
    pub stage: Stage,
    pub error: Option<String>,
    /// This registration's id: sent again, it creates nothing twice.
    pub id: String,
    /// Answers for an earlier stage are dropped.
    pub generation: u64,
}

impl RegisterState {
    pub fn new(generation: u64) -> RegisterState {
        RegisterState {
            values: vec![String::new(); FIELDS.len()],
            at: 0,
            stage: Stage::Form,
            error: None,
            id: uuid::Uuid::new_v4().to_string(),
            generation,
        }
    }

    /// The form as a registration (choices completed from their first letters).
    pub fn registration(&self) -> Registration {
        let v = |i: usize| self.values[i].trim().to_string();
        let sex = v(2).to_lowercase();
        let sex = SEXES
            .iter()
            .find(|s| !sex.is_empty() && s.starts_with(sex.as_str()))
            .map_or(sex, |s| s.to_string());
        Registration {
            family: v(0),
            given: v(1),
            sex,
            gender_identity: v(3),
            birth_date: v(4),
            address: v(5),
            city: v(6),
            postcode: v(7),
            phone: v(8),
            email: v(9),
            language: v(10),
            interpreter: v(11).to_lowercase().starts_with('y'),
            contact_name: v(12),
            contact_phone: v(13),
            contact_relationship: v(14),
            gp: v(15),
            insurer: v(16),
            member_number: v(17),
            cover_from: v(18),
            cover_to: v(19),
        }
    }
}
