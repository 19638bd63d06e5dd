//! Opening and reading a chart: contexts, restricted records, the views at any size.

use super::*;

#[test]
fn opening_a_patient_tags_requests_and_drops_late_replies() {
    let mut s = state();
    typed(&mut s, "smith");
    let due = s.search.generation;
    update(&mut s, Msg::Search(SearchMsg::Due(due)));
    let generation = s.search.generation;
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Ok(vec![patient("a", "Smith"), patient("b", "Smith")]),
        }),
    );
    let effects = key(&mut s, "enter");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { context: 1, .. }))
    );
    assert_eq!(s.screen, Screen::Chart);
    // Back to search, open the second patient: context 2.
    key(&mut s, "/");
    typed(&mut s, "smith");
    let due = s.search.generation;
    update(&mut s, Msg::Search(SearchMsg::Due(due)));
    let generation = s.search.generation;
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Ok(vec![patient("a", "Smith"), patient("b", "Smith")]),
        }),
    );
    key(&mut s, "down");
    key(&mut s, "enter");
    assert_eq!(s.chart.as_ref().unwrap().patient_id, "b");
    // The first chart's page arrives late: dropped, not merged.
    let late = json!({"resourceType": "Observation", "id": "o", "subject": {"reference": "Patient/a"},
                      "effectiveDateTime": "2026-01-01", "code": {"text": "K"}});
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(vec![late]),
        }),
    );
    assert!(s.chart.as_ref().unwrap().chart.timeline.is_empty());
    assert_eq!(s.dropped_stale, 1);
    assert_eq!(s.recent_ids, ["b", "a"]);
}

#[test]
fn a_failed_chart_page_keeps_what_arrived_and_says_so() {
    let mut s = state();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(vec![
                json!({"resourceType": "Encounter", "id": "e", "status": "finished",
            "subject": {"reference": "Patient/p"}, "period": {"start": "2026-01-01"}}),
            ]),
        }),
    );
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Err(FetchError::Timeout(30)),
        }),
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.chart.timeline.len(), 1);
    assert!(!c.loading);
    assert!(c.error.as_deref().unwrap().contains("within 30 s"));
}

#[test]
fn every_view_renders_odd_data_at_any_size_without_panicking() {
    use crate::workstation::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut s = state();
    let subject = json!({"reference": "Patient/p"});
    open_chart(
        &mut s,
        vec![
            json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Ünïcødé-名前", "given": ["Ω"]}]}),
            json!({"resourceType": "Observation", "id": "o", "subject": subject,
                   "effectiveDateTime": "2024-01-01T10:00:00Z", "code": {"text": "x".repeat(500)},
                   "valueQuantity": {"value": 1e300, "unit": "u"}}),
            json!({"resourceType": "Observation", "id": "o2", "subject": subject,
                   "effectiveDateTime": "2024-01-02T10:00:00Z", "code": {"text": "x".repeat(500)},
                   "valueQuantity": {"value": -1e300, "unit": "u"}}),
        ],
    );
    let theme = Theme::color();
    for keys in [
        "",
        "<enter>",
        "t",
        "<esc><esc>s",
        "s?",
        "<esc>f",
        "<esc><ctrl-f>",
        "<esc>d",
    ] {
        for k in crate::workstation::headless::parse_sequence(keys).unwrap() {
            update(
                &mut s,
                Msg::Key(KeyEvent {
                    code: k.code,
                    modifiers: k.mods,
                    kind: KeyEventKind::Press,
                    state: KeyEventState::NONE,
                }),
            );
        }
        for (w, h) in [(80, 24), (20, 6), (200, 60), (1, 1), (45, 12)] {
            s.size = Rect::new(0, 0, w, h);
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| crate::workstation::view::view(&s, &theme, f))
                .unwrap();
            s.display.ascii = !s.display.ascii;
            t.draw(|f| crate::workstation::view::view(&s, &theme, f))
                .unwrap();
        }
    }
}

#[test]
fn pop_up_lists_take_an_accelerator_letter() {
    let mut s = state();
    let subject = json!({"reference": "Patient/p"});
    open_chart(
        &mut s,
        vec![
            json!({"resourceType": "Observation", "id": "v", "status": "final", "subject": subject,
                   "category": [{"coding": [{"code": "vital-signs"}]}],
                   "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                   "effectiveDateTime": "2026-11-01T08:00:00Z", "valueQuantity": {"value": 80, "unit": "/min"}}),
            json!({"resourceType": "Condition", "id": "c", "subject": subject,
                   "clinicalStatus": {"coding": [{"code": "active"}]},
                   "code": {"text": "Asthma"}, "onsetDateTime": "2020-01-01"}),
        ],
    );
    key(&mut s, "f");
    let labels = accelerated_labels(&s).unwrap();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let letters = crate::workstation::keymap::accelerators(&s.keymap, &refs);
    let vitals = labels.iter().position(|l| l.starts_with("Vital")).unwrap();
    let letter = letters[vitals].unwrap();
    // The dialogs' own keys are never taken as accelerators.
    assert!(!letters.contains(&Some('n')) && !letters.contains(&Some('q')));
    assert!(screen(&s).contains(&format!(" {letter} ")));
    key(&mut s, &letter.to_string());
    assert_eq!(s.overlay, None);
    assert_eq!(
        s.chart.as_ref().unwrap().filter,
        Some(crate::workstation::chart::Kind::Vital)
    );
}

#[test]
fn the_summary_at_80_columns_is_one_column_that_scrolls() {
    let mut s = state();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    let subject = json!({"reference": "Patient/p"});
    let problems: Vec<Value> = (0..30)
        .map(|i| {
            json!({"resourceType": "Condition", "id": format!("c{i}"), "subject": subject,
               "clinicalStatus": {"coding": [{"code": "active"}]},
               "code": {"text": format!("Problem number {i}")}, "onsetDateTime": "2020-01-01"})
        })
        .collect();
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(problems),
        }),
    );
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    key(&mut s, "s");
    let first = screen(&s);
    assert!(first.contains("Summary - arrows scroll"), "{first}");
    assert!(first.contains("Active problems (30)"), "{first}");
    assert!(!first.contains("Latest vitals"), "{first}");
    key(&mut s, "G");
    let last = screen(&s);
    assert!(last.contains("Recent abnormal results"), "{last}");
    key(&mut s, "k");
    key(&mut s, "g");
    assert_eq!(s.chart.as_ref().unwrap().summary_scroll, 0);
    // Wide enough: two columns.
    s.size = Rect::new(0, 0, 140, 40);
    assert!(screen(&s).contains("Latest vitals"));
    assert!(!screen(&s).contains("arrows scroll"));
}

