//! Allergies and problems: the coded form, uncoded text, no known drug allergies, entered in
//! error with a reason, resolving, the answers and the outbox.

use super::*;
use crate::workstation::msg::ListsMsg;
use crate::workstation::record::entries::Change;

const NOW: i64 = 1_795_168_800_000;

fn with_terms(mut s: State) -> State {
    use crate::workstation::orders::knowledge::Knowledge;
    let (knowledge, _) = Knowledge::load(None);
    let (terms, _) = crate::workstation::record::terms::Terms::load(&knowledge, None);
    s.record_terms = Arc::new(terms);
    s
}

fn subject() -> Value {
    json!({"reference": "Patient/p"})
}

fn adult() -> Value {
    json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Quill", "given": ["Ann"]}],
           "birthDate": "1950-02-03",
           "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN0001"}]})
}

fn amoxicillin_allergy() -> Value {
    json!({"resourceType": "AllergyIntolerance", "id": "a1", "patient": subject(),
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723", "display": "amoxicillin"}]},
        "recordedDate": "2020-01-01"})
}

fn asthma() -> Value {
    json!({"resourceType": "Condition", "id": "c1", "subject": subject(),
        "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2001-01-01",
        "code": {"text": "Asthma", "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J45.909"}]}})
}

/// A chart with `resources`, the allergy answer in, the pane open.
fn lists_open(resources: Vec<Value>) -> State {
    let mut s = with_terms(state());
    s.now_ms = NOW;
    let allergies: Vec<Value> = resources
        .iter()
        .filter(|r| r["resourceType"] == "AllergyIntolerance")
        .cloned()
        .collect();
    open_chart(&mut s, resources);
    update(
        &mut s,
        Msg::Chart(ChartMsg::Allergies {
            context: 1,
            result: Ok(allergies),
        }),
    );
    key(&mut s, "p");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Lists);
    s
}

fn written(effects: &[Effect]) -> Option<Value> {
    effects.iter().find_map(|e| match e {
        Effect::WriteEntry { bundle, .. } => Some(bundle["entry"][0]["resource"].clone()),
        _ => None,
    })
}

fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn answer_created() -> Value {
    json!({"resourceType": "Bundle", "type": "transaction-response",
           "entry": [{"response": {"status": "201 Created"}}]})
}

#[test]
fn a_coded_allergy_from_the_suggestions() {
    let mut s = lists_open(vec![adult()]);
    key(&mut s, "a");
    typed(&mut s, "pean");
    assert!(
        screen(&s).contains("peanut (SNOMED CT 256349002)"),
        "{}",
        screen(&s)
    );
    key(&mut s, "enter");
    {
        let f = s
            .chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .as_ref()
            .unwrap();
        assert_eq!(f.value("substance"), "peanut");
        assert_eq!(
            f.value("category"),
            "food",
            "the substance sets its category"
        );
    }
    key(&mut s, "tab");
    key(&mut s, "tab");
    key(&mut s, "tab");
    typed(&mut s, "hiv");
    key(&mut s, "enter");
    typed(&mut s, "lip tingling");
    key(&mut s, "tab");
    typed(&mut s, "mod");
    key(&mut s, "tab");
    for _ in 0.."unable-to-assess".len() {
        key(&mut s, "backspace");
    }
    typed(&mut s, "high");
    key(&mut s, "tab");
    key(&mut s, "tab");
    typed(&mut s, "2019-04");
    insta::assert_snapshot!("lists_allergy_form_80x24", screen(&s));
    let effects = key(&mut s, "enter");
    let r = written(&effects).expect("written");
    assert_eq!(r["resourceType"], "AllergyIntolerance");
    assert_eq!(r["patient"]["reference"], "Patient/p");
    assert_eq!(r["code"]["coding"][0]["code"], "256349002");
    assert_eq!(r["category"][0], "food");
    assert_eq!(r["criticality"], "high");
    assert_eq!(r["onsetDateTime"], "2019-04");
    let manifestations = r["reaction"][0]["manifestation"].as_array().unwrap();
    assert_eq!(manifestations[0]["coding"][0]["code"], "126485001");
    assert_eq!(
        manifestations[1],
        json!({"text": "lip tingling"}),
        "uncoded reaction"
    );
    assert_eq!(r["reaction"][0]["severity"], "moderate");
    let effects = update(
        &mut s,
        Msg::Lists(ListsMsg::Written {
            context: 1,
            result: Ok(answer_created()),
        }),
    );
    assert_eq!(
        notice(&s),
        "Allergy to peanut recorded for QUILL, Ann (MRN MRN0001)"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { .. }))
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(
        c.view,
        ChartView::Lists,
        "the pane stays open over the reload"
    );
    assert!(c.lists.as_ref().unwrap().form.is_none());
}

