//! Recording vital signs: the line and the form, the checks that stop or ask, NEWS2, the
//! server's answer, and the flowsheet.

use super::*;
use crate::workstation::msg::VitalsMsg;

/// 2026-11-20 10:00 UTC (the test display's zone is UTC).
const NOW: i64 = 1_795_168_800_000;

fn adult() -> Value {
    json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Quill", "given": ["Ann"]}],
           "birthDate": "1950-02-03", "gender": "female",
           "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN0001"}]})
}

fn vitals_open(resources: Vec<Value>) -> State {
    let mut s = state();
    s.now_ms = NOW;
    open_chart(&mut s, resources);
    key(&mut s, "v");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Vitals);
    s
}

fn recorded(effects: &[Effect]) -> Option<(u64, Value, usize)> {
    effects.iter().find_map(|e| match e {
        Effect::RecordVitals {
            context,
            bundle,
            sent,
        } => Some((*context, (**bundle).clone(), *sent)),
        _ => None,
    })
}

/// The server's answer to a transaction of `n` entries, each created.
fn created(n: usize) -> Value {
    let entries: Vec<Value> = (0..n)
        .map(|i| json!({"response": {"status": "201 Created", "location": format!("Observation/o{i}/_history/1")}}))
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
}

fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

#[test]
fn a_full_set_typed_as_spoken_is_recorded_with_news2_naming_the_patient() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A");
    let shown = screen(&s);
    assert!(shown.contains("NEWS2 10 HIGH"), "{shown}");
    assert!(shown.contains("BP 92/58 mmHg"), "{shown}");
    let effects = key(&mut s, "enter");
    let (context, bundle, sent) = recorded(&effects).expect("sent");
    assert_eq!(context, 1);
    assert_eq!(sent, 8);
    for entry in bundle["entry"].as_array().unwrap() {
        assert_eq!(entry["resource"]["subject"]["reference"], "Patient/p");
        assert_eq!(entry["resource"]["subject"]["display"], "QUILL, Ann");
        assert_eq!(
            entry["resource"]["effectiveDateTime"],
            "2026-11-20T10:00:00.000Z"
        );
        let late = entry["resource"]["note"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Late entry"));
        assert!(!late, "not a late entry");
    }
    // While it is on its way the entry is held as sent.
    typed(&mut s, "x");
    assert_eq!(
        s.chart.as_ref().unwrap().vitals.as_ref().unwrap().line,
        "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A"
    );
    let effects = update(
        &mut s,
        Msg::Vitals(VitalsMsg::Recorded {
            context,
            sent,
            result: Ok(created(8)),
        }),
    );
    assert_eq!(
        notice(&s),
        "7 vital signs recorded for QUILL, Ann (MRN MRN0001): NEWS2 10 HIGH: urgent or emergency response"
    );
    assert_eq!(s.notice.as_ref().unwrap().level, Level::Warning);
    // The chart reloads to show the set; the pane stays, emptied.
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { .. }))
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.view, ChartView::Vitals);
    assert!(c.vitals.as_ref().unwrap().line.is_empty());
}

#[test]
fn impossible_values_stop_and_unusual_ones_ask_once() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "HR 400 BP 120/80");
    let effects = key(&mut s, "enter");
    assert!(recorded(&effects).is_none());
    assert!(notice(&s).starts_with("NOT recorded: HR 400 /min is not possible"));
    assert!(screen(&s).contains("HR 400 /min is not possible"));
    // Corrected to an unusual value: named first, recorded on the second Enter.
    for _ in 0.."HR 400 BP 120/80".len() {
        key(&mut s, "backspace");
    }
    typed(&mut s, "HR 210 BP 120/80");
    let effects = key(&mut s, "enter");
    assert!(recorded(&effects).is_none());
    assert!(
        notice(&s).contains("HR 210 /min is unusual") && notice(&s).contains("Enter again"),
        "{}",
        notice(&s)
    );
    // A changed line asks again.
    typed(&mut s, " ");
    key(&mut s, "backspace");
    let effects = key(&mut s, "enter");
    assert!(recorded(&effects).is_some());
    // An incomplete set is recorded without a score, and says why there is none.
    let c = s.chart.as_ref().unwrap();
    let pending = c.vitals.as_ref().unwrap().pending.clone().unwrap();
    assert!(
        pending.score.contains("NEWS2 needs RR, SpO2"),
        "{pending:?}"
    );
}

