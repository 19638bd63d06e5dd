//! Writing a note: the editor, templates and phrases, drafts, signing and sending (or queueing).

pub mod msg;
pub mod overlay;
pub mod send;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::chart::Target;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::state::*;

// What both the update and the view read.

/// Is the selected timeline item a signed note (something `a` can add an addendum to)?
pub fn addendum_possible(c: &ChartState) -> bool {
    matches!(c.selected(), Some(item) if matches!(item.target, Target::Entry(e)
        if c.chart.entry_source(e).is_some_and(|s| s.starts_with("DocumentReference/"))
            && !item.summary.contains("[PRELIMINARY]")))
}

/// The question before anything is written to the chart names the patient it goes to.
pub fn sign_question(state: &State, status: DocStatus) -> String {
    let Some(note) = state.chart.as_ref().and_then(|c| c.note.as_ref()) else {
        return String::new();
    };
    let d = &note.draft;
    let what = match status {
        DocStatus::Final => "Sign",
        DocStatus::Preliminary => "Save UNSIGNED (preliminary)",
    };
    let kind = if d.appends.is_some() {
        "addendum".to_string()
    } else {
        d.loinc_display.to_lowercase()
    };
    format!(
        "{what} {kind} for {} (MRN {})?",
        d.patient_name,
        d.mrn.as_deref().unwrap_or("none")
    )
}