#[test]
fn uncoded_text_is_marked_and_bad_input_stops_the_form() {
    let mut s = lists_open(vec![adult()]);
    key(&mut s, "a");
    typed(&mut s, "hair dye");
    assert!(screen(&s).contains("matches no term: it is recorded as text, marked uncoded"));
    // Onset in the future, and a category that is not one.
    key(&mut s, "tab");
    typed(&mut s, "zzz");
    let effects = key(&mut s, "enter");
    assert!(written(&effects).is_none());
    assert!(
        notice(&s).contains("category \"zzz\" is not one of"),
        "{}",
        notice(&s)
    );
    for _ in 0..3 {
        key(&mut s, "backspace");
    }
    typed(&mut s, "env");
    for _ in 0..6 {
        key(&mut s, "tab");
    }
    typed(&mut s, "2030");
    let effects = key(&mut s, "enter");
    assert!(written(&effects).is_none());
    assert!(notice(&s).contains("in the future"), "{}", notice(&s));
    for _ in 0..4 {
        key(&mut s, "backspace");
    }
    let r = written(&key(&mut s, "enter")).expect("written");
    assert_eq!(r["code"], json!({"text": "hair dye"}));
    assert_eq!(r["category"][0], "environment");
    assert_eq!(
        r["note"][0]["text"],
        "Substance recorded as text: not coded"
    );
    // Esc with something typed asks first; the second discards.
    let mut s = lists_open(vec![adult()]);
    key(&mut s, "a");
    typed(&mut s, "latex");
    key(&mut s, "esc");
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .is_some()
    );
    key(&mut s, "esc");
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .is_none()
    );
}

#[test]
fn no_known_drug_allergies_only_over_a_known_empty_list() {
    // A drug allergy on the chart: refused.
    let mut s = lists_open(vec![adult(), amoxicillin_allergy()]);
    assert!(written(&key(&mut s, "n")).is_none());
    assert!(
        notice(&s).contains("lists a drug allergy"),
        "{}",
        notice(&s)
    );
    // The allergy answer failed: refused, never asserted over an unknown.
    let mut s = with_terms(state());
    s.now_ms = NOW;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Allergies {
            context: 1,
            result: Err(FetchError::Unreachable("reset".into())),
        }),
    );
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(vec![adult()]),
        }),
    );
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    key(&mut s, "p");
    assert!(screen(&s).contains("Allergies: UNKNOWN"), "{}", screen(&s));
    assert!(written(&key(&mut s, "n")).is_none());
    assert!(notice(&s).contains("not known"), "{}", notice(&s));
    // Known and empty: recorded, as its own assertion.
    let mut s = lists_open(vec![adult()]);
    insta::assert_snapshot!("lists_empty_80x24", screen(&s));
    let r = written(&key(&mut s, "n")).expect("written");
    assert_eq!(r["code"]["coding"][0]["code"], "409137002");
    assert_eq!(r["patient"]["reference"], "Patient/p");
}

#[test]
fn entered_in_error_needs_a_reason_and_a_problem_resolves() {
    let mut s = lists_open(vec![adult(), amoxicillin_allergy(), asthma()]);
    let shown = screen(&s);
    assert!(shown.contains("amoxicillin"), "{shown}");
    assert!(shown.contains("Asthma"), "{shown}");
    key(&mut s, "x");
    assert!(matches!(
        s.overlay,
        Some(Overlay::Prompt {
            kind: PromptKind::EnteredInError,
            ..
        })
    ));
    // No reason: nothing changes.
    let effects = key(&mut s, "enter");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ChangeEntry { .. }))
    );
    assert!(notice(&s).contains("say why"), "{}", notice(&s));
    key(&mut s, "x");
    typed(&mut s, "wrong patient");
    let effects = key(&mut s, "enter");
    let change = effects.iter().find_map(|e| match e {
        Effect::ChangeEntry {
            reference, change, ..
        } => Some((reference.clone(), change.clone())),
        _ => None,
    });
    assert_eq!(
        change,
        Some((
            "AllergyIntolerance/a1".to_string(),
            Change::EnteredInError {
                reason: "wrong patient".into()
            }
        ))
    );
    // Resolve works on problems only.
    key(&mut s, "r");
    assert!(
        notice(&s).contains("only a problem resolves"),
        "{}",
        notice(&s)
    );
    key(&mut s, "tab");
    let effects = key(&mut s, "r");
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::ChangeEntry { reference, change: Change::Resolved, .. } if reference == "Condition/c1"
    )));
    // Someone changed it meanwhile: nothing overwritten, said so, reloaded.
    let effects = update(
        &mut s,
        Msg::Lists(ListsMsg::Changed {
            context: 1,
            what: "problem \"Asthma\"".into(),
            done: "resolved",
            result: Err(FetchError::Conflict(412)),
        }),
    );
    assert!(
        notice(&s).contains("nothing was overwritten"),
        "{}",
        notice(&s)
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { .. }))
    );
}

