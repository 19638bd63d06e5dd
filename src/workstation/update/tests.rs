//! Pure `update` tests: messages in, state out.

use super::*;
use crate::workstation::chart::read_patient;
use crate::workstation::client::FetchError;
use crate::workstation::features::help::help_entries;
use crate::workstation::keymap::Keymap;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::state::Display;
use crossterm::event::{KeyEvent, KeyEventState};
use ratatui::layout::Rect;
use serde_json::{Value, json};
use std::sync::Arc;

fn state() -> State {
    let display = Display {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        zone: chrono::FixedOffset::east_opt(0).unwrap(),
        ascii: false,
        braille: true,
        server: "http://test/fhir".into(),
    };
    State::new(
        display,
        Arc::new(Keymap::default_keymap()),
        Rect::new(0, 0, 80, 24),
        Vec::new(),
    )
}

fn key(s: &mut State, k: &str) -> Vec<Effect> {
    let key = Key::parse(k).unwrap();
    update(
        s,
        Msg::Key(KeyEvent {
            code: key.code,
            modifiers: key.mods,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }),
    )
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| key(s, &c.to_string())).collect()
}

/// Opens patient `p` (context 1) with `resources` as the whole chart.
fn open_chart(s: &mut State, resources: Vec<Value>) {
    update(s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        s,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(resources),
        }),
    );
    update(s, Msg::Chart(ChartMsg::Done { context: 1 }));
}

fn patient(id: &str, family: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "name": [{"family": family, "given": ["Jo"]}]})
}

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
fn quit_asks_first_from_anywhere() {
    let mut s = state();
    key(&mut s, "?");
    assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
    key(&mut s, "ctrl-c");
    assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
    key(&mut s, "n");
    assert!(!s.quit && s.overlay.is_none());
    key(&mut s, "ctrl-c");
    key(&mut s, "y");
    assert!(s.quit);
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

/// A state with the shipped catalog and knowledge loaded.
fn state_with_orders() -> State {
    use crate::workstation::orders::catalog::Catalog;
    use crate::workstation::orders::knowledge::Knowledge;
    let mut s = state();
    let (knowledge, _) = Knowledge::load(None);
    let (catalog, _) = Catalog::load(&knowledge, None);
    s.order_settings = Arc::new(crate::workstation::state::OrderSettings {
        catalog,
        knowledge,
        duplicate_window_ms: 86_400_000,
    });
    s
}

#[test]
fn the_composer_searches_the_whole_catalog_again_after_an_edit() {
    let mut s = state_with_orders();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    typed(&mut s, "o");
    let picks = |s: &State| {
        s.chart
            .as_ref()
            .unwrap()
            .orders
            .as_ref()
            .unwrap()
            .picks
            .len()
    };
    typed(&mut s, "amox");
    let direct = picks(&s);
    assert!(direct > 0);
    // Once the empty query left an empty pool, every later query found nothing.
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    typed(&mut s, "x");
    key(&mut s, "backspace");
    typed(&mut s, "amox");
    assert_eq!(picks(&s), direct);
    // A changed letter in the middle (not an extension) also searches afresh.
    key(&mut s, "backspace");
    key(&mut s, "backspace");
    typed(&mut s, "ox");
    assert_eq!(picks(&s), direct);
}

/// The screen for the state, as text.
fn screen(s: &State) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let theme = crate::workstation::theme::Theme::color();
    let mut t = Terminal::new(TestBackend::new(s.size.width, s.size.height)).unwrap();
    t.draw(|f| crate::workstation::view::view(s, &theme, f))
        .unwrap();
    let buffer = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn interactions_already_among_the_active_medications_are_shown() {
    let mut s = state_with_orders();
    s.size = Rect::new(0, 0, 120, 40);
    let subject = json!({"reference": "Patient/p"});
    let med = |id: &str, code: &str, name: &str| {
        json!({"resourceType": "MedicationRequest", "id": id, "status": "active",
               "intent": "order", "subject": subject, "authoredOn": "2026-11-01T08:00:00Z",
               "medicationCodeableConcept": {"text": name, "coding": [
                   {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}]}})
    };
    open_chart(
        &mut s,
        vec![
            med("m1", "11289", "warfarin"),
            med("m2", "5640", "ibuprofen"),
            json!({"resourceType": "AllergyIntolerance", "id": "n", "patient": subject,
                   "code": {"coding": [{"system": "http://snomed.info/sct", "code": "409137002"}]}}),
        ],
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.review.len(), 1);
    assert!(c.review[0].what.contains("warfarin with ibuprofen"));
    // On the summary...
    key(&mut s, "s");
    let summary = screen(&s);
    assert!(
        summary.contains("[HIGH] warfarin with ibuprofen"),
        "{summary}"
    );
    // ...and in the orders pane, which never says "No alerts" over it.
    key(&mut s, "esc");
    key(&mut s, "o");
    let orders = screen(&s);
    assert!(
        orders.contains("Among the active medications (1)"),
        "{orders}"
    );
    assert!(
        orders.contains("[HIGH] warfarin with ibuprofen"),
        "{orders}"
    );
    assert!(!orders.contains("No alerts"), "{orders}");
}

#[test]
fn orders_when_checks_cannot_run_must_be_acknowledged() {
    let mut s = state_with_orders();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Allergies {
            context: 1,
            result: Err(FetchError::Timeout(10)),
        }),
    );
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    typed(&mut s, "o");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Orders);
    typed(&mut s, "cbc");
    key(&mut s, "enter");
    typed(&mut s, "");
    // The reason field, then close the form.
    key(&mut s, "down");
    typed(&mut s, "anemia");
    key(&mut s, "enter");
    let o = s.chart.as_ref().unwrap().orders.as_ref().unwrap();
    assert!(
        o.checks_error
            .as_deref()
            .unwrap()
            .contains("could not be loaded")
    );
    key(&mut s, "s");
    assert_eq!(s.overlay, Some(Overlay::AckChecks));
    typed(&mut s, "y");
    assert_eq!(s.overlay, Some(Overlay::ConfirmOrders));
    // Signing is not one `y`: the signer's password, checked by the server, comes first.
    let effects = typed(&mut s, "y");
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(s.overlay, Some(Overlay::Signature { .. })));
    let effects = typed(&mut s, "wrong pw");
    assert!(effects.is_empty());
    let effects = key(&mut s, "enter");
    assert!(matches!(
        effects.as_slice(),
        [Effect::CheckSignature { context: 1, target: SignTarget::Orders, secret, .. }]
            if secret.expose() == "wrong pw"
    ));
    // Keys wait while the server checks; a refusal says so and signs nothing.
    assert!(typed(&mut s, "zz").is_empty());
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 1,
            target: SignTarget::Orders,
            result: Err(FetchError::SignatureRefused(
                "the signature code is not right".into(),
            )),
        }),
    );
    assert!(effects.is_empty());
    match &s.overlay {
        Some(Overlay::Signature {
            error: Some(e),
            input,
            checking: false,
            ..
        }) => {
            assert!(e.contains("not right"));
            assert!(input.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // A late answer for another chart signs nothing.
    typed(&mut s, "correct");
    key(&mut s, "enter");
    let late = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 99,
            target: SignTarget::Orders,
            result: Ok(false),
        }),
    );
    assert!(late.is_empty());
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignatureChecked {
            context: 1,
            target: SignTarget::Orders,
            result: Ok(false),
        }),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SignOrders { context: 1, .. }))
    );
    assert_eq!(s.overlay, None);
}

