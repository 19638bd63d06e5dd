//! Registering and editing patients: the form at 80x24, what the duplicate search found, the
//! edit saved over the version read (and only what changed), support's reason, a crossed
//! edit, late answers.

use super::*;
use crate::workstation::features::register::{REASON, Stage};
use crate::workstation::msg::RegisterMsg;

fn stored() -> Value {
    json!({"resourceType": "Patient", "id": "p", "meta": {"versionId": "3", "lastUpdated": "2026-11-19T08:00:00Z"},
        "name": [{"use": "official", "family": "Quill", "given": ["Ann"]}],
        "gender": "female", "birthDate": "1950-02-03",
        "telecom": [{"system": "phone", "value": "0113 496 0000"}],
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "system": "http://hospital.example/mrn", "value": "0000042"}]})
}

/// The chart of `stored()` open, its details form open and filled.
fn editing() -> State {
    let mut s = state();
    open_chart(&mut s, vec![stored()]);
    let effects = key(&mut s, "D");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::ReadForEdit {
                generation,
                patient_id,
            } if patient_id == "p" => Some(*generation),
            _ => None,
        })
        .expect("the details are read first");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Demographics);
    update(
        &mut s,
        Msg::Register(RegisterMsg::Loaded {
            generation,
            result: Ok(stored()),
        }),
    );
    assert_eq!(s.register.as_ref().unwrap().stage, Stage::Form);
    s
}

fn saved(effects: &[Effect]) -> Option<(u64, Value, String, Option<String>)> {
    effects.iter().find_map(|e| match e {
        Effect::SaveDemographics {
            generation,
            patient,
            version,
            reason,
        } => Some((
            *generation,
            (**patient).clone(),
            version.clone(),
            reason.clone(),
        )),
        _ => None,
    })
}

fn retype(s: &mut State, text: &str) {
    for _ in 0..30 {
        key(s, "backspace");
    }
    typed(s, text);
}

#[test]
fn the_registration_form_and_what_was_found_at_80x24() {
    let mut s = state();
    key(&mut s, "ctrl-n");
    for field in ["Okafor", "Ada", "f", "", "1950-03-04"] {
        typed(&mut s, field);
        key(&mut s, "tab");
    }
    insta::assert_snapshot!("register_form_80x24", screen(&s));
    key(&mut s, "tab");
    key(&mut s, "tab");
    key(&mut s, "tab");
    let effects = key(&mut s, "enter");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::FindDuplicates {
                generation,
                searches,
            } => {
                assert!(searches.len() >= 3, "{searches:?}");
                Some(*generation)
            }
            _ => None,
        })
        .expect("the patient is looked for first");
    update(
        &mut s,
        Msg::Register(RegisterMsg::Found {
            generation,
            result: Ok(vec![
                json!({"resourceType": "Patient", "id": "x", "name": [{"family": "Okafor", "given": ["Ada"]}], "birthDate": "1950-04-03",
                       "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "0000007"}]}),
                json!({"resourceType": "Patient", "id": "y", "name": [{"family": "Okafor", "given": ["Ada"]}], "birthDate": "1950-03-04"}),
            ]),
        }),
    );
    insta::assert_snapshot!("register_candidates_80x24", screen(&s));
    // Down past the two: "register as a NEW patient", the explicit choice.
    key(&mut s, "down");
    key(&mut s, "down");
    let effects = key(&mut s, "enter");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::RegisterPatient { .. })),
        "{effects:?}"
    );
}

