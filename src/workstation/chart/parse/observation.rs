//! Observations and reports: values, units, ranges, abnormal flags and their one-line
//! summaries.

use serde_json::Value;

use super::super::value::{
    code_in, concept, concept_key, first, list, number, short_number, text, when,
};
use super::super::{Component, Flag, Obs, Range, Report};
use super::{LOINC, VITAL_CODES};

pub(super) fn flag_of(interpretation: Option<&Value>) -> Option<Flag> {
    let code = code_in(interpretation, None)?;
    Some(match code {
        "HH" | "HU" => Flag::CriticalHigh,
        "LL" | "LU" => Flag::CriticalLow,
        "AA" => Flag::Critical,
        "H" | ">" => Flag::High,
        "L" | "<" => Flag::Low,
        "A" | "POS" | "DET" | "R" | "W" => Flag::Abnormal,
        _ => Flag::Normal,
    })
}

pub(super) fn range_of(r: &Value) -> Option<Range> {
    let rr = first(r, "referenceRange")?;
    let low = rr
        .get("low")
        .and_then(|q| number(q.get("value")))
        .map(|n| n.0);
    let high = rr
        .get("high")
        .and_then(|q| number(q.get("value")))
        .map(|n| n.0);
    let text = text(rr, "text")
        .map(str::to_string)
        .unwrap_or_else(|| match (low, high) {
            (Some(l), Some(h)) => format!("{}-{}", short_number(l), short_number(h)),
            (Some(l), None) => format!(">= {}", short_number(l)),
            (None, Some(h)) => format!("<= {}", short_number(h)),
            (None, None) => String::new(),
        });
    (low.is_some() || high.is_some() || !text.is_empty()).then_some(Range { low, high, text })
}

/// The value of an Observation or component as text, its number and unit.
pub(super) fn value_of(r: &Value) -> (Option<String>, Option<f64>, String) {
    if let Some(q) = r.get("valueQuantity") {
        let n = number(q.get("value"));
        let unit = text(q, "unit").or_else(|| text(q, "code")).unwrap_or("");
        let comparator = text(q, "comparator").unwrap_or("");
        return (
            n.as_ref().map(|(_, t)| format!("{comparator}{t}")),
            n.map(|(x, _)| x),
            unit_text(unit).to_string(),
        );
    }
    if let Some(c) = r.get("valueCodeableConcept") {
        return (concept(Some(c)), None, String::new());
    }
    if let Some(s) = text(r, "valueString") {
        return (Some(s.to_string()), None, String::new());
    }
    if let Some(n) = number(r.get("valueInteger")) {
        return (Some(n.1), Some(n.0), String::new());
    }
    if let Some(b) = r.get("valueBoolean").and_then(Value::as_bool) {
        return (
            Some(if b { "yes" } else { "no" }.into()),
            None,
            String::new(),
        );
    }
    if let Some(d) = text(r, "valueDateTime") {
        return (Some(d.to_string()), None, String::new());
    }
    if let Some(rg) = r.get("valueRange") {
        let lo = rg
            .get("low")
            .and_then(|q| number(q.get("value")))
            .map(|n| n.1);
        let hi = rg
            .get("high")
            .and_then(|q| number(q.get("value")))
            .map(|n| n.1);
        return (
            Some(format!(
                "{}-{}",
                lo.unwrap_or_default(),
                hi.unwrap_or_default()
            )),
            None,
            String::new(),
        );
    }
    if let Some(q) = r.get("valueRatio") {
        let n = q
            .get("numerator")
            .and_then(|q| number(q.get("value")))
            .map(|n| n.1);
        let d = q
            .get("denominator")
            .and_then(|q| number(q.get("value")))
            .map(|n| n.1);
        return (
            Some(format!(
                "{}:{}",
                n.unwrap_or_default(),
                d.unwrap_or_default()
            )),
            None,
            String::new(),
        );
    }
    if let Some(reason) = concept(r.get("dataAbsentReason")) {
        return (Some(format!("({reason})")), None, String::new());
    }
    (None, None, String::new())
}

/// The interpretation, else one worked out from the reference range.
pub(super) fn flag_for(r: &Value, number: Option<f64>, range: &Option<Range>) -> Flag {
    if let Some(f) = flag_of(first(r, "interpretation")) {
        return f;
    }
    match (number, range) {
        (Some(x), Some(rg)) if rg.high.is_some_and(|h| x > h) => Flag::High,
        (Some(x), Some(rg)) if rg.low.is_some_and(|l| x < l) => Flag::Low,
        _ => Flag::Normal,
    }
}

