//! The vital-signs pane of a chart: the entry (one line, or a field per sign) and the
//! flowsheet of the sets already recorded.

/// The fields of the form, in order: the seven signs, then the time taken.
pub const FIELDS: [&str; 8] = ["T", "HR", "RR", "BP", "SpO2", "O2", "ACVPU", "at"];

#[derive(Debug, Clone, Default)]
pub struct VitalsState {
    /// The one-line entry (`T 37.9 HR 112 ...`).
    pub line: String,
    /// A field per sign instead of the line: which field has the cursor.
    pub form: Option<usize>,
    pub fields: [String; 8],
    /// The entry whose unusual values were shown once: Enter again on the same text records it.
    pub confirmed: Option<String>,
    pub sending: bool,
    /// The set on its way, for the message when the server has it, or for the outbox when it
    /// cannot be reached.
    pub pending: Option<Pending>,
    /// Why the last set was not recorded, in plain words.
    pub error: Option<String>,
    /// The flowsheet's first column (0: the newest set).
    pub scroll: usize,
    /// The flowsheet, rebuilt when the chart's observations change.
    pub sheet: Vec<super::Column>,
    /// The chart's observation count the sheet was built from.
    pub sheet_for: usize,
}

impl VitalsState {
    /// What the entry says, from the line or from the fields.
    pub fn text(&self) -> String {
        if self.form.is_none() {
            return self.line.clone();
        }
        let mut parts = Vec::new();
        for (name, value) in FIELDS.iter().zip(&self.fields) {
            let value = value.trim();
            if !value.is_empty() {
                parts.push(format!("{name} {value}"));
            }
        }
        parts.join(" ")
    }
}

/// A set sent and not yet answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    /// NEWS2 calls for more than a ward-based response: the message is in the alert style.
    pub alert: bool,
    /// "7 vital signs".
    pub signs: String,
    /// ": NEWS2 10 HIGH: ..." or " (NEWS2 needs RR)".
    pub score: String,
    /// The transaction sent.
    pub bundle: serde_json::Value,
    pub set_id: String,
    /// The values as read back ("T 37.9 °C  HR 112 /min ..."), for the outbox's list.
    pub shown: String,
}