#[test]
fn an_ascii_trend_draws_values_and_limits_apart() {
    let mut s = state();
    s.display.ascii = true;
    s.display.braille = false;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    let subject = json!({"reference": "Patient/p"});
    let k = |id: &str, day: u32, v: f64| {
        json!({"resourceType": "Observation", "id": id, "status": "final", "subject": subject,
               "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
               "effectiveDateTime": format!("2026-11-{day:02}T08:00:00Z"),
               "valueQuantity": {"value": v, "unit": "mmol/L"},
               "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.1}}]})
    };
    update(
        &mut s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(vec![k("a", 1, 3.9), k("b", 5, 6.2), k("c", 9, 4.4)]),
        }),
    );
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    key(&mut s, "t");
    let shown = screen(&s);
    assert!(shown.is_ascii(), "{shown}");
    // The limits are rows of `-` inside the plot; the values are `*`, never on those rows.
    let limit_rows: Vec<&str> = shown.lines().filter(|l| l.contains("|-----")).collect();
    assert_eq!(limit_rows.len(), 2, "{shown}");
    assert!(shown.matches('*').count() >= 3, "{shown}");
}

#[test]
fn a_restricted_record_stops_at_break_the_glass_and_leaves_the_cache() {
    let mut s = state();
    assert!(opening_as(&mut s, "physician"));
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Ok(restricted_patient("p")),
        }),
    );
    assert!(
        effects.contains(&Effect::EvictCached {
            patient_id: "p".into()
        }),
        "{effects:?}"
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { .. })),
        "nothing clinical is asked for: {effects:?}"
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.withheld, Some(true));
    assert!(!c.loading);
    assert!(matches!(
        s.overlay,
        Some(Overlay::Prompt {
            kind: PromptKind::BreakGlass,
            ..
        })
    ));
    // The glass broken: the chart loads, and is not kept on this terminal.
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::GlassBroken {
            context: 1,
            result: Ok(None),
        }),
    );
    assert!(effects.contains(&Effect::OpenChart {
        context: 1,
        patient_id: "p".into(),
        from_cache: true,
    }));
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Ok(restricted_patient("p")),
        }),
    );
    assert!(effects.contains(&Effect::LoadChartBody {
        context: 1,
        patient_id: "p".into(),
        keep: false,
    }));
    assert!(effects.contains(&Effect::EvictCached {
        patient_id: "p".into()
    }));
}

#[test]
fn a_restricted_record_leaves_the_cache_even_when_its_chart_was_closed() {
    let mut s = state();
    opening_as(&mut s, "physician");
    update(&mut s, Msg::Chart(ChartMsg::Open("q".into())));
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Ok(restricted_patient("p")),
        }),
    );
    assert_eq!(
        effects,
        vec![Effect::EvictCached {
            patient_id: "p".into()
        }]
    );
}

#[test]
fn an_ordinary_record_loads_and_is_kept_and_support_staff_see_demographics_only() {
    let mut s = state();
    opening_as(&mut s, "nurse");
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Ok(patient("p", "Doe")),
        }),
    );
    assert!(effects.contains(&Effect::LoadChartBody {
        context: 1,
        patient_id: "p".into(),
        keep: true,
    }));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::EvictCached { .. }))
    );
    // Support staff: nothing from the cache, and the glass before anything clinical.
    let mut s = state();
    assert!(!opening_as(&mut s, "support"));
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Ok(patient("p", "Doe")),
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { .. })),
        "{effects:?}"
    );
    assert_eq!(s.chart.as_ref().unwrap().withheld, Some(false));
}

#[test]
fn reloading_the_chart_keeps_the_place_under_a_new_context() {
    let mut s = state();
    open_chart(
        &mut s,
        vec![
            patient("p", "Doe"),
            obs("o1", 1),
            obs("o2", 2),
            obs("o3", 3),
        ],
    );
    key(&mut s, "j");
    let cursor = s.chart.as_ref().unwrap().cursor;
    assert!(cursor > 0);
    let effects = key(&mut s, "r");
    let c = s.chart.as_ref().unwrap();
    assert_eq!(
        c.context, 2,
        "a reload is a new context: late replies to the old one are dropped"
    );
    assert_eq!(c.cursor, cursor, "the place in the timeline is kept");
    assert!(
        effects.iter().any(|e| matches!(e,
            Effect::OpenChart { context: 2, patient_id, .. } if patient_id == "p")),
        "{effects:?}"
    );
}
