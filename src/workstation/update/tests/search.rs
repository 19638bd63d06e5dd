//! Patient search.

use super::*;

#[test]
fn typing_debounces_and_only_the_latest_search_counts() {
    let mut s = state();
    let effects = typed(&mut s, "smi");
    assert_eq!(effects.len(), 3, "one debounce per key");
    assert_eq!(s.search.generation, 3);
    // An old pause fires: nothing is sent.
    assert!(update(&mut s, Msg::Search(SearchMsg::Due(2))).is_empty());
    let effects = update(&mut s, Msg::Search(SearchMsg::Due(3)));
    assert!(
        matches!(&effects[0], Effect::SearchPatients { generation: 3, params }
        if params.contains(&("name", "smi".to_string())))
    );
    // A reply to an older search is dropped.
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation: 2,
            result: Ok(vec![patient("x", "Old")]),
        }),
    );
    assert!(s.search.rows.is_empty());
    assert_eq!(s.dropped_stale, 1);
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation: 3,
            result: Ok(vec![patient("p", "Smith")]),
        }),
    );
    assert_eq!(s.search.rows.len(), 1);
    assert_eq!(s.search.status, SearchStatus::Done);
}

#[test]
fn slash_clears_the_query_except_inside_a_date() {
    let mut s = state();
    typed(&mut s, "14/03/1956");
    assert_eq!(s.search.query, "14/03/1956");
    typed(&mut s, " smith/");
    assert_eq!(s.search.query, "");
}

#[test]
fn open_by_mrn_opens_the_only_match_and_lists_several() {
    let mut s = state();
    s.overlay = Some(Overlay::Palette {
        context: Context::Search,
        input: String::new(),
        cursor: 0,
    });
    typed(&mut s, "open 0000042");
    let effects = key(&mut s, "enter");
    assert!(s.overlay.is_none());
    assert!(s.search.open_single);
    assert!(
        matches!(effects[..], [Effect::Debounce { .. }]),
        "{effects:?}"
    );
    let generation = s.search.generation;
    update(&mut s, Msg::Search(SearchMsg::Due(generation)));
    let effects = update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Ok(vec![patient("p42", "ONLY")]),
        }),
    );
    assert_eq!(s.screen, Screen::Chart);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { patient_id, .. } if patient_id == "p42"))
    );
    // Two matches: the list stays for the user to choose.
    let mut s = state();
    update(&mut s, Msg::Action(Action::OpenPalette));
    typed(&mut s, "open smith");
    key(&mut s, "enter");
    let generation = s.search.generation;
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Ok(vec![patient("a", "SMITH"), patient("b", "SMITH")]),
        }),
    );
    assert_eq!(s.screen, Screen::Search);
    assert_eq!(s.search.rows.len(), 2);
    assert!(!s.search.open_single);
}

#[test]
fn cjk_names_and_combining_accents_keep_the_search_columns_in_line() {
    let mut s = state();
    let person = |id: &str, family: &str, given: &str, mrn: &str| {
        json!({"resourceType": "Patient", "id": id, "birthDate": "1950-01-02",
               "gender": "female",
               "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": mrn}],
               "name": [{"family": family, "given": [given]}]})
    };
    typed(&mut s, "a");
    let generation = s.search.generation;
    update(&mut s, Msg::Search(SearchMsg::Due(generation)));
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Ok(vec![
                person("a", "山田", "太郎", "MRN-CJK-1"),
                person("b", "Garci\u{301}a", "Jose\u{301}", "MRN-ACC-2"),
                person("c", "Smith", "John", "MRN-LAT-3"),
            ]),
        }),
    );
    // Cell by cell, as the terminal gets it: a wide character's second cell is blank.
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let theme = crate::workstation::theme::Theme::color();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| crate::workstation::view::view(&s, &theme, f))
        .unwrap();
    let buffer = t.backend().buffer().clone();
    let row = |y: u16| -> Vec<String> {
        (0..80)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect()
    };
    // The cell where `mrn` starts, on whichever row holds it.
    let column = |mrn: &str| {
        let first: Vec<String> = mrn.chars().map(|c| c.to_string()).collect();
        (0..24)
            .find_map(|y| {
                let cells = row(y);
                (0..80 - first.len()).find(|&x| cells[x..x + first.len()] == first[..])
            })
            .unwrap_or_else(|| panic!("{mrn} not on screen:\n{}", screen(&s)))
    };
    let cjk = column("MRN-CJK-1");
    assert_eq!(cjk, column("MRN-ACC-2"), "{}", screen(&s));
    assert_eq!(cjk, column("MRN-LAT-3"), "{}", screen(&s));
    // The accent is drawn on its letter, in one cell.
    let all: Vec<String> = (0..24).flat_map(row).collect();
    assert!(all.iter().any(|c| c == "e\u{301}"), "{}", screen(&s));
}