pub(crate) fn observation(id: &str, r: &Value) -> Obs {
    let (value, num, unit) = value_of(r);
    let range = range_of(r);
    let mut flag = flag_for(r, num, &range);
    let components: Vec<Component> = list(r, "component")
        .map(|c| {
            let (value, number, unit) = value_of(c);
            let range = range_of(c);
            Component {
                key: concept_key(c.get("code")),
                name: concept(c.get("code")).unwrap_or_else(|| "component".into()),
                flag: flag_for(c, number, &range),
                value,
                number,
                unit,
                range,
            }
        })
        .collect();
    flag = components.iter().map(|c| c.flag).fold(flag, Flag::max);
    let category_vital = list(r, "category").any(|c| code_in(Some(c), None) == Some("vital-signs"));
    let loinc = code_in(r.get("code"), Some(LOINC));
    Obs {
        id: id.to_string(),
        key: concept_key(r.get("code")),
        name: concept(r.get("code")).unwrap_or_else(|| "Observation".into()),
        when: when(
            r,
            &[
                "effectiveDateTime",
                "effectivePeriod",
                "effectiveInstant",
                "issued",
            ],
        ),
        value,
        number: num,
        unit,
        range,
        flag,
        interpretation: concept(first(r, "interpretation")),
        status: text(r, "status").unwrap_or("").to_string(),
        vital: category_vital || loinc.is_some_and(|c| VITAL_CODES.contains(&c)),
        components,
        note: first(r, "note")
            .and_then(|n| text(n, "text"))
            .map(str::to_string),
    }
}

/// `Heart rate 88 /min`, `Blood pressure 142/88 mmHg`, `Potassium 6.9 mmol/L`.
pub(crate) fn obs_summary(o: &Obs) -> String {
    let value = obs_value(o);
    let name = short_name(o);
    let line = if value.is_empty() {
        name.to_string()
    } else {
        format!("{name} {value}")
    };
    match super::super::state_mark(&o.status) {
        Some(mark) => format!("{mark}: {line}"),
        None => line,
    }
}

/// Where a vital sign goes in a set's line: NEWS2 (the set's score) first, then BP, HR, RR,
/// T, SpO2, then weight and the rest.
pub(crate) fn vital_order(o: &Obs) -> (u8, String) {
    if o.key.as_deref() == Some("http://snomed.info/sct|1104051000000101") {
        return (0, o.name.clone());
    }
    let code = o
        .key
        .as_deref()
        .and_then(|k| k.strip_prefix("http://loinc.org|"));
    let rank = match code {
        Some("85354-9" | "55284-4") => 1,
        Some("8867-4") => 2,
        Some("9279-1") => 3,
        Some("8310-5") => 4,
        Some("59408-5" | "2708-6") => 5,
        Some("3151-8" | "3150-0") => 6,
        Some("29463-7") => 8,
        Some("8302-2") => 9,
        Some("39156-5") => 10,
        _ if o.key.as_deref() == Some("http://snomed.info/sct|1104441000000107") => 7,
        _ => 11,
    };
    (rank, o.name.clone())
}

/// One line for a set of vital signs: `BP 149/79 H HR 88 T 37.0 SpO2 96`, abnormal values
/// with their marker.
pub(crate) fn vital_set_summary(set: &[&Obs]) -> String {
    let mut parts = Vec::new();
    for o in set {
        let abbr = match vital_order(o).0 {
            0 => "NEWS2",
            1 => "BP",
            2 => "HR",
            3 => "RR",
            4 => "T",
            5 => "SpO2",
            6 => "O2",
            7 => "ACVPU",
            8 => "Wt",
            9 => "Ht",
            10 => "BMI",
            _ => short_name(o),
        };
        let value = match &o.value {
            // No supplemental oxygen is written as bedside records it: a flow of 0.
            Some(_) if abbr == "O2" && o.number == Some(0.0) => "air".to_string(),
            // `A (alert)`: the letter.
            Some(v) if abbr == "ACVPU" => v.split_whitespace().next().unwrap_or(v).to_string(),
            Some(v) => v.clone(),
            None => o
                .components
                .iter()
                .filter_map(|c| c.value.clone())
                .collect::<Vec<_>>()
                .join("/"),
        };
        let mut part = format!("{abbr} {value}");
        if o.flag != Flag::Normal {
            part.push(' ');
            part.push_str(o.flag.marker());
        }
        parts.push(part);
    }
    parts.join("  ")
}

