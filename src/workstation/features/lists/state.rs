//! The allergies-and-problems pane of a chart: the two lists, and the form for a new entry.

use crate::workstation::record::entries::{
    ALLERGY_CATEGORIES, ALLERGY_TYPES, ALLERGY_VERIFICATION, CLINICAL_STATUS, CRITICALITIES,
    PROBLEM_CATEGORIES, PROBLEM_VERIFICATION, SEVERITIES,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFocus {
    #[default]
    Allergies,
    Problems,
}

/// Which coded list a field searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermList {
    Allergens,
    Reactions,
    Conditions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A term from a list, or text recorded uncoded. `many`: several, apart by commas.
    Term {
        list: TermList,
        many: bool,
    },
    /// One of these words (typing the first letters is enough).
    Choice(&'static [&'static str]),
    Text,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub label: &'static str,
    pub kind: FieldKind,
    pub value: String,
    pub required: bool,
}

fn field(label: &'static str, kind: FieldKind, value: &str, required: bool) -> Field {
    Field {
        label,
        kind,
        value: value.into(),
        required,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Allergy,
    Problem,
}

/// A new allergy or problem being entered.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryForm {
    pub kind: FormKind,
    pub fields: Vec<Field>,
    /// The field with the cursor.
    pub at: usize,
    /// The highlighted suggestion under it.
    pub pick: usize,
    /// The cursor has just come to this field: the first letter typed into a choice replaces
    /// what it says (its default), as in any form.
    pub fresh: bool,
    /// Set when the form edits an entry already recorded.
    pub editing: Option<EntryEdit>,
}

/// The entry a form edits: which, and the version it was filled from (sent as `If-Match`).
#[derive(Debug, Clone, PartialEq)]
pub struct EntryEdit {
    pub reference: String,
    pub version: String,
    pub base: Box<serde_json::Value>,
}

impl EntryForm {
    pub fn allergy() -> EntryForm {
        EntryForm {
            kind: FormKind::Allergy,
            fields: vec![
                field(
                    "substance",
                    FieldKind::Term {
                        list: TermList::Allergens,
                        many: false,
                    },
                    "",
                    true,
                ),
                field("category", FieldKind::Choice(ALLERGY_CATEGORIES), "", true),
                field("type", FieldKind::Choice(ALLERGY_TYPES), "allergy", true),
                field(
                    "reactions",
                    FieldKind::Term {
                        list: TermList::Reactions,
                        many: true,
                    },
                    "",
                    false,
                ),
                field("severity", FieldKind::Choice(SEVERITIES), "", false),
                field(
                    "criticality",
                    FieldKind::Choice(CRITICALITIES),
                    "unable-to-assess",
                    true,
                ),
                field(
                    "verification",
                    FieldKind::Choice(ALLERGY_VERIFICATION),
                    "confirmed",
                    true,
                ),
                field("onset", FieldKind::Text, "", false),
                field("note", FieldKind::Text, "", false),
            ],
            at: 0,
            pick: 0,
            fresh: true,
            editing: None,
        }
    }

    pub fn problem() -> EntryForm {
        EntryForm {
            kind: FormKind::Problem,
            fields: vec![
                field(
                    "problem",
                    FieldKind::Term {
                        list: TermList::Conditions,
                        many: false,
                    },
                    "",
                    true,
                ),
                field("status", FieldKind::Choice(CLINICAL_STATUS), "active", true),
                field(
                    "verification",
                    FieldKind::Choice(PROBLEM_VERIFICATION),
                    "confirmed",
                    true,
                ),
                field(
                    "category",
                    FieldKind::Choice(PROBLEM_CATEGORIES),
                    "problem-list-item",
                    true,
                ),
                field("onset", FieldKind::Text, "", false),
                field("note", FieldKind::Text, "", false),
            ],
            at: 0,
            pick: 0,
            fresh: true,
            editing: None,
        }
    }

    /// The form for `resource` (an AllergyIntolerance or a Condition), filled from it.
    pub fn editing(
        resource: &serde_json::Value,
        reference: String,
        version: String,
    ) -> Option<EntryForm> {
        let mut form = match resource["resourceType"].as_str()? {
            "AllergyIntolerance" => EntryForm::allergy(),
            "Condition" => EntryForm::problem(),
            _ => return None,
        };
        for (label, value) in crate::workstation::record::entries::form_values(resource) {
            // What the entry does not say keeps the form's default, except that an entry
            // never verified is not made "confirmed" by being edited.
            let value = match (label, value.is_empty()) {
                ("verification", true) => "unconfirmed".to_string(),
                (_, true) => continue,
                (_, false) => value,
            };
            if let Some(f) = form.fields.iter_mut().find(|f| f.label == label) {
                f.value = value;
            }
        }
        form.fresh = false;
        form.editing = Some(EntryEdit {
            reference,
            version,
            base: Box::new(resource.clone()),
        });
        Some(form)
    }

    pub fn value(&self, label: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map_or("", |f| f.value.trim())
    }
}

/// What was sent and is not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// "allergy to peanut", "problem Asthma".
    pub what: String,
    /// The one-entry transaction (for the outbox if the server cannot be reached).
    pub bundle: serde_json::Value,
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListsState {
    pub focus: ListFocus,
    pub allergy_cursor: usize,
    pub problem_cursor: usize,
    pub form: Option<EntryForm>,
    /// The entry (`Type/id`, what it is) a reason is being asked for (entered in error).
    pub target: Option<(String, String)>,
    pub sending: Option<Sent>,
    pub error: Option<String>,
}
