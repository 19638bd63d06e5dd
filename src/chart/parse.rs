//! FHIR resources to chart records: one reader per resource type the timeline knows, and a
//! generic one for any other dated resource.

use base64::Engine;
use serde_json::Value;

use super::value::{
    code_in, codings, concept, concept_key, first, list, number, reference_text, short_number,
    text, when,
};
use super::{
    Allergy, Chart, Component, Detail, EncounterInfo, Entry, Flag, Kind, NoKnown, Obs, PatientInfo,
    Range, Report,
};

const SNOMED: &str = "http://snomed.info/sct";
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const LOINC: &str = "http://loinc.org";

/// LOINC codes of vital signs, for observations that do not say their category.
const VITAL_CODES: &[&str] = &[
    "85353-1", "8867-4", "9279-1", "8310-5", "59408-5", "2708-6", "85354-9", "8480-6", "8462-4",
    "29463-7", "8302-2", "39156-5", "8306-3", "9843-4", "8287-5",
];

/// Adds one resource to the chart; false when it could not be read at all.
pub(super) fn add(chart: &mut Chart, rtype: &str, id: &str, r: &Value) -> bool {
    match rtype {
        "Patient" => {
            // Only the chart's own patient sets the banner (a linked Patient must not).
            if chart.owner.is_none() || chart.owner.as_deref() == Some(id) {
                chart.patient = Some(patient(id, r));
            }
            true
        }
        "Location" | "Organization" | "Practitioner" | "Medication" => {
            if let Some(name) = named(rtype, r) {
                chart.names.insert(format!("{rtype}/{id}"), name);
            }
            true
        }
        "Observation" => {
            let o = observation(id, r);
            chart.obs_ids.insert(id.to_string(), chart.obs.len() as u32);
            chart.obs.push(o);
            true
        }
        "DiagnosticReport" => {
            chart.reports.push(report(r));
            true
        }
        "AllergyIntolerance" => {
            let status = code_in(r.get("verificationStatus"), None);
            let clinical = code_in(r.get("clinicalStatus"), None);
            let a = allergy(r);
            if let Some(when) = a.when {
                chart.entries.push(allergy_entry(&a, when, r));
            }
            // Refuted, entered-in-error, inactive and resolved allergies leave the banner.
            if !matches!(status, Some("refuted" | "entered-in-error"))
                && !matches!(clinical, Some("inactive" | "resolved"))
            {
                chart.allergies.push(a);
            }
            true
        }
        "Encounter" => {
            let info = encounter_info(r);
            if let Some(e) = encounter(r, &info, chart) {
                chart.entries.push(e);
            }
            chart.encounters.push(info);
            true
        }
        _ => {
            if let Some(e) = entry(chart, rtype, r) {
                chart.entries.extend(e);
            }
            true
        }
    }
}

fn named(rtype: &str, r: &Value) -> Option<String> {
    match rtype {
        "Practitioner" => first(r, "name").and_then(human_name),
        "Medication" => concept(r.get("code")),
        _ => text(r, "name").map(str::to_string),
    }
}