#[test]
fn an_answer_for_another_chart_or_a_partial_one_never_says_recorded() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "HR 80");
    let (context, _, sent) = recorded(&key(&mut s, "enter")).unwrap();
    // An answer tagged for an earlier chart is dropped.
    let before = s.dropped_stale;
    update(
        &mut s,
        Msg::Vitals(VitalsMsg::Recorded {
            context: context + 7,
            sent,
            result: Ok(created(sent)),
        }),
    );
    assert_eq!(s.dropped_stale, before + 1);
    // An answer that does not show every entry filed is not taken as success.
    update(
        &mut s,
        Msg::Vitals(VitalsMsg::Recorded {
            context,
            sent: 2,
            result: Ok(created(1)),
        }),
    );
    assert!(notice(&s).contains("1 of 2 values filed"), "{}", notice(&s));
    assert_eq!(
        s.chart.as_ref().unwrap().vitals.as_ref().unwrap().line,
        "HR 80"
    );
    // A refusal keeps the values on screen and says they are not recorded.
    let (context, _, sent) = recorded(&key(&mut s, "enter")).unwrap();
    update(
        &mut s,
        Msg::Vitals(VitalsMsg::Recorded {
            context,
            sent,
            result: Err(FetchError::Forbidden("nurses record vital signs".into())),
        }),
    );
    assert!(
        notice(&s).starts_with("NOT recorded: not allowed"),
        "{}",
        notice(&s)
    );
    assert_eq!(
        s.chart.as_ref().unwrap().vitals.as_ref().unwrap().line,
        "HR 80"
    );
}

fn queued(effects: &[Effect]) -> Option<crate::workstation::vault::outbox::Item> {
    effects.iter().find_map(|e| match e {
        Effect::QueueVitals { item, .. } => Some((**item).clone()),
        _ => None,
    })
}

#[test]
fn a_dropped_connection_puts_the_set_in_the_outbox_and_nothing_is_lost() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A");
    let (context, bundle, sent) = recorded(&key(&mut s, "enter")).unwrap();
    let effects = update(
        &mut s,
        Msg::Vitals(VitalsMsg::Recorded {
            context,
            sent,
            result: Err(FetchError::Unreachable("connection reset".into())),
        }),
    );
    // The same transaction (same identifiers: filed once however often it goes).
    let item = queued(&effects).expect("queued");
    assert_eq!(item.record.as_ref(), Some(&bundle));
    assert_eq!(item.draft.patient_name, "QUILL, Ann");
    assert_eq!(item.draft.patient_id, "p");
    assert!(
        item.draft.text.contains("NEWS2 10 HIGH"),
        "{}",
        item.draft.text
    );
    assert!(effects.contains(&Effect::Probe));
    // Until the outbox has it, the entry stays as typed.
    assert_eq!(
        s.chart.as_ref().unwrap().vitals.as_ref().unwrap().line,
        "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A"
    );
    update(
        &mut s,
        Msg::Vitals(VitalsMsg::Queued {
            context,
            result: Ok(()),
        }),
    );
    assert!(
        notice(&s).starts_with("NOT on the server yet")
            && notice(&s).contains("wait in the outbox")
            && notice(&s).contains("QUILL, Ann"),
        "{}",
        notice(&s)
    );
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .vitals
            .as_ref()
            .unwrap()
            .line
            .is_empty()
    );

    // Known to be offline: straight to the outbox. An outbox that cannot take it keeps the
    // values on screen.
    typed(&mut s, "HR 90");
    let effects = key(&mut s, "enter");
    assert!(recorded(&effects).is_none());
    assert!(queued(&effects).is_some());
    update(
        &mut s,
        Msg::Vitals(VitalsMsg::Queued {
            context,
            result: Err("disk full".into()),
        }),
    );
    assert!(
        notice(&s).contains("could not keep the set (disk full)"),
        "{}",
        notice(&s)
    );
    assert_eq!(
        s.chart.as_ref().unwrap().vitals.as_ref().unwrap().line,
        "HR 90"
    );
}

#[test]
fn a_set_taken_earlier_is_a_late_entry_and_yesterdays_time_is_yesterday() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "HR 80 at 09:00");
    let (_, bundle, _) = recorded(&key(&mut s, "enter")).unwrap();
    let obs = &bundle["entry"][0]["resource"];
    assert_eq!(obs["effectiveDateTime"], "2026-11-20T09:00:00.000Z");
    assert_eq!(obs["issued"], "2026-11-20T10:00:00.000Z");
    assert!(
        obs["note"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Late entry")
    );
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "HR 80 at 23:30");
    let (_, bundle, _) = recorded(&key(&mut s, "enter")).unwrap();
    assert_eq!(
        bundle["entry"][0]["resource"]["effectiveDateTime"],
        "2026-11-19T23:30:00.000Z"
    );
}

