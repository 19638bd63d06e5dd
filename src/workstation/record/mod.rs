//! Writing the record at the bedside, with no UI code: vital signs and NEWS2, allergies and
//! problems (and the coded terms offered for them), registering and editing patients.

pub mod demographics;
pub mod entries;
pub mod news2;
pub mod registration;
pub mod terms;
pub mod vitals;

/// The words of a CodeableConcept: its text, else its first coding's display, else its code.
pub fn concept_words(c: &serde_json::Value) -> String {
    c["text"]
        .as_str()
        .or_else(|| c["coding"][0]["display"].as_str())
        .or_else(|| c["coding"][0]["code"].as_str())
        .unwrap_or_default()
        .to_string()
}
