//! The results inbox at 80x24: grouped per patient, critical first; acknowledging sends one
//! transaction on the versions read; a late answer is dropped; no practitioner, no guess.

use super::*;
use crate::workstation::msg::InboxMsg;

fn found() -> Vec<Value> {
    vec![
        json!({"resourceType": "Task", "id": "t1", "meta": {"versionId": "1"}, "status": "requested", "priority": "stat",
            "for": {"reference": "Patient/p1"}, "focus": {"reference": "Observation/o1"}}),
        json!({"resourceType": "Task", "id": "t2", "meta": {"versionId": "2"}, "status": "requested", "priority": "routine",
            "for": {"reference": "Patient/p2"}, "focus": {"reference": "Observation/o2"}}),
        json!({"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
            "effectiveDateTime": "2026-11-20T06:00:00Z", "valueQuantity": {"value": 6.9, "unit": "mmol/L"},
            "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.1}}],
            "interpretation": [{"coding": [{"code": "HH"}]}]}),
        json!({"resourceType": "Observation", "id": "o2", "status": "final", "subject": {"reference": "Patient/p2"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "2951-2"}], "text": "Sodium"},
            "effectiveDateTime": "2026-11-20T05:00:00Z", "valueQuantity": {"value": 140, "unit": "mmol/L"}}),
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ann"]}],
            "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "0000042"}]}),
        json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Abbot", "given": ["Bo"]}]}),
    ]
}

fn inbox_open() -> (State, u64) {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    let mut notes = (*s.notes).clone();
    notes.author = "Dr House".into();
    notes.author_reference = Some("Practitioner/d1".into());
    s.notes = Arc::new(notes);
    let effects = key(&mut s, "f6");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadInbox { generation, owner } => {
                assert_eq!(owner, "Practitioner/d1");
                Some(*generation)
            }
            _ => None,
        })
        .expect("my results are asked for");
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Loaded {
            generation,
            result: Ok((found(), Vec::new())),
        }),
    );
    (s, generation)
}

#[test]
fn the_inbox_at_80x24_and_acknowledging() {
    let (mut s, generation) = inbox_open();
    insta::assert_snapshot!("inbox_80x24", screen(&s));
    // A late answer for an earlier request is dropped.
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Loaded {
            generation: generation - 1,
            result: Ok((Vec::new(), Vec::new())),
        }),
    );
    assert_eq!(s.inbox.as_ref().unwrap().items().len(), 2);
    let effects = key(&mut s, "a");
    let bundle = effects
        .iter()
        .find_map(|e| match e {
            Effect::AcknowledgeResults {
                bundle, count, who, ..
            } => {
                assert_eq!(*count, 1);
                assert_eq!(who, "QUILL, Ann");
                Some((**bundle).clone())
            }
            _ => None,
        })
        .expect("acknowledged");
    assert_eq!(bundle["entry"][0]["request"]["url"], "Task/t1");
    assert_eq!(bundle["entry"][0]["request"]["ifMatch"], "W/\"1\"");
    // A second key while it is on its way sends nothing more.
    let effects = key(&mut s, "a");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::AcknowledgeResults { .. }))
    );
}

#[test]
fn without_a_practitioner_the_inbox_does_not_guess() {
    let mut s = state();
    let effects = key(&mut s, "f6");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadInbox { .. }))
    );
    assert!(
        screen(&s).contains("not linked to a practitioner: whose results is unknown"),
        "{}",
        screen(&s)
    );
}

#[test]
fn a_critical_result_reaches_the_status_line_once_without_taking_the_keys() {
    let mut s = state();
    let mut notes = (*s.notes).clone();
    notes.author_reference = Some("Practitioner/d1".into());
    s.notes = Arc::new(notes);
    let generation = s.critical.generation;
    let effects = update(
        &mut s,
        Msg::Inbox(InboxMsg::Critical {
            generation,
            result: Ok(found()),
        }),
    );
    let text = s.notice.as_ref().unwrap().text.clone();
    assert!(
        text.starts_with("CRITICAL result for QUILL, Ann: Potassium 6.9 mmol/L H!!"),
        "{text}"
    );
    assert!(text.contains("F6"), "{text}");
    assert!(s.overlay.is_none(), "no pop-up takes the keys");
    assert_eq!(s.screen, Screen::Search);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Poll {
            what: crate::workstation::msg::Polled::Critical,
            ..
        }
    )));
    // The same answer again: nothing new to say.
    s.notice = None;
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Critical {
            generation,
            result: Ok(found()),
        }),
    );
    assert!(s.notice.is_none());
    // A stale answer is dropped; the poll asks again.
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Critical {
            generation: generation + 7,
            result: Ok(Vec::new()),
        }),
    );
    let effects = update(&mut s, Msg::Inbox(InboxMsg::CriticalDue { generation }));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCritical { owner, .. } if owner == "Practitioner/d1"))
    );
}

#[test]
fn a_critical_watch_that_cannot_look_says_so_once() {
    let mut s = state();
    let generation = s.critical.generation;
    let failed = |s: &mut State| {
        update(
            s,
            Msg::Inbox(InboxMsg::Critical {
                generation,
                result: Err(FetchError::Timeout(10)),
            }),
        )
    };
    let effects = failed(&mut s);
    let text = s.notice.as_ref().unwrap().text.clone();
    assert!(text.contains("NOT being checked"), "{text}");
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Poll { .. })),
        "it keeps trying"
    );
    s.notice = None;
    failed(&mut s);
    assert!(s.notice.is_none(), "said once");
}