#[test]
fn a_site_that_signs_orders_only_saves_notes_on_y() {
    use crate::config::{Signing, signing};
    // The site's rule binds: a user cannot turn signing off.
    assert_eq!(
        signing(Some(Signing::Orders), Some(Signing::None)),
        Signing::Orders
    );
    assert_eq!(signing(None, None), Signing::NotesAndOrders);
    assert_eq!(
        signing(Some(Signing::None), Some(Signing::NotesAndOrders)),
        Signing::NotesAndOrders
    );
    let mut s = state();
    s.access.signing = Signing::Orders;
    s.overlay = Some(Overlay::ConfirmOrders);
    key(&mut s, "y");
    assert!(matches!(s.overlay, Some(Overlay::Signature { .. })));
    s.overlay = Some(Overlay::ConfirmSign {
        status: crate::workstation::notes::document::DocStatus::Final,
    });
    key(&mut s, "y");
    assert_eq!(s.overlay, None, "notes are signed on y at this site");
}

#[test]
fn idle_lock_hides_the_chart_and_the_password_unlocks() {
    let mut s = state();
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: Some("pr1".into()),
    });
    s.access.idle_ms = 300_000;
    s.now_ms = 1_000_000;
    s.access.last_input_ms = s.now_ms;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    // Not yet idle long enough.
    s.now_ms += 299_000;
    update(&mut s, Msg::Access(AccessMsg::IdleCheck));
    assert!(s.access.form.is_none());
    s.now_ms += 1_000;
    update(&mut s, Msg::Access(AccessMsg::IdleCheck));
    let form = s.access.form.clone().expect("locked");
    assert_eq!(form.mode, FormMode::Unlock);
    assert_eq!(form.username, "ada");
    // Keys go to the form, not the chart.
    typed(&mut s, "q");
    assert_eq!(s.screen, Screen::Chart);
    assert_eq!(s.access.form.as_ref().unwrap().password, "q");
    key(&mut s, "backspace");
    typed(&mut s, "secret");
    let effects = key(&mut s, "enter");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Login { password, .. } if password.expose() == "secret"))
    );
    let user = crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: Some("pr1".into()),
    };
    update(&mut s, Msg::Access(AccessMsg::SignedIn(Ok(user))));
    assert!(s.access.form.is_none());
    assert!(s.chart.is_some(), "the same user finds the chart as it was");
    assert_eq!(
        s.notes.author_reference.as_deref(),
        Some("Practitioner/pr1")
    );
    // Ctrl-L locks at once.
    key(&mut s, "ctrl-l");
    assert!(s.access.form.is_some());
}

