use super::*;
use serde_json::json;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
}

fn stays() -> Vec<Value> {
    let enc = |id: &str, patient: &str, bed: &str, start: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": "in-progress",
        "subject": {"reference": format!("Patient/{patient}")},
        "period": {"start": start},
        "participant": [{"type": [{"coding": [{"code": "ATND"}]}], "individual": {"reference": "Practitioner/d1"}}],
        "location": [
            {"location": {"reference": "Location/ward-A"}, "status": "active"},
            {"location": {"reference": format!("Location/{bed}")}, "status": "active"}
        ]})
    };
    vec![
        enc("e1", "p1", "bed-A-10", "2026-11-28T10:00:00Z"),
        enc("e2", "p2", "bed-A-02", "2026-12-02T01:00:00Z"),
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Alpha", "given": ["Ann"]}],
               "gender": "female", "birthDate": "1950-01-01"}),
        json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Beta", "given": ["Bo"]}],
               "gender": "male", "birthDate": "1980-06-01", "meta": {"security": [{"code": "R"}]}}),
        json!({"resourceType": "Location", "id": "bed-A-10", "name": "A bed 10", "physicalType": {"coding": [{"code": "bd"}]}}),
        json!({"resourceType": "Location", "id": "bed-A-02", "name": "A bed 2", "physicalType": {"coding": [{"code": "bd"}]}}),
        json!({"resourceType": "Location", "id": "ward-A", "name": "Ward A", "physicalType": {"coding": [{"code": "wa"}]}}),
        json!({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "House", "prefix": ["Dr"]}]}),
    ]
}

#[test]
fn a_row_per_patient_by_bed_with_what_the_server_said() {
    let news = |p: &str, when: &str, v: i64| {
        json!({"resourceType": "Observation", "status": "final", "subject": {"reference": format!("Patient/{p}")},
            "code": {"coding": [{"code": NEWS2_CODE}]}, "effectiveDateTime": when, "valueInteger": v})
    };
    let fetched = Fetched {
        stays: stays(),
        allergies: Some(vec![
            json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
                "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"text": "penicillin"}}),
            json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
                "verificationStatus": {"coding": [{"code": "entered-in-error"}]}, "code": {"text": "latex"}}),
        ]),
        news2: Some(vec![
            news("p1", "2026-12-01T08:00:00Z", 3),
            news("p1", "2026-12-02T08:00:00Z", 7),
        ]),
        reviews: Some(vec![
            json!({"resourceType": "Task", "status": "requested", "priority": "stat", "for": {"reference": "Patient/p1"}}),
            json!({"resourceType": "Task", "status": "requested", "priority": "urgent", "for": {"reference": "Patient/p1"}}),
            json!({"resourceType": "Task", "status": "completed", "priority": "stat", "for": {"reference": "Patient/p1"}}),
        ]),
        unsigned: Some(vec![]),
        drafts: None,
        members: Vec::new(),
    };
    let rows = rows(&fetched, today());
    assert_eq!(rows.len(), 2);
    // Bed 2 before bed 10.
    assert_eq!(rows[0].bed, "A bed 2");
    assert_eq!(rows[1].bed, "A bed 10");
    let a = &rows[1];
    assert_eq!(a.name, "ALPHA, Ann");
    assert_eq!(a.age_sex, "76y F");
    assert_eq!(a.days, Some(4));
    assert_eq!(a.attending.as_deref(), Some("Dr House"));
    assert_eq!(a.allergies, AllergyMark::Known(1));
    assert_eq!(a.news2, Ok((Some(7), Some(3))));
    assert_eq!(a.reviews, Some((1, 1, 0)));
    assert_eq!(a.unsigned, Some(0));
    assert_eq!(a.cosign, None, "a part that failed is unknown, not none");
    let b = &rows[0];
    assert_eq!(b.allergies, AllergyMark::NotAssessed);
    assert_eq!(b.news2, Ok((None, None)));
    assert!(b.restricted);
    assert_eq!(b.days, Some(0));
    // Every part failed: unknown everywhere.
    let blind = Fetched {
        stays: stays(),
        ..Fetched::default()
    };
    let rows = super::rows(&blind, today());
    assert_eq!(rows[0].allergies, AllergyMark::Unknown);
    assert_eq!(rows[0].news2, Err(()));
    assert_eq!(rows[0].reviews, None);
}

#[test]
fn wards_and_sorting() {
    let w = wards(&stays());
    assert_eq!(
        w,
        [Ward {
            id: "ward-A".into(),
            name: "Ward A".into()
        }]
    );
    let fetched = Fetched {
        stays: stays(),
        news2: Some(vec![
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/p2"},
            "code": {"coding": [{"code": NEWS2_CODE}]}, "valueInteger": 5}),
        ]),
        ..Fetched::default()
    };
    let rows = rows(&fetched, today());
    assert_eq!(sorted(&rows, Sort::News2)[0].patient_id, "p2");
    assert_eq!(sorted(&rows, Sort::Stay)[0].patient_id, "p1");
    assert_eq!(sorted(&rows, Sort::Name)[0].name, "ALPHA, Ann");
    assert_eq!(Sort::Stay.next(), Sort::Bed);
}
