use super::*;
use crate::workstation::orders::catalog::Catalog;
use crate::workstation::orders::checks::{AlertKind, Patient, Settings, check};
use crate::workstation::orders::knowledge::Knowledge;

fn setup() -> (Knowledge, Catalog) {
    let (k, _) = Knowledge::load(None);
    let (c, _) = Catalog::load(&k, None);
    (k, c)
}

fn ctx() -> Context {
    Context {
        patient_id: "p1".into(),
        patient_name: "SMITH, John".into(),
        encounter: Some("Encounter/e1".into()),
        requester: json!({"display": "Dr Test"}),
        now: "2026-11-20T10:00:00.000Z".into(),
        cosign: false,
    }
}

#[test]
fn fields_are_checked_in_place() {
    let (k, c) = setup();
    let warfarin = c.by_code("rxnorm:11289").unwrap();
    let mut item = Item::new(warfarin, k.medication("11289"));
    // The usual dose is filled in; only the indication is missing.
    let problems = item.problems();
    assert_eq!(
        problems.iter().map(|p| p.field).collect::<Vec<_>>(),
        ["indication"]
    );
    if let Fields::Medication(m) = &mut item.fields {
        m.dose = "five".into();
        m.route = "by mouth".into();
        m.indication = "atrial fibrillation".into();
        m.duration_days = "-3".into();
    }
    let fields: Vec<&str> = item.problems().iter().map(|p| p.field).collect();
    assert_eq!(fields, ["dose", "route", "duration"]);
    let cbc = Item::new(c.by_code("loinc:58410-2").unwrap(), None);
    assert_eq!(
        cbc.problems().iter().map(|p| p.field).collect::<Vec<_>>(),
        ["reason"]
    );
}

#[test]
fn the_transaction_files_orders_and_overrides_together() {
    let (k, c) = setup();
    let mut warfarin = Item::new(c.by_code("rxnorm:11289").unwrap(), k.medication("11289"));
    let mut ibuprofen = Item::new(c.by_code("rxnorm:5640").unwrap(), k.medication("5640"));
    for item in [&mut warfarin, &mut ibuprofen] {
        if let Fields::Medication(m) = &mut item.fields {
            m.indication = "test".into();
        }
    }
    let mut cbc = Item::new(c.by_code("loinc:58410-2").unwrap(), None);
    if let Fields::Test(t) = &mut cbc.fields {
        t.priority = "stat".into();
        t.reason = "bleeding risk".into();
    }
    let basket = [warfarin, ibuprofen, cbc];
    let proposed: Vec<_> = basket.iter().map(Item::proposed).collect();
    let patient = Patient {
        allergies_assessed: true,
        ..Patient::default()
    };
    let settings = Settings {
        duplicate_test_window_ms: 86_400_000,
        now_ms: 0,
    };
    let alerts = check(&proposed, &patient, &k, settings);
    let interaction = alerts
        .iter()
        .find(|a| a.kind == AlertKind::DrugDrug)
        .unwrap()
        .clone();
    let mut basket = basket.to_vec();
    basket[interaction.order]
        .overrides
        .push((interaction, "Benefit outweighs risk; will monitor".into()));
    let bundle = transaction(&basket, &ctx());
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(bundle["type"], "transaction");
    assert_eq!(entries.len(), 4, "3 orders and 1 DetectedIssue");
    let issue = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "DetectedIssue")
        .unwrap();
    let ibuprofen_order = entries
        .iter()
        .find(|e| e["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "5640")
        .unwrap();
    assert_eq!(
        ibuprofen_order["resource"]["detectedIssue"][0]["reference"],
        issue["fullUrl"]
    );
    assert_eq!(
        issue["resource"]["implicated"][0]["reference"],
        ibuprofen_order["fullUrl"]
    );
    // No nulls (FHIR JSON has none), a citation in the words not in the `uri`, and the
    // code from v3-ActCode.
    assert!(!issue.to_string().contains("null"), "{issue}");
    assert!(issue["resource"].get("reference").is_none());
    assert!(
        issue["resource"]["detail"]
            .as_str()
            .unwrap()
            .contains("Source: ONC")
    );
    assert_eq!(issue["resource"]["code"]["coding"][0]["code"], "DRG");
    assert_eq!(
        issue["resource"]["code"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    );
    assert!(is_uri("https://example.org/x") && !is_uri("ONC high-priority list: x"));
    assert!(
        issue["resource"]["mitigation"][0]["action"]["text"]
            .as_str()
            .unwrap()
            .contains("Benefit")
    );
    let sr = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "ServiceRequest")
        .unwrap();
    assert_eq!(sr["resource"]["priority"], "stat");
    assert_eq!(sr["resource"]["code"]["coding"][0]["system"], LOINC);
    assert_eq!(sr["resource"]["encounter"]["reference"], "Encounter/e1");
    assert_eq!(sr["resource"]["requester"]["display"], "Dr Test");
}

#[test]
fn an_order_set_fills_the_basket_ready_to_sign() {
    let (k, c) = setup();
    let set = c
        .sets
        .iter()
        .find(|s| s.name == "Chest pain workup")
        .unwrap();
    let items = expand_set(set, &c, &k);
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i.problems().is_empty()), "{items:#?}");
    let aspirin = items.iter().find(|i| i.code == "1191").unwrap();
    match &aspirin.fields {
        Fields::Medication(m) => {
            assert_eq!((m.dose.as_str(), m.frequency.as_str()), ("325", "once"))
        }
        other => panic!("{other:?}"),
    }
    let troponin = items.iter().find(|i| i.code == "10839-9").unwrap();
    assert!(matches!(&troponin.fields, Fields::Test(t) if t.priority == "stat"));
}

#[test]
fn discontinuing_sets_the_status_and_reason() {
    let mr = json!({"resourceType": "MedicationRequest", "id": "m", "status": "active", "meta": {"versionId": "2"}});
    let d = discontinued(mr, "side effects");
    assert_eq!(d["status"], "stopped");
    assert_eq!(d["statusReason"]["text"], "side effects");
    assert!(d.get("meta").is_none());
    let sr = json!({"resourceType": "ServiceRequest", "id": "s", "status": "active"});
    assert_eq!(discontinued(sr, "not needed")["status"], "revoked");
}

#[test]
fn a_nurses_medication_order_is_a_draft_that_says_who_entered_it() {
    let (k, c) = setup();
    let warfarin = c.by_code("rxnorm:11289").unwrap();
    let item = Item::new(warfarin, k.medication("11289"));
    let nurse = Context {
        requester: json!({"reference": "Practitioner/n1", "display": "Nurse Fraser"}),
        cosign: true,
        ..ctx()
    };
    let b = transaction(&[item], &nurse);
    let order = &b["entry"][0]["resource"];
    assert_eq!(order["status"], "draft");
    assert_eq!(
        order["meta"]["tag"][0],
        json!({"system": crate::workstation::work::ENTERED_BY, "code": "n1"})
    );
}
