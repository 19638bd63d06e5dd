//! `bedside check-config` and `bedside doctor` through the real binary, on fixture keymaps and
//! themes (tests/fixtures): the exact messages, with file, line and fix, and the exit status.

mod common;

use std::path::Path;
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Runs bedside with a home of its own and a fixed terminal; stdout with the config
/// directory written as `<CONFIG>`, and whether it succeeded.
fn bedside(home: &Path, term: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("BEDSIDE_SITE_CONFIG", home.join("no-site.toml"))
        .env("TERM", term)
        .env("LANG", "en_GB.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env_remove("COLORTERM")
        .env_remove("NO_COLOR")
        .env_remove("BEDSIDE_SERVER")
        .output()
        .expect("run bedside");
    let config = home.join("config").join("bedside").display().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&config, "<CONFIG>");
    (out.status.success(), stdout)
}

/// A home whose config directory holds `files` (name in the config directory, fixture).
fn home_with(files: &[(&str, &str)], config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config").join("bedside");
    std::fs::create_dir_all(dir.join("themes")).unwrap();
    for (name, fixture) in files {
        std::fs::copy(Path::new(FIXTURES).join(fixture), dir.join(name)).unwrap();
    }
    if !config.is_empty() {
        std::fs::write(dir.join("config.toml"), config).unwrap();
    }
    home
}

#[test]
fn valid_files_pass() {
    let home = home_with(
        &[
            ("keymap.toml", "keymaps/valid.toml"),
            ("themes/ward.toml", "themes/ward.toml"),
        ],
        "theme = \"ward\"\nkeymap = \"default\"\n",
    );
    let (ok, out) = bedside(home.path(), "xterm-256color", &["check-config"]);
    assert!(ok, "{out}");
    assert_eq!(
        out,
        "config  <CONFIG>/config.toml\n\
         keymap  default (shipped) + <CONFIG>/keymap.toml\n\
         theme   ward (<CONFIG>/themes/ward.toml) in 256 colours: TERM=xterm-256color\n\
         no problems\n"
    );
    // The vim keymap under the same user file is fine too.
    std::fs::write(
        home.path().join("config/bedside/config.toml"),
        "keymap = \"vim\"\ntheme = \"mono\"\n",
    )
    .unwrap();
    let (ok, out) = bedside(home.path(), "vt100", &["check-config"]);
    assert!(ok, "{out}");
    assert!(out.contains("keymap  vim (shipped)"), "{out}");
    assert!(
        out.contains("theme   mono (themes/mono.toml) in no colour: TERM=vt100 has no colour"),
        "{out}"
    );
}

#[test]
fn an_invalid_keymap_is_reported_line_by_line() {
    let home = home_with(&[("keymap.toml", "keymaps/invalid.toml")], "");
    let (ok, out) = bedside(home.path(), "xterm", &["check-config"]);
    assert!(!ok, "check-config must fail:\n{out}");
    let expected = r#"config  <CONFIG>/config.toml (none)
keymap  default (shipped) + <CONFIG>/keymap.toml
theme   default (themes/default.toml) in 16 colours: TERM=xterm

<CONFIG>/keymap.toml:2: [dialogs] has no way out: no key for back; its previous bindings are used
    fix: bind one, for example "esc" = "back" under [dialogs]
<CONFIG>/keymap.toml:5: [chart] "zz" is not a key
    fix: write one key per word: a character ("j", "G"), or a name such as enter, esc, tab, space, pagedown, f1, with ctrl-, alt- or shift- in front; keys apart by spaces make a chord ("g o")
<CONFIG>/keymap.toml:6: [chart] "y": unknown action "fly"
    fix: did you mean "copy"? `bedside check-config --actions` lists them all
<CONFIG>/keymap.toml:8: [chart] "shift-g" is the same key as "G" on line 7
    fix: keep one of the two lines; the first is used
<CONFIG>/keymap.toml:9: [chart] "t t" (show_trend) conflicts with "t" (show_trend) in [chart]: a key cannot be both a binding and the start of a chord
    fix: bind another key, or unbind the other one with "t" = "none"
<CONFIG>/keymap.toml:14: unknown context [chrt]
    fix: did you mean [chart]? contexts: global, search, chart, timeline, note, orders, vitals, lists, register, census, inbox, work, support, dialogs, editor, form, outbox, palette

6 problem(s); the workstation starts, using the defaults for those parts
"#;
    assert_eq!(out, expected);
}

