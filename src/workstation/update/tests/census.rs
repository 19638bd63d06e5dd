//! The ward census: the ward picked, the rows at 80x24 and wider, sorting, opening a chart
//! and coming back, the poll, late and failed answers.

use super::*;
use crate::workstation::census::Fetched;
use crate::workstation::msg::CensusMsg;
use crate::workstation::record::vitals::NEWS2_CODE as NEWS2;

fn locations() -> Vec<Value> {
    vec![
        json!({"resourceType": "Location", "id": "ward-A", "name": "Acute Medical Unit", "physicalType": {"coding": [{"code": "wa"}]}}),
        json!({"resourceType": "Location", "id": "ward-B", "name": "Beech Ward", "physicalType": {"coding": [{"code": "wa"}]}}),
        json!({"resourceType": "Location", "id": "bed-A-01", "name": "AMU bed 1", "physicalType": {"coding": [{"code": "bd"}]}}),
    ]
}

fn fetched() -> Fetched {
    let stay = |id: &str, p: &str, bed: &str, start: &str| {
        json!({"resourceType": "Encounter", "id": id, "status": "in-progress",
            "subject": {"reference": format!("Patient/{p}")}, "period": {"start": start},
            "participant": [{"individual": {"reference": "Practitioner/d1"}}],
            "location": [{"location": {"reference": format!("Location/{bed}")}, "status": "active"}]})
    };
    let bed = |id: &str, name: &str| json!({"resourceType": "Location", "id": id, "name": name, "physicalType": {"coding": [{"code": "bd"}]}});
    Fetched {
        stays: vec![
            stay("e1", "p1", "bed-A-01", "2026-11-17T09:00:00Z"),
            stay("e2", "p2", "bed-A-02", "2026-11-20T02:00:00Z"),
            json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ann"]}],
                   "gender": "female", "birthDate": "1940-02-03",
                   "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "0000042"}]}),
            json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Abbot", "given": ["Bo"]}],
                   "gender": "male", "birthDate": "1990-06-01"}),
            bed("bed-A-01", "AMU bed 1"),
            bed("bed-A-02", "AMU bed 2"),
            json!({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "House", "prefix": ["Dr"]}]}),
        ],
        allergies: Some(vec![
            json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p1"},
            "code": {"text": "penicillin"}}),
        ]),
        news2: Some(vec![
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/p2"}, "status": "final",
                "code": {"coding": [{"code": NEWS2}]}, "effectiveDateTime": "2026-11-20T08:00:00Z", "valueInteger": 8}),
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/p2"}, "status": "final",
                "code": {"coding": [{"code": NEWS2}]}, "effectiveDateTime": "2026-11-19T08:00:00Z", "valueInteger": 4}),
        ]),
        reviews: Some(vec![
            json!({"resourceType": "Task", "status": "requested", "priority": "stat",
            "for": {"reference": "Patient/p2"}}),
        ]),
        unsigned: Some(vec![]),
        drafts: None,
        members: Vec::new(),
    }
}

/// The generation of the list asked for in `effects`.
fn census_asked(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCensus { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("the list is asked for")
}

fn census_on_screen() -> (State, u64) {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    let effects = key(&mut s, "f4");
    assert_eq!(s.screen, Screen::Census);
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadLists { generation, me } => {
                assert_eq!(*me, None, "no practitioner: no lists of my own");
                Some(*generation)
            }
            _ => None,
        })
        .expect("the wards are asked for");
    update(
        &mut s,
        Msg::Census(CensusMsg::Lists {
            generation,
            locations: Ok(locations()),
            teams: None,
            personal: None,
            cached_at: None,
        }),
    );
    assert!(screen(&s).contains("Which list?"), "{}", screen(&s));
    key(&mut s, "down");
    let effects = key(&mut s, "enter");
    let (generation, ward) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCensus {
                generation,
                source,
                clinical,
                ..
            } => {
                assert!(clinical);
                Some((*generation, source.key()))
            }
            _ => None,
        })
        .expect("the census is asked for");
    assert_eq!(ward, "ward/ward-B");
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: ward,
            result: Ok(fetched()),
            cached: None,
        }),
    );
    (s, generation)
}

