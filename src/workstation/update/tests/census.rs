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
    }
}

fn census_on_screen() -> (State, u64) {
    let mut s = state();
    s.now_ms = 1_795_168_800_000;
    let effects = key(&mut s, "f4");
    assert_eq!(s.screen, Screen::Census);
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadWards { generation } => Some(*generation),
            _ => None,
        })
        .expect("the wards are asked for");
    update(
        &mut s,
        Msg::Census(CensusMsg::Wards {
            generation,
            result: Ok(locations()),
        }),
    );
    assert!(screen(&s).contains("Which ward?"), "{}", screen(&s));
    key(&mut s, "down");
    let effects = key(&mut s, "enter");
    let (generation, ward) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCensus {
                generation,
                ward_id,
                clinical,
            } => {
                assert!(clinical);
                Some((*generation, ward_id.clone()))
            }
            _ => None,
        })
        .expect("the census is asked for");
    assert_eq!(ward, "ward-B");
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            ward_id: ward,
            result: Ok(fetched()),
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
    let next = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCensus { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("asked again");
    // A late answer for the earlier request is dropped.
    let mut other = fetched();
    other.stays.clear();
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation,
            ward_id: "ward-B".into(),
            result: Ok(other),
        }),
    );
    assert_eq!(s.census.as_ref().unwrap().rows.len(), 2);
    // It fails: the rows stay, said to be out of date, never emptied.
    s.now_ms += 90_000;
    update(
        &mut s,
        Msg::Census(CensusMsg::Loaded {
            generation: next,
            ward_id: "ward-B".into(),
            result: Err(FetchError::Timeout(10)),
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
