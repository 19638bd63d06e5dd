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
            Effect::LoadInbox { generation, query } => {
                assert_eq!(
                    *query,
                    crate::workstation::inbox::InboxQuery::Mine("Practitioner/d1".into())
                );
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

fn generation_of(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadInbox { generation, .. }
            | Effect::FindColleague { generation, .. }
            | Effect::ForwardResult { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("asked of the server")
}

#[test]
fn forwarding_a_result_to_one_colleague_with_a_comment() {
    let (mut s, _) = inbox_open();
    key(&mut s, "f");
    assert!(matches!(
        s.overlay,
        Some(Overlay::Prompt {
            kind: PromptKind::Forward,
            ..
        })
    ));
    // Without a comment: asked again, nothing sent.
    typed(&mut s, "Chen");
    let effects = key(&mut s, "enter");
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.notice.as_ref().unwrap().text.starts_with("NOT forwarded"));
    typed(&mut s, ": K+ 6.9, please review");
    let effects = key(&mut s, "enter");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::FindColleague {
                generation,
                name,
                comment,
            } => {
                assert_eq!(name, "Chen");
                assert_eq!(comment, "K+ 6.9, please review");
                Some(*generation)
            }
            _ => None,
        })
        .expect("the colleague is looked for");
    let chen = |id: &str, given: &str| {
        json!({"resourceType": "Practitioner", "id": id, "active": true,
            "name": [{"family": "Chen", "given": [given], "prefix": ["Dr"]}]})
    };
    // Two Chens: nothing sent, the prompt comes back with what was typed.
    let effects = update(
        &mut s,
        Msg::Inbox(InboxMsg::Colleagues {
            generation,
            name: "Chen".into(),
            comment: "K+ 6.9, please review".into(),
            result: Ok(vec![chen("c1", "David"), chen("c2", "Lin")]),
        }),
    );
    assert!(effects.is_empty());
    assert!(
        s.notice
            .as_ref()
            .unwrap()
            .text
            .contains("2 colleagues match"),
        "{:?}",
        s.notice
    );
    match &s.overlay {
        Some(Overlay::Prompt { input, .. }) => assert_eq!(input, "Chen: K+ 6.9, please review"),
        other => panic!("{other:?}"),
    }
    let effects = key(&mut s, "enter");
    let generation = generation_of(&effects);
    // One: the Task goes to them, on the version read, with the comment and who sent it.
    let effects = update(
        &mut s,
        Msg::Inbox(InboxMsg::Colleagues {
            generation,
            name: "Chen".into(),
            comment: "K+ 6.9, please review".into(),
            result: Ok(vec![chen("c1", "David")]),
        }),
    );
    let bundle = effects
        .iter()
        .find_map(|e| match e {
            Effect::ForwardResult { to, bundle, .. } => {
                assert_eq!(to, "Dr David Chen");
                Some((**bundle).clone())
            }
            _ => None,
        })
        .expect("forwarded");
    let entry = &bundle["entry"][0];
    assert_eq!(entry["request"]["url"], "Task/t1");
    assert_eq!(entry["request"]["ifMatch"], "W/\"1\"");
    assert_eq!(entry["resource"]["owner"]["reference"], "Practitioner/c1");
    assert_eq!(entry["resource"]["status"], "requested", "still to review");
    let note = entry["resource"]["note"][0]["text"].as_str().unwrap();
    assert!(
        note.contains("Forwarded by Dr House to Dr David Chen"),
        "{note}"
    );
    assert!(note.ends_with("K+ 6.9, please review"), "{note}");
    let generation = generation_of(&effects);
    let effects = update(
        &mut s,
        Msg::Inbox(InboxMsg::Forwarded {
            generation,
            to: "Dr David Chen".into(),
            result: Err(FetchError::Conflict(412)),
        }),
    );
    assert!(s.notice.as_ref().unwrap().text.starts_with("NOT forwarded"));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadInbox { .. })),
        "read again"
    );
}