#[test]
fn an_edit_saves_what_changed_on_the_version_read() {
    let mut s = editing();
    insta::assert_snapshot!("demographics_form_80x24", screen(&s));
    let screen_text = screen(&s);
    assert!(
        screen_text.contains("QUILL, Ann"),
        "the banner and title name the patient"
    );
    assert!(!screen_text.contains("insurer"));
    // Nothing changed: nothing is sent.
    let effects = key(&mut s, "enter");
    assert!(saved(&effects).is_none());
    retype(&mut s, "Quil");
    let effects = key(&mut s, "enter");
    let (generation, patient, version, reason) = saved(&effects).expect("saved");
    assert_eq!(version, "3", "If-Match the version read");
    assert_eq!(reason, None);
    assert_eq!(patient["id"], "p");
    assert_eq!(patient["name"][0]["family"], "Quil");
    assert_eq!(
        patient["identifier"],
        stored()["identifier"],
        "the MRN kept"
    );
    assert!(patient.get("meta").is_none());
    // A late answer for another generation is dropped.
    update(
        &mut s,
        Msg::Register(RegisterMsg::Saved {
            generation: generation + 100,
            result: Ok(stored()),
            current: None,
        }),
    );
    assert!(s.register.is_some());
    update(
        &mut s,
        Msg::Register(RegisterMsg::Saved {
            generation,
            result: Err(FetchError::Unreachable("down".into())),
            current: None,
        }),
    );
    let r = s.register.as_ref().unwrap();
    assert_eq!(r.stage, Stage::Form, "the form is kept");
    assert_eq!(r.values[0], "Quil");
    assert!(s.notice.as_ref().unwrap().text.contains("NOT saved"));
}

#[test]
fn support_gives_a_reason_and_a_crossed_edit_shows_both() {
    let mut s = editing();
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "it".into(),
        name: "IT Desk".into(),
        role: "support".into(),
        practitioner: None,
    });
    retype(&mut s, "Quil");
    let effects = key(&mut s, "enter");
    assert!(saved(&effects).is_none(), "no reason, nothing sent");
    assert_eq!(s.register.as_ref().unwrap().at, REASON);
    typed(&mut s, "ticket 12: surname misspelt");
    let effects = key(&mut s, "enter");
    let (generation, _, _, reason) = saved(&effects).expect("saved");
    assert_eq!(reason.as_deref(), Some("ticket 12: surname misspelt"));

    // Someone changed the given name and the phone meanwhile.
    let mut theirs = stored();
    theirs["meta"]["versionId"] = json!("4");
    theirs["name"][0]["given"] = json!(["Anne"]);
    theirs["telecom"][0]["value"] = json!("0113 496 9999");
    update(
        &mut s,
        Msg::Register(RegisterMsg::Saved {
            generation,
            result: Err(FetchError::Conflict(412)),
            current: Some(theirs),
        }),
    );
    assert!(matches!(
        s.register.as_ref().unwrap().stage,
        Stage::Crossed { .. }
    ));
    insta::assert_snapshot!("demographics_crossed_80x24", screen(&s));
    // Keep mine: sent again over version 4, their phone and given name kept, the reason too.
    let effects = key(&mut s, "enter");
    let (_, patient, version, reason) = saved(&effects).expect("saved again");
    assert_eq!(version, "4");
    assert_eq!(patient["name"][0]["family"], "Quil");
    assert_eq!(patient["name"][0]["given"], json!(["Anne"]));
    assert_eq!(patient["telecom"][0]["value"], "0113 496 9999");
    assert!(reason.is_some());
}

#[test]
fn an_edit_belongs_to_its_chart() {
    let mut s = editing();
    retype(&mut s, "Quil");
    // Another patient's chart opens: the edit of the first is closed, never applied there.
    update(&mut s, Msg::Chart(ChartMsg::Open("q".into())));
    assert!(s.register.is_none());
    assert_ne!(s.chart.as_ref().unwrap().view, ChartView::Demographics);
    // The screen's own keys still work in the form (help), and a registration cannot open
    // over an edit.
    let mut s = editing();
    key(&mut s, "f1");
    assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
    key(&mut s, "esc");
    crate::workstation::update::act(&mut s, Action::RegisterPatient, &mut Vec::new());
    assert!(s.register.as_ref().unwrap().editing.is_some());
    assert!(s.notice.as_ref().unwrap().text.contains("being edited"));
    // A reply that is not this patient's record is not edited.
    let mut s = state();
    open_chart(&mut s, vec![stored()]);
    let effects = key(&mut s, "D");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::ReadForEdit { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap();
    let mut other = stored();
    other["id"] = json!("q");
    update(
        &mut s,
        Msg::Register(RegisterMsg::Loaded {
            generation,
            result: Ok(other),
        }),
    );
    assert_eq!(s.register.as_ref().unwrap().stage, Stage::Loading);
    assert!(s.notice.as_ref().unwrap().text.contains("not this patient"));
}
