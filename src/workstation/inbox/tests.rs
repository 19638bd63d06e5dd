use super::*;

fn found() -> Vec<Value> {
    let task = |id: &str, patient: &str, focus: &str, priority: &str| {
        json!({"resourceType": "Task", "id": id, "meta": {"versionId": "1"}, "status": "requested",
            "priority": priority, "for": {"reference": format!("Patient/{patient}")},
            "focus": {"reference": focus}, "authoredOn": "2026-12-02T06:00:00Z"})
    };
    let k = |id: &str, patient: &str, value: f64, flag: &str, when: &str| {
        json!({"resourceType": "Observation", "id": id, "status": "final",
            "subject": {"reference": format!("Patient/{patient}")},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}], "text": "Potassium"},
            "effectiveDateTime": when, "valueQuantity": {"value": value, "unit": "mmol/L"},
            "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.1}}],
            "interpretation": [{"coding": [{"code": flag}]}]})
    };
    vec![
        task("t1", "p1", "Observation/o1", "routine"),
        task("t2", "p2", "Observation/o2", "stat"),
        task("t3", "p2", "Observation/o3", "routine"),
        task("t4", "p1", "Observation/gone", "urgent"),
        k("o1", "p1", 4.2, "N", "2026-12-02T05:00:00Z"),
        k("o2", "p2", 6.9, "HH", "2026-12-02T05:00:00Z"),
        k("o3", "p2", 4.0, "N", "2026-12-01T05:00:00Z"),
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Zed", "given": ["Al"]}]}),
        json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Young", "given": ["Bea"]}]}),
    ]
}

#[test]
fn grouped_per_patient_critical_first_with_the_value_before() {
    let earlier = vec![
        json!({"resourceType": "Observation", "id": "o0", "status": "final",
        "subject": {"reference": "Patient/p2"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "effectiveDateTime": "2026-11-30T05:00:00Z", "valueQuantity": {"value": 5.6, "unit": "mmol/L"},
        "interpretation": [{"coding": [{"code": "H"}]}]}),
    ];
    // The search for earlier values returns every result of those codes, these included.
    let mut earlier = earlier;
    earlier.extend(
        found()
            .into_iter()
            .filter(|r| r["resourceType"] == "Observation"),
    );
    let g = groups(&found(), &earlier);
    assert_eq!(g.len(), 2);
    assert_eq!(
        g[0].name, "YOUNG, Bea",
        "the patient with a critical result first"
    );
    let k = &g[0].items[0];
    assert_eq!(k.urgency, Urgency::Critical);
    assert!(k.value.contains("6.9"), "{}", k.value);
    assert!(k.flag.contains("!!"), "{}", k.flag);
    assert!(!k.range.is_empty());
    // The value before it is the latest earlier one of the same code (o3, then o0).
    assert_eq!(k.previous.as_deref(), Some("4.0 mmol/L 2026-12-01"));
    assert_eq!(
        g[0].items[1].previous.as_deref(),
        Some("5.6 mmol/L H 2026-11-30")
    );
    // A result that did not come back is said so, never shown as normal-looking nothing.
    let gone = g[1].items.iter().find(|i| i.task_id == "t4").unwrap();
    assert!(gone.value.contains("not returned"));
    assert_eq!(gone.urgency, Urgency::Abnormal);
    let (patients, codes) = codes(&g);
    assert_eq!(patients, ["p1", "p2"]);
    assert_eq!(codes, ["http://loinc.org|2823-3"]);
}

#[test]
fn acknowledging_completes_each_task_on_its_version() {
    let g = groups(&found(), &[]);
    let items: Vec<&Item> = g[0].items.iter().collect();
    let who = json!({"reference": "Practitioner/d1", "display": "Dr House"});
    let b = acknowledgement(&items, &who, "2026-12-02T09:00:00Z");
    assert_eq!(b["type"], "transaction");
    let e = &b["entry"][0];
    assert_eq!(e["request"]["method"], "PUT");
    assert_eq!(e["request"]["ifMatch"], "W/\"1\"");
    assert_eq!(e["resource"]["status"], "completed");
    assert!(e["resource"].get("meta").is_none());
    assert_eq!(
        e["resource"]["note"][0]["authorReference"]["reference"],
        "Practitioner/d1"
    );
    let anonymous = acknowledgement(&items, &json!({"display": "x"}), "now");
    assert!(
        anonymous["entry"][0]["resource"]["note"][0]
            .get("authorReference")
            .is_none()
    );
}