/// A short name for lists: common vital signs by LOINC code, else a LOINC long name up to its
/// first bracket (`Chloride [Moles/volume] in Serum or Plasma` is `Chloride`).
pub fn short_name(o: &Obs) -> &str {
    let code = o
        .key
        .as_deref()
        .and_then(|k| k.strip_prefix("http://loinc.org|"));
    let known = match code {
        Some("85354-9" | "55284-4") => Some("Blood pressure"),
        Some("8867-4") => Some("Heart rate"),
        Some("9279-1") => Some("Respiratory rate"),
        Some("8310-5") => Some("Temperature"),
        Some("59408-5" | "2708-6") => Some("SpO2"),
        Some("29463-7") => Some("Weight"),
        Some("8302-2") => Some("Height"),
        Some("39156-5") => Some("BMI"),
        Some("8480-6") => Some("Systolic BP"),
        Some("8462-4") => Some("Diastolic BP"),
        _ => None,
    };
    known.unwrap_or_else(|| match o.name.find(" [") {
        Some(i) if i > 0 => &o.name[..i],
        _ => &o.name,
    })
}

/// UCUM codes as clinicians write them.
pub(super) fn unit_text(unit: &str) -> &str {
    match unit {
        "Cel" => "°C",
        "[degF]" => "°F",
        "mm[Hg]" => "mmHg",
        "10*3/uL" => "10^3/uL",
        "10*6/uL" => "10^6/uL",
        "10*9/L" => "10^9/L",
        "10*12/L" => "10^12/L",
        "[in_i]" => "in",
        "[lb_av]" => "lb",
        "{beats}/min" => "/min",
        "{breaths}/min" => "/min",
        other => other,
    }
}

/// The value with its unit, components joined as `142/88 mmHg`.
pub fn obs_value(o: &Obs) -> String {
    if let Some(v) = &o.value {
        return join_unit(v, &o.unit);
    }
    let parts: Vec<&str> = o
        .components
        .iter()
        .filter_map(|c| c.value.as_deref())
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    let same_unit = o.components.iter().all(|c| c.unit == o.components[0].unit);
    if same_unit && parts.len() == o.components.len() {
        join_unit(&parts.join("/"), &o.components[0].unit)
    } else {
        o.components
            .iter()
            .filter_map(|c| {
                Some(format!(
                    "{} {}",
                    c.name,
                    join_unit(c.value.as_deref()?, &c.unit)
                ))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(super) fn join_unit(value: &str, unit: &str) -> String {
    if unit.is_empty() {
        value.to_string()
    } else {
        format!("{value} {unit}")
    }
}

pub(super) fn report(r: &Value) -> Report {
    Report {
        id: text(r, "id").unwrap_or("").to_string(),
        name: concept(r.get("code")).unwrap_or_else(|| "Report".into()),
        code: code_in(r.get("code"), Some(LOINC)).map(str::to_string),
        when: when(r, &["effectiveDateTime", "effectivePeriod", "issued"]),
        status: text(r, "status").unwrap_or("").to_string(),
        results: list(r, "result")
            .filter_map(|x| text(x, "reference"))
            .filter_map(|x| x.strip_prefix("Observation/"))
            .map(str::to_string)
            .collect(),
        conclusion: text(r, "conclusion").map(str::to_string),
    }
}

/// `Basic metabolic panel: K 6.9 H!!, Na 128 L` (only abnormal results are listed).
pub(crate) fn report_summary(report: &Report, results: &[&super::Obs]) -> String {
    let abnormal: Vec<String> = results
        .iter()
        .filter(|o| o.flag != Flag::Normal)
        .map(|o| format!("{} {} {}", short_name(o), obs_value(o), o.flag.marker()))
        .collect();
    let tail = if !abnormal.is_empty() {
        abnormal.join(", ")
    } else if results.is_empty() && !report.results.is_empty() {
        format!("{} results", report.results.len())
    } else if results.is_empty() {
        report
            .conclusion
            .clone()
            .unwrap_or_else(|| report.status.clone())
    } else if results.len() == 1 {
        obs_value(results[0])
    } else {
        "all normal".into()
    };
    let name = match report.name.find(" - ") {
        Some(i) if i > 0 => &report.name[..i],
        _ => &report.name,
    };
    match super::super::state_mark(&report.status) {
        Some(mark) => format!("{mark}: {name}: {tail}"),
        None => format!("{name}: {tail}"),
    }
}