#[test]
fn news2_follows_the_chart_scale_two_and_adults_only() {
    let copd = json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
        "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2019-04-01",
        "code": {"text": "Chronic respiratory failure with hypercapnia",
                 "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J96.12"}]}});
    let mut s = vitals_open(vec![adult(), copd]);
    typed(&mut s, "T 36.8 HR 80 RR 18 BP 130/80 SpO2 89 O2 2L ACVPU A");
    let shown = screen(&s);
    // Scale 2: 89% on oxygen scores 0; oxygen 2.
    assert!(shown.contains("NEWS2 2 LOW"), "{shown}");
    assert!(shown.contains("SpO2 scale 2"), "{shown}");
    let (_, bundle, _) = recorded(&key(&mut s, "enter")).unwrap();
    let news = &bundle["entry"][7]["resource"];
    assert_eq!(news["valueInteger"], 2);
    assert_eq!(news["method"]["text"], "NEWS2 (RCP 2017), SpO2 scale 2");

    let child = json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Young"}],
                       "birthDate": "2015-05-05"});
    let mut s = vitals_open(vec![child]);
    typed(
        &mut s,
        "T 36.8 HR 80 RR 18 BP 110/70 SpO2 98 O2 air ACVPU A",
    );
    assert!(screen(&s).contains("NEWS2 not scored: it is for adults"));
    let (_, bundle, sent) = recorded(&key(&mut s, "enter")).unwrap();
    assert_eq!(sent, 7, "no NEWS2 Observation for a child");
    assert!(bundle["entry"].as_array().unwrap().len() == 7);
}

#[test]
fn the_form_records_the_same_set_as_the_line() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "T 37.9 HR 112");
    key(&mut s, "f2");
    {
        let v = s.chart.as_ref().unwrap().vitals.as_ref().unwrap();
        assert_eq!(v.form, Some(0));
        assert_eq!(v.fields[0], "37.9");
        assert_eq!(v.fields[1], "112");
    }
    key(&mut s, "tab");
    key(&mut s, "tab");
    typed(&mut s, "22");
    key(&mut s, "tab");
    typed(&mut s, "92/58");
    key(&mut s, "tab");
    typed(&mut s, "93");
    key(&mut s, "tab");
    typed(&mut s, "2L");
    key(&mut s, "tab");
    typed(&mut s, "A");
    let shown = screen(&s);
    assert!(shown.contains("NEWS2 10 HIGH"), "{shown}");
    let (_, bundle, sent) = recorded(&key(&mut s, "enter")).unwrap();
    assert_eq!(sent, 8);
    assert_eq!(
        bundle["entry"][3]["resource"]["component"][0]["valueQuantity"]["value"],
        92
    );
    // Back to the line: the fields become the line.
    key(&mut s, "f2");
}

#[test]
fn the_flowsheet_shows_sets_by_time_with_markers() {
    let subject = json!({"reference": "Patient/p"});
    let vital = |id: &str, code: &str, when: &str, value: f64, flag: Option<&str>| {
        let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
            "subject": subject,
            "category": [{"coding": [{"code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": when, "valueQuantity": {"value": value}});
        if let Some(f) = flag {
            o["interpretation"] = json!([{"coding": [{"code": f}]}]);
        }
        o
    };
    let mut resources = vec![adult()];
    for day in 1..=30u32 {
        let when = format!("2026-10-{day:02}T08:00:00Z");
        resources.push(vital(
            &format!("hr{day}"),
            "8867-4",
            &when,
            70.0 + f64::from(day),
            None,
        ));
        resources.push(vital(&format!("t{day}"), "8310-5", &when, 36.5, None));
    }
    resources.push(vital(
        "hrx",
        "8867-4",
        "2026-11-19T08:00:00Z",
        135.0,
        Some("HH"),
    ));
    resources.push(
        json!({"resourceType": "Observation", "id": "bad", "status": "entered-in-error",
        "subject": subject, "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "effectiveDateTime": "2026-11-19T09:00:00Z", "valueQuantity": {"value": 40}}),
    );
    let mut s = vitals_open(resources);
    let v = s.chart.as_ref().unwrap().vitals.as_ref().unwrap();
    assert_eq!(v.sheet.len(), 31, "entered in error is left out");
    let shown = screen(&s);
    assert!(shown.contains("135H!!"), "{shown}");
    assert!(shown.contains("sets 1-9 of 31"), "{shown}");
    key(&mut s, "pagedown");
    let shown = screen(&s);
    assert!(shown.contains("sets 9-17 of 31"), "{shown}");
    assert!(!shown.contains("135H!!"), "{shown}");
    insta::assert_snapshot!("vitals_flowsheet_80x24", shown);
}

#[test]
fn the_pane_at_80x24() {
    let mut s = vitals_open(vec![adult()]);
    typed(&mut s, "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A");
    insta::assert_snapshot!("vitals_line_80x24", screen(&s));
    key(&mut s, "f2");
    insta::assert_snapshot!("vitals_form_80x24", screen(&s));
}
