//! Working without the server: the cached chart, connectivity, the outbox.

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::state::State;
use crate::workstation::vault::outbox::Item;

/// The outbox entry for a record written at the bedside in the open chart (vital signs, an
/// allergy, a problem): `bundle`, a transaction of conditional creates, sent once when the
/// server is back; listed under the chart's patient as `title`, showing `text`. With its
/// chart context, for the answer; `None` when no chart is open.
pub fn record_item(
    state: &State,
    id: &str,
    template: &str,
    title: String,
    text: String,
    bundle: serde_json::Value,
) -> Option<(u64, Item)> {
    let c = state.chart.as_ref()?;
    let patient = c.chart.patient.clone().unwrap_or_default();
    let now = crate::fhir::date::instant(state.now_ms);
    let draft = Draft {
        id: id.to_string(),
        server: state.display.server.clone(),
        patient_id: c.patient_id.clone(),
        patient_name: patient.display_name(),
        mrn: patient.mrn.clone(),
        encounter: c.chart.current_encounter(),
        template: template.into(),
        title,
        loinc: String::new(),
        loinc_display: String::new(),
        text,
        created: now.clone(),
        saved: now,
        appends: None,
        server_id: None,
        server_version: None,
        owner: state.access.user.as_ref().map(|u| u.username.clone()),
    };
    let item = Item {
        draft,
        status: DocStatus::Final,
        resource: serde_json::Value::Null,
        if_match: None,
        message: None,
        server_copy: None,
        record: Some(bundle),
    };
    Some((c.context, item))
}
