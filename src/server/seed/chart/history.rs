//! The patient's history: problems, allergies, medications and immunizations.

use super::*;

impl Generator {
    pub(super) fn condition(&mut self, chart: &mut Chart, p: &Problem) {
        let onset = self.now - self.rng.random_range(200..8000) * DAY;
        let resolved = p.snomed == "233604007";
        chart.out.push(json!({
            "resourceType": "Condition", "id": self.id(),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": if resolved { "resolved" } else { "active" }}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item", "display": "Problem List Item"}]}],
            "code": {"coding": [
                {"system": SNOMED, "code": p.snomed, "display": p.name},
                {"system": ICD10CM, "code": p.icd10, "display": p.name}
            ], "text": p.name},
            "subject": subject(&chart.patient),
            "onsetDateTime": date(onset),
            "recordedDate": date(onset + 10 * DAY)
        }));
    }

    pub(super) fn allergies(&mut self, chart: &mut Chart) {
        let roll = self.rng.random_range(0..100);
        let recorded = self.now - self.rng.random_range(30..4000) * DAY;
        if roll < 20 {
            return; // never assessed
        }
        if roll < 55 {
            let (code, name) = if self.chance(0.5) {
                NO_KNOWN_ALLERGY
            } else {
                NO_KNOWN_DRUG_ALLERGY
            };
            chart.out.push(json!({
                "resourceType": "AllergyIntolerance", "id": self.id(),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
                "code": {"coding": [{"system": SNOMED, "code": code, "display": name}], "text": name},
                "patient": subject(&chart.patient), "recordedDate": date(recorded)
            }));
            return;
        }
        let n = self.rng.random_range(1..=3);
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n {
            let a = self.rng.random_range(0..ALLERGENS.len());
            if !chosen.contains(&a) {
                chosen.push(a);
            }
        }
        for a in chosen {
            let allergen = &ALLERGENS[a];
            let (rcode, rname) = *self.pick(REACTIONS);
            let severe = rcode == "39579001";
            chart.out.push(json!({
                "resourceType": "AllergyIntolerance", "id": self.id(),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
                "type": "allergy",
                "category": [allergen.category],
                "criticality": if severe { "high" } else { "low" },
                "code": {"coding": [{"system": allergen.system, "code": allergen.code, "display": allergen.name}], "text": allergen.name},
                "patient": subject(&chart.patient), "recordedDate": date(recorded),
                "reaction": [{
                    "manifestation": [{"coding": [{"system": SNOMED, "code": rcode, "display": rname}], "text": rname}],
                    "severity": if severe { "severe" } else { "mild" }
                }]
            }));
        }
    }

    pub(super) fn medications(&mut self, chart: &mut Chart, problems: &[usize], index: u64) {
        let mut drugs: Vec<usize> = Vec::new();
        for &p in problems {
            let options = PROBLEMS[p].treatments;
            if !options.is_empty() {
                let d = *self.pick(options);
                if !drugs.contains(&d) {
                    drugs.push(d);
                }
            }
        }
        // A known high-severity interaction on purpose, so order checks have work to do.
        if index % 25 == 7 {
            for d in [WARFARIN, NSAIDS[index as usize % NSAIDS.len()]] {
                if !drugs.contains(&d) {
                    drugs.push(d);
                }
            }
        }
        if index % 40 == 11 {
            drugs.extend(
                [7, 18]
                    .iter()
                    .filter(|d| !drugs.contains(d))
                    .collect::<Vec<_>>(),
            );
        }
        for d in drugs {
            let drug = &DRUGS[d];
            let stopped = self.chance(0.15);
            let started = self.now - self.rng.random_range(10..3000) * DAY;
            let text = format!(
                "{} {} {} {}",
                drug.name,
                fmt_num(drug.dose),
                drug.unit,
                drug.frequency
            );
            let mut dosage = json!({
                "text": text,
                "route": {"coding": [{"system": SNOMED, "code": drug.route.0, "display": drug.route.1}]},
                "doseAndRate": [{"doseQuantity": {"value": number(drug.dose, 0), "unit": drug.unit, "system": UCUM, "code": drug.unit}}]
            });
            if drug.per_day > 0 {
                dosage["timing"] =
                    json!({"repeat": {"frequency": drug.per_day, "period": 1, "periodUnit": "d"}});
            } else {
                dosage["asNeededBoolean"] = json!(true);
            }
            chart.out.push(json!({
                "resourceType": "MedicationRequest", "id": self.id(),
                "status": if stopped { "stopped" } else { "active" }, "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": drug.rxnorm, "display": drug.name}], "text": drug.name},
                "subject": subject(&chart.patient), "authoredOn": date(started),
                "requester": {"reference": format!("Practitioner/{}", self.practitioner())},
                "dosageInstruction": [dosage]
            }));
        }
    }

    pub(super) fn immunization(&mut self, chart: &mut Chart) {
        let (code, name) = *self.pick(VACCINES);
        chart.out.push(json!({
            "resourceType": "Immunization", "id": self.id(), "status": "completed",
            "vaccineCode": {"coding": [{"system": CVX, "code": code, "display": name}], "text": name},
            "patient": subject(&chart.patient),
            "occurrenceDateTime": date(self.now - self.rng.random_range(30..3650) * DAY),
            "primarySource": true
        }));
    }
}