#[test]
fn an_expired_token_locks_for_a_new_sign_in() {
    let mut s = state();
    s.access.signed_in = true;
    let generation = s.search.generation;
    update(
        &mut s,
        Msg::Search(SearchMsg::Done {
            generation,
            result: Err(FetchError::Unauthorized(401)),
        }),
    );
    let form = s.access.form.as_ref().expect("locked");
    assert!(form.error.as_deref().unwrap().contains("expired"));
}

fn obs(id: &str, day: u32) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "subject": {"reference": "Patient/p"}, "code": {"text": format!("Test {id}")},
           "effectiveDateTime": format!("2026-10-{day:02}T10:00:00Z"),
           "valueQuantity": {"value": day, "unit": "u"}})
}

#[test]
fn a_cached_chart_shows_at_once_and_merges_without_moving_the_cursor() {
    let mut s = state();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    let mut cached = vec![patient("p", "Cached")];
    cached.extend((1..=20).map(|d| obs(&format!("o{d}"), d)));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: cached.clone(),
            fetched_ms: 1_000,
        }),
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.cached, Some(1_000));
    assert_eq!(c.chart.timeline.len(), 20);
    // The user moves to the 5th newest item (o16).
    for _ in 0..4 {
        key(&mut s, "j");
    }
    let c = s.chart.as_ref().unwrap();
    let selected = c.chart.source_of(c.selected_target().unwrap()).unwrap();
    assert_eq!(selected, "Observation/o16");
    let row = c.cursor - c.scroll;
    // The server's changes: two newer results and a corrected older one.
    let mut merged = cached;
    merged.push(obs("o21", 21));
    merged.push(obs("o22", 22));
    merged[3]["valueQuantity"]["value"] = json!(99);
    update(
        &mut s,
        Msg::Chart(ChartMsg::Merged {
            context: 1,
            resources: merged,
        }),
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.cached, None);
    assert_eq!(c.chart.timeline.len(), 22);
    assert_eq!(
        c.chart.source_of(c.selected_target().unwrap()).unwrap(),
        "Observation/o16",
        "the same item stays selected"
    );
    assert_eq!(c.cursor - c.scroll, row, "on the same screen line");
    assert!(c.chart.obs.iter().any(|o| o.number == Some(99.0)));
}

#[test]
fn offline_keeps_the_cached_mark_probes_and_coming_back_flushes() {
    let mut s = state();
    s.storage.enabled = true;
    s.storage.open = true;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: vec![patient("p", "Cached"), obs("o1", 1)],
            fetched_ms: 1,
        }),
    );
    let effects = update(&mut s, Msg::Offline(OfflineMsg::Connectivity(false)));
    assert!(effects.contains(&Effect::Probe), "asks again later");
    assert!(s.storage.offline());
    // A second offline signal does not start a second probe.
    assert!(update(&mut s, Msg::Offline(OfflineMsg::Connectivity(false))).is_empty());
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    assert_eq!(s.chart.as_ref().unwrap().cached, Some(1), "still marked");
    // The probe says no: it asks again.
    assert!(update(&mut s, Msg::Offline(OfflineMsg::Probed(false))).contains(&Effect::Probe));
    // The probe says yes: the outbox is flushed and the cached chart refreshed.
    let effects = update(&mut s, Msg::Offline(OfflineMsg::Probed(true)));
    assert!(!s.storage.offline());
    assert!(effects.contains(&Effect::FlushOutbox));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { context: 1, .. }))
    );
}

