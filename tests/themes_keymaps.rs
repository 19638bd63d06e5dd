//! Themes and keymaps on screen: the mono theme at 80x24 keeps every marker (snapshot), help
//! lists exactly what a user's override binds, the palette opens a chart by MRN and changes
//! the theme, and chords work.

mod common;

use std::time::Duration;

use bedside::workstation::Options;
use bedside::workstation::action::Action;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::keymap::{Context, Keymap};
use bedside::workstation::state::{ChartView, Overlay, State};
use bedside::workstation::theme::{Depth, Themes};
use chrono::NaiveDate;
use common::TestServer;
use ratatui::style::Modifier;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

/// A patient whose chart has one result of every flag, an allergy and a blood pressure.
async fn flagged_patient(server: &TestServer) {
    let (status, _) = server
        .put(
            "Patient/flags",
            &json!({"resourceType": "Patient", "id": "flags",
                "identifier": [{"system": bedside::server::seed::MRN_SYSTEM, "value": "9000001"}],
                "name": [{"family": "MARKER", "given": ["Mona"]}],
                "gender": "female", "birthDate": "1961-05-04"}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let allergy = json!({"resourceType": "AllergyIntolerance",
        "patient": {"reference": "Patient/flags"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "criticality": "high",
        "code": {"text": "penicillin"},
        "reaction": [{"manifestation": [{"text": "anaphylaxis"}], "severity": "severe"}]});
    assert!(
        server
            .post("AllergyIntolerance", &allergy)
            .await
            .0
            .is_success()
    );
    let results = [
        ("2951-2", "Sodium", 150.0, "mmol/L", "H", "10"),
        ("2823-3", "Potassium", 3.1, "mmol/L", "L", "11"),
        ("2345-7", "Glucose", 31.0, "mmol/L", "HH", "12"),
        ("718-7", "Hemoglobin", 5.1, "g/dL", "LL", "13"),
        ("5902-2", "Prothrombin time", 19.0, "s", "AA", "14"),
        ("5778-6", "Urine colour", 1.0, "1", "A", "15"),
    ];
    for (code, name, value, unit, flag, hour) in results {
        let obs = json!({"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}], "text": name},
            "subject": {"reference": "Patient/flags"},
            "effectiveDateTime": format!("2026-11-19T{hour}:00:00Z"),
            "valueQuantity": {"value": value, "unit": unit},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": flag}]}]});
        let (status, body) = server.post("Observation", &obs).await;
        assert!(status.is_success(), "{status} {body}");
    }
}

fn app(opts: Options, w: u16, h: u16) -> Headless {
    let display = test_display("http://bedside.test/fhir", today());
    Headless::with_options(opts, display, w, h).unwrap()
}

/// The start of a description: enough to tell it apart, short enough not to wrap.
fn short(description: &str) -> &str {
    let end = description
        .char_indices()
        .nth(30)
        .map_or(description.len(), |(i, _)| i);
    &description[..end]
}

fn options(server: &TestServer) -> Options {
    let mut opts = Options::new(&server.base);
    opts.token = Some(server.token.clone());
    opts
}

/// The mono theme at 80x24: no colour anywhere, ASCII borders, and every abnormal and
/// allergy marker is still on screen, in bold or reverse.
#[tokio::test]
async fn mono_keeps_every_marker_at_80x24() {
    let server = TestServer::start().await;
    flagged_patient(&server).await;
    let mut opts = options(&server);
    opts.theme = Some("mono".into());
    opts.themes = Some(Themes::load(None, Depth::None));
    let mut h = app(opts, 80, 24);
    h.keys(":open MRN9000001<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
    let screen = h.screen();
    insta::assert_snapshot!("mono_chart_80x24", screen);
    assert!(screen.is_ascii(), "{screen}");
    for marker in [
        "! Allergies: penicillin (anaphylaxis)",
        " H ",
        " L ",
        "H!!",
        "L!!",
        "!!",
        " A ",
    ] {
        assert!(screen.contains(marker), "{marker:?} missing:\n{screen}");
    }
    // No cell has a colour, and each flag marker has a modifier.
    let buf = h.buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
    let marked = |needle: &str| {
        (0..buf.area.height).any(|y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.find(needle).is_some_and(|x| {
                let m = buf[(x as u16, y)].modifier;
                m.intersects(Modifier::BOLD | Modifier::REVERSED | Modifier::UNDERLINED)
            })
        })
    };
    for needle in ["H!!", "L!!", "Allergies:"] {
        assert!(marked(needle), "{needle} is not bold or reversed");
    }
    // The summary's abnormal results and allergies, in mono too.
    h.keys("s").unwrap();
    let screen = h.screen();
    insta::assert_snapshot!("mono_summary_80x24", screen);
    assert!(screen.contains("! penicillin"), "{screen}");
    for marker in [
        " H!! Glucose",
        " L!! Hemoglobin",
        " !!  Prothrombin",
        " A   Urine",
        " L   Potassium",
    ] {
        assert!(screen.contains(marker), "{marker:?} missing:\n{screen}");
    }
    // At 80 columns the summary is one column: the rest is a scroll away, marked the same.
    h.keys("G").unwrap();
    let screen = h.screen();
    assert!(screen.contains(" H   Sodium"), "{screen}");
}

/// Help lists exactly the actions a user's override leaves bound in a context.
#[tokio::test]
async fn help_lists_exactly_the_bound_actions_after_an_override() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keymap.toml");
    std::fs::write(
        &file,
        "clear = [\"search\"]\n\
         [search]\n\
         \"enter\" = \"open_selected\"\n\
         \"q\" = \"quit\"\n\
         \"ctrl-n\" = \"move_down\"\n\
         \"ctrl-p\" = \"move_up\"\n\
         [global]\n\
         \"f3\" = \"none\"\n\
         \"f4\" = \"none\"\n\
         \"f5\" = \"none\"\n\
         \"f6\" = \"none\"\n\
         \"f7\" = \"none\"\n\
         \"f8\" = \"none\"\n",
    )
    .unwrap();
    let keymap = Keymap::load(Some("default"), Some(&file));
    assert!(keymap.problems.is_empty(), "{:?}", keymap.problems);
    let mut opts = options(&server);
    opts.keymap = keymap;
    let mut h = app(opts, 110, 40);
    h.keys("?").unwrap();
    assert!(matches!(
        h.state().overlay,
        Some(Overlay::Help {
            context: Context::Search,
            ..
        })
    ));
    let screen = h.screen();
    let expected = [
        (Action::SearchPatients, "/"),
        (Action::OpenSelected, "Enter"),
        (Action::MoveUp, "Ctrl-p"),
        (Action::MoveDown, "Ctrl-n"),
        (Action::ShowHelp, "?, F1"),
        (Action::OpenPalette, ":"),
        (Action::Quit, "q, Ctrl-c"),
        (Action::LockScreen, "Ctrl-l"),
    ];
    let shown: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| screen.contains(short(a.description())))
        .collect();
    let mut want: Vec<Action> = expected.iter().map(|(a, _)| *a).collect();
    want.sort();
    assert_eq!(shown, want, "{screen}");
    for (action, keys) in expected {
        let line = screen
            .lines()
            .find(|l| l.contains(short(action.description())))
            .unwrap();
        assert!(line.contains(keys), "{keys:?} not on {line:?}");
    }
    // Searching help narrows it.
    h.keys("lock").unwrap();
    let screen = h.screen();
    assert!(
        screen.contains(short(Action::LockScreen.description())),
        "{screen}"
    );
    assert!(
        !screen.contains(short(Action::Quit.description())),
        "{screen}"
    );
    h.keys("<esc><esc>").unwrap();
    assert!(h.state().overlay.is_none());
}

/// The palette: fuzzy actions with their keys, `:theme`, `:filter`, an unknown command;
/// chords in the vim keymap show what may follow.
#[tokio::test]
async fn palette_commands_and_chords() {
    let server = TestServer::start().await;
    flagged_patient(&server).await;
    let mut opts = options(&server);
    opts.keymap = Keymap::shipped("vim").unwrap();
    let mut h = app(opts, 100, 30);
    h.keys(":").unwrap();
    let screen = h.screen();
    for cmd in ["open", "filter", "theme", "problems"] {
        assert!(screen.contains(cmd), "{cmd} not listed:\n{screen}");
    }
    h.keys("opn<enter>MRN9000001<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await, "{}", h.screen());
    assert_eq!(
        h.state()
            .chart
            .as_ref()
            .unwrap()
            .chart
            .patient
            .as_ref()
            .unwrap()
            .family,
        "MARKER"
    );
    // An action by fuzzy name, with its key in this keymap.
    h.keys(":sgnords").unwrap();
    let screen = h.screen();
    assert!(screen.contains("sign_orders"), "{screen}");
    h.keys("<esc>").unwrap();
    h.keys(":filter lab<enter>").unwrap();
    assert_eq!(
        h.state().chart.as_ref().unwrap().filter,
        Some(bedside::workstation::chart::Kind::Result)
    );
    h.keys(":theme mono<enter>").unwrap();
    assert_eq!(h.state().theme.name, "mono");
    assert!(h.screen().is_ascii());
    h.keys(":theme nope<enter>").unwrap();
    assert!(h.screen().contains("no theme \"nope\""), "{}", h.screen());
    h.keys(":frobnicate<enter>").unwrap();
    assert!(
        h.screen().contains("no command \"frobnicate\""),
        "{}",
        h.screen()
    );
    // A chord: `g` waits and says what may follow; `g o` opens orders.
    h.keys("g").unwrap();
    let screen = h.screen();
    assert!(screen.contains(" o     open orders"), "{screen}");
    assert!(screen.contains("g ... (Esc cancels)"), "{screen}");
    h.keys("o").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Orders);
}

/// A broken keymap and a broken theme: the workstation starts, with the defaults for the
/// broken parts, and lists each problem on screen with file, line and fix.
#[tokio::test]
async fn problems_are_listed_on_screen_at_start() {
    let server = TestServer::start().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::copy(
        format!("{fixtures}/themes/broken.toml"),
        themes.join("broken.toml"),
    )
    .unwrap();
    let invalid = std::path::PathBuf::from(format!("{fixtures}/keymaps/invalid.toml"));
    let keymap = Keymap::load(None, Some(&invalid));
    let mut opts = options(&server);
    opts.keymap = keymap;
    opts.theme = Some("broken".into());
    opts.themes = Some(Themes::load(Some(&themes), Depth::Ansi256));
    let mut h = app(opts, 120, 40);
    let screen = h.screen();
    assert!(matches!(h.state().overlay, Some(Overlay::Problems { .. })));
    for text in [
        "7 problem(s) in your settings",
        "invalid.toml:5: [chart] \"zz\" is not a key",
        "invalid.toml:2: [dialogs] has no way out",
        "fix: bind one, for example \"esc\" = \"back\" under [dialogs]",
        "broken.toml:3: not valid TOML",
    ] {
        assert!(screen.contains(text), "{text:?} missing:\n{screen}");
    }
    assert_eq!(h.state().theme.name, "default");
    // The defaults hold for the broken parts: Esc still closes the list.
    h.keys("<esc>").unwrap();
    assert!(h.state().overlay.is_none());
    h.keys(":problems<enter>").unwrap();
    assert!(matches!(h.state().overlay, Some(Overlay::Problems { .. })));
}
