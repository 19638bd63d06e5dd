//! Keys: the keymap, chords, help, pop-ups and hints.

use super::*;

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