#[test]
fn locking_closes_the_vault_after_saving_the_note() {
    let mut s = state();
    s.storage.enabled = true;
    s.storage.open = true;
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "u".into(),
        name: "U".into(),
        role: "physician".into(),
        practitioner: None,
    });
    let effects = key(&mut s, "ctrl-l");
    assert_eq!(effects, vec![Effect::CloseVault]);
    assert!(!s.storage.open);
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Unlock);
    // A token user (no sign-in) unlocks with the passphrase.
    let mut s = state();
    s.storage.enabled = true;
    s.access.signed_in = true;
    key(&mut s, "ctrl-l");
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Passphrase);
    typed(&mut s, "short");
    let effects = key(&mut s, "enter");
    assert!(effects.is_empty());
    assert!(s.access.form.as_ref().unwrap().error.is_some());
    typed(&mut s, " enough");
    let effects = key(&mut s, "enter");
    assert_eq!(
        effects,
        vec![Effect::OpenVault {
            secret: "short enough".into()
        }]
    );
}

#[test]
fn a_chord_waits_for_its_next_key_and_esc_or_a_stray_key_cancels_it() {
    let mut s = state();
    s.keymap = Arc::new(Keymap::shipped("vim").unwrap());
    // In the result list (not the query field), `g g` goes to the top.
    s.search.rows = (0..5)
        .map(|i| Row {
            patient: read_patient(&patient(&format!("p{i}"), "SMITH")).unwrap(),
            matched: Vec::new(),
            location: None,
        })
        .collect();
    s.search.query = "smith".into();
    s.search.focus = SearchFocus::List;
    s.search.cursor = 3;
    key(&mut s, "g");
    assert_eq!(s.chord.len(), 1, "g waits");
    assert_eq!(s.search.query, "smith", "and is not typed");
    key(&mut s, "g");
    assert!(s.chord.is_empty());
    assert_eq!(s.search.cursor, 0);
    // A key that ends no chord cancels it and says so; it is not typed either.
    key(&mut s, "g");
    key(&mut s, "x");
    assert!(s.chord.is_empty());
    assert_eq!(s.search.query, "smith");
    assert!(s.notice.as_ref().unwrap().text.contains("g x is not bound"));
    key(&mut s, "g");
    key(&mut s, "esc");
    assert!(s.chord.is_empty());
    assert_eq!(s.screen, Screen::Search, "Esc only cancelled the chord");
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
fn a_one_time_password_is_replaced_at_sign_in() {
    use crate::workstation::client::LoginError;
    let mut s = state();
    s.access.form = Some(SignInForm::new(FormMode::SignIn, ""));
    typed(&mut s, "newdoc");
    key(&mut s, "tab");
    typed(&mut s, "abcde-fghjk");
    let effects = key(&mut s, "enter");
    assert!(effects.iter().any(|e| matches!(e, Effect::Login { .. })));
    update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::MustChange(
            "one-time".into(),
        )))),
    );
    let form = s.access.form.clone().expect("still signing in");
    assert_eq!(form.mode, FormMode::NewPassword);
    assert!(
        form.error
            .as_deref()
            .unwrap_or_default()
            .contains("one-time")
    );
    // Typed twice; a mismatch is caught here, before the server is asked.
    typed(&mut s, "lantern orchard quietly");
    key(&mut s, "tab");
    typed(&mut s, "lantern orchard quiet");
    assert!(key(&mut s, "enter").is_empty());
    let form = s.access.form.clone().unwrap();
    assert!(form.error.unwrap().contains("differ"));
    typed(&mut s, "lantern orchard quietly");
    let effects = key(&mut s, "enter");
    let change = effects.iter().find_map(|e| match e {
        Effect::ChangePassword {
            username,
            current,
            new,
            ..
        } => Some((
            username.clone(),
            current.expose().to_string(),
            new.expose().to_string(),
        )),
        _ => None,
    });
    assert_eq!(
        change,
        Some((
            "newdoc".to_string(),
            "abcde-fghjk".to_string(),
            "lantern orchard quietly".to_string()
        ))
    );
    // Refused by the policy: the reason shows and the user chooses again.
    update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Refused(
            "on the list".into(),
        )))),
    );
    let form = s.access.form.clone().unwrap();
    assert_eq!(form.mode, FormMode::NewPassword);
    assert_eq!(form.error.as_deref(), Some("on the list"));
    assert!(form.password.is_empty() && form.confirm.is_empty());
    assert_eq!(form.current, "abcde-fghjk");
    // The form says what it is for, and never shows the password, at 80x24 and on a 40x10.
    typed(&mut s, "secret words here");
    let theme = crate::workstation::theme::Theme::color();
    for (w, h) in [(80, 24), (40, 10)] {
        s.size = Rect::new(0, 0, w, h);
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        t.draw(|f| crate::workstation::view::view(&s, &theme, f))
            .unwrap();
        let screen: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(!screen.contains("secret"), "{screen}");
        if w == 80 {
            assert!(screen.contains("choose your password"), "{screen}");
            assert!(screen.contains("one-time password"), "{screen}");
        }
    }
}

