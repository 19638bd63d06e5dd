use super::*;

#[test]
fn default_keymap_loads_cleanly_and_binds_the_core_keys() {
    let k = Keymap::default_keymap();
    assert!(k.problems.is_empty(), "{:?}", k.problems);
    let key = |s: &str| Key::parse(s).unwrap();
    assert_eq!(
        k.lookup(Context::Chart, key("/")),
        Some(Action::SearchPatients)
    );
    assert_eq!(k.lookup(Context::Chart, key("G")), Some(Action::GoBottom));
    assert_eq!(
        k.lookup(Context::Chart, key("shift-tab")),
        Some(Action::PreviousPane)
    );
    assert_eq!(k.lookup(Context::Search, key("q")), Some(Action::Quit));
    assert_eq!(k.lookup(Context::Chart, key("q")), Some(Action::CloseChart));
    assert_eq!(k.lookup(Context::Chart, key("ctrl-c")), Some(Action::Quit));
}

#[test]
fn shifted_letters_and_ctrl_letters_normalise() {
    let g = Key::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(g, Key::parse("G").unwrap());
    let c = Key::new(KeyCode::Char('C'), KeyModifiers::CONTROL);
    assert_eq!(c, Key::parse("ctrl-c").unwrap());
    assert_eq!(Key::parse("ctrl-c").unwrap().to_string(), "Ctrl-c");
}

#[test]
fn user_overrides_merge_and_problems_are_reported() {
    let mut k = Keymap::default_keymap();
    k.merge(
        "[chart]\n\"x\" = \"show_trend\"\n\"t\" = \"none\"\n\"zz\" = \"quit\"\n\"y\" = \"fly\"\n[nope]\n",
        "user.toml",
    );
    assert_eq!(
        k.lookup(Context::Chart, Key::parse("x").unwrap()),
        Some(Action::ShowTrend)
    );
    assert_eq!(k.lookup(Context::Chart, Key::parse("t").unwrap()), None);
    assert_eq!(k.problems.len(), 3, "{:?}", k.problems);
    let mut bad = Keymap::default_keymap();
    bad.merge("[chart", "broken.toml");
    assert_eq!(bad.problems.len(), 1);
    assert_eq!(
        bad.lookup(Context::Chart, Key::parse("j").unwrap()),
        Some(Action::MoveDown)
    );
}

#[test]
fn vista_mnemonics_work_as_documented_in_capitals() {
    let k = Keymap::shipped("vista").unwrap();
    let chord = |s: &str| -> Vec<Key> { s.split(' ').map(|x| Key::parse(x).unwrap()).collect() };
    for (typed, action) in [
        ("N W", Action::NewNote),
        ("n w", Action::NewNote),
        ("C P", Action::SearchPatients),
        ("C V", Action::ToggleSummary),
    ] {
        assert_eq!(
            k.lookup_chord(Context::Chart, &chord(typed)),
            Lookup::Action(action),
            "{typed}"
        );
    }
}

/// Fails on any conflict in a shipped keymap: a bad key or action, a duplicate, a key
/// that also starts a chord, a context with no way out.
#[test]
fn shipped_keymaps_have_no_conflicts_and_reach_every_action() {
    for name in Keymap::shipped_names() {
        let k = Keymap::shipped(name).unwrap();
        assert!(k.problems.is_empty(), "{name}: {:#?}", k.problems);
        for ctx in Context::ALL {
            assert!(k.has_exit(ctx), "{name}: [{}] has no way out", ctx.name());
            let own = k.bindings.get(&ctx).cloned().unwrap_or_default();
            for other_ctx in ctx.chain() {
                for a in own.keys() {
                    for b in k
                        .bindings
                        .get(&other_ctx)
                        .into_iter()
                        .flatten()
                        .map(|(c, _)| c)
                    {
                        assert!(
                            !a.starts(b),
                            "{name}: {a} in [{}] starts {b} in [{}]",
                            ctx.name(),
                            other_ctx.name()
                        );
                        assert!(
                            !b.starts(a),
                            "{name}: {b} in [{}] starts {a} in [{}]",
                            other_ctx.name(),
                            ctx.name()
                        );
                    }
                }
            }
        }
        for a in Action::ALL {
            assert!(
                !k.contexts_of(*a).is_empty(),
                "{name}: {} has no key",
                a.name()
            );
        }
    }
}