#[test]
fn the_census_at_80x24_and_wider() {
    let (mut s, _) = census_on_screen();
    insta::assert_snapshot!("census_80x24", screen(&s));
    s.size = Rect::new(0, 0, 130, 24);
    let wide = screen(&s);
    assert!(
        wide.contains("Dr House") && wide.contains("0000042"),
        "{wide}"
    );
}

#[test]
fn sorting_opening_a_chart_and_coming_back() {
    let (mut s, _) = census_on_screen();
    let rows = |s: &State| -> Vec<String> {
        s.census
            .as_ref()
            .unwrap()
            .rows
            .iter()
            .map(|r| r.patient_id.clone())
            .collect()
    };
    assert_eq!(rows(&s), ["p1", "p2"], "by bed");
    key(&mut s, "s");
    assert_eq!(rows(&s), ["p2", "p1"], "by name");
    key(&mut s, "s");
    assert_eq!(rows(&s), ["p2", "p1"], "by NEWS2, highest first");
    assert!(screen(&s).contains("by NEWS2"));
    // The cursor stays on the patient it was on.
    key(&mut s, "down");
    key(&mut s, "s");
    assert_eq!(
        s.census.as_ref().unwrap().rows[s.census.as_ref().unwrap().cursor].patient_id,
        "p1"
    );
    let effects = key(&mut s, "enter");
    assert_eq!(s.screen, Screen::Chart);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { .. }))
    );
    assert_eq!(s.chart.as_ref().unwrap().patient_id, "p1");
    // F4: the list again, one key away, asked again.
    let effects = key(&mut s, "f4");
    assert_eq!(s.screen, Screen::Census);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCensus { .. }))
    );
    // Opened from the list and closed: back to the list.
    key(&mut s, "enter");
    assert_eq!(s.screen, Screen::Chart);
    key(&mut s, "q");
    assert_eq!(s.screen, Screen::Census);
}

#[test]
fn the_poll_late_answers_and_failures() {
    let (mut s, generation) = census_on_screen();
    // The poll while on screen asks again; an old poll does nothing.
    let effects = update(
        &mut s,
        Msg::Census(CensusMsg::Due {
            generation: generation - 1,
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCensus { .. }))
    );
    let effects = update(&mut s, Msg::Census(CensusMsg::Due { generation }));
    let next = census_asked(&effects);
    // A late answer for the earlier request is dropped.
    let mut other = fetched();
    other.stays.clear();
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "ward/ward-B".into(),
            result: Ok(other),
            cached: None,
        }),
    );
    assert_eq!(s.census.as_ref().unwrap().rows.len(), 2);
    // It fails: the rows stay, said to be out of date, never emptied.
    s.now_ms += 90_000;
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation: next,
            key: "ward/ward-B".into(),
            result: Err(FetchError::Timeout(10)),
            cached: None,
        }),
    );
    let text = screen(&s);
    assert!(text.contains("NOT UP TO DATE"), "{text}");
    assert_eq!(s.census.as_ref().unwrap().rows.len(), 2);
    // Off screen, the poll does not ask.
    key(&mut s, "esc");
    assert_eq!(s.screen, Screen::Search);
    let g = s.census.as_ref().unwrap().generation;
    let effects = update(&mut s, Msg::Census(CensusMsg::Due { generation: g }));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCensus { .. }))
    );
}

fn lists_with_me() -> State {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    s.notes = Arc::new(crate::workstation::features::note::state::NoteSettings {
        author_reference: Some("Practitioner/me".into()),
        ..Default::default()
    });
    let effects = key(&mut s, "f4");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadLists { generation, me } => {
                assert_eq!(me.as_deref(), Some("Practitioner/me"));
                Some(*generation)
            }
            _ => None,
        })
        .expect("the lists are asked for");
    let (system, code) = crate::fhir::PERSONAL_LIST;
    update(
        &mut s,
        Msg::Census(CensusMsg::Lists {
            generation,
            locations: Ok(locations()),
            teams: Some(Ok(vec![
                json!({"resourceType": "CareTeam", "id": "team-a", "status": "active", "name": "Medicine A"}),
            ])),
            personal: Some(Ok(vec![
                json!({"resourceType": "List", "id": "l1", "status": "current", "mode": "working",
                    "title": "Post-take", "code": {"coding": [{"system": system, "code": code}]},
                    "source": {"reference": "Practitioner/me"}}),
            ])),
            cached_at: None,
        }),
    );
    s
}