#[test]
fn the_safety_net_mine_then_everyones_by_clinician() {
    use crate::workstation::inbox::InboxQuery;
    let (mut s, _) = inbox_open();
    let now = s.now_ms;
    let at = |hours: i64| crate::fhir::date::instant(now - hours * 3_600_000);
    let effects = key(&mut s, "S");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadInbox {
                generation,
                query:
                    InboxQuery::Overdue {
                        owner,
                        critical_before,
                        abnormal_before,
                    },
            } => {
                assert_eq!(owner.as_deref(), Some("Practitioner/d1"));
                assert_eq!(*critical_before, at(1));
                assert_eq!(*abnormal_before, at(72));
                Some(*generation)
            }
            _ => None,
        })
        .expect("my overdue results are asked for");
    let task = |id: &str, owner: Option<&str>, priority: &str, hours: i64, obs: &str| {
        let mut t = json!({"resourceType": "Task", "id": id, "meta": {"versionId": "1"},
            "status": "requested", "priority": priority, "authoredOn": at(hours),
            "for": {"reference": "Patient/p1"}, "focus": {"reference": format!("Observation/{obs}")}});
        if let Some(o) = owner {
            t["owner"] = json!({"reference": o});
        }
        t
    };
    let mut found = found();
    found.retain(|r| r["resourceType"] != "Task");
    found.push(json!({"resourceType": "Observation", "id": "o3", "status": "final", "subject": {"reference": "Patient/p1"},
        "code": {"text": "Haemoglobin"}, "valueQuantity": {"value": 95, "unit": "g/L"},
        "interpretation": [{"coding": [{"code": "L"}]}]}));
    found.push(json!({"resourceType": "Practitioner", "id": "d2", "name": [{"family": "Grey", "prefix": ["Dr"]}]}));
    found.extend([
        task("t1", Some("Practitioner/d1"), "stat", 5, "o1"),
        // Within the limit (the server matched it; judged here too): left out.
        task("t9", Some("Practitioner/d1"), "stat", 0, "o1"),
        task("t3", Some("Practitioner/d2"), "urgent", 100, "o3"),
        task("t4", None, "stat", 3, "o1"),
    ]);
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Loaded {
            generation,
            result: Ok((found.clone(), Vec::new())),
        }),
    );
    let ids = |s: &State| -> Vec<String> {
        s.inbox
            .as_ref()
            .unwrap()
            .items()
            .iter()
            .map(|(_, i)| i.task_id.clone())
            .collect()
    };
    assert_eq!(
        ids(&s),
        ["t4", "t3", "t1"],
        "no one responsible first, then by clinician"
    );
    let text = screen(&s);
    assert!(text.contains("SAFETY NET (mine)"), "{text}");
    assert!(text.contains("waiting 5 h"), "{text}");
    // Everyone's: grouped by the clinician responsible; acknowledging is theirs.
    let effects = key(&mut s, "S");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadInbox {
                generation,
                query: InboxQuery::Overdue { owner: None, .. },
            } => Some(*generation),
            _ => None,
        })
        .expect("everyone's");
    update(
        &mut s,
        Msg::Inbox(InboxMsg::Loaded {
            generation,
            result: Ok((found, Vec::new())),
        }),
    );
    insta::assert_snapshot!("safety_net_80x24", screen(&s));
    let text = screen(&s);
    assert!(text.contains("NO ONE responsible | QUILL, Ann"), "{text}");
    assert!(text.contains("Dr Grey | QUILL, Ann"), "{text}");
    assert!(text.contains("waiting 4 d"), "{text}");
    let effects = key(&mut s, "a");
    assert!(effects.is_empty());
    assert!(s.notice.as_ref().unwrap().text.contains("forward it"));
    // And back to my inbox.
    let effects = key(&mut s, "S");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::LoadInbox {
            query: InboxQuery::Mine(_),
            ..
        }
    )));
}