#[test]
fn a_dropped_connection_keeps_the_entry_in_the_outbox() {
    let mut s = lists_open(vec![adult()]);
    key(&mut s, "tab");
    key(&mut s, "a");
    typed(&mut s, "copd");
    // Another name of a term: Enter writes the term's own name, then records.
    key(&mut s, "enter");
    assert_eq!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .as_ref()
            .unwrap()
            .value("problem"),
        "Chronic obstructive lung disease"
    );
    let effects = key(&mut s, "enter");
    let r = written(&effects).unwrap_or_else(|| panic!("{}\n{}", notice(&s), screen(&s)));
    assert_eq!(r["resourceType"], "Condition");
    assert_eq!(r["code"]["coding"][1]["code"], "J44.9");
    let effects = update(
        &mut s,
        Msg::Lists(ListsMsg::Written {
            context: 1,
            result: Err(FetchError::Unreachable("reset".into())),
        }),
    );
    let item = effects
        .iter()
        .find_map(|e| match e {
            Effect::QueueEntry { item, .. } => Some(item.clone()),
            _ => None,
        })
        .expect("queued");
    assert_eq!(item.draft.patient_name, "QUILL, Ann");
    assert_eq!(
        item.record.as_ref().unwrap()["entry"][0]["resource"]["code"]["coding"][1]["code"],
        "J44.9"
    );
    // The form stays until the outbox has it.
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .is_some()
    );
    update(
        &mut s,
        Msg::Lists(ListsMsg::Queued {
            context: 1,
            result: Ok(()),
        }),
    );
    assert!(notice(&s).contains("waits in the outbox"), "{}", notice(&s));
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .is_none()
    );
}

#[test]
fn an_entry_is_edited_on_the_version_read_and_a_crossed_edit_is_kept() {
    let mut s = lists_open(vec![adult(), amoxicillin_allergy()]);
    let effects = key(&mut s, "e");
    let reference = effects
        .iter()
        .find_map(|e| match e {
            Effect::ReadEntry { reference, .. } => Some(reference.clone()),
            _ => None,
        })
        .expect("read first, for its version");
    assert_eq!(reference, "AllergyIntolerance/a1");
    let mut held = amoxicillin_allergy();
    held["meta"] = json!({"versionId": "2"});
    held["identifier"] = json!([{"system": "urn:bedside:record", "value": "first"}]);
    update(
        &mut s,
        Msg::Lists(ListsMsg::Read {
            context: 1,
            reference: reference.clone(),
            result: Ok(held.clone()),
        }),
    );
    let form = s
        .chart
        .as_ref()
        .unwrap()
        .lists
        .as_ref()
        .unwrap()
        .form
        .clone();
    let form = form.expect("the form, filled");
    assert_eq!(form.value("substance"), "amoxicillin");
    assert!(
        screen(&s).contains("Edit allergy (version 2)"),
        "{}",
        screen(&s)
    );
    // Criticality high, with a note.
    for _ in 0..5 {
        key(&mut s, "tab");
    }
    typed(&mut s, "high");
    for _ in 0..3 {
        key(&mut s, "tab");
    }
    typed(&mut s, "anaphylaxis in 2019");
    let effects = key(&mut s, "enter");
    let sent = effects.iter().find_map(|e| match e {
        Effect::UpdateEntry {
            resource, version, ..
        } => Some(((**resource).clone(), version.clone())),
        _ => None,
    });
    let (resource, version) =
        sent.unwrap_or_else(|| panic!("an update: {}\n{}", notice(&s), screen(&s)));
    assert_eq!(version, "2");
    assert_eq!(resource["id"], "a1");
    assert_eq!(resource["criticality"], "high");
    assert_eq!(resource["identifier"], held["identifier"], "the same entry");
    assert!(resource["note"].to_string().contains("anaphylaxis in 2019"));
    // Crossed with another edit: the form is kept, now over the server's version 3.
    let mut theirs = held.clone();
    theirs["meta"] = json!({"versionId": "3"});
    update(
        &mut s,
        Msg::Lists(ListsMsg::Edited {
            context: 1,
            what: "allergy to amoxicillin".into(),
            result: Err(FetchError::Conflict(412)),
            current: Some(theirs),
        }),
    );
    assert!(
        notice(&s).contains("Enter saves it over theirs"),
        "{}",
        notice(&s)
    );
    let effects = key(&mut s, "enter");
    let context = effects
        .iter()
        .find_map(|e| match e {
            Effect::UpdateEntry {
                version, context, ..
            } if version == "3" => Some(*context),
            _ => None,
        })
        .expect("sent again over version 3");
    update(
        &mut s,
        Msg::Lists(ListsMsg::Edited {
            context,
            what: "allergy to amoxicillin".into(),
            result: Ok(held),
            current: None,
        }),
    );
    assert!(
        notice(&s).contains("is changed for QUILL, Ann"),
        "{}",
        notice(&s)
    );
    assert!(
        s.chart
            .as_ref()
            .unwrap()
            .lists
            .as_ref()
            .unwrap()
            .form
            .is_none()
    );
}
