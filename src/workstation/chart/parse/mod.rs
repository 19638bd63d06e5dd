//! FHIR resources to chart records: one reader per resource type the timeline knows, and a
//! generic one for any other dated resource.

use serde_json::Value;

use super::value::{code_in, codings, concept, first, list, text};
use super::{Chart, Obs, PatientInfo};

mod allergies;
mod encounters;
mod entries;
mod observation;

use allergies::*;
use encounters::*;
use entries::*;
use observation::*;
pub(crate) use observation::{
    obs_summary, observation, report_summary, vital_order, vital_set_summary,
};
pub use observation::{obs_value, short_name};

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
        died: text(r, "deceasedDateTime")
            .and_then(|d| d.get(..10))
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        inactive: r.get("active").and_then(Value::as_bool) == Some(false),
        merged_into: list(r, "link")
            .find(|l| text(l, "type") == Some("replaced-by"))
            .and_then(|l| l.get("other").and_then(|o| text(o, "reference")))
            .map(str::to_string),
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

// Shared by the readers.

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub(super) fn text_at(r: &Value, pointer: &str) -> Option<String> {
    r.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub(super) fn push_opt(fields: &mut Vec<(String, String)>, label: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        fields.push((label.to_string(), v));
    }
}

pub(super) fn push_codes(fields: &mut Vec<(String, String)>, concept: Option<&Value>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workstation::chart::Flag;
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
