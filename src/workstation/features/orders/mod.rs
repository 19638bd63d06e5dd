//! Ordering: the composer, the basket, checks and overrides, signing, discontinuing.

pub mod checks;
pub mod dialogs;
pub mod msg;
pub mod overlay;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::orders::basket::{Fields, Item};
use crate::workstation::state::*;

// What both the update and the view read.

/// The chart's active orders as (timeline entry index, `Type/id`, summary).
pub fn active_orders(c: &ChartState) -> Vec<(usize, String, String)> {
    c.chart
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.active
                && matches!(
                    e.kind,
                    crate::workstation::chart::Kind::Order
                        | crate::workstation::chart::Kind::Medication
                )
        })
        .filter_map(|(i, e)| {
            let source = c.chart.entry_source(i as u32)?;
            // A draft or held order says so in its own words (`DRAFT: ...`).
            let line = match crate::workstation::chart::state_mark(&e.status) {
                Some(_) => e.summary.clone(),
                None => format!("[active] {}", e.summary),
            };
            Some((i, source.to_string(), line))
        })
        .collect()
}

/// The fields of an item as (label, value) in form order.
pub fn field_list(item: &Item) -> Vec<(&'static str, String)> {
    match &item.fields {
        Fields::Medication(m) => vec![
            ("dose", m.dose.clone()),
            ("unit", m.unit.clone()),
            ("route", m.route.clone()),
            ("frequency", m.frequency.clone()),
            ("duration", m.duration_days.clone()),
            ("as needed", if m.as_needed { "yes" } else { "no" }.into()),
            ("indication", m.indication.clone()),
        ],
        Fields::Test(t) => vec![
            ("priority", t.priority.clone()),
            ("reason", t.reason.clone()),
        ],
    }
}

/// The confirm question for signing the basket.
pub fn sign_orders_question(state: &State) -> String {
    let Some(c) = &state.chart else {
        return String::new();
    };
    let n = c.orders.as_ref().map_or(0, |o| o.basket.len());
    let p = c.chart.patient.clone().unwrap_or_default();
    format!(
        "Sign {n} order{} for {} (MRN {})?",
        if n == 1 { "" } else { "s" },
        p.display_name(),
        p.mrn.as_deref().unwrap_or("none")
    )
}