fn change_of(effects: &[Effect]) -> crate::workstation::census::ListChange {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ChangeList { change } => Some(change.clone()),
            _ => None,
        })
        .expect("a change to a list of my own")
}

#[test]
fn my_patients_teams_and_lists_of_my_own() {
    use crate::workstation::census::{ListChange, Source};
    let mut s = lists_with_me();
    insta::assert_snapshot!("lists_picker_80x24", screen(&s));
    let text = screen(&s);
    for shown in [
        "My patients",
        "Team",
        "Medicine A",
        "My list",
        "Post-take",
        "Beech Ward",
        "New list of my own",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    // My patients: the list's patients, staying or not.
    let effects = key(&mut s, "enter");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCensus {
                generation, source, ..
            } => {
                assert_eq!(*source, Source::Mine);
                Some(*generation)
            }
            _ => None,
        })
        .expect("my patients are asked for");
    let mut mine = fetched();
    mine.stays.push(json!({"resourceType": "Patient", "id": "p3",
        "name": [{"family": "Outpatient", "given": ["Olu"]}], "gender": "male", "birthDate": "1970-01-01"}));
    mine.members = vec!["p1".into(), "p3".into()];
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "mine".into(),
            result: Ok(mine),
            cached: None,
        }),
    );
    let c = s.census.as_ref().unwrap();
    assert_eq!(c.rows.len(), 3, "the stays and the patient not staying");
    let olu = c.rows.iter().find(|r| r.patient_id == "p3").unwrap();
    assert_eq!(olu.bed, "-");
    assert!(
        screen(&s).contains("My patients: 3 patients"),
        "{}",
        screen(&s)
    );
    // `x` takes patients off my own lists only.
    let effects = key(&mut s, "x");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ChangeList { .. }))
    );

    // A new list from the list screen: named, made, then opened.
    key(&mut s, "n");
    typed(&mut s, "Night round");
    let effects = key(&mut s, "enter");
    assert_eq!(
        change_of(&effects),
        ListChange::Create {
            title: "Night round".into(),
            owner: "Practitioner/me".into(),
            patient: None
        }
    );
    let effects = update(
        &mut s,
        Msg::Census(CensusMsg::ListChanged {
            change: change_of(&effects),
            result: Ok(Some("l2".into())),
        }),
    );
    assert_eq!(
        s.census.as_ref().unwrap().source,
        Some(Source::Personal {
            id: "l2".into(),
            name: "Night round".into()
        })
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadLists { .. }))
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadCensus { .. }))
    );
    assert!(s.notice.as_ref().unwrap().text.contains("New list"));

    // From a chart, `+` adds the patient to one of my lists: only mine are offered.
    open_chart(&mut s, vec![patient("p", "Pickering")]);
    assert_eq!(s.screen, Screen::Chart);
    let effects = key(&mut s, "+");
    assert_eq!(s.screen, Screen::Census);
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadLists { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("the lists were being read again: asked for");
    let (system, code) = crate::fhir::PERSONAL_LIST;
    update(
        &mut s,
        Msg::Census(CensusMsg::Lists {
            generation,
            locations: Ok(locations()),
            teams: Some(Ok(vec![])),
            personal: Some(Ok(vec![
                json!({"resourceType": "List", "id": "l1", "status": "current", "title": "Post-take",
                    "code": {"coding": [{"system": system, "code": code}]}, "source": {"reference": "Practitioner/me"}}),
            ])),
            cached_at: None,
        }),
    );
    let text = screen(&s);
    assert!(text.contains("to which list?"), "{text}");
    assert!(!text.contains("Beech Ward"), "only my own lists: {text}");
    let effects = key(&mut s, "enter");
    match change_of(&effects) {
        ListChange::Add { list_id, patient } => {
            assert_eq!(list_id, "l1");
            assert_eq!(patient.0, "p");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.screen, Screen::Chart, "back to the chart");
    // It failed: said, in the error style.
    update(
        &mut s,
        Msg::Census(CensusMsg::ListChanged {
            change: change_of(&effects),
            result: Err(FetchError::Timeout(10)),
        }),
    );
    assert!(s.notice.as_ref().unwrap().text.starts_with("NOT SAVED"));
}

#[test]
fn a_list_of_my_own_takes_a_patient_off_and_a_failed_part_is_said() {
    use crate::workstation::census::ListChange;
    let mut s = lists_with_me();
    // My list: Post-take is the third line.
    key(&mut s, "down");
    key(&mut s, "down");
    let effects = key(&mut s, "enter");
    let generation = census_asked(&effects);
    let mut mine = fetched();
    mine.members = vec!["p1".into(), "p2".into()];
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "list/l1".into(),
            result: Ok(mine),
            cached: None,
        }),
    );
    assert!(screen(&s).contains("take off"), "{}", screen(&s));
    let effects = key(&mut s, "x");
    assert_eq!(
        change_of(&effects),
        ListChange::Remove {
            list_id: "l1".into(),
            patient_id: "p1".into()
        }
    );
    // The lists again, my teams failing: the wards and my lists still shown, the gap said.
    let effects = key(&mut s, "w");
    assert!(effects.is_empty());
    // (as if asked again: the answer to the latest request for the lists)
    let g = s.census.as_ref().unwrap().lists_generation;
    update(
        &mut s,
        Msg::Census(CensusMsg::Lists {
            generation: g,
            locations: Ok(locations()),
            teams: Some(Err(FetchError::Timeout(10))),
            personal: Some(Ok(vec![])),
            cached_at: None,
        }),
    );
    let text = screen(&s);
    assert!(text.contains("NOT SHOWN: your teams"), "{text}");
    assert!(text.contains("Beech Ward"), "{text}");
}

