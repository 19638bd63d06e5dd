//! The support desk at 80x24: the duplicate queue, two records side by side with why, a
//! merge previewed and confirmed with a reason (and a second one when both have active
//! orders), a pair marked not a duplicate, a record's JSON folded, searched and followed, its
//! history with the changes, and what is shown when an answer cannot be read.

use super::*;
use crate::workstation::features::support::{DeskTab, Request};
use crate::workstation::msg::SupportMsg;

fn as_support(s: &mut State) {
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "desk".into(),
        name: "Desk Support".into(),
        role: "support".into(),
        practitioner: None,
    });
}

fn asked(effects: &[Effect]) -> Option<(u64, Request)> {
    effects.iter().find_map(|e| match e {
        Effect::Support {
            generation,
            request,
        } => Some((*generation, request.clone())),
        _ => None,
    })
}

fn answer(s: &mut State, generation: u64, request: Request, v: Value) -> Vec<Effect> {
    update(
        s,
        Msg::Support(SupportMsg::Answer {
            generation,
            request,
            result: Ok(v),
        }),
    )
}

fn pairs() -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": "total", "valueInteger": 2},
        {"name": "offset", "valueInteger": 0},
        {"name": "pair", "part": [
            {"name": "patient", "valueReference": {"reference": "Patient/a", "display": "HARROWGATE, Eleanor (MRN 0000001, born 1948-03-12)"}},
            {"name": "other", "valueReference": {"reference": "Patient/b", "display": "HARROWGATE, Elenor (MRN 0000002, born 1948-12-03)"}},
            {"name": "score", "valueDecimal": 24.3},
            {"name": "verdict", "valueCode": "sure"},
            {"name": "field", "valueString": " +9.1  family name agree"},
            {"name": "field", "valueString": " +6.6  phone agree"},
            {"name": "field", "valueString": " +4.2  birth date nearly agree (day and month swapped, or a digit off)"}]},
        {"name": "pair", "part": [
            {"name": "patient", "valueReference": {"reference": "Patient/c", "display": "OKAFOR, Ada (MRN 0000003, born 1961-05-05)"}},
            {"name": "other", "valueReference": {"reference": "Patient/d", "display": "OKAFOR, Adah (MRN 0000004, born 1961-05-05)"}},
            {"name": "score", "valueDecimal": 12.0},
            {"name": "verdict", "valueCode": "review"}]}]})
}

fn preview(source: &str, target: &str, both_orders: bool) -> Value {
    let mut p = vec![
        json!({"name": "preview", "valueBoolean": true}),
        json!({"name": "source", "valueReference": {"reference": format!("Patient/{source}"), "display": format!("SOURCE {source}")}}),
        json!({"name": "target", "valueReference": {"reference": format!("Patient/{target}"), "display": format!("TARGET {target}")}}),
        json!({"name": "moves", "valueInteger": 3}),
        json!({"name": "moved", "part": [{"name": "type", "valueCode": "Observation"}, {"name": "count", "valueInteger": 3}]}),
        json!({"name": "active-orders-source", "valueInteger": if both_orders { 1 } else { 0 }}),
        json!({"name": "active-orders-target", "valueInteger": 1}),
    ];
    if both_orders {
        p.push(json!({"name": "needs", "valueString": "both"}));
    }
    json!({"resourceType": "Parameters", "parameter": p})
}

fn desk() -> (State, u64) {
    let mut s = state();
    as_support(&mut s);
    let effects = key(&mut s, "f8");
    assert_eq!(s.screen, Screen::Support);
    let (generation, request) = asked(&effects).expect("the pairs are asked for");
    assert_eq!(request, Request::Duplicates);
    answer(&mut s, generation, Request::Duplicates, pairs());
    (s, generation)
}

#[test]
fn only_support_staff_open_the_desk() {
    let mut s = state();
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "house".into(),
        name: "Dr House".into(),
        role: "physician".into(),
        practitioner: None,
    });
    let effects = key(&mut s, "f8");
    assert_ne!(s.screen, Screen::Support);
    assert!(asked(&effects).is_none());
}

