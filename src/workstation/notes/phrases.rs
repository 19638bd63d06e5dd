//! Smart phrases: `.vitals`, `.labs`, `.meds`, `.allergies`, `.problems` expand to the
//! patient's current data from the open chart, as plain text the clinician can edit. Users add
//! their own fixed phrases in `phrases.toml` in the config directory.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::FixedOffset;

use crate::workstation::chart::summary::summarise;
use crate::workstation::chart::{Chart, Flag, short_name, value_text};

/// The built-in phrases and what each inserts.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("vitals", "the latest vital signs with their times"),
    (
        "labs",
        "abnormal results of the last 7 days, else the latest results",
    ),
    ("meds", "active medications with doses"),
    (
        "allergies",
        "allergies and reactions, or the assessment (NKDA / not assessed)",
    ),
    ("problems", "active problems with ICD-10-CM codes"),
];

/// User phrases: `name = "text"` lines in a TOML file. Problems are reported, not fatal.
pub fn user_phrases(path: &Path) -> (BTreeMap<String, String>, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<BTreeMap<String, String>>(&text) {
            Ok(map) => (
                map.into_iter()
                    .map(|(k, v)| (k.trim_start_matches('.').to_string(), v))
                    .collect(),
                None,
            ),
            Err(e) => (
                BTreeMap::new(),
                Some(format!(
                    "{}: {} (write name = \"text\" lines)",
                    path.display(),
                    e.message().trim()
                )),
            ),
        },
        Err(_) => (BTreeMap::new(), None),
    }
}

/// The text of phrase `name` for this chart, if there is such a phrase.
pub fn expand(
    name: &str,
    chart: &Chart,
    zone: FixedOffset,
    user: &BTreeMap<String, String>,
) -> Option<String> {
    let s = summarise(chart);
    let when =
        |o: &crate::workstation::chart::Obs| o.when.map(|w| w.display(zone)).unwrap_or_default();
    let marker = |f: Flag| {
        if f == Flag::Normal {
            String::new()
        } else {
            format!(" {}", f.marker())
        }
    };
    let text = match name {
        "vitals" => {
            if s.vitals.is_empty() {
                "no vital signs recorded".to_string()
            } else {
                let items: Vec<String> = s
                    .vitals
                    .iter()
                    .map(|o| format!("{} {}{}", short_name(o), value_text(o), marker(o.flag)))
                    .collect();
                let latest = s.vitals.iter().filter_map(|o| o.when).max();
                let at = latest.map(|w| w.display(zone)).unwrap_or_default();
                format!("{} ({at})", items.join(", "))
            }
        }
        "labs" => {
            let newest = chart
                .obs
                .iter()
                .filter(|o| !o.vital)
                .filter_map(|o| o.when)
                .filter(|w| !w.is_undated())
                .max();
            let Some(newest) = newest else {
                return Some("no results recorded".into());
            };
            let week_before = newest.ms - 7 * 86_400_000;
            let mut recent: Vec<&crate::workstation::chart::Obs> = chart
                .obs
                .iter()
                .filter(|o| !o.vital && o.when.is_some_and(|w| w.ms >= week_before))
                .collect();
            let abnormal: Vec<&crate::workstation::chart::Obs> = recent
                .iter()
                .copied()
                .filter(|o| o.flag != Flag::Normal)
                .collect();
            if !abnormal.is_empty() {
                recent = abnormal;
            }
            recent.sort_by_key(|o| std::cmp::Reverse(o.when));
            // The newest value of each test.
            let mut seen = std::collections::HashSet::new();
            recent.retain(|o| seen.insert(o.key.clone().unwrap_or_else(|| o.name.clone())));
            recent
                .iter()
                .map(|o| {
                    format!(
                        "{} {}{} ({})",
                        short_name(o),
                        value_text(o),
                        marker(o.flag),
                        when(o)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        "meds" => {
            if s.medications.is_empty() {
                "no active medications".into()
            } else {
                s.medications
                    .iter()
                    .map(|e| e.summary.trim_start_matches("Started ").to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
        "allergies" => chart.allergy_text().0,
        "problems" => {
            if s.problems.is_empty() {
                "no active problems".into()
            } else {
                s.problems
                    .iter()
                    .map(|e| e.summary.trim_end_matches(" - active").to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        }
        other => return user.get(other).cloned(),
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phrases_read_the_chart() {
        let mut c = Chart::for_patient("p");
        let subject = json!({"reference": "Patient/p"});
        c.add_page(vec![
            json!({"resourceType": "Observation", "id": "hr", "subject": subject,
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"},
                "effectiveDateTime": "2026-11-20T08:00:00Z", "valueQuantity": {"value": 88, "unit": "/min"}}),
            json!({"resourceType": "Observation", "id": "k", "subject": subject,
                "code": {"text": "Potassium"}, "effectiveDateTime": "2026-11-20T08:00:00Z",
                "valueQuantity": {"value": 6.1, "unit": "mmol/L"}, "interpretation": [{"coding": [{"code": "H"}]}]}),
            json!({"resourceType": "AllergyIntolerance", "id": "a", "patient": subject, "code": {"text": "Latex"}}),
        ]);
        c.finish();
        let utc = FixedOffset::east_opt(0).unwrap();
        let none = BTreeMap::new();
        assert_eq!(
            expand("vitals", &c, utc, &none).unwrap(),
            "Heart rate 88 /min (2026-11-20 08:00)"
        );
        assert_eq!(
            expand("labs", &c, utc, &none).unwrap(),
            "Potassium 6.1 mmol/L H (2026-11-20 08:00)"
        );
        assert_eq!(
            expand("allergies", &c, utc, &none).unwrap(),
            "Allergies: latex"
        );
        assert_eq!(
            expand("meds", &c, utc, &none).unwrap(),
            "no active medications"
        );
        assert!(expand("nope", &c, utc, &none).is_none());
        let user = BTreeMap::from([("ros".to_string(), "ROS negative".to_string())]);
        assert_eq!(expand("ros", &c, utc, &user).unwrap(), "ROS negative");
    }
}