#[test]
fn an_invalid_theme_is_reported_line_by_line() {
    let home = home_with(
        &[("themes/invalid.toml", "themes/invalid.toml")],
        "theme = \"invalid\"\n",
    );
    let (ok, out) = bedside(home.path(), "xterm-256color", &["check-config"]);
    assert!(!ok, "check-config must fail:\n{out}");
    let colour_fix = "    fix: write a name (red, light-blue, dark-gray...), a palette name, an index 0-255 or \"#rrggbb\"\n";
    let expected = format!(
        r#"config  <CONFIG>/config.toml
keymap  default (shipped) + <CONFIG>/keymap.toml (none)
theme   invalid (<CONFIG>/themes/invalid.toml) in 256 colours: TERM=xterm-256color

<CONFIG>/themes/invalid.toml:3: alert.allergy has no bold, reversed or underline: colour alone must not carry it
    fix: add modifiers = ["bold"] to "alert.allergy" (bold is used meanwhile)
<CONFIG>/themes/invalid.toml:4: unknown scope "flag.hgh"
    fix: did you mean "flag.high"? `bedside check-config --scopes` lists them
<CONFIG>/themes/invalid.toml:5: selection: "chartreuse" is not a colour
{colour_fix}<CONFIG>/themes/invalid.toml:6: key: "\#12345" is not a colour (write \#rrggbb with 6 hex digits)
{colour_fix}<CONFIG>/themes/invalid.toml:7: tag: colour index 300 is not 0-255
{colour_fix}<CONFIG>/themes/invalid.toml:8: match: unknown modifier "blink"
    fix: modifiers: bold, dim, italic, underlined, reversed, crossed-out

6 problem(s); the workstation starts, using the defaults for those parts
"#
    );
    assert_eq!(out, expected.replace("\\#", "#"));
}

#[test]
fn a_broken_theme_falls_back_to_the_built_in_one() {
    let home = home_with(
        &[("themes/broken.toml", "themes/broken.toml")],
        "theme = \"broken\"\n",
    );
    let (ok, out) = bedside(home.path(), "xterm-256color", &["check-config"]);
    assert!(!ok);
    assert_eq!(
        out,
        "config  <CONFIG>/config.toml\n\
         keymap  default (shipped) + <CONFIG>/keymap.toml (none)\n\
         theme   default (themes/default.toml) in 256 colours: TERM=xterm-256color\n\
         \n\
         <CONFIG>/themes/broken.toml:3: not valid TOML: unclosed inline table, expected `}`\n    \
         fix: correct the line; the built-in default theme is used until it is fixed\n\
         \n\
         1 problem(s); the workstation starts, using the defaults for those parts\n"
    );
    // A theme that is not there, named on the command line.
    let (ok, out) = bedside(
        home.path(),
        "xterm-256color",
        &["--theme", "hi-contrast", "check-config"],
    );
    assert!(!ok);
    assert!(
        out.contains(
            "--theme: no theme named \"hi-contrast\"\n    fix: did you mean \"high-contrast\"?"
        ),
        "{out}"
    );
}

#[test]
fn a_broken_config_file_is_reported_with_its_line() {
    let home = home_with(&[], "theme = \"light\"\nidle_lock = 30\n");
    let (ok, out) = bedside(home.path(), "xterm-256color", &["check-config"]);
    assert!(!ok);
    assert!(
        out.contains("<CONFIG>/config.toml:2: unknown field `idle_lock`"),
        "{out}"
    );
}

#[test]
fn check_config_lists_actions_and_scopes() {
    let home = home_with(&[], "keymap = \"vista\"\n");
    let (ok, out) = bedside(
        home.path(),
        "xterm",
        &["check-config", "--actions", "--scopes"],
    );
    assert!(ok, "{out}");
    for a in bedside::workstation::action::Action::ALL {
        assert!(out.contains(a.name()), "{} missing:\n{out}", a.name());
        assert!(out.contains(a.description()));
    }
    assert!(out.contains("S G [note]"), "{out}");
    assert!(out.contains("alert.allergy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_the_terminal_paths_and_server() {
    let server = common::TestServer::start().await;
    let home = home_with(&[], "");
    let base = server.base.clone();
    let home_path = home.path().to_path_buf();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        bedside(&home_path, "vt100", &["--server", &base, "doctor"])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("terminal  not a terminal (standard output is redirected), TERM=vt100"),
        "{out}"
    );
    assert!(
        out.contains("colours   no colour (TERM=vt100 has no colour)"),
        "{out}"
    );
    assert!(out.contains("unicode   no: ASCII drawing"), "{out}");
    assert!(
        out.contains("theme     mono (chosen from the terminal)"),
        "{out}"
    );
    assert!(
        out.contains("config    <CONFIG>/config.toml (not there)\n"),
        "{out}"
    );
    assert!(
        out.contains("keymap    <CONFIG>/keymap.toml (not there)"),
        "{out}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.contains(": reachable in ") && out.contains(&format!("bedside {version}, FHIR 4.0.1")),
        "{out}"
    );
    // What the workstation relies on, as the embedded server declares it.
    for line in [
        "          metadata: a CapabilityStatement\n",
        "          Patient/$everything: declared",
        "          Observation?patient= (reference search): declared",
        "          sign-in: bedside's own sign-in (username and password)",
        "          TLS: none (plain http)",
        "          SMART sign-in: not offered",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    // With a token, doctor tries what a chart is opened by, and prints no patient data.
    server
        .create(common::patient(
            "Doctorcheck",
            "Ada",
            "1950-02-03",
            "female",
            "MRN-DOC-1",
        ))
        .await;
    for (token, want) in [
        (server.token.clone(), "works"),
        ("not-a-token".to_string(), "FAILS"),
    ] {
        let home_path = home.path().to_path_buf();
        let base = server.base.clone();
        let (ok, out) = tokio::task::spawn_blocking(move || {
            bedside(
                &home_path,
                "xterm",
                &["--server", &base, "--token", &token, "doctor"],
            )
        })
        .await
        .unwrap();
        assert!(ok, "{out}");
        assert!(
            out.contains(&format!("with the token: patient search {want}")),
            "{out}"
        );
        if want == "works" {
            assert!(
                out.contains("with the token: Patient/$everything works"),
                "{out}"
            );
            assert!(
                out.contains("with the token: Observation?patient=Patient/id works"),
                "{out}"
            );
        }
        assert!(
            !out.contains("Doctorcheck") && !out.contains("MRN-DOC-1"),
            "{out}"
        );
    }
    // A server that is not there, named after the command as the README writes it.
    let (ok, out) = bedside(
        home.path(),
        "xterm",
        &["doctor", "--server", "http://127.0.0.1:9/fhir"],
    );
    assert!(ok);
    assert!(
        out.contains("server    http://127.0.0.1:9/fhir: NOT reachable"),
        "{out}"
    );
}

/// `[servers.NAME]` profiles: `--profile` picks the server (doctor names it and how it signs
/// in), an unknown name lists the known ones, a token profile without a token says so before
/// any screen opens, and a bad profile is a config problem with its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_profiles() {
    let server = common::TestServer::start().await;
    let config = format!(
        "[servers.ward]\nurl = \"{}\"\n\n[servers.epic]\nurl = \"https://fhir.example.org/r4\"\nsign_in = \"token\"\n",
        server.base
    );
    let home = home_with(&[], &config);
    let home_path = home.path().to_path_buf();
    let base = server.base.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        bedside(&home_path, "xterm", &["--profile", "ward", "doctor"])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "profile   ward: {base}, signing in with username and password"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("server    {base}: reachable in ")),
        "{out}"
    );
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("BEDSIDE_SITE_CONFIG", home.path().join("no-site.toml"))
            .env_remove("BEDSIDE_SERVER")
            .env_remove("BEDSIDE_TOKEN")
            .env_remove("BEDSIDE_PROFILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, err) = run(&["--profile", "nowhere"]);
    assert!(!ok);
    assert!(
        err.contains("no profile 'nowhere'") && err.contains("[servers.epic], [servers.ward]"),
        "{err}"
    );
    let (ok, err) = run(&["--profile", "epic"]);
    assert!(!ok);
    assert!(err.contains("signs in with a bearer token"), "{err}");
    let (ok, err) = run(&["--profile", "ward", "--server", "http://127.0.0.1:9/fhir"]);
    assert!(!ok);
    assert!(err.contains("give one"), "{err}");
    // A sign-in way this version does not have is a config problem, with its line.
    let bad = home_with(
        &[],
        "[servers.x]\nurl = \"https://x.example/r4\"\nsign_in = \"kerberos\"\n",
    );
    let (ok, out) = bedside(bad.path(), "xterm", &["check-config"]);
    assert!(!ok);
    assert!(
        out.contains("config.toml:3: unknown variant `kerberos`"),
        "{out}"
    );
    let smart = home_with(
        &[],
        "[servers.x]\nurl = \"https://x.example/r4\"\nsign_in = \"smart\"\nclient_id = \"ward-7\"\nway = \"device\"\n",
    );
    let (ok, out) = bedside(smart.path(), "xterm", &["check-config"]);
    assert!(ok, "{out}");
}