#[test]
fn the_queue_compares_side_by_side_and_a_merge_needs_its_reasons() {
    let (mut s, _) = desk();
    insta::assert_snapshot!("support_duplicates_80x24", screen(&s));
    // Enter: both records side by side.
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    assert_eq!(
        request,
        Request::Compare {
            a: "a".into(),
            b: "b".into()
        }
    );
    let patient = |family: &str, given: &str, born: &str| {
        json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "birthDate": born,
            "gender": "female", "identifier": [{"type": {"text": "MRN"}, "value": "000000x"}],
            "telecom": [{"value": "07700 900123"}]})
    };
    answer(
        &mut s,
        generation,
        request,
        json!({"a": patient("Harrowgate", "Eleanor", "1948-03-12"), "b": patient("Harrowgate", "Elenor", "1948-12-03"),
            "ab": preview("a", "b", false), "ba": preview("b", "a", false),
            "last_a": {"resourceType": "Bundle", "entry": []}, "last_b": {"resourceType": "OperationOutcome"}}),
    );
    let shown = screen(&s);
    insta::assert_snapshot!("support_compare_80x24", shown);
    assert!(shown.contains("1948-12-03") && shown.contains("phone agree"));
    assert!(
        shown.contains("NOT KNOWN"),
        "b's last stay could not be read"
    );

    // `m`: the preview (b into a); `m` again: the other way round.
    let effects = key(&mut s, "m");
    let (generation, request) = asked(&effects).unwrap();
    assert_eq!(
        request,
        Request::MergePreview {
            source: "b".into(),
            target: "a".into()
        }
    );
    answer(&mut s, generation, request, preview("b", "a", true));
    insta::assert_snapshot!("support_merge_preview_80x24", screen(&s));
    // Enter: a reason; a short one changes nothing.
    key(&mut s, "enter");
    typed(&mut s, "ok");
    let effects = key(&mut s, "enter");
    assert!(asked(&effects).is_none());
    // Both have active orders: a second reason is asked before anything is sent.
    key(&mut s, "enter");
    typed(&mut s, "registered twice in ED");
    let effects = key(&mut s, "enter");
    assert!(asked(&effects).is_none(), "the orders reason first");
    typed(&mut s, "pharmacist reviewed both");
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    assert_eq!(
        request,
        Request::Merge {
            source: "b".into(),
            target: "a".into(),
            reason: "registered twice in ED".into(),
            orders_reason: Some("pharmacist reviewed both".into()),
        }
    );
    let mut done = preview("b", "a", true);
    done["parameter"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "provenance", "valueReference": {"reference": "Provenance/p1"}}));
    done["parameter"].as_array_mut().unwrap().push(json!({"name": "outcome", "resource": {"resourceType": "OperationOutcome", "issue": [{"diagnostics": "SOURCE b merged into TARGET a: 3 records moved"}]}}));
    let effects = answer(&mut s, generation, request, done);
    assert!(s.notice.as_ref().unwrap().text.contains("merged into"));
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Duplicates,
        "the queue again"
    );
    // `u`: undo, with a reason.
    key(&mut s, "u");
    typed(&mut s, "wrong pair");
    let effects = key(&mut s, "enter");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Unmerge {
            provenance: "Provenance/p1".into(),
            reason: "wrong pair".into()
        }
    );
}

#[test]
fn not_a_duplicate_needs_a_reason_and_an_unreadable_list_is_not_known() {
    let (mut s, _) = desk();
    key(&mut s, "down");
    key(&mut s, "x");
    let effects = key(&mut s, "enter");
    assert!(asked(&effects).is_none());
    key(&mut s, "x");
    typed(&mut s, "mother and daughter");
    let effects = key(&mut s, "enter");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::NotDuplicate {
            a: "c".into(),
            b: "d".into(),
            reason: "mother and daughter".into()
        }
    );
    // A failed scan is not "no duplicates".
    let effects = key(&mut s, "r");
    let (generation, request) = asked(&effects).unwrap();
    update(
        &mut s,
        Msg::Support(SupportMsg::Answer {
            generation,
            request,
            result: Err(FetchError::Timeout(120)),
        }),
    );
    let shown = screen(&s);
    assert!(shown.contains("NOT KNOWN"), "{shown}");
    assert!(!shown.contains("No pairs"));
    // A late answer is dropped.
    update(
        &mut s,
        Msg::Support(SupportMsg::Answer {
            generation: generation - 1,
            request: Request::Duplicates,
            result: Ok(pairs()),
        }),
    );
    assert!(screen(&s).contains("NOT KNOWN"));
}

