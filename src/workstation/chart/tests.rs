use super::*;
use serde_json::json;

fn allergy(name: &str, reaction: &str, criticality: &str) -> Value {
    json!({"resourceType": "AllergyIntolerance", "id": name, "patient": {"reference": "Patient/p"},
           "criticality": criticality, "code": {"text": name},
           "reaction": [{"manifestation": [{"text": reaction}]}]})
}

#[test]
fn allergy_banner_states() {
    let mut c = Chart::for_patient("p");
    assert_eq!(c.allergy_text().0, "Allergies: loading...");
    c.finish();
    assert_eq!(c.allergy_text().0, "Allergies not assessed");
    c.add_page(vec![
        json!({"resourceType": "AllergyIntolerance", "id": "n",
        "patient": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "409137002"}]}}),
    ]);
    assert!(c.allergy_text().0.starts_with("NKDA"));
    let mut failed = Chart::for_patient("p");
    failed.set_allergies(Err("timeout".into()));
    assert!(failed.allergy_text().0.contains("UNKNOWN"));
}

#[test]
fn a_narrow_banner_never_hides_an_allergy() {
    let mut c = Chart::for_patient("p");
    c.set_allergies(Ok(vec![
        allergy("Penicillin", "Anaphylaxis", "high"),
        allergy("Latex", "Urticaria", "low"),
        allergy("Morphine", "Nausea", "low"),
    ]));
    assert_eq!(
        c.allergy_text().0,
        "Allergies: penicillin (anaphylaxis), latex (urticaria), morphine (nausea)"
    );
    assert_eq!(
        c.allergy_line(60).0,
        "Allergies: penicillin (anaphylaxis), latex, morphine"
    );
    assert_eq!(
        c.allergy_line(40).0,
        "Allergies: penicillin, latex, morphine"
    );
    assert_eq!(c.allergy_line(36).0, "Allergies: penicillin, latex +1 more");
    assert_eq!(
        c.allergy_line(20).0,
        "Allergies (3): penicillin, latex, morphine"
    );
}

#[test]
fn resources_about_another_patient_are_refused() {
    let mut c = Chart::for_patient("p");
    c.add_page(vec![
        json!({"resourceType": "Patient", "id": "q"}),
        json!({"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/q"},
               "effectiveDateTime": "2024-01-01", "code": {"text": "x"}}),
        json!({"resourceType": "Observation", "id": "o2", "subject": {"reference": "Patient/p"},
               "effectiveDateTime": "2024-01-01", "code": {"text": "y"}}),
    ]);
    assert!(c.patient.is_none());
    assert_eq!(c.foreign, 2);
    assert_eq!(c.timeline.len(), 1);
}

#[test]
fn malformed_resources_never_panic() {
    let mut c = Chart::for_patient("p");
    let subject = json!({"reference": "Patient/p"});
    let odd = [
        json!(null),
        json!(42),
        json!("text"),
        json!([]),
        json!({"resourceType": 7}),
        json!({"resourceType": "Patient", "id": "p", "name": "x", "birthDate": 1956,
               "identifier": {"value": 3}}),
        json!({"resourceType": "Observation", "id": "o1", "subject": subject,
               "effectiveDateTime": 5, "valueQuantity": "x", "component": "nope", "code": []}),
        json!({"resourceType": "Observation", "id": "o2", "subject": subject,
               "effectiveDateTime": "2024-13-45T99:99", "valueQuantity": {"value": "1e999"},
               "referenceRange": [{"low": {"value": []}}], "interpretation": "H"}),
        json!({"resourceType": "DiagnosticReport", "id": "r", "subject": subject,
               "effectiveDateTime": "2024-01-01", "result": [{"reference": 5}, "x"]}),
        json!({"resourceType": "DocumentReference", "id": "d", "subject": subject, "date": "2024",
               "content": [{"attachment": {"contentType": "text/plain", "data": "!!!"}}]}),
        json!({"resourceType": "MedicationRequest", "id": "m", "subject": subject,
               "authoredOn": "2024-02", "dosageInstruction": "twice"}),
        json!({"resourceType": "Condition", "id": "c", "subject": subject,
               "onsetDateTime": "2020", "clinicalStatus": {"coding": "active"}}),
        json!({"resourceType": "Encounter", "id": "e", "subject": subject,
               "period": {"start": "2024-01-01T10:00:00+25:00"}, "location": [{"location": 3}]}),
        json!({"resourceType": "AllergyIntolerance", "id": "a", "patient": subject,
               "reaction": [{"manifestation": "hives"}], "code": {"coding": [{}]}}),
    ];
    c.add_page(odd.to_vec());
    c.finish();
    let _ = c.allergy_line(20);
    let _ = c.location(chrono::FixedOffset::east_opt(0).unwrap());
    let _ = summary::summarise(&c);
    for key in c.by_code.keys().cloned().collect::<Vec<_>>() {
        let _ = c.series(&key);
    }
    assert!(c.resources >= 10);
}

