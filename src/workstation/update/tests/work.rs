//! My unsigned work at 80x24: the co-signature queue and unsigned notes; a rejection sends
//! one transaction on the version read; the review refuses to co-sign while the checks
//! cannot run; a late answer is dropped.

use super::*;
use crate::workstation::msg::WorkMsg;

fn found() -> Vec<Value> {
    vec![
        json!({"resourceType": "MedicationRequest", "id": "m1", "meta": {"versionId": "3"}, "status": "draft",
            "intent": "order", "authoredOn": "2026-11-20T06:00:00Z",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723"}], "text": "amoxicillin"},
            "dosageInstruction": [{"text": "500 mg oral TDS"}],
            "subject": {"reference": "Patient/p"}, "requester": {"reference": "Practitioner/n1"}}),
        json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Quill", "given": ["Ann"]}]}),
        json!({"resourceType": "Practitioner", "id": "n1", "name": [{"family": "Fraser", "prefix": ["Nurse"]}]}),
    ]
}

fn notes() -> Vec<Value> {
    vec![
        json!({"resourceType": "DocumentReference", "id": "d1", "status": "current", "docStatus": "preliminary",
            "date": "2026-11-19T08:00:00Z", "description": "Admission note", "subject": {"reference": "Patient/p"}}),
        json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Quill", "given": ["Ann"]}]}),
    ]
}

fn work_open() -> (State, u64) {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    let mut n = (*s.notes).clone();
    n.author = "Dr House".into();
    n.author_reference = Some("Practitioner/d1".into());
    s.notes = Arc::new(n);
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "house".into(),
        name: "Dr House".into(),
        role: "physician".into(),
        practitioner: Some("d1".into()),
    });
    let effects = key(&mut s, "f7");
    assert_eq!(s.screen, Screen::Work);
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadWork {
                generation,
                me,
                nurse,
                ..
            } => {
                assert_eq!(me, "Practitioner/d1");
                assert!(!nurse);
                Some(*generation)
            }
            _ => None,
        })
        .expect("my work is asked for");
    update(
        &mut s,
        Msg::Work(WorkMsg::Loaded {
            generation,
            drafts: Ok(found()),
            notes: Ok(notes()),
        }),
    );
    (s, generation)
}

#[test]
fn the_queue_at_80x24_a_rejection_and_the_notes() {
    let (mut s, generation) = work_open();
    insta::assert_snapshot!("work_80x24", screen(&s));
    // A late answer is dropped.
    update(
        &mut s,
        Msg::Work(WorkMsg::Loaded {
            generation: generation - 1,
            drafts: Ok(Vec::new()),
            notes: Err(FetchError::Timeout(10)),
        }),
    );
    assert!(screen(&s).contains("To co-sign (1)"));
    // `x`: the reason, then one transaction on the version read.
    key(&mut s, "x");
    let effects = key(&mut s, "enter");
    assert!(effects.is_empty(), "no reason, nothing sent");
    key(&mut s, "x");
    typed(&mut s, "wrong dose");
    let effects = key(&mut s, "enter");
    let bundle = effects
        .iter()
        .find_map(|e| match e {
            Effect::SaveCosign { words, bundle } => {
                assert_eq!(words, "Rejected: amoxicillin for QUILL, Ann");
                Some((**bundle).clone())
            }
            _ => None,
        })
        .expect("sent");
    let entry = &bundle["entry"][0];
    assert_eq!(entry["request"]["ifMatch"], "W/\"3\"");
    assert_eq!(entry["resource"]["status"], "cancelled");
    assert_eq!(
        entry["resource"]["statusReason"]["text"],
        "Rejected by Dr House: wrong dose"
    );
    // A failure says so, and nothing is taken as done.
    update(
        &mut s,
        Msg::Work(WorkMsg::Saved {
            words: "Rejected: amoxicillin for QUILL, Ann".into(),
            result: Err(FetchError::Conflict(412)),
        }),
    );
    assert!(s.notice.as_ref().unwrap().text.starts_with("NOT saved"));
    // Tab: my unsigned notes.
    key(&mut s, "tab");
    let text = screen(&s);
    assert!(
        text.contains("Admission note") && text.contains("UNSIGNED"),
        "{text}"
    );
}

#[test]
fn the_review_does_not_cosign_while_the_checks_cannot_run() {
    let (mut s, _) = work_open();
    let effects = key(&mut s, "enter");
    assert_eq!(s.screen, Screen::Chart);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { .. }))
    );
    assert_eq!(s.overlay, Some(Overlay::Cosign));
    // The chart is still loading: no co-signature, said in the alert style.
    assert!(screen(&s).contains("CHECKS NOT RUN"), "{}", screen(&s));
    let effects = key(&mut s, "y");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SaveCosign { .. })),
        "{effects:?}"
    );
    let notice = s.notice.as_ref().unwrap();
    assert_eq!(notice.level, Level::Error);
    assert!(notice.text.starts_with("NOT co-signed"), "{}", notice.text);
}