#[test]
fn a_record_folds_finds_follows_references_and_shows_what_changed() {
    let (mut s, _) = desk();
    key(&mut s, "o");
    typed(&mut s, "Observation/o1");
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    assert_eq!(request, Request::Record("Observation/o1".into()));
    assert_eq!(s.desk.as_ref().unwrap().tab, DeskTab::Record);
    let v2 = json!({"resourceType": "Observation", "id": "o1", "status": "amended",
        "meta": {"versionId": "2", "lastUpdated": "2026-12-01T10:00:00Z", "source": "urn:lab:analyser-3"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "subject": {"reference": "Patient/a"}, "valueQuantity": {"value": 5.0, "unit": "mmol/L"}});
    let mut v1 = v2.clone();
    v1["status"] = json!("final");
    v1["valueQuantity"]["value"] = json!(7.5);
    v1["meta"]["versionId"] = json!("1");
    answer(
        &mut s,
        generation,
        request,
        json!({"resource": v2,
            "history": {"resourceType": "Bundle", "type": "history", "entry": [
                {"resource": v2, "request": {"method": "PUT"}}, {"resource": v1, "request": {"method": "POST"}}]},
            "provenance": {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Provenance", "id": "pv",
                "recorded": "2026-12-01T10:00:00Z", "activity": {"coding": [{"code": "merge"}]},
                "agent": [{"who": {"display": "desk"}}], "reason": [{"text": "registered twice"}]}}]}}),
    );
    let shown = screen(&s);
    insta::assert_snapshot!("support_record_80x24", shown);
    assert!(shown.contains("source: urn:lab:analyser-3") && shown.contains("merge by desk"));
    // Find, then fold.
    key(&mut s, "/");
    typed(&mut s, "patient/a");
    key(&mut s, "enter");
    let d = s.desk.as_ref().unwrap();
    let Some(Ok(r)) = &d.record else { panic!() };
    let at = crate::workstation::support::raw::visible(&r.lines, &r.folded)[d.cursor];
    assert_eq!(r.lines[at].reference.as_deref(), Some("Patient/a"));
    // Enter on a reference follows it; Esc comes back.
    let effects = key(&mut s, "enter");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Record("Patient/a".into())
    );
    let effects = key(&mut s, "esc");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Record("Observation/o1".into())
    );
    let (generation, request) = asked(&effects).unwrap();
    answer(
        &mut s,
        generation,
        request,
        json!({"resource": v2, "history": {"resourceType": "Bundle", "type": "history", "entry": [
        {"resource": v2, "request": {"method": "PUT"}}, {"resource": v1, "request": {"method": "POST"}}]}}),
    );
    // History: Enter shows the changes field by field.
    key(&mut s, "h");
    key(&mut s, "enter");
    let shown = screen(&s);
    insta::assert_snapshot!("support_history_80x24", shown);
    assert!(shown.contains("status \"final\" -> \"amended\""), "{shown}");
    assert!(shown.contains("valueQuantity.value 7.5 -> 5.0"), "{shown}");
    // w: the JSON into a file.
    key(&mut s, "esc");
    let effects = key(&mut s, "w");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::WriteSupportFile { name, contents }
        if name == "Observation-o1.json" && contents.contains("\"amended\"")))
    );
}

#[test]
fn a_merged_record_says_so_on_its_banner() {
    let mut s = state();
    open_chart(
        &mut s,
        vec![
            json!({"resourceType": "Patient", "id": "p", "active": false,
            "name": [{"family": "Harrowgate", "given": ["Elenor"]}], "gender": "female", "birthDate": "1948-12-03",
            "link": [{"type": "replaced-by", "other": {"reference": "Patient/a"}}]}),
        ],
    );
    let shown = screen(&s);
    assert!(shown.contains("MERGED into Patient/a"), "{shown}");
}