#[test]
fn a_state_that_changes_meaning_shows_wherever_the_item_appears() {
    let subject = json!({"reference": "Patient/p"});
    let med = |id: &str, status: &str, name: &str| {
        json!({"resourceType": "MedicationRequest", "id": id, "status": status,
               "intent": "order", "subject": subject, "authoredOn": "2026-11-01T08:00:00Z",
               "medicationCodeableConcept": {"text": name}})
    };
    let mut c = Chart::for_patient("p");
    c.add_page(vec![
        med("m1", "draft", "Amoxicillin"),
        med("m2", "on-hold", "Warfarin"),
        med("m3", "entered-in-error", "Digoxin"),
        med("m4", "active", "Metformin"),
        json!({"resourceType": "ServiceRequest", "id": "s1", "status": "cancelled",
               "intent": "order", "subject": subject, "authoredOn": "2026-11-01T09:00:00Z",
               "code": {"text": "CBC"}}),
        json!({"resourceType": "Observation", "id": "o1", "status": "entered-in-error",
               "subject": subject, "effectiveDateTime": "2026-11-01T10:00:00Z",
               "code": {"text": "Potassium"}, "valueQuantity": {"value": 7.1, "unit": "mmol/L"}}),
    ]);
    c.finish();
    let line = |needle: &str| {
        c.timeline
            .iter()
            .find(|i| i.summary.contains(needle))
            .map(|i| i.summary.clone())
            .unwrap()
    };
    assert_eq!(line("Amoxicillin"), "DRAFT: Amoxicillin");
    assert_eq!(line("Warfarin"), "ON HOLD: Warfarin");
    assert_eq!(line("Digoxin"), "ENTERED IN ERROR: Digoxin");
    assert_eq!(line("Metformin"), "Started Metformin");
    assert_eq!(line("CBC"), "CANCELLED: CBC - routine");
    assert!(line("Potassium").starts_with("ENTERED IN ERROR: Potassium"));
    // The summary's medications: the draft and the held one, each saying so.
    let s = summary::summarise(&c);
    let meds: Vec<&str> = s.medications.iter().map(|e| e.summary.as_str()).collect();
    assert!(meds.contains(&"DRAFT: Amoxicillin"), "{meds:?}");
    assert!(meds.contains(&"ON HOLD: Warfarin"), "{meds:?}");
    assert!(!meds.iter().any(|m| m.contains("Digoxin")), "{meds:?}");
    assert!(
        s.abnormal.is_empty(),
        "an entered-in-error value is not a result"
    );
    // The order checks see the draft as a draft.
    let checks = crate::workstation::orders::from_chart::patient(&c).unwrap();
    let names: Vec<&str> = checks.medications.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"Amoxicillin (DRAFT)"), "{names:?}");
    assert!(names.contains(&"Warfarin (ON HOLD)"), "{names:?}");
}