#[test]
fn in_downtime_the_terminals_sealed_copy_is_shown_as_cached() {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    let effects = key(&mut s, "f4");
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadLists { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap();
    update(
        &mut s,
        Msg::Census(CensusMsg::Lists {
            generation,
            locations: Ok(locations()),
            teams: None,
            personal: None,
            cached_at: None,
        }),
    );
    key(&mut s, "down");
    let effects = key(&mut s, "enter");
    let generation = census_asked(&effects);
    // The server cannot be reached; this terminal kept the list 3 hours ago.
    let at = s.now_ms - 3 * 3_600_000;
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "ward/ward-B".into(),
            result: Err(FetchError::Unreachable("connection refused".into())),
            cached: Some(Box::new((fetched(), at))),
        }),
    );
    let c = s.census.as_ref().unwrap();
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.cached_from, Some(at));
    let text = screen(&s);
    assert!(text.contains("CACHED COPY, NOT UP TO DATE"), "{text}");
    assert!(text.contains("180 min ago"), "{text}");
    // Rows newer than the copy are kept over it.
    let effects = key(&mut s, "r");
    let generation = census_asked(&effects);
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "ward/ward-B".into(),
            result: Ok(fetched()),
            cached: None,
        }),
    );
    assert_eq!(s.census.as_ref().unwrap().cached_from, None);
    let g = s.census.as_ref().unwrap().generation;
    let effects = update(&mut s, Msg::Census(CensusMsg::Due { generation: g }));
    let generation = census_asked(&effects);
    let mut old = fetched();
    old.stays.clear();
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            key: "ward/ward-B".into(),
            result: Err(FetchError::Timeout(10)),
            cached: Some(Box::new((old, at))),
        }),
    );
    let c = s.census.as_ref().unwrap();
    assert_eq!(c.rows.len(), 2, "the newer rows stay");
    assert_eq!(c.cached_from, None);
    assert!(screen(&s).contains("NOT UP TO DATE"));
}

#[test]
fn filtering_never_hides_what_it_cannot_judge() {
    let (mut s, _) = census_on_screen();
    let ids = |s: &State| -> Vec<String> {
        s.census
            .as_ref()
            .unwrap()
            .rows
            .iter()
            .map(|r| r.patient_id.clone())
            .collect()
    };
    key(&mut s, "f");
    assert_eq!(ids(&s), ["p2"], "results waiting");
    assert!(
        screen(&s).contains("1 patient (results waiting)"),
        "{}",
        screen(&s)
    );
    key(&mut s, "f");
    assert_eq!(ids(&s), ["p2"], "NEWS2 5+");
    key(&mut s, "f");
    // Co-signatures are not known (that part failed): both shown.
    assert_eq!(ids(&s), ["p1", "p2"], "unsigned work");
    key(&mut s, "f");
    assert_eq!(ids(&s), ["p1", "p2"], "all");
}
