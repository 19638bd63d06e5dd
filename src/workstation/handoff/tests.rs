use serde_json::json;

use super::*;

fn row() -> Row {
    Row {
        patient_id: "p1".into(),
        bed: "A bed 2".into(),
        name: "QUILL, Ann".into(),
        mrn: Some("0000042".into()),
        age_sex: "86y F".into(),
        days: Some(3),
        attending: None,
        allergies: AllergyMark::Known(1),
        news2: Ok((Some(7), Some(4))),
        reviews: Some((1, 0, 2)),
        unsigned: Some(0),
        cosign: Some(1),
        deceased: false,
        restricted: false,
        stay: Some("e1".into()),
    }
}

#[test]
fn filled_from_the_chart_never_guessing() {
    let subject = json!({"reference": "Patient/p1"});
    let problems = vec![
        json!({"resourceType": "Condition", "subject": subject, "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"text": "Community-acquired pneumonia"}}),
        json!({"resourceType": "Condition", "subject": subject, "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"text": "Old fracture"}}),
    ];
    let orders = vec![
        json!({"resourceType": "ServiceRequest", "subject": subject, "status": "active", "code": {"text": "Chest X-ray"}}),
    ];
    let ipass = prefill(&row(), &problems, &orders, &[]);
    assert_eq!(ipass.severity, Some(Severity::Unstable), "NEWS2 7");
    assert!(ipass.summary.contains("day 3 of stay"));
    assert!(ipass.summary.contains("Community-acquired pneumonia"));
    assert!(!ipass.summary.contains("Old fracture"));
    assert!(ipass.actions.contains("1 critical"));
    assert!(ipass.actions.contains("Chest X-ray"));
    assert!(ipass.actions.contains("co-signature"));
    assert!(ipass.awareness.contains("NEWS2 7 (was 4)"));
    assert!(ipass.awareness.contains("code status NOT RECORDED"));
    assert!(ipass.synthesis.is_empty(), "the receiver's to write");
    // NEWS2 not known: the severity is not guessed.
    let mut unknown = row();
    unknown.news2 = Err(());
    unknown.allergies = AllergyMark::Unknown;
    let ipass = prefill(&unknown, &[], &[], &[]);
    assert_eq!(ipass.severity, None);
    assert!(ipass.awareness.contains("allergies NOT KNOWN"));
    assert!(ipass.awareness.contains("NEWS2 NOT KNOWN"));
    let flags = vec![
        json!({"resourceType": "Flag", "subject": subject, "status": "active", "code": {"text": "DNACPR in place"}}),
    ];
    assert!(
        prefill(&row(), &[], &[], &flags)
            .awareness
            .contains("code status: DNACPR in place")
    );
}

#[test]
fn kept_as_a_composition_and_read_back() {
    let ipass = IPass {
        severity: Some(Severity::Watcher),
        summary: "86y F <pneumonia> & sepsis".into(),
        actions: "repeat lactate".into(),
        awareness: "if NEWS2 >= 7 call the registrar".into(),
        synthesis: String::new(),
    };
    let author = json!({"reference": "Practitioner/d1", "display": "Dr House"});
    let mut c = composition("p1", &ipass, &author, "2026-12-01T19:00:00Z", Some("h1"));
    assert_eq!(c["id"], "h1");
    assert_eq!(c["type"]["coding"][0]["code"], "ipass-handoff");
    assert!(
        c["section"][1]["text"]["div"]
            .as_str()
            .unwrap()
            .contains("&lt;pneumonia&gt; &amp; sepsis")
    );
    assert!(crate::fhir::validate::validate(&c).is_empty(), "{c}");
    c["meta"] = json!({"versionId": "3"});
    let saved = latest(&[c], "p1").unwrap();
    assert_eq!(saved.ipass, ipass);
    assert_eq!(saved.version, "3");
}

#[test]
fn the_list_as_text_and_pdf() {
    let ipass = prefill(&row(), &[], &[], &[]);
    let t = text(
        "Ward 4A",
        "2026-12-01 19:00",
        &[(row(), ipass, Some("Dr House, 2026-12-01".into()))],
    );
    assert!(t.contains("I-PASS HANDOFF: Ward 4A"));
    assert!(t.contains("A bed 2 | QUILL, Ann | 86y F | MRN 0000042"));
    assert!(t.contains("  I  Illness severity: UNSTABLE"));
    assert!(t.contains("  S  Synthesis by receiver: -"));
    let long = format!("{t}{}\nRamírez ✓", "word ".repeat(60));
    let pdf = pdf(&long);
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.windows(5).any(|w| w == b"%%EOF"));
    // Latin-1 kept (WinAnsi), anything else a question mark.
    // Hex, as the string is not ASCII: "Ramírez ?" in WinAnsi.
    let text = String::from_utf8_lossy(&pdf).to_ascii_uppercase();
    assert!(text.contains("52616DED72657A203F"), "{text}");
}