#[test]
fn unreadable_dates_are_undated_not_lost_and_doses_say_how_often() {
    let subject = json!({"reference": "Patient/p"});
    let mut c = Chart::for_patient("p");
    c.add_page(vec![
        json!({"resourceType": "Observation", "id": "o1", "status": "final",
               "subject": subject, "effectiveDateTime": "yesterday-ish",
               "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
               "valueQuantity": {"value": 4.1, "unit": "mmol/L"}}),
        json!({"resourceType": "Observation", "id": "o2", "status": "final",
               "subject": subject, "effectiveDateTime": "2026-11-01T08:00:00Z",
               "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
               "valueQuantity": {"value": 4.4, "unit": "mmol/L"}}),
        json!({"resourceType": "MedicationRequest", "id": "m1", "status": "active",
               "intent": "order", "subject": subject, "authoredOn": "2026-13-45",
               "medicationCodeableConcept": {"text": "Metoprolol"},
               "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 25, "unit": "mg"}}],
                   "route": {"text": "oral"},
                   "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}]}),
        json!({"resourceType": "MedicationRequest", "id": "m2", "status": "active",
               "intent": "order", "subject": subject, "authoredOn": "2026-11-02",
               "medicationCodeableConcept": {"text": "Morphine"},
               "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 2, "unit": "mg"}}],
                   "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}},
                   "asNeededBoolean": true}]}),
    ]);
    c.finish();
    assert_eq!(c.timeline.len(), 4, "nothing vanishes");
    assert_eq!(c.undated(), 2);
    // Undated items come last, and never count as the latest or as a previous value.
    let last = c.timeline.last().unwrap();
    assert!(last.when.is_undated());
    assert_eq!(
        last.when.display(chrono::FixedOffset::east_opt(0).unwrap()),
        "undated"
    );
    let dated = c.obs.iter().find(|o| o.id == "o2").unwrap();
    assert!(c.previous(dated).is_empty());
    let key = dated.key.clone().unwrap();
    assert_eq!(
        c.series(&key).iter().map(|s| s.points.len()).sum::<usize>(),
        1
    );
    let meds: Vec<&str> = c.timeline.iter().map(|i| i.summary.as_str()).collect();
    assert!(
        meds.contains(&"Started Metoprolol - 25 mg oral twice a day"),
        "{meds:?}"
    );
    assert!(
        meds.contains(&"Started Morphine - 2 mg every 4 h as needed"),
        "{meds:?}"
    );
}

#[test]
fn a_deceased_patient_is_aged_at_death() {
    let p = read_patient(&json!({"resourceType": "Patient", "id": "d",
        "birthDate": "1940-06-01", "deceasedDateTime": "2025-03-04T10:00:00Z"}))
    .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    assert!(p.deceased);
    assert_eq!(p.age(today).as_deref(), Some("84y"));
    assert_eq!(p.dob_and_age(today), "1940-06-01 (84y at death)");
}

#[test]
fn vital_signs_taken_together_are_one_line() {
    let subject = json!({"reference": "Patient/p"});
    let vital = |id: &str, code: &str, value: Value, unit: &str, at: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final", "subject": subject,
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
               "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
               "effectiveDateTime": at, "valueQuantity": {"value": value, "unit": unit}})
    };
    let mut c = Chart::for_patient("p");
    c.add_page(vec![
        vital("t1", "8310-5", json!(37.0), "Cel", "2026-11-01T08:00:00Z"),
        vital("h1", "8867-4", json!(88), "/min", "2026-11-01T08:00:00Z"),
        vital("s1", "59408-5", json!(96), "%", "2026-11-01T08:00:00Z"),
        vital("h2", "8867-4", json!(91), "/min", "2026-11-01T14:00:00Z"),
    ]);
    c.finish();
    assert_eq!(
        c.timeline.len(),
        2,
        "one line per set; a lone value stays itself"
    );
    let set = c
        .timeline
        .iter()
        .find(|i| matches!(i.target, Target::Vitals(_)))
        .unwrap();
    assert_eq!(set.summary, "HR 88  T 37.0  SpO2 96");
    assert_eq!(c.members(set.target).len(), 3);
    assert_eq!(c.source_of(set.target).as_deref(), Some("Observation/h1"));
}