#[test]
fn long_messages_are_never_cut_and_messages_lists_them() {
    let mut s = state();
    s.now_ms = 1_700_000_000_000;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    // Every message set through update lands in the session's list.
    key(&mut s, "d");
    typed(&mut s, "not a date at all");
    key(&mut s, "enter");
    assert!(s.notice.is_some());
    assert!(
        s.messages
            .iter()
            .any(|(_, _, t)| t.contains("is not a date"))
    );
    // A message longer than the line is shown whole, wrapped above the status line.
    let long = "the server cannot be reached: NOTHING was ordered. The basket stays unsigned; \
                sign it when the server is back (orders are never sent later on their own)";
    s.notice = Some(Notice {
        level: Level::Warning,
        text: long.into(),
    });
    s.messages
        .push_back((s.now_ms, Level::Warning, long.into()));
    let shown = screen(&s);
    let flat: String = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("orders are never sent later on their own)"),
        "{shown}"
    );
    assert!(shown.contains("message above"), "{shown}");
    // :messages lists the session's messages in full.
    s.notice = None;
    typed(&mut s, ":messages");
    key(&mut s, "enter");
    assert!(
        matches!(s.overlay, Some(Overlay::Messages { .. })),
        "{:?}",
        s.overlay
    );
    let shown = screen(&s);
    let flat: String = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("is not a date"), "{shown}");
    assert!(flat.contains("NOTHING was ordered"), "{shown}");
}

