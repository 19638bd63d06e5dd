use super::*;

#[test]
fn terminal_detection() {
    assert!(needs_ascii("vt100", None));
    assert!(needs_ascii("xterm-256color", Some("POSIX")));
    assert!(!needs_ascii("xterm-256color", Some("en_GB.UTF-8")));
    assert!(!needs_ascii("linux", None));
    assert!(!needs_ascii("screen", Some("")));
    let depth = |nc, ct: Option<&str>, t| Depth::detect(nc, ct, t, true).0;
    assert_eq!(depth(false, None, "vt220"), Depth::None);
    assert_eq!(depth(true, None, "xterm"), Depth::None);
    assert_eq!(depth(false, None, "screen"), Depth::Ansi16);
    assert_eq!(depth(false, None, "xterm-256color"), Depth::Ansi256);
    assert_eq!(
        depth(false, Some("truecolor"), "xterm-256color"),
        Depth::TrueColor
    );
    assert_eq!(depth(false, None, "linux"), Depth::Ansi16);
    // NO_COLOR yields to a theme the user chose.
    assert_eq!(
        Depth::detect(true, None, "xterm-256color", false).0,
        Depth::Ansi256
    );
}

#[test]
fn shipped_themes_build_cleanly_at_every_depth() {
    let themes = Themes::load(None, Depth::TrueColor);
    for (name, _) in SHIPPED {
        for depth in [Depth::TrueColor, Depth::Ansi256, Depth::Ansi16] {
            let t = Themes {
                depth,
                ..themes.clone()
            };
            let (theme, problems) = t.build(name);
            assert!(problems.is_empty(), "{name}: {problems:?}");
            assert_eq!(theme.name, name);
        }
    }
    let mono = Theme::mono();
    assert!(mono.ascii && !mono.colour);
    assert_eq!(
        mono.selected,
        Style::default().add_modifier(Modifier::REVERSED)
    );
    assert_eq!(mono.allergy.fg, None);
}

#[test]
fn colours_map_down_to_the_terminal() {
    assert_eq!(
        Depth::Ansi256.map(Color::Rgb(255, 0, 0)),
        Color::Indexed(196)
    );
    assert_eq!(
        Depth::Ansi256.map(Color::Rgb(128, 128, 128)),
        Color::Indexed(244)
    );
    assert_eq!(Depth::Ansi16.map(Color::Rgb(250, 10, 10)), Color::LightRed);
    assert_eq!(Depth::Ansi16.map(Color::Indexed(21)), Color::Blue);
    assert_eq!(Depth::Ansi16.map(Color::Cyan), Color::Cyan);
    let light = builtin("light", Depth::Ansi16);
    assert!(!matches!(
        light.high.fg,
        Some(Color::Rgb(..)) | Some(Color::Indexed(_))
    ));
}

#[test]
fn scopes_fall_back_and_markers_stay() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "inherits = \"mono\"\n\"alert\" = { modifiers = [\"underlined\"] }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flat.toml"),
        "\"base\" = \"white\"\n\"flag.high\" = \"red\"\n",
    )
    .unwrap();
    let themes = Themes::load(Some(dir.path()), Depth::Ansi16);
    let (mine, problems) = themes.build("mine");
    assert!(problems.is_empty(), "{problems:?}");
    // mono styles alert.allergy.unknown itself; alert.allergy falls back to mine's alert.
    assert_eq!(mine.allergy.add_modifier, Modifier::UNDERLINED);
    let (flat, problems) = themes.build("flat");
    // flag.high is only a colour: bold is added, and said.
    assert!(flat.high.add_modifier.contains(Modifier::BOLD));
    assert!(
        problems
            .iter()
            .any(|p| p.message.starts_with("flag.high has no bold")),
        "{problems:?}"
    );
    // flag.low falls back to flag, then base.
    assert_eq!(flat.low.fg, Some(Color::White));
}
