//! Opening a chart, and what `update` decides when the patient's record arrives: go on and
//! load the chart, stop at break-the-glass (a restricted record, or support staff), keep the
//! cached copy on screen while the server cannot be reached, and take a restricted record out
//! of this terminal's cache (emergency access is for now, not for reading offline later).

use serde_json::Value;

use crate::workstation::client::FetchError;

use crate::workstation::features::chart::timeline::{refresh_visible, timeline_rows};
use crate::workstation::features::current_chart;
use crate::workstation::features::offline::update as offline;
use crate::workstation::features::orders::checks as orders;
use crate::workstation::state::*;

/// The patient's record (or why it did not come), and what happens next.
pub(crate) fn patient_arrived(
    state: &mut State,
    context: u64,
    result: Result<Value, FetchError>,
    effects: &mut Vec<Effect>,
) {
    let rows = timeline_rows(state.size);
    let restricted = result.as_ref().is_ok_and(crate::fhir::is_restricted);
    let unreachable = result
        .as_ref()
        .err()
        .is_some_and(FetchError::is_unreachable);
    if restricted {
        // Whether or not the chart is still open: a restricted record leaves the cache.
        let id = result.as_ref().ok().and_then(|p| p.get("id")?.as_str());
        let current = state.chart.as_ref().filter(|c| c.context == context);
        let patient_id = id
            .map(str::to_string)
            .or(current.map(|c| c.patient_id.clone()));
        if let Some(patient_id) = patient_id {
            effects.push(Effect::EvictCached { patient_id });
        }
    }
    if result.is_ok() && state.storage.offline() {
        offline::connectivity(state, true, effects);
    }
    if unreachable {
        offline::connectivity(state, false, effects);
    }
    let Some(c) = current_chart(state, context) else {
        return;
    };
    if unreachable && c.cached.is_some() {
        // Offline: the cached chart stays on screen, marked with its age.
        chart_done(state, context);
        return;
    }
    match result {
        Ok(patient) => {
            c.chart.add_page(vec![patient]);
            // Others by the same name: asked once per opening of the chart.
            if let Some(p) = &c.chart.patient
                && c.namesakes.is_none()
                && !p.family.is_empty()
                && !p.given.is_empty()
            {
                effects.push(Effect::FindNamesakes {
                    context,
                    family: p.family.clone(),
                    given: p.given.split_whitespace().next().unwrap_or("").into(),
                });
            }
        }
        Err(FetchError::NotFound) => {
            c.error = Some("this patient is not on the server (deleted or merged?)".into());
            c.loading = false;
        }
        Err(e) => c.error = Some(format!("patient details: {e}")),
    }
    refresh_visible(c, rows);
    let opening = c.opening;
    let patient_id = c.patient_id.clone();
    state.dirty = true;
    if opening.withholds() || (opening.check && restricted) {
        chart_restricted(state, context, restricted);
        return;
    }
    effects.push(Effect::LoadChartBody {
        context,
        patient_id,
        keep: !restricted,
    });
}

/// The chart has loaded as far as it will.
pub(crate) fn chart_done(state: &mut State, context: u64) {
    let rows = timeline_rows(state.size);
    let offline = state.storage.offline();
    if let Some(c) = current_chart(state, context) {
        c.loading = false;
        if !offline {
            c.cached = None;
        }
        if c.error.is_none() {
            c.chart.finish();
        } else {
            c.chart.end();
        }
        refresh_visible(c, rows);
        state.dirty = true;
    }
    orders::review_medications(state);
}

/// The chart's clinical content needs break-the-glass: ask for a reason.
pub(crate) fn chart_restricted(state: &mut State, context: u64, restricted: bool) {
    let Some(c) = state.chart.as_mut().filter(|c| c.context == context) else {
        state.dropped_stale += 1;
        return;
    };
    c.loading = false;
    c.withheld = Some(restricted);
    if c.cached.take().is_some() {
        // Nothing shown from a cached copy of a chart that now needs emergency access.
        let patient = c.chart.patient.clone();
        c.chart = crate::workstation::chart::Chart::for_patient(&c.patient_id);
        c.chart.patient = patient;
        c.visible.clear();
        c.cursor = 0;
        c.scroll = 0;
    }
    c.chart.allergy_load = Some(crate::workstation::chart::AllergyLoad::Withheld { restricted });
    state.overlay = Some(Overlay::Prompt {
        kind: PromptKind::BreakGlass,
        input: String::new(),
    });
    state.dirty = true;
}