fn human_name(n: &Value) -> Option<String> {
    if let Some(t) = text(n, "text") {
        return Some(t.to_string());
    }
    let given: Vec<&str> = list(n, "given").filter_map(Value::as_str).collect();
    let family = text(n, "family").unwrap_or("");
    let s = format!("{} {family}", given.join(" "));
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn patient(id: &str, r: &Value) -> PatientInfo {
    let names: Vec<&Value> = list(r, "name").collect();
    let name = names
        .iter()
        .find(|n| text(n, "use") == Some("official"))
        .or_else(|| names.iter().find(|n| text(n, "use") != Some("old")))
        .or(names.first());
    let (family, given) = match name {
        Some(n) => {
            let given: Vec<&str> = list(n, "given").filter_map(Value::as_str).collect();
            let family = text(n, "family").map(str::to_string).unwrap_or_else(|| {
                if given.is_empty() {
                    text(n, "text").unwrap_or("").to_string()
                } else {
                    String::new()
                }
            });
            (family, given.join(" "))
        }
        None => (String::new(), String::new()),
    };
    let birth_text = text(r, "birthDate").map(str::to_string);
    let birth_date = birth_text
        .as_deref()
        .and_then(|b| chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d").ok());
    PatientInfo {
        id: id.to_string(),
        family,
        given,
        sex: text(r, "gender").unwrap_or("").to_string(),
        birth_date,
        birth_text,
        mrn: mrn(r),
        deceased: r.get("deceasedBoolean").and_then(Value::as_bool) == Some(true)
            || r.get("deceasedDateTime").is_some(),
    }
}

/// The medical record number: an identifier typed `MR`, else one whose system says MRN, else
/// the first identifier.
pub fn mrn(patient: &Value) -> Option<String> {
    let ids: Vec<&Value> = list(patient, "identifier").collect();
    ids.iter()
        .find(|i| code_in(i.get("type"), None) == Some("MR"))
        .or_else(|| {
            ids.iter()
                .find(|i| text(i, "system").is_some_and(|s| s.to_lowercase().contains("mrn")))
        })
        .or(ids.first())
        .and_then(|i| text(i, "value"))
        .map(str::to_string)
}

fn flag_of(interpretation: Option<&Value>) -> Option<Flag> {
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

fn range_of(r: &Value) -> Option<Range> {
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
fn value_of(r: &Value) -> (Option<String>, Option<f64>, String) {
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
fn flag_for(r: &Value, number: Option<f64>, range: &Option<Range>) -> Flag {
    if let Some(f) = flag_of(first(r, "interpretation")) {
        return f;
    }
    match (number, range) {
        (Some(x), Some(rg)) if rg.high.is_some_and(|h| x > h) => Flag::High,
        (Some(x), Some(rg)) if rg.low.is_some_and(|l| x < l) => Flag::Low,
        _ => Flag::Normal,
    }
}

fn observation(id: &str, r: &Value) -> Obs {
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
pub(super) fn obs_summary(o: &Obs) -> String {
    let value = obs_value(o);
    let name = short_name(o);
    if value.is_empty() {
        name.to_string()
    } else {
        format!("{name} {value}")
    }
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
fn unit_text(unit: &str) -> &str {
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

fn join_unit(value: &str, unit: &str) -> String {
    if unit.is_empty() {
        value.to_string()
    } else {
        format!("{value} {unit}")
    }
}

fn report(r: &Value) -> Report {
    Report {
        name: concept(r.get("code")).unwrap_or_else(|| "Report".into()),
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
pub(super) fn report_summary(report: &Report, results: &[&super::Obs]) -> String {
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
    format!("{name}: {tail}")
}

fn allergy(r: &Value) -> Allergy {
    let substance = concept(r.get("code")).unwrap_or_else(|| "unnamed substance".into());
    let snomed = code_in(r.get("code"), Some(SNOMED));
    let lower = substance.to_lowercase();
    let no_known = match snomed {
        Some("716186003") => Some(NoKnown::Any),
        Some("409137002") => Some(NoKnown::Drug),
        Some("428607008" | "429625007") => Some(NoKnown::Other),
        _ if lower.starts_with("no known drug") || lower == "nkda" => Some(NoKnown::Drug),
        _ if lower.starts_with("no known allerg") || lower == "nka" => Some(NoKnown::Any),
        _ if lower.starts_with("no known") => Some(NoKnown::Other),
        _ => None,
    };
    let reactions: Vec<String> = list(r, "reaction")
        .flat_map(|re| list(re, "manifestation").filter_map(|m| concept(Some(m))))
        .collect();
    let severity = list(r, "reaction")
        .find_map(|re| text(re, "severity"))
        .map(str::to_string);
    Allergy {
        substance,
        reactions,
        severity,
        high_criticality: text(r, "criticality") == Some("high"),
        no_known,
        when: when(
            r,
            &[
                "recordedDate",
                "onsetDateTime",
                "onsetPeriod",
                "lastOccurrence",
            ],
        ),
    }
}

fn allergy_entry(a: &Allergy, when: super::When, r: &Value) -> Entry {
    let mut summary = match a.no_known {
        Some(_) => a.substance.clone(),
        None => format!("Allergy: {}", a.substance),
    };
    if !a.reactions.is_empty() {
        summary.push_str(&format!(" - {}", a.reactions.join(", ")));
    }
    if a.high_criticality {
        summary.push_str(" (high criticality)");
    }
    let mut fields = vec![("Substance".into(), a.substance.clone())];
    push_opt(&mut fields, "Reaction", Some(a.reactions.join(", ")));
    push_opt(&mut fields, "Severity", a.severity.clone());
    push_opt(
        &mut fields,
        "Criticality",
        text(r, "criticality").map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Category",
        first(r, "category")
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Clinical status",
        code_in(r.get("clinicalStatus"), None).map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Verification",
        code_in(r.get("verificationStatus"), None).map(str::to_string),
    );
    push_codes(&mut fields, r.get("code"));
    Entry {
        kind: Kind::Allergy,
        when,
        summary,
        status: String::new(),
        detail: Detail::Fields(fields),
        active: false,
        refs: Vec::new(),
    }
}

fn encounter_info(r: &Value) -> EncounterInfo {
    let status = text(r, "status").unwrap_or("");
    let ended = r.pointer("/period/end").is_some();
    EncounterInfo {
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

fn encounter(r: &Value, info: &EncounterInfo, chart: &Chart) -> Option<Entry> {
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

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn text_at(r: &Value, pointer: &str) -> Option<String> {
    r.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn push_opt(fields: &mut Vec<(String, String)>, label: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        fields.push((label.to_string(), v));
    }
}

fn push_codes(fields: &mut Vec<(String, String)>, concept: Option<&Value>) {
    for (system, code, _) in codings(concept) {
        let name = match system.as_str() {
            SNOMED => "SNOMED CT",
            ICD10CM => "ICD-10-CM",
            LOINC => "LOINC",
            "http://www.nlm.nih.gov/research/umls/rxnorm" => "RxNorm",
            "http://hl7.org/fhir/sid/cvx" => "CVX",
            _ => "Code",
        };
        fields.push((name.to_string(), code));
    }
}

/// The medication's name: its concept, else the referenced Medication's name.
fn medication_name(chart: &Chart, r: &Value) -> String {
    concept(r.get("medicationCodeableConcept"))
        .or_else(|| {
            let reference = r.get("medicationReference")?;
            text(reference, "reference")
                .and_then(|x| chart.names.get(x).cloned())
                .or_else(|| text(reference, "display").map(str::to_string))
        })
        .unwrap_or_else(|| "medication".into())
}

fn dosage_text(d: &Value) -> Option<String> {
    if let Some(t) = text(d, "text") {
        return Some(t.to_string());
    }
    let dose = first(d, "doseAndRate")
        .and_then(|x| x.get("doseQuantity"))
        .and_then(|q| {
            Some(join_unit(
                &number(q.get("value"))?.1,
                text(q, "unit").unwrap_or(""),
            ))
        });
    let route = concept(d.get("route"));
    let parts: Vec<String> = [dose, route].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Everything but Observations, reports, allergies and encounters. Some resources make two
/// items (a medication started and stopped; a problem and its resolution).
fn entry(chart: &Chart, rtype: &str, r: &Value) -> Option<Vec<Entry>> {
    let status = text(r, "status").unwrap_or("").to_string();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    match rtype {
        "MedicationRequest" | "MedicationStatement" | "MedicationAdministration" => {
            let name = medication_name(chart, r);
            let dosage = first(r, "dosageInstruction")
                .or_else(|| first(r, "dosage"))
                .and_then(dosage_text);
            let started = when(
                r,
                &[
                    "authoredOn",
                    "effectiveDateTime",
                    "effectivePeriod",
                    "dateAsserted",
                ],
            )?;
            let active = matches!(status.as_str(), "active" | "on-hold" | "intended")
                && r.get("intent").and_then(Value::as_str) != Some("plan")
                && rtype != "MedicationAdministration";
            fields.push(("Medication".into(), name.clone()));
            push_opt(&mut fields, "Dose", dosage.clone());
            fields.push(("Status".into(), status.clone()));
            push_opt(&mut fields, "Intent", text(r, "intent").map(str::to_string));
            push_opt(
                &mut fields,
                "Started",
                text(r, "authoredOn").map(str::to_string),
            );
            push_opt(&mut fields, "Reason", concept(first(r, "reasonCode")));
            push_opt(
                &mut fields,
                "Prescriber",
                reference_text(r.get("requester")),
            );
            push_opt(
                &mut fields,
                "Stopped because",
                concept(r.get("statusReason")),
            );
            push_codes(&mut fields, r.get("medicationCodeableConcept"));
            let verb = if rtype == "MedicationAdministration" {
                "Given"
            } else {
                "Started"
            };
            let what = match &dosage {
                Some(d) if d.to_lowercase().starts_with(&name.to_lowercase()) => d.clone(),
                Some(d) => format!("{name} - {d}"),
                None => name.clone(),
            };
            let mut summary = format!("{verb} {what}");
            let stopped = matches!(status.as_str(), "stopped" | "completed" | "cancelled");
            if stopped && rtype != "MedicationAdministration" {
                summary.push_str(&format!(" ({status})"));
            }
            let end = r
                .pointer("/dispenseRequest/validityPeriod/end")
                .or_else(|| r.pointer("/effectivePeriod/end"))
                .and_then(Value::as_str)
                .and_then(super::When::parse);
            if let (true, Some(end)) = (stopped, end) {
                out.push(Entry {
                    kind: Kind::Medication,
                    when: end,
                    summary: format!("Stopped {name}"),
                    status: status.clone(),
                    detail: Detail::Fields(fields.clone()),
                    active: false,
                    refs: Vec::new(),
                });
            }
            out.push(Entry {
                kind: Kind::Medication,
                when: started,
                summary,
                status,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
        "Condition" => {
            let name = concept(r.get("code")).unwrap_or_else(|| "Problem".into());
            let clinical = code_in(r.get("clinicalStatus"), None)
                .unwrap_or("")
                .to_string();
            let verification = code_in(r.get("verificationStatus"), None).unwrap_or("");
            let onset = when(r, &["onsetDateTime", "onsetPeriod", "recordedDate"]);
            let icd = code_in(r.get("code"), Some(ICD10CM));
            fields.push(("Problem".into(), name.clone()));
            push_opt(&mut fields, "Clinical status", Some(clinical.clone()));
            push_opt(&mut fields, "Verification", Some(verification.to_string()));
            push_opt(
                &mut fields,
                "Onset",
                text(r, "onsetDateTime").map(str::to_string),
            );
            push_opt(
                &mut fields,
                "Recorded",
                text(r, "recordedDate").map(str::to_string),
            );
            push_opt(
                &mut fields,
                "Resolved",
                text(r, "abatementDateTime").map(str::to_string),
            );
            push_opt(&mut fields, "Severity", concept(r.get("severity")));
            push_codes(&mut fields, r.get("code"));
            let active = matches!(clinical.as_str(), "active" | "recurrence" | "relapse")
                && verification != "entered-in-error"
                && verification != "refuted";
            if let Some(resolved) = when(r, &["abatementDateTime", "abatementPeriod"]) {
                out.push(Entry {
                    kind: Kind::Problem,
                    when: resolved,
                    summary: format!("Resolved: {name}"),
                    status: clinical.clone(),
                    detail: Detail::Fields(fields.clone()),
                    active: false,
                    refs: Vec::new(),
                });
            }
            let mut summary = name.clone();
            if let Some(icd) = icd {
                summary.push_str(&format!(" [{icd}]"));
            }
            if !clinical.is_empty() {
                summary.push_str(&format!(" - {clinical}"));
            }
            out.push(Entry {
                kind: Kind::Problem,
                when: onset?,
                summary,
                status: clinical,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
        "DocumentReference" => {
            let title = concept(r.get("type"))
                .or_else(|| text(r, "description").map(str::to_string))
                .unwrap_or_else(|| "Document".into());
            let doc_status = text(r, "docStatus").unwrap_or("").to_string();
            let date = when(r, &["date"])
                .or_else(|| r.get("context").and_then(|c| when(c, &["period"])))?;
            let author = first(r, "author").and_then(|a| reference_text(Some(a)));
            let attachment = first(r, "content").and_then(|c| c.get("attachment"));
            let body = attachment
                .map(attachment_text)
                .unwrap_or_else(|| "(no content)".into());
            fields.push(("Title".into(), title.clone()));
            push_opt(&mut fields, "Author", author.clone());
            push_opt(&mut fields, "Date", text(r, "date").map(str::to_string));
            push_opt(
                &mut fields,
                "Status",
                Some(match doc_status.as_str() {
                    "" => status.clone(),
                    d => format!("{status}, {d}"),
                }),
            );
            let mut summary = title;
            if doc_status == "preliminary" {
                summary.push_str(" [PRELIMINARY]");
            }
            if status == "entered-in-error" {
                summary.push_str(" [ENTERED IN ERROR]");
            }
            out.push(Entry {
                kind: Kind::Note,
                when: date,
                summary,
                status,
                detail: Detail::Note { fields, text: body },
                active: false,
                refs: author.into_iter().collect(),
            });
        }
        _ => {
            let (kind, keys): (Kind, &[&str]) = match rtype {
                "Procedure" => (Kind::Procedure, &["performedDateTime", "performedPeriod"]),
                "Immunization" => (Kind::Immunization, &["occurrenceDateTime", "recorded"]),
                "ServiceRequest" => (Kind::Order, &["authoredOn", "occurrenceDateTime"]),
                "Composition" => (Kind::Note, &["date"]),
                _ => (
                    Kind::Other,
                    &[
                        "effectiveDateTime",
                        "effectivePeriod",
                        "occurrenceDateTime",
                        "performedDateTime",
                        "authoredOn",
                        "date",
                        "issued",
                        "recorded",
                        "created",
                        "period",
                    ],
                ),
            };
            let date = when(r, keys)?;
            let name = concept(r.get("code"))
                .or_else(|| concept(r.get("vaccineCode")))
                .or_else(|| text(r, "title").map(str::to_string))
                .or_else(|| text(r, "description").map(str::to_string))
                .unwrap_or_else(|| rtype.to_string());
            let mut summary = if kind == Kind::Other {
                format!("{rtype}: {name}")
            } else {
                name.clone()
            };
            if kind == Kind::Order {
                let priority = text(r, "priority").unwrap_or("routine");
                summary.push_str(&format!(" - {status}, {priority}"));
            } else if !matches!(status.as_str(), "" | "completed" | "final") {
                summary.push_str(&format!(" ({status})"));
            }
            fields.push(("Type".into(), rtype.to_string()));
            fields.push(("What".into(), name));
            push_opt(&mut fields, "Status", Some(status.clone()));
            push_opt(
                &mut fields,
                "Priority",
                text(r, "priority").map(str::to_string),
            );
            push_opt(&mut fields, "Reason", concept(first(r, "reasonCode")));
            push_opt(&mut fields, "Body site", concept(first(r, "bodySite")));
            push_opt(&mut fields, "Outcome", concept(r.get("outcome")));
            push_opt(&mut fields, "Requester", reference_text(r.get("requester")));
            push_opt(
                &mut fields,
                "Performer",
                first(r, "performer").and_then(|p| reference_text(p.get("actor").or(Some(p)))),
            );
            push_opt(&mut fields, "Lot", text(r, "lotNumber").map(str::to_string));
            push_opt(
                &mut fields,
                "Note",
                first(r, "note")
                    .and_then(|n| text(n, "text"))
                    .map(str::to_string),
            );
            push_codes(&mut fields, r.get("code").or_else(|| r.get("vaccineCode")));
            let active =
                kind == Kind::Order && matches!(status.as_str(), "active" | "draft" | "on-hold");
            out.push(Entry {
                kind,
                when: date,
                summary,
                status,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
    }
    Some(out)
}

/// The text of an attachment: inline text decoded, anything else described.
fn attachment_text(a: &Value) -> String {
    let content_type = text(a, "contentType").unwrap_or("text/plain");
    if let Some(data) = text(a, "data") {
        if !content_type.starts_with("text/") {
            return format!("(a {content_type} attachment; not shown here)");
        }
        return match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).replace('\r', ""),
            Err(_) => "(the attachment's data is not valid base64)".into(),
        };
    }
    if let Some(url) = text(a, "url") {
        return format!("(stored at {url}; not downloaded)");
    }
    "(no content)".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_from_interpretation_and_range() {
        let o = observation(
            "1",
            &json!({"valueQuantity": {"value": 6.9, "unit": "mmol/L"},
                    "interpretation": [{"coding": [{"code": "HH"}]}],
                    "code": {"text": "Potassium"}}),
        );
        assert_eq!(o.flag, Flag::CriticalHigh);
        assert_eq!(obs_summary(&o), "Potassium 6.9 mmol/L");
        let o = observation(
            "2",
            &json!({"valueQuantity": {"value": 2}, "referenceRange": [{"low": {"value": 3}, "high": {"value": 5}}]}),
        );
        assert_eq!(o.flag, Flag::Low);
        assert_eq!(o.range.unwrap().text, "3-5");
    }

    #[test]
    fn blood_pressure_joins_components() {
        let o = observation(
            "1",
            &json!({"code": {"text": "Blood pressure"}, "component": [
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": 150, "unit": "mmHg"},
                 "interpretation": [{"coding": [{"code": "H"}]}]},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 80, "unit": "mmHg"}}]}),
        );
        assert_eq!(obs_summary(&o), "Blood pressure 150/80 mmHg");
        assert_eq!(o.flag, Flag::High);
    }

    #[test]
    fn mrn_prefers_the_mr_type() {
        let p = json!({"identifier": [{"system": "ssn", "value": "1"},
            {"type": {"coding": [{"code": "MR"}]}, "value": "0012345"}]});
        assert_eq!(mrn(&p).as_deref(), Some("0012345"));
    }
}