#[test]
fn chords_wait_for_their_next_key() {
    let k = Keymap::shipped("vim").unwrap();
    let key = |s: &str| Key::parse(s).unwrap();
    assert_eq!(k.lookup_chord(Context::Chart, &[key("g")]), Lookup::Pending);
    assert_eq!(
        k.lookup_chord(Context::Chart, &[key("g"), key("o")]),
        Lookup::Action(Action::OpenOrders)
    );
    assert_eq!(
        k.lookup_chord(Context::Timeline, &[key("g"), key("d")]),
        Lookup::Action(Action::JumpToDate)
    );
    // The timeline falls back to the chart's chords.
    assert_eq!(
        k.lookup_chord(Context::Timeline, &[key("g"), key("g")]),
        Lookup::Action(Action::GoTop)
    );
    assert_eq!(
        k.lookup_chord(Context::Chart, &[key("g"), key("x")]),
        Lookup::Unbound
    );
    let next: Vec<String> = k
        .continuations(Context::Timeline, &[key("g")])
        .iter()
        .map(|(c, _)| c.to_string())
        .collect();
    assert!(next.contains(&"t".to_string()) && next.contains(&"o".to_string()));
    assert_eq!(Chord::parse("ctrl-w w").unwrap().to_string(), "Ctrl-w w");
}

fn messages(k: &Keymap) -> Vec<String> {
    k.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn a_key_cannot_be_both_bound_and_a_chord_prefix() {
    let mut k = Keymap::default_keymap();
    k.merge("[chart]\n\"g o\" = \"open_orders\"\n", "k.toml");
    let m = messages(&k);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with(
            "k.toml:2: [chart] \"g o\" (open_orders) conflicts with \"g\" (go_top) in [chart]"
        ),
        "{m:?}"
    );
    // The defaults stay for that part.
    assert_eq!(
        k.lookup(Context::Chart, Key::parse("g").unwrap()),
        Some(Action::GoTop)
    );
    // Unbinding the key first makes the chord fine.
    let mut k = Keymap::default_keymap();
    k.merge(
        "[chart]\n\"g\" = \"none\"\n\"g o\" = \"open_orders\"\n",
        "k.toml",
    );
    assert!(k.problems.is_empty(), "{:?}", k.problems);
}

#[test]
fn duplicates_clear_and_no_way_out() {
    let mut k = Keymap::default_keymap();
    k.merge(
        "[chart]\n\"G\" = \"go_top\"\n\"shift-g\" = \"go_bottom\"\n",
        "k.toml",
    );
    let m = messages(&k);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("k.toml:3: [chart] \"shift-g\" is the same key as \"G\" on line 2"),
        "{m:?}"
    );
    assert_eq!(
        k.lookup(Context::Chart, Key::parse("G").unwrap()),
        Some(Action::GoTop)
    );

    let mut k = Keymap::default_keymap();
    k.merge(
        "clear = [\"dialogs\"]\n[dialogs]\n\"y\" = \"confirm\"\n",
        "k.toml",
    );
    let m = messages(&k);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with(
            "k.toml:1: [dialogs] has no way out: no key for back; its previous bindings are used"
        ),
        "{m:?}"
    );
    assert_eq!(
        k.lookup(Context::Dialogs, Key::parse("esc").unwrap()),
        Some(Action::Back)
    );

    let mut k = Keymap::default_keymap();
    k.merge(
        "clear = [\"orders\"]\n[orders]\n\"x\" = \"back\"\n",
        "k.toml",
    );
    assert!(k.problems.is_empty(), "{:?}", k.problems);
    assert_eq!(k.lookup(Context::Orders, Key::parse("j").unwrap()), None);
    assert_eq!(
        k.lookup(Context::Orders, Key::parse("x").unwrap()),
        Some(Action::Back)
    );
}