#[test]
fn help_search_finds_the_order_key() {
    let k = Keymap::default_keymap();
    for context in [Context::Timeline, Context::Chart] {
        let found = help_entries(&k, context, "order");
        assert!(
            found.iter().any(|(a, _)| *a == Action::OpenOrders),
            "{context:?}: {found:?}"
        );
        // The best match first: the key that opens orders, before everything with an o in it.
        assert_eq!(
            found.first().map(|(a, _)| *a),
            Some(Action::OpenOrders),
            "{found:?}"
        );
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
fn fields_take_the_line_editing_keys() {
    let mut s = state();
    // The search field: Home (or Ctrl-A) and typing at the cursor, End, Ctrl-W, Ctrl-U.
    typed(&mut s, "mith john");
    key(&mut s, "home");
    typed(&mut s, "S");
    assert_eq!(s.search.query, "Smith john");
    key(&mut s, "ctrl-e");
    typed(&mut s, "!");
    assert_eq!(s.search.query, "Smith john!");
    key(&mut s, "ctrl-w");
    assert_eq!(s.search.query, "Smith ");
    key(&mut s, "ctrl-a");
    key(&mut s, "delete");
    assert_eq!(s.search.query, "mith ");
    key(&mut s, "end");
    key(&mut s, "ctrl-u");
    assert_eq!(s.search.query, "");
    // A prompt: the cursor is its own (it starts at the end of the new field).
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    key(&mut s, "ctrl-f");
    typed(&mut s, "potasium");
    key(&mut s, "left");
    key(&mut s, "left");
    key(&mut s, "left");
    typed(&mut s, "s");
    match &s.overlay {
        Some(Overlay::Prompt { input, .. }) => assert_eq!(input, "potassium"),
        other => panic!("{other:?}"),
    }
    key(&mut s, "esc");
    assert_eq!(s.field_cursor, None);
    // The palette's input: Ctrl-W and Ctrl-U (Home and End move its list).
    key(&mut s, ":");
    typed(&mut s, "theme mo");
    key(&mut s, "ctrl-w");
    match &s.overlay {
        Some(Overlay::Palette { input, .. }) => assert_eq!(input, "theme "),
        other => panic!("{other:?}"),
    }
    key(&mut s, "ctrl-u");
    assert!(matches!(&s.overlay, Some(Overlay::Palette { input, .. }) if input.is_empty()));
}

/// A chart with a signed note on its way to the server: the `SendNote` effect's parts.
fn sending_a_note(s: &mut State) -> (u64, Box<Draft>, DocStatus, Value) {
    s.storage.enabled = true;
    s.storage.open = true;
    s.notes = Arc::new(NoteSettings {
        templates: crate::workstation::notes::templates(None).0,
        ..Default::default()
    });
    open_chart(s, vec![patient("p", "Doe")]);
    let mut effects = Vec::new();
    notes::create_note(s, 0, None, &mut effects);
    effects.clear();
    notes::confirm_send(s, DocStatus::Final, &mut effects);
    let sent = effects.into_iter().find_map(|e| match e {
        Effect::SendNote {
            context,
            draft,
            status,
            author,
        } => Some((context, draft, status, author)),
        _ => None,
    });
    sent.expect("signing sends the note")
}

#[test]
fn a_note_the_server_did_not_get_goes_to_the_outbox_even_after_its_chart_closed() {
    for close_first in [false, true] {
        let mut s = state();
        let (context, draft, status, author) = sending_a_note(&mut s);
        if close_first {
            s.chart = None;
        }
        let effects = update(
            &mut s,
            Msg::Note(NoteMsg::Sent {
                context,
                draft: draft.clone(),
                status,
                author: author.clone(),
                result: Err(FetchError::Timeout(30)),
            }),
        );
        // `update` decides: into the outbox, and the terminal now knows it is offline.
        assert!(
            effects.contains(&Effect::QueueNote {
                context,
                draft,
                status,
                author
            }),
            "{effects:?}"
        );
        assert!(s.storage.offline());
    }
}

#[test]
fn a_note_the_server_refused_stays_in_the_editor_and_is_not_queued() {
    let mut s = state();
    let (context, draft, status, author) = sending_a_note(&mut s);
    let effects = update(
        &mut s,
        Msg::Note(NoteMsg::Sent {
            context,
            draft,
            status,
            author,
            result: Err(FetchError::Forbidden("no".into())),
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::QueueNote { .. } | Effect::DeleteDraft(_))),
        "{effects:?}"
    );
    assert!(!s.storage.offline());
    let note = s.chart.as_ref().and_then(|c| c.note.as_ref()).unwrap();
    assert!(note.sending.is_none() && note.error.is_some());
}

/// A sign-in form with `username` and `password` submitted: the effects of Enter.
fn signing_in(s: &mut State, mode: FormMode, username: &str, password: &str) -> Vec<Effect> {
    s.access.form = Some(SignInForm::new(mode, ""));
    if mode == FormMode::SignIn {
        typed(s, username);
        key(s, "tab");
    } else if let Some(form) = &mut s.access.form {
        form.username = username.into();
        form.field = 1;
    }
    typed(s, password);
    key(s, "enter")
}

#[test]
fn a_sign_in_the_server_did_not_answer_is_checked_on_this_terminal() {
    use crate::workstation::client::LoginError;
    let unreachable = FetchError::Unreachable("connection refused".into());
    let mut s = state();
    s.storage.enabled = true;
    let effects = signing_in(&mut s, FormMode::SignIn, "Doc", "lantern orchard");
    assert!(effects.iter().any(|e| matches!(e, Effect::Login { .. })));
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            unreachable.clone(),
        )))),
    );
    assert_eq!(
        effects,
        vec![Effect::OpenOffline {
            username: "doc".into(),
            password: "lantern orchard".into(),
            same_user: false,
            unreachable: unreachable.clone(),
        }]
    );
    let form = s.access.form.as_ref().expect("still signing in");
    assert!(form.busy && form.current.is_empty() && form.error.is_none());

    // Unlocking for the user already signed in keeps their token.
    let mut s = state();
    s.storage.enabled = true;
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "doc".into(),
        name: "Doc".into(),
        role: "physician".into(),
        practitioner: None,
    });
    signing_in(&mut s, FormMode::Unlock, "doc", "lantern orchard");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            FetchError::Timeout(10),
        )))),
    );
    assert!(
        matches!(
            &effects[..],
            [Effect::OpenOffline {
                same_user: true,
                ..
            }]
        ),
        "{effects:?}"
    );
}

#[test]
fn a_sign_in_is_not_tried_offline_when_refused_or_when_nothing_is_kept_here() {
    use crate::workstation::client::LoginError;
    // Nothing kept on this terminal: the failure is shown, nothing else is tried.
    let mut s = state();
    signing_in(&mut s, FormMode::SignIn, "doc", "lantern orchard");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Fetch(
            FetchError::Unreachable("x".into()),
        )))),
    );
    assert!(effects.is_empty(), "{effects:?}");
    let form = s.access.form.as_ref().unwrap();
    assert!(!form.busy && form.error.as_deref().unwrap().contains("cannot reach"));
    // The server answered no: a refusal is never retried against the key file.
    let mut s = state();
    s.storage.enabled = true;
    signing_in(&mut s, FormMode::SignIn, "doc", "wrong password");
    let effects = update(
        &mut s,
        Msg::Access(AccessMsg::SignedIn(Err(LoginError::Refused(
            "wrong username or password".into(),
        )))),
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert!(!s.access.form.as_ref().unwrap().busy);
}

