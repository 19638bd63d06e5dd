//! Encounter to the chart's visit (ward, bed, dates) and its timeline entry.

use serde_json::Value;

use super::super::value::{concept, first, list, reference_text, text, when};
use super::super::{Chart, Detail, EncounterInfo, Entry, Kind};
use super::*;

pub(super) fn encounter_info(r: &Value) -> EncounterInfo {
    let status = text(r, "status").unwrap_or("");
    let ended = r.pointer("/period/end").is_some();
    EncounterInfo {
        id: text(r, "id").unwrap_or("").to_string(),
        start: when(r, &["period"]),
        current: matches!(status, "in-progress" | "arrived" | "triaged" | "onleave") && !ended,
        locations: list(r, "location")
            .filter(|l| !matches!(text(l, "status"), Some("completed")))
            .filter_map(|l| l.get("location"))
            .filter_map(|l| text(l, "reference").or_else(|| text(l, "display")))
            .map(str::to_string)
            .collect(),
    }
}

pub(super) fn encounter(r: &Value, info: &EncounterInfo, chart: &Chart) -> Option<Entry> {
    let when = info.start?;
    let class = r
        .get("class")
        .and_then(|c| text(c, "display").or_else(|| text(c, "code")))
        .map(str::to_string);
    let kind = concept(first(r, "type"))
        .or(class.clone())
        .unwrap_or_else(|| "Encounter".into());
    let status = text(r, "status").unwrap_or("").replace('-', " ");
    let places: Vec<String> = list(r, "location")
        .filter_map(|l| l.get("location"))
        .filter_map(|l| text(l, "display").or_else(|| text(l, "reference")))
        .map(str::to_string)
        .collect();
    let summary = format!("{}, {status}", capitalise(&kind));
    let _ = chart;
    let mut fields = vec![("Type".into(), kind)];
    push_opt(&mut fields, "Class", class);
    fields.push(("Status".into(), status.clone()));
    push_opt(&mut fields, "Start", text_at(r, "/period/start"));
    push_opt(&mut fields, "End", text_at(r, "/period/end"));
    push_opt(&mut fields, "Location", Some(places.join(", ")));
    push_opt(&mut fields, "Reason", concept(first(r, "reasonCode")));
    push_opt(
        &mut fields,
        "Clinician",
        first(r, "participant").and_then(|p| reference_text(p.get("individual"))),
    );
    Some(Entry {
        kind: Kind::Encounter,
        when,
        summary,
        status,
        detail: Detail::Fields(fields),
        active: info.current,
        refs: places,
    })
}
