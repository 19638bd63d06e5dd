use serde_json::json;

use super::*;

fn found() -> Vec<Value> {
    vec![
        json!({"resourceType": "MedicationRequest", "id": "m1", "meta": {"versionId": "2", "tag": [{"system": ENTERED_BY, "code": "n1"}]},
            "status": "draft", "intent": "order", "authoredOn": "2026-12-01T08:00:00Z",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723"}], "text": "amoxicillin"},
            "dosageInstruction": [{"text": "500 mg  oral TDS"}],
            "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/n1"}}),
        json!({"resourceType": "MedicationRequest", "id": "m2", "status": "cancelled", "authoredOn": "2026-11-30T08:00:00Z",
            "statusReason": {"text": "Rejected by Dr Grey: allergic"},
            "medicationCodeableConcept": {"text": "penicillin V"},
            "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/n1"}}),
        json!({"resourceType": "MedicationRequest", "id": "m3", "status": "active", "authoredOn": "2026-11-29T08:00:00Z",
            "medicationCodeableConcept": {"text": "paracetamol"}, "recorder": {"reference": "Practitioner/n1"},
            "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/d1"}}),
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ann"]}]}),
        json!({"resourceType": "Practitioner", "id": "n1", "name": [{"family": "Fraser", "prefix": ["Nurse"]}]}),
        json!({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "Grey", "prefix": ["Dr"]}]}),
    ]
}

#[test]
fn drafts_and_what_became_of_them() {
    let d = drafts(&found());
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].id, "m3", "oldest first");
    assert_eq!(d[0].outcome, Outcome::Signed("Dr Grey".into()));
    assert_eq!(d[0].entered_by, "Nurse Fraser", "the recorder once signed");
    assert_eq!(
        d[1].outcome,
        Outcome::Rejected("Rejected by Dr Grey: allergic".into())
    );
    let m1 = &d[2];
    assert_eq!(m1.outcome, Outcome::Waiting);
    assert_eq!(m1.patient, "QUILL, Ann");
    assert_eq!(m1.rxnorm.as_deref(), Some("723"));
    assert_eq!(m1.dosage, "500 mg oral TDS");
}

#[test]
fn cosigning_and_rejecting_on_the_version_read() {
    let d = drafts(&found());
    let m1 = d.iter().find(|x| x.id == "m1").unwrap();
    let signer = json!({"reference": "Practitioner/d1", "display": "Dr Grey"});
    let b = cosigned(
        m1,
        &signer,
        "2026-12-01T09:00:00Z",
        &[(
            "amoxicillin - penicillin allergy".into(),
            "tolerated before".into(),
        )],
    );
    let e = &b["entry"];
    assert_eq!(e[0]["request"]["ifMatch"], "W/\"2\"");
    let m = &e[0]["resource"];
    assert_eq!(m["status"], "active");
    assert_eq!(m["requester"]["reference"], "Practitioner/d1");
    assert_eq!(m["recorder"]["reference"], "Practitioner/n1");
    assert_eq!(m["meta"]["tag"][0]["code"], "n1", "who entered it stays");
    assert!(m["meta"]["versionId"].is_null());
    assert_eq!(e[1]["resource"]["resourceType"], "DetectedIssue");
    assert_eq!(m["detectedIssue"][0]["reference"], e[1]["fullUrl"]);
    let r = rejected(
        m1,
        &signer,
        "allergic to penicillin",
        "2026-12-01T09:00:00Z",
    );
    let m = &r["entry"][0]["resource"];
    assert_eq!(m["status"], "cancelled");
    assert_eq!(
        m["statusReason"]["text"],
        "Rejected by Dr Grey: allergic to penicillin"
    );
    assert_eq!(r["entry"][0]["request"]["ifMatch"], "W/\"2\"");
}

#[test]
fn unsigned_notes_and_addenda() {
    let found = vec![
        json!({"resourceType": "DocumentReference", "id": "d1", "status": "current", "docStatus": "preliminary",
            "date": "2026-12-01T08:00:00Z", "description": "Progress note", "subject": {"reference": "Patient/p1"}}),
        json!({"resourceType": "DocumentReference", "id": "d2", "status": "current", "docStatus": "preliminary",
            "date": "2026-11-30T08:00:00Z", "type": {"text": "Addendum"}, "subject": {"reference": "Patient/p1"},
            "relatesTo": [{"code": "appends", "target": {"reference": "DocumentReference/d0"}}]}),
        json!({"resourceType": "DocumentReference", "id": "d3", "status": "current", "docStatus": "final",
            "subject": {"reference": "Patient/p1"}}),
        json!({"resourceType": "DocumentReference", "id": "d4", "status": "entered-in-error", "docStatus": "preliminary",
            "subject": {"reference": "Patient/p1"}}),
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ann"]}]}),
    ];
    let u = unsigned(&found);
    assert_eq!(u.len(), 2);
    assert_eq!(u[0].id, "d2");
    assert!(u[0].addendum);
    assert_eq!(u[1].title, "Progress note");
    assert_eq!(u[1].patient, "QUILL, Ann");
}