fn restricted_patient(id: &str) -> Value {
    let mut p = patient(id, "Hidden");
    p["meta"] = json!({"security": [crate::fhir::restricted_label()]});
    p
}

/// Opens patient `p` as `role` and returns the `OpenChart` effect's `from_cache`.
fn opening_as(s: &mut State, role: &str) -> bool {
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "u".into(),
        name: "U".into(),
        role: role.into(),
        practitioner: None,
    });
    let effects = update(s, Msg::Chart(ChartMsg::Open("p".into())));
    effects
        .iter()
        .find_map(|e| match e {
            Effect::OpenChart { from_cache, .. } => Some(*from_cache),
            _ => None,
        })
        .expect("opening a patient opens the chart")
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
fn offline_a_cached_chart_stays_without_an_error_and_nothing_more_is_loaded() {
    let mut s = state();
    opening_as(&mut s, "physician");
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: vec![patient("p", "Doe")],
            fetched_ms: 1,
        }),
    );
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Err(FetchError::Unreachable("no route".into())),
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { .. })),
        "{effects:?}"
    );
    assert!(s.storage.offline());
    let c = s.chart.as_ref().unwrap();
    assert!(c.error.is_none() && !c.loading && c.cached == Some(1));
    // Without a cached copy the failure is shown, and the rest is still tried.
    let mut s = state();
    opening_as(&mut s, "physician");
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Err(FetchError::Unreachable("no route".into())),
        }),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { keep: true, .. })),
        "{effects:?}"
    );
    assert!(s.chart.as_ref().unwrap().error.is_some());
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

