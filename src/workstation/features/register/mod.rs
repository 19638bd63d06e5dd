//! Registering a patient: the form, the search for likely existing records before anything
//! is created ("is it one of these?", what agrees marked), an explicit choice to register a
//! new one anyway, and the new chart opened with the MRN the server gave. The same form edits
//! the open chart's patient: read for its version, saved with `If-Match` (and a reason, which
//! support staff must give), an edit that crossed another shown beside it with the choice.

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use serde_json::Value;

use crate::workstation::record::registration::{Candidate, Registration, SEXES};

/// The form's fields: label, required, and a hint. The insurance rows are for registering
/// (a Coverage of its own); the reason row for editing.
pub const FIELDS: [(&str, bool, &str); 21] = [
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
    (
        "reason",
        false,
        "why the details change; support staff must give one",
    ),
];

/// The rows of insurance, shown when registering.
const INSURANCE: std::ops::Range<usize> = 16..20;
/// The reason row, shown when editing.
pub const REASON: usize = 20;

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
    /// Editing: the patient's current version is being read.
    Loading,
    /// Editing: the change is on its way.
    Saving,
    /// Editing: someone changed the record since it was read. `theirs` is the server's
    /// version; `both` the rows both changed differently; `cursor` 0 saves this user's
    /// changes over theirs (their other changes kept), 1 takes theirs into the form.
    Crossed {
        theirs: Box<Value>,
        theirs_values: Vec<String>,
        both: Vec<usize>,
        cursor: usize,
    },
}

/// Editing a registered patient: which, and the version the form was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Editing {
    pub patient_id: String,
    /// The patient as the banner named them when the edit began.
    pub label: String,
    /// `meta.versionId` of `base`, sent as `If-Match`.
    pub version: String,
    pub base: Box<Value>,
    /// The form's fields as `base` holds them.
    pub base_values: Vec<String>,
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
    /// Set when the form edits a registered patient.
    pub editing: Option<Editing>,
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
            editing: None,
        }
    }

    /// The rows the form shows, in order: no insurance when editing, no reason when
    /// registering.
    pub fn rows(&self) -> Vec<usize> {
        (0..FIELDS.len())
            .filter(|i| match self.editing {
                Some(_) => !INSURANCE.contains(i),
                None => *i != REASON,
            })
            .collect()
    }

    /// The field `step` rows from the one with the cursor (wrapping).
    pub fn step(&mut self, step: isize) {
        let rows = self.rows();
        let here = rows.iter().position(|i| *i == self.at).unwrap_or(0);
        let n = rows.len() as isize;
        self.at = rows[((here as isize + step).rem_euclid(n)) as usize];
    }

    /// The form's fields of `reg` (the reason row left as it is).
    pub fn values_of(&self, reg: &Registration) -> Vec<String> {
        let mut v = vec![
            reg.family.clone(),
            reg.given.clone(),
            reg.sex.clone(),
            reg.gender_identity.clone(),
            reg.birth_date.clone(),
            reg.address.clone(),
            reg.city.clone(),
            reg.postcode.clone(),
            reg.phone.clone(),
            reg.email.clone(),
            reg.language.clone(),
            if reg.interpreter { "yes" } else { "no" }.into(),
            reg.contact_name.clone(),
            reg.contact_phone.clone(),
            reg.contact_relationship.clone(),
            reg.gp.clone(),
            reg.insurer.clone(),
            reg.member_number.clone(),
            reg.cover_from.clone(),
            reg.cover_to.clone(),
        ];
        v.push(self.values.get(REASON).cloned().unwrap_or_default());
        v
    }

    /// The reason typed, if any.
    pub fn reason(&self) -> Option<String> {
        let r = self.values.get(REASON)?.trim();
        (!r.is_empty()).then(|| r.to_string())
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