#[test]
fn the_access_log_takes_filters_and_a_misfiled_note_is_moved_with_a_reason() {
    let (mut s, _) = desk();
    key(&mut s, "l");
    typed(&mut s, "p1 role=nurse since=2026-11-01 emergency");
    let effects = key(&mut s, "enter");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Access {
            patient: Some("p1".into()),
            user: None,
            filters: vec![
                ("role".into(), "nurse".into()),
                ("date".into(), "ge2026-11-01".into()),
                ("emergency".into(), "true".into()),
            ],
        }
    );
    key(&mut s, "l");
    typed(&mut s, "user:Jones colour=red");
    let effects = key(&mut s, "enter");
    assert!(
        asked(&effects).is_none(),
        "an unknown filter is refused, not ignored"
    );
    assert!(notice(&s).contains("colour=red"));
    // M on a note: the right patient and why; both named in the server's answer.
    key(&mut s, "o");
    typed(&mut s, "DocumentReference/n1");
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    answer(
        &mut s,
        generation,
        request,
        json!({"resource": {"resourceType": "DocumentReference", "id": "n1", "status": "current"}}),
    );
    key(&mut s, "M");
    typed(&mut s, "p2 written on the wrong chart");
    let effects = key(&mut s, "enter");
    assert!(asked(&effects).is_none(), "no colon: nothing sent");
    key(&mut s, "M");
    typed(&mut s, "p2: written on the wrong chart");
    let effects = key(&mut s, "enter");
    assert_eq!(
        asked(&effects).unwrap().1,
        Request::Move {
            reference: "DocumentReference/n1".into(),
            target: "p2".into(),
            reason: "written on the wrong chart".into()
        }
    );
}

fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

#[test]
fn from_a_chart_support_staff_open_the_item_as_stored() {
    let mut s = state();
    as_support(&mut s);
    open_chart(&mut s, vec![patient("p", "Quill"), obs("o7", 3)]);
    let effects = key(&mut s, "R");
    assert_eq!(s.screen, Screen::Support);
    let (_, request) = asked(&effects).unwrap();
    assert!(
        matches!(request, Request::Record(r) if r.starts_with("Observation/") || r == "Patient/p")
    );
}

#[test]
fn any_two_versions_are_compared() {
    let (mut s, _) = desk();
    key(&mut s, "o");
    typed(&mut s, "Observation/o1");
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    let v = |n: u32, status: &str, value: f64| {
        json!({"resourceType": "Observation", "id": "o1", "status": status,
            "meta": {"versionId": n.to_string()}, "valueQuantity": {"value": value}})
    };
    let history = json!({"resourceType": "Bundle", "type": "history", "entry": [
        {"resource": v(3, "corrected", 5.1)}, {"resource": v(2, "amended", 5.0)}, {"resource": v(1, "final", 7.5)}]});
    answer(
        &mut s,
        generation,
        request,
        json!({"resource": v(3, "corrected", 5.1), "history": history}),
    );
    key(&mut s, "h");
    key(&mut s, "down");
    key(&mut s, "down");
    key(&mut s, "z");
    key(&mut s, "up");
    key(&mut s, "up");
    key(&mut s, "enter");
    let shown = screen(&s);
    assert!(shown.contains("Changes from version 1 to 3"), "{shown}");
    assert!(
        shown.contains("status \"final\" -> \"corrected\""),
        "{shown}"
    );
    assert!(shown.contains("compared with"), "{shown}");
}

#[test]
fn the_chart_as_it_was_is_its_timeline_then() {
    let (mut s, _) = desk();
    key(&mut s, "a");
    typed(&mut s, "p 2026-11-20T03:00");
    let effects = key(&mut s, "enter");
    let (generation, request) = asked(&effects).unwrap();
    assert_eq!(
        request,
        Request::AsOf {
            patient: "p".into(),
            at: "2026-11-20T03:00:00".into()
        }
    );
    let mut lab = obs("o1", 19);
    lab["meta"] = json!({"versionId": "1", "lastUpdated": "2026-11-19T09:00:00Z"});
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "meta": {"versionId": "1"}, "name": [{"family": "Quill"}]}},
        {"resource": lab}]});
    answer(&mut s, generation, request, bundle);
    let shown = screen(&s);
    insta::assert_snapshot!("support_as_of_80x24", shown);
    assert!(
        shown.contains("Patient/p as it was at 2026-11-20T03:00:00"),
        "{shown}"
    );
    assert!(
        shown.contains("(Patient) Patient/p") && shown.contains("Results    Test o1"),
        "{shown}"
    );
}