#[test]
fn secrets_and_note_text_never_print_by_debug() {
    let mut s = state();
    s.notes = Arc::new(NoteSettings {
        templates: crate::workstation::notes::templates(None).0,
        ..Default::default()
    });
    open_chart(&mut s, vec![patient("p", "Doe")]);
    let mut effects = Vec::new();
    notes::create_note(&mut s, 0, None, &mut effects);
    typed(&mut s, "confides-a-secret");
    let note = format!(
        "{:?}",
        s.chart.as_ref().and_then(|c| c.note.as_ref()).unwrap()
    );
    let mut form = SignInForm::new(FormMode::SignIn, "doc");
    form.password = "hunter2-password".into();
    form.code = "123456".into();
    form.current = "one-time-pass".into();
    let client = crate::workstation::client::FhirClient::new(
        "http://127.0.0.1:9/fhir",
        Some("tok-en-xyz".into()),
    )
    .unwrap();
    let login = Effect::Login {
        username: "doc".into(),
        password: "hunter2-password".into(),
        code: Some("123456".into()),
        replace: false,
    };
    let sign = Overlay::Signature {
        target: SignTarget::Orders,
        input: "hunter2-password".into(),
        error: None,
        checking: false,
    };
    let printed = format!("{note} {form:?} {client:?} {login:?} {sign:?} {effects:?}");
    for secret in [
        "confides-a-secret",
        "hunter2",
        "123456",
        "one-time-pass",
        "tok-en-xyz",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

/// A keymap with the user's file merged over the default one.
fn with_keymap(s: &mut State, user: &str) {
    let mut k = Keymap::default_keymap();
    k.merge(user, "keymap.toml");
    assert!(k.problems.is_empty(), "{:?}", k.problems);
    s.keymap = Arc::new(k);
}

#[test]
fn the_sign_in_form_takes_its_keys_and_hints_from_the_keymap() {
    let mut s = state();
    with_keymap(
        &mut s,
        "[form]\n\"enter\" = \"none\"\n\"ctrl-j\" = \"submit\"\n\"tab\" = \"none\"\n\"f4\" = \"next_field\"\n",
    );
    s.access.signed_in = true;
    s.access.user = Some(crate::workstation::client::SignedIn {
        username: "ada".into(),
        name: "Dr Ada".into(),
        role: "physician".into(),
        practitioner: None,
    });
    key(&mut s, "ctrl-l");
    assert_eq!(s.access.form.as_ref().unwrap().mode, FormMode::Unlock);
    typed(&mut s, "secret");
    assert!(key(&mut s, "enter").is_empty(), "Enter is unbound here");
    let shown = screen(&s);
    assert!(shown.contains("Ctrl-j unlock"), "{shown}");
    assert!(!shown.contains("Enter unlock"), "{shown}");
    let effects = key(&mut s, "ctrl-j");
    assert!(
        matches!(&effects[..], [Effect::Login { .. }]),
        "{effects:?}"
    );

    // A new sign-in: the next-field key is the user's, and the hint says so.
    let mut s = state();
    with_keymap(
        &mut s,
        "[form]\n\"tab\" = \"none\"\n\"down\" = \"none\"\n\"f4\" = \"next_field\"\n",
    );
    s.access.form = Some(SignInForm::new(FormMode::SignIn, ""));
    typed(&mut s, "ada");
    key(&mut s, "tab");
    assert_eq!(s.access.form.as_ref().unwrap().field, 0, "Tab is unbound");
    assert!(screen(&s).contains("F4 next field"));
    key(&mut s, "f4");
    assert_eq!(s.access.form.as_ref().unwrap().field, 1);
}

#[test]
fn questions_show_the_dialog_keys_of_the_keymap_in_use() {
    let mut s = state();
    with_keymap(&mut s, "[dialogs]\n\"y\" = \"none\"\n\"o\" = \"confirm\"\n");
    key(&mut s, "ctrl-c");
    assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
    let shown = screen(&s);
    assert!(shown.contains("o yes"), "{shown}");
    assert!(!shown.contains("y yes"), "{shown}");
    key(&mut s, "y");
    assert!(!s.quit, "y is unbound in this keymap");
    key(&mut s, "o");
    assert!(s.quit);
}

#[test]
fn the_note_editor_takes_its_commands_from_the_keymap() {
    let mut s = state();
    with_keymap(
        &mut s,
        "[editor]\n\"ctrl-z\" = \"none\"\n\"ctrl-u\" = \"undo\"\n\"esc\" = \"none\"\n\"ctrl-g\" = \"back\"\n",
    );
    s.notes = Arc::new(NoteSettings {
        templates: crate::workstation::notes::templates(None).0,
        ..Default::default()
    });
    open_chart(&mut s, vec![patient("p", "Doe")]);
    let mut effects = Vec::new();
    notes::create_note(&mut s, 0, None, &mut effects);
    let text = |s: &State| {
        s.chart
            .as_ref()
            .unwrap()
            .note
            .as_ref()
            .unwrap()
            .editor
            .text()
    };
    let before = text(&s);
    typed(&mut s, "xyz");
    assert_ne!(text(&s), before);
    key(&mut s, "ctrl-z");
    assert!(
        text(&s).contains("xyz"),
        "ctrl-z is unbound: nothing undone"
    );
    key(&mut s, "ctrl-u");
    assert_eq!(text(&s), before, "the user's undo key undoes");
    let shown = screen(&s);
    assert!(shown.contains("Ctrl-g: commands"), "{shown}");
    key(&mut s, "esc");
    let mode = |s: &State| s.chart.as_ref().unwrap().note.as_ref().unwrap().mode;
    assert_eq!(mode(&s), NoteMode::Editing, "Esc is unbound");
    key(&mut s, "ctrl-g");
    assert_eq!(mode(&s), NoteMode::Command);
}

#[test]
fn hints_under_the_vista_and_vim_keymaps_name_their_own_keys() {
    let vista = Keymap::shipped("vista").unwrap();
    assert_eq!(vista.hint(Context::Orders, Action::SignOrders), "S G");
    assert_eq!(vista.hint(Context::Note, Action::CloseNote), "Esc");
    assert_eq!(vista.hint(Context::Chart, Action::BreakGlass), "B G");
    let vim = Keymap::shipped("vim").unwrap();
    assert_eq!(vim.hint(Context::Note, Action::SignNote), "s");
    assert_eq!(vim.hint(Context::Dialogs, Action::Back), "Esc");
    // An action with no key is run from the palette.
    let mut k = Keymap::default_keymap();
    k.merge("[global]\n\"f3\" = \"none\"\n", "keymap.toml");
    assert_eq!(k.hint(Context::Global, Action::ShowOutbox), ":show_outbox");

    // The orders pane under vista: the basket's title names vista's sign key.
    let mut s = state();
    s.keymap = Arc::new(vista);
    open_chart(&mut s, vec![patient("p", "Doe")]);
    key(&mut s, "a");
    key(&mut s, "d");
    assert_eq!(s.chart.as_ref().unwrap().view, ChartView::Orders);
    let shown = screen(&s);
    assert!(shown.contains("S G signs"), "{shown}");
}
