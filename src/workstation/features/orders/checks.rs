//! The order checks, run again on every change of the basket or the chart.

use crate::workstation::orders::basket::Item;
use crate::workstation::orders::checks::{self, Settings};
use crate::workstation::state::*;

/// Reviews the active medications against each other (CPRS's medication review): what the
/// summary and the orders pane show before anything is ordered.
pub fn review_medications(state: &mut State) {
    let settings = state.order_settings.clone();
    let Some(c) = &mut state.chart else { return };
    let patient = crate::workstation::orders::checks::Patient {
        medications: crate::workstation::orders::from_chart::medications(&c.chart),
        ..Default::default()
    };
    c.review = checks::review(&patient, &settings.knowledge);
}

/// Re-runs every check on the basket against the chart.
pub fn run_checks(state: &mut State) {
    review_medications(state);
    let settings = state.order_settings.clone();
    let now_ms = state.now_ms;
    let Some(c) = &mut state.chart else { return };
    // Checks against half a chart would miss medications and allergies: say so instead.
    let patient = match &c.error {
        Some(e) => Err(format!("the chart did not load completely ({e})")),
        None => crate::workstation::orders::from_chart::patient(&c.chart),
    };
    let Some(o) = &mut c.orders else { return };
    match patient {
        Ok(p) => {
            let proposed: Vec<_> = o.basket.iter().map(Item::proposed).collect();
            o.alerts = checks::check(
                &proposed,
                &p,
                &settings.knowledge,
                Settings {
                    duplicate_test_window_ms: settings.duplicate_window_ms,
                    now_ms,
                },
            );
            o.checks_error = None;
        }
        Err(e) => {
            o.alerts.clear();
            o.checks_error = Some(e);
        }
    }
    // An override stays only while its alert still fires.
    let alerts = o.alerts.clone();
    for (i, item) in o.basket.iter_mut().enumerate() {
        item.overrides
            .retain(|(a, _)| alerts.iter().any(|x| x.order == i && x.what == a.what));
    }
}
