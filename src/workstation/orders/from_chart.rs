//! What the order checks need, read from an open chart: active medications, allergies (and
//! whether anyone assessed them), and tests ordered or resulted recently.

use crate::workstation::chart::{AllergyLoad, Chart, Kind};

use super::checks::{ActiveMedication, Patient, RecentTest, RecordedAllergy};

/// The patient as the checks see them, or why the checks cannot run on this chart yet.
pub fn patient(chart: &Chart) -> Result<Patient, String> {
    match &chart.allergy_load {
        Some(AllergyLoad::Failed(e)) => {
            return Err(format!("the allergy list could not be loaded ({e})"));
        }
        Some(AllergyLoad::Loading) | None => {
            return Err("the chart is still loading".into());
        }
        Some(AllergyLoad::Withheld { .. }) => {
            return Err("the record is restricted: break the glass before ordering".into());
        }
        Some(AllergyLoad::Loaded) => {}
    }
    if let Some(why) = chart.allergy_doubt() {
        return Err(format!("the allergy list cannot be trusted: {why}"));
    }
    let medications = medications(chart);
    let allergies = chart
        .allergies
        .iter()
        .filter(|a| a.no_known.is_none())
        .map(|a| RecordedAllergy {
            rxnorm: a.rxnorm.clone(),
            text: a.substance.clone(),
            reaction: (!a.reactions.is_empty()).then(|| a.reactions.join(", ")),
        })
        .collect();
    let resulted = chart.obs.iter().filter_map(|o| {
        let loinc = o.key.as_deref()?.strip_prefix("http://loinc.org|")?;
        Some(RecentTest {
            loinc: loinc.to_string(),
            when_ms: o.when.filter(|w| !w.is_undated())?.ms,
            resulted: true,
        })
    });
    let reports = chart.reports.iter().filter_map(|r| {
        Some(RecentTest {
            loinc: r.code.clone()?,
            when_ms: r.when.filter(|w| !w.is_undated())?.ms,
            resulted: true,
        })
    });
    let ordered = chart
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Order && e.active && !e.when.is_undated())
        .filter_map(|e| {
            Some(RecentTest {
                loinc: e.code("LOINC")?.to_string(),
                when_ms: e.when.ms,
                resulted: false,
            })
        });
    Ok(Patient {
        medications,
        allergies,
        allergies_assessed: !chart.allergies.is_empty(),
        tests: resulted.chain(reports).chain(ordered).collect(),
    })
}

/// The patient's active medications (drafts and held ones included, named as such).
pub fn medications(chart: &Chart) -> Vec<ActiveMedication> {
    chart
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Medication && e.active)
        .map(|e| {
            let name = e
                .code("Medication")
                .map(str::to_string)
                .unwrap_or_else(|| e.summary.trim_start_matches("Started ").to_string());
            // The checks name a pending or held medication as such.
            let name = match crate::workstation::chart::state_mark(&e.status) {
                Some(mark) => format!("{name} ({mark})"),
                None => name,
            };
            ActiveMedication {
                rxnorm: e.code("RxNorm").map(str::to_string),
                name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_medications_allergies_and_tests_from_the_chart() {
        let mut c = Chart::for_patient("p");
        assert!(patient(&c).is_err(), "not while loading");
        let subject = json!({"reference": "Patient/p"});
        c.add_page(vec![
            json!({"resourceType": "MedicationRequest", "id": "m", "status": "active", "intent": "order",
                   "subject": subject, "authoredOn": "2026-01-01",
                   "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                       "code": "11289", "display": "warfarin"}], "text": "warfarin"}}),
            json!({"resourceType": "AllergyIntolerance", "id": "a", "patient": subject,
                   "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723"}],
                            "text": "amoxicillin"},
                   "reaction": [{"manifestation": [{"text": "hives"}]}]}),
            json!({"resourceType": "ServiceRequest", "id": "s", "status": "active", "intent": "order",
                   "subject": subject, "authoredOn": "2026-11-20T08:00:00Z",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "6301-6"}]}}),
            json!({"resourceType": "Observation", "id": "o", "subject": subject,
                   "effectiveDateTime": "2026-11-20T06:00:00Z",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                   "valueQuantity": {"value": 4.1}}),
        ]);
        c.finish();
        let p = patient(&c).unwrap();
        assert_eq!(p.medications[0].rxnorm.as_deref(), Some("11289"));
        assert_eq!(p.allergies[0].rxnorm.as_deref(), Some("723"));
        assert_eq!(p.allergies[0].reaction.as_deref(), Some("hives"));
        assert!(p.allergies_assessed);
        let codes: Vec<(&str, bool)> = p
            .tests
            .iter()
            .map(|t| (t.loinc.as_str(), t.resulted))
            .collect();
        assert!(codes.contains(&("2823-3", true)));
        assert!(codes.contains(&("6301-6", false)));
        let mut failed = Chart::for_patient("p");
        failed.set_allergies(Err("timeout".into()));
        assert!(
            patient(&failed)
                .unwrap_err()
                .contains("could not be loaded")
        );
    }
}
