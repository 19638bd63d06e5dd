//! Workstation benchmark (a bench binary): the numbers issue 3 asks for.
//!
//!   cargo bench --bench workstation -- [--iterations 5000] [--runs 20]
//!
//! 1. A keystroke plus a full frame at 200x60 with a 10,000-item timeline (update + view +
//!    ratatui diff + crossterm encoding into memory).
//! 2. Time to the first frame: the real binary on a pty against a running server.
//! 3. Opening a 2,000-resource chart from the embedded server on loopback: banner and the first
//!    screen of the timeline, then the whole chart.
//! 4. Bytes written on a pty: one cursor move, a full 80x24 repaint, two idle seconds.
//! 5. The binary's memory after opening 10 charts of 2,000 resources in one session.
//! 7. Recording vital signs: keystroke + frame in the line and the form, the flowsheet build.

#[path = "../tests/common/pty.rs"]
mod pty;

use bedside::workstation::msg::{AccessMsg, ChartMsg};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedside::server::store::Store;
use bedside::workstation::chart::Chart;
use bedside::workstation::features::chart::timeline::{refresh_visible, timeline_rows};
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::keymap::Keymap;
use bedside::workstation::state::{ChartState, Msg, Screen, State};
use bedside::workstation::theme::Theme;
use bedside::workstation::update::update;
use bedside::workstation::view::view;
use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn report(name: &str, samples: &mut [f64], unit: &str) {
    let p50 = percentile(samples, 0.5);
    let p95 = percentile(samples, 0.95);
    let p99 = percentile(samples, 0.99);
    let max = percentile(samples, 1.0);
    println!(
        "{name:<58} n={:<6} p50 {p50:8.3} p95 {p95:8.3} p99 {p99:8.3} max {max:8.3} {unit}",
        samples.len()
    );
}

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// A synthetic chart of about `n` resources: visits with an encounter, six vitals, a
/// seven-analyte panel with its report, and a note.
fn chart(index: usize, n: usize) -> Vec<Value> {
    let pid = format!("bench-{index}");
    let subject = json!({"reference": format!("Patient/{pid}")});
    let mut out = vec![json!({
        "resourceType": "Patient", "id": pid,
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "system": "http://hospital.example/mrn",
                        "value": format!("9{index:06}")}],
        "name": [{"use": "official", "family": format!("Benchmark{index}"), "given": ["Chart"]}],
        "gender": if index % 2 == 0 { "female" } else { "male" }, "birthDate": "1950-06-01"
    })];
    out.push(
        json!({"resourceType": "AllergyIntolerance", "id": format!("{pid}-a"), "patient": subject,
        "code": {"text": "Penicillin"}, "criticality": "high",
        "reaction": [{"manifestation": [{"text": "Anaphylaxis"}], "severity": "severe"}],
        "recordedDate": "2020-01-01"}),
    );
    let analytes = [
        ("2951-2", "Sodium", 136.0, 145.0, "mmol/L"),
        ("2823-3", "Potassium", 3.5, 5.1, "mmol/L"),
        ("2075-0", "Chloride", 98.0, 107.0, "mmol/L"),
        ("2028-9", "CO2", 22.0, 29.0, "mmol/L"),
        ("3094-0", "Urea nitrogen", 7.0, 20.0, "mg/dL"),
        ("2160-0", "Creatinine", 0.6, 1.2, "mg/dL"),
        ("2345-7", "Glucose", 70.0, 99.0, "mg/dL"),
    ];
    let vitals = [
        ("8867-4", "Heart rate", 72.0, "/min"),
        ("9279-1", "Respiratory rate", 16.0, "/min"),
        ("8310-5", "Body temperature", 36.8, "Cel"),
        ("59408-5", "Oxygen saturation", 97.0, "%"),
        ("29463-7", "Body weight", 80.0, "kg"),
        ("8302-2", "Body height", 175.0, "cm"),
    ];
    let mut visit = 0;
    while out.len() < n {
        let day = anchor() - chrono::Days::new(visit * 3 + 1);
        let when = format!("{day}T09:00:00Z");
        let enc = format!("{pid}-e{visit}");
        out.push(
            json!({"resourceType": "Encounter", "id": enc, "status": "finished",
            "class": {"code": "AMB", "display": "ambulatory"}, "subject": subject,
            "period": {"start": when, "end": format!("{day}T10:00:00Z")}}),
        );
        for (i, (code, name, base, unit)) in vitals.iter().enumerate() {
            out.push(json!({"resourceType": "Observation", "id": format!("{enc}-v{i}"), "status": "final",
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
                "subject": subject, "effectiveDateTime": when,
                "valueQuantity": {"value": base + (visit % 7) as f64, "unit": unit}}));
        }
        let mut results = Vec::new();
        for (i, (code, name, lo, hi, unit)) in analytes.iter().enumerate() {
            let id = format!("{enc}-l{i}");
            let value = lo + (hi - lo) * (((visit as usize + i) % 11) as f64 / 8.0);
            out.push(
                json!({"resourceType": "Observation", "id": id, "status": "final",
                "category": [{"coding": [{"code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
                "subject": subject, "effectiveDateTime": when,
                "valueQuantity": {"value": (value * 10.0).round() / 10.0, "unit": unit},
                "referenceRange": [{"low": {"value": lo}, "high": {"value": hi}}]}),
            );
            results.push(json!({"reference": format!("Observation/{id}")}));
        }
        out.push(
            json!({"resourceType": "DiagnosticReport", "id": format!("{enc}-r"), "status": "final",
            "code": {"text": "Basic metabolic panel"}, "subject": subject,
            "effectiveDateTime": when, "result": results}),
        );
        out.push(json!({"resourceType": "DocumentReference", "id": format!("{enc}-n"), "status": "current",
            "type": {"text": "Progress note"}, "subject": subject, "date": when,
            "content": [{"attachment": {"contentType": "text/plain", "data": "U2VlbiB0b2RheS4="}}]}));
        visit += 1;
    }
    out.truncate(n);
    out
}

fn write_charts(store: &Store, charts: &[Vec<Value>]) {
    store
        .write(|tx| {
            for chart in charts {
                for r in chart {
                    let rtype = r["resourceType"].as_str().unwrap().to_string();
                    let id = r["id"].as_str().unwrap().to_string();
                    tx.upsert(&rtype, &id, r.clone())?;
                }
            }
            Ok(())
        })
        .expect("write charts");
}

/// A terminal that counts what it is sent and throws it away.
struct Counting(Arc<std::sync::atomic::AtomicUsize>);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .fetch_add(buf.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent {
        code: c,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

/// 1. A keystroke and a full frame at 200x60 with a 10,000-item timeline.
fn keystroke_and_frame(iterations: usize) {
    let size = Rect::new(0, 0, 200, 60);
    let display = test_display("http://bench/fhir", anchor());
    let mut state = State::new(
        display,
        Arc::new(Keymap::default_keymap()),
        size,
        Vec::new(),
    );
    let mut c = Chart::for_patient("bench-0");
    // About 10,000 timeline lines: the panel's results fold into their report.
    c.add_page(chart(0, 17_800));
    c.finish();
    let items = c.timeline.len();
    let mut cs = ChartState::new(1, c);
    cs.loading = false;
    refresh_visible(&mut cs, timeline_rows(size));
    state.chart = Some(cs);
    state.context = 1;
    state.screen = Screen::Chart;
    let theme = Theme::color();
    let counted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = CrosstermBackend::new(Counting(counted.clone()));
    let mut terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(size),
        },
    )
    .unwrap();
    terminal.draw(|f| view(&state, &theme, f)).unwrap();
    let keys = [
        KeyCode::Down,
        KeyCode::Down,
        KeyCode::PageDown,
        KeyCode::Up,
        KeyCode::End,
        KeyCode::Home,
    ];
    let mut samples = Vec::with_capacity(iterations);
    let mut bytes = 0usize;
    for i in 0..iterations {
        let started = Instant::now();
        let _ = update(&mut state, key(keys[i % keys.len()]));
        terminal.draw(|f| view(&state, &theme, f)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    bytes += counted.load(std::sync::atomic::Ordering::Relaxed);
    report(
        &format!("keystroke + frame, 200x60, {items}-item timeline"),
        &mut samples,
        "ms",
    );
    println!(
        "  (mean {:.0} bytes encoded per frame)",
        bytes as f64 / iterations as f64
    );
}

/// 6. A keystroke in a 5,000-line note, with a full frame at 120x40.
fn note_keystroke(iterations: usize) {
    use bedside::workstation::notes::drafts::Draft;
    use bedside::workstation::state::{ChartView, NoteState};
    let size = Rect::new(0, 0, 120, 40);
    let display = test_display("http://bench/fhir", anchor());
    let mut state = State::new(
        display,
        Arc::new(Keymap::default_keymap()),
        size,
        Vec::new(),
    );
    let mut c = Chart::for_patient("bench-0");
    c.add_page(chart(0, 2000));
    c.finish();
    let mut cs = ChartState::new(1, c);
    cs.loading = false;
    let text: Vec<String> = (0..5000)
        .map(|i| {
            format!("Line {i}: the patient was reviewed; observations stable, plan unchanged.")
        })
        .collect();
    let draft = Draft {
        id: "bench".into(),
        server: "http://bench/fhir".into(),
        patient_id: "bench-0".into(),
        patient_name: "BENCHMARK0, Chart".into(),
        mrn: Some("9000000".into()),
        encounter: None,
        template: "free".into(),
        title: "Free text note".into(),
        loinc: "34109-9".into(),
        loinc_display: "Note".into(),
        text: text.join("\n"),
        created: String::new(),
        saved: String::new(),
        appends: None,
        server_id: None,
        server_version: None,
        owner: None,
    };
    let mut note = NoteState::new(draft);
    note.editor.jump((2500, 10));
    cs.note = Some(note);
    cs.view = ChartView::Note;
    state.chart = Some(cs);
    state.context = 1;
    state.screen = Screen::Chart;
    let theme = Theme::color();
    let counted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(Counting(counted)),
        TerminalOptions {
            viewport: Viewport::Fixed(size),
        },
    )
    .unwrap();
    terminal.draw(|f| view(&state, &theme, f)).unwrap();
    let keys = [
        KeyCode::Char('a'),
        KeyCode::Char('b'),
        KeyCode::Char(' '),
        KeyCode::Backspace,
        KeyCode::Down,
        KeyCode::Up,
        KeyCode::Enter,
        KeyCode::Char('c'),
    ];
    let mut samples = Vec::with_capacity(iterations);
    let mut updates = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let started = Instant::now();
        let _ = update(&mut state, key(keys[i % keys.len()]));
        updates.push(started.elapsed().as_secs_f64() * 1000.0);
        terminal.draw(|f| view(&state, &theme, f)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "keystroke + frame in a 5,000-line note, 120x40",
        &mut samples,
        "ms",
    );
    report(
        "  of which the keystroke (update, editor)",
        &mut updates,
        "ms",
    );
}

/// 7. All order checks for a basket of 10 against 50 active medications and 20 allergies.
fn order_checks(iterations: usize) {
    use bedside::workstation::orders::checks::{
        ActiveMedication, Patient, Proposed, RecentTest, RecordedAllergy, Settings, check,
    };
    use bedside::workstation::orders::knowledge::Knowledge;
    let (k, _) = Knowledge::load(None);
    let meds = &k.medications;
    let patient = Patient {
        medications: (0..50)
            .map(|i| {
                let m = &meds[i % meds.len()];
                ActiveMedication {
                    rxnorm: Some(m.rxnorm.clone()),
                    name: m.name.clone(),
                }
            })
            .collect(),
        allergies: (0..20)
            .map(|i| {
                let m = &meds[(i * 7) % meds.len()];
                RecordedAllergy {
                    rxnorm: (i % 2 == 0).then(|| m.rxnorm.clone()),
                    text: m.name.clone(),
                    reaction: Some("rash".into()),
                }
            })
            .collect(),
        allergies_assessed: true,
        tests: (0..200)
            .map(|i| RecentTest {
                loinc: format!("{}-{}", 1000 + i, i % 10),
                when_ms: i as i64 * 3_600_000,
                resulted: true,
            })
            .collect(),
    };
    let basket: Vec<Proposed> = (0..10)
        .map(|i| {
            if i % 3 == 2 {
                Proposed::Test {
                    loinc: format!("{}-{}", 1000 + i, i % 10),
                    name: "test".into(),
                }
            } else {
                let m = &meds[(i * 5 + 3) % meds.len()];
                Proposed::Medication {
                    rxnorm: m.rxnorm.clone(),
                    name: m.name.clone(),
                }
            }
        })
        .collect();
    let settings = Settings {
        duplicate_test_window_ms: 24 * 3_600_000,
        now_ms: 200 * 3_600_000,
    };
    let mut samples = Vec::with_capacity(iterations);
    let mut alerts = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        alerts = check(&basket, &patient, &k, settings).len();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "order checks: 10 orders, 50 active meds, 20 allergies",
        &mut samples,
        "ms",
    );
    println!("  ({alerts} alerts per run)");
}

/// The shipped catalog grown to 20,000 entries with made-up but realistic names.
fn big_catalog() -> bedside::workstation::orders::catalog::Catalog {
    use bedside::workstation::orders::catalog::{Catalog, Entry, Kind};
    use bedside::workstation::orders::knowledge::Knowledge;
    let (k, _) = Knowledge::load(None);
    let (shipped, _) = Catalog::load(&k, None);
    let mut entries = shipped.entries.clone();
    // Made-up but realistic names: analyte x specimen x method, drug x strength x form.
    let words = [
        "sodium",
        "potassium",
        "chloride",
        "glucose",
        "albumin",
        "bilirubin",
        "calcium",
        "phosphate",
        "ferritin",
        "troponin",
        "lactate",
        "amylase",
        "lipase",
        "cortisol",
        "vitamin",
        "folate",
        "iron",
        "zinc",
        "copper",
        "ammonia",
    ];
    let where_ = [
        "serum", "plasma", "urine", "blood", "csf", "saliva", "stool", "tissue",
    ];
    let how = [
        "automated",
        "manual",
        "immunoassay",
        "mass spec",
        "point of care",
    ];
    let mut n = 0;
    'outer: for a in words {
        for b in where_ {
            for c in how {
                for d in 0..25 {
                    if entries.len() >= 20_000 {
                        break 'outer;
                    }
                    n += 1;
                    entries.push(Entry::new(
                        if d % 2 == 0 {
                            Kind::Lab
                        } else {
                            Kind::Medication
                        },
                        format!("{n}-0"),
                        format!("{a} {b} {c} {d}"),
                        vec![format!("{a}{d}")],
                    ));
                }
            }
        }
    }
    Catalog::from_entries(entries)
}

/// 8. Catalog search over 20,000 entries, one keystroke at a time.
fn catalog_search(iterations: usize) {
    let catalog = big_catalog();
    // Words typed a key at a time; each key searches the previous key's matches.
    let words_typed = [
        "potassium s",
        "creatinine",
        "troponin",
        "warfarin",
        "amoxicillin",
        "xr chest",
        "zinc urine",
    ];
    let mut samples = Vec::new();
    'typing: loop {
        for word in words_typed {
            let mut pool: Option<Vec<usize>> = None;
            for end in 1..=word.len() {
                let q = &word[..end];
                let started = Instant::now();
                let (hits, matches) = catalog.search_within(q, pool.as_deref(), 50);
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(hits);
                pool = Some(matches);
                if samples.len() >= iterations {
                    break 'typing;
                }
            }
        }
    }
    report(
        &format!(
            "catalog search, {} entries, per keystroke",
            catalog.entries.len()
        ),
        &mut samples,
        "ms",
    );
}

/// 8b. The order composer as the clinician types in it: each key through `update` (the
/// pool kept with its query, sets and catalog), over the same 20,000 entries, with a
/// Backspace and a retype in every word (the path issue 15 fixed).
fn composer_keys(iterations: usize) {
    use bedside::workstation::orders::knowledge::Knowledge;
    let display = test_display("http://bench/fhir", anchor());
    let mut state = State::new(
        display,
        Arc::new(Keymap::default_keymap()),
        Rect::new(0, 0, 120, 40),
        Vec::new(),
    );
    let (knowledge, _) = Knowledge::load(None);
    state.order_settings = Arc::new(bedside::workstation::state::OrderSettings {
        catalog: big_catalog(),
        knowledge,
        duplicate_window_ms: 86_400_000,
    });
    update(&mut state, Msg::Chart(ChartMsg::Open("bench".into())));
    update(&mut state, Msg::Chart(ChartMsg::Done { context: 1 }));
    update(&mut state, key(KeyCode::Char('o')));
    let words = [
        "potassium s",
        "creatinine",
        "troponin",
        "warfarin",
        "amoxicillin",
    ];
    let mut samples = Vec::new();
    let time = |state: &mut State, code: KeyCode, samples: &mut Vec<f64>| {
        let started = Instant::now();
        std::hint::black_box(update(state, key(code)));
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    };
    'typing: loop {
        for word in words {
            for c in word.chars() {
                time(&mut state, KeyCode::Char(c), &mut samples);
            }
            // A slip: Backspace twice and the letters again.
            time(&mut state, KeyCode::Backspace, &mut samples);
            time(&mut state, KeyCode::Backspace, &mut samples);
            for c in word
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                time(&mut state, KeyCode::Char(c), &mut samples);
            }
            for _ in 0..word.chars().count() {
                time(&mut state, KeyCode::Backspace, &mut samples);
            }
            if samples.len() >= iterations {
                break 'typing;
            }
        }
    }
    report(
        "order composer keystroke through update, 20,000 entries",
        &mut samples,
        "ms",
    );
}

/// A state and a terminal of 80x24 drawing into memory, for the forms' keystroke benches.
fn screen_80x24() -> (State, Terminal<CrosstermBackend<Counting>>) {
    let size = Rect::new(0, 0, 80, 24);
    let state = State::new(
        test_display("http://bench/fhir", anchor()),
        Arc::new(Keymap::default_keymap()),
        size,
        Vec::new(),
    );
    let backend = CrosstermBackend::new(Counting(Arc::new(std::sync::atomic::AtomicUsize::new(0))));
    let terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(size),
        },
    )
    .unwrap();
    (state, terminal)
}

/// 7. Recording vital signs (issue 20): each keystroke of a full set typed in the pane, and of
///    the same set in the form, with a full 80x24 frame, over a chart with 5,000 sets on the
///    flowsheet; and the flowsheet's build when the chart changes.
fn vitals_keys(iterations: usize) {
    let (mut state, mut terminal) = screen_80x24();
    let subject = json!({"reference": "Patient/bench"});
    let mut resources = vec![json!({"resourceType": "Patient", "id": "bench",
        "name": [{"family": "Bench", "given": ["Vita"]}], "birthDate": "1950-01-01"})];
    let sets = 5_000;
    for i in 0..sets {
        let when = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 3_600, 0)
            .unwrap()
            .to_rfc3339();
        let vital = |id: String, code: &str, value: f64| {
            json!({"resourceType": "Observation", "id": id, "status": "final",
                "subject": subject, "effectiveDateTime": when,
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "valueQuantity": {"value": value}})
        };
        resources.push(vital(format!("hr{i}"), "8867-4", 60.0 + (i % 60) as f64));
        resources.push(vital(format!("t{i}"), "8310-5", 36.5));
        resources.push(vital(format!("rr{i}"), "9279-1", 16.0));
        resources.push(vital(format!("s{i}"), "2708-6", 97.0));
    }
    update(&mut state, Msg::Chart(ChartMsg::Open("bench".into())));
    update(
        &mut state,
        Msg::Chart(ChartMsg::Page {
            context: 1,
            result: Ok(resources),
        }),
    );
    update(&mut state, Msg::Chart(ChartMsg::Done { context: 1 }));
    let started = Instant::now();
    update(&mut state, key(KeyCode::Char('v')));
    let built = started.elapsed();
    let shown = state
        .chart
        .as_ref()
        .and_then(|c| c.vitals.as_ref())
        .map_or(0, |v| v.sheet.len());
    assert_eq!(shown, sets);
    println!(
        "{:<58} {:.1} ms for {shown} sets (once per change to the chart)",
        "flowsheet built",
        built.as_secs_f64() * 1000.0
    );
    let theme = Theme::color();
    terminal.draw(|f| view(&state, &theme, f)).unwrap();
    let line = "T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A";
    let fields = ["37.9", "112", "22", "92/58", "93", "2L", "A"];
    let mut samples = Vec::new();
    let mut time = |state: &mut State, code: KeyCode, terminal: &mut Terminal<_>| {
        let started = Instant::now();
        std::hint::black_box(update(state, key(code)));
        terminal.draw(|f| view(state, &theme, f)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        samples.len()
    };
    let mut done = 0;
    while done < iterations {
        for c in line.chars() {
            time(&mut state, KeyCode::Char(c), &mut terminal);
        }
        for _ in line.chars() {
            time(&mut state, KeyCode::Backspace, &mut terminal);
        }
        time(&mut state, KeyCode::F(2), &mut terminal);
        for f in fields {
            for c in f.chars() {
                time(&mut state, KeyCode::Char(c), &mut terminal);
            }
            time(&mut state, KeyCode::Tab, &mut terminal);
        }
        // Back to the line, emptied.
        time(&mut state, KeyCode::F(2), &mut terminal);
        for _ in 0..40 {
            done = time(&mut state, KeyCode::Backspace, &mut terminal);
        }
    }
    report(
        &format!("vitals keystroke + frame, 80x24, {sets} sets on the sheet"),
        &mut samples,
        "ms",
    );
}

/// 8. The record's forms (issue 20): each keystroke of a full registration typed in the form
///    (then the search for the patient and the explicit choice), and of an allergy typed in
///    its form (the coded list searched as each letter comes), with a full 80x24 frame; and
///    the keystrokes a registration takes.
fn record_form_keys(iterations: usize) {
    use bedside::workstation::msg::RegisterMsg;
    use bedside::workstation::orders::knowledge::Knowledge;
    use bedside::workstation::record::terms::Terms;
    let (mut state, mut terminal) = screen_80x24();
    let (knowledge, _) = Knowledge::load(None);
    let (terms, _) = Terms::load(&knowledge, None);
    state.record_terms = Arc::new(terms);
    let theme = Theme::color();
    let required = ["Okafor", "Ada", "f", "", "1950-03-04"];
    let full = [
        "Okafor",
        "Ada",
        "f",
        "",
        "1950-03-04",
        "2 Mill Lane",
        "Leeds",
        "LS1 4AB",
        "07700 900123",
        "ada@example.org",
        "Twi",
        "y",
        "Kofi Okafor",
        "07700 900456",
        "brother",
        "Dr Lee",
        "Northern Health",
        "NH-7788",
        "2026-01-01",
        "",
    ];
    // Keystrokes: Ctrl-N, each field and a Tab after it (none after the last one typed),
    // Enter (the search first), Down past what was found and Enter (register new).
    let count = |fields: &[&str]| {
        let last = fields.iter().rposition(|f| !f.is_empty()).unwrap_or(0);
        1 + fields[..=last]
            .iter()
            .map(|f| f.chars().count())
            .sum::<usize>()
            + last
            + 1
            + 2
    };
    println!(
        "{:<58} {} (required fields only), {} (every field, with insurance)",
        "keystrokes to register a patient (none found first)",
        count(&required),
        count(&full)
    );
    let mut samples = Vec::new();
    let mut time = |state: &mut State, msg: Msg, terminal: &mut Terminal<_>| {
        let started = Instant::now();
        std::hint::black_box(update(state, msg));
        terminal.draw(|f| view(state, &theme, f)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        samples.len()
    };
    let mut done = 0;
    while done < iterations {
        time(
            &mut state,
            Msg::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            &mut terminal,
        );
        for f in full {
            for c in f.chars() {
                time(&mut state, key(KeyCode::Char(c)), &mut terminal);
            }
            time(&mut state, key(KeyCode::Tab), &mut terminal);
        }
        time(&mut state, key(KeyCode::Enter), &mut terminal);
        let generation = state.register.as_ref().map_or(0, |r| r.generation);
        update(
            &mut state,
            Msg::Register(RegisterMsg::Found {
                generation,
                result: Ok(Vec::new()),
            }),
        );
        time(&mut state, key(KeyCode::Esc), &mut terminal);
        time(&mut state, key(KeyCode::Esc), &mut terminal);
        done = time(&mut state, key(KeyCode::Esc), &mut terminal);
    }
    report(
        "registration form keystroke + frame, 80x24",
        &mut samples,
        "ms",
    );

    // An allergy typed in its form on an open chart.
    update(&mut state, Msg::Chart(ChartMsg::Open("bench".into())));
    let context = state.chart.as_ref().map_or(0, |c| c.context);
    update(
        &mut state,
        Msg::Chart(ChartMsg::Page {
            context,
            result: Ok(vec![json!({"resourceType": "Patient", "id": "bench",
                "name": [{"family": "Bench", "given": ["Al"]}], "birthDate": "1950-01-01"})]),
        }),
    );
    update(&mut state, Msg::Chart(ChartMsg::Done { context }));
    update(&mut state, key(KeyCode::Char('p')));
    let mut samples = Vec::new();
    let mut time = |state: &mut State, code: KeyCode, terminal: &mut Terminal<_>| {
        let started = Instant::now();
        std::hint::black_box(update(state, key(code)));
        terminal.draw(|f| view(state, &theme, f)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        samples.len()
    };
    let mut done = 0;
    while done < iterations {
        time(&mut state, KeyCode::Char('a'), &mut terminal);
        for c in "penicillin".chars() {
            time(&mut state, KeyCode::Char(c), &mut terminal);
        }
        for _ in 0..3 {
            time(&mut state, KeyCode::Tab, &mut terminal);
        }
        for c in "anaphylaxis".chars() {
            time(&mut state, KeyCode::Char(c), &mut terminal);
        }
        time(&mut state, KeyCode::Esc, &mut terminal);
        done = time(&mut state, KeyCode::Esc, &mut terminal);
    }
    report(
        "allergy form keystroke + frame, 80x24 (coded search)",
        &mut samples,
        "ms",
    );
}

/// 3. Opening a 2,000-resource chart in the headless app against the embedded server.
async fn open_chart(base: &str, token: &str, runs: usize) {
    let mut first = Vec::new();
    let mut whole = Vec::new();
    for run in 0..runs {
        let mut h = Headless::new(base, token, 120, 40, anchor()).unwrap();
        let started = Instant::now();
        h.app
            .handle(Msg::Chart(ChartMsg::Open(format!("bench-{}", run % 10))));
        let ok = h
            .wait_for(Duration::from_secs(30), |s| {
                s.chart
                    .as_ref()
                    .is_some_and(|c| c.chart.patient.is_some() && c.chart.timeline.len() > 40)
            })
            .await;
        assert!(ok, "chart did not open");
        // wait_for has drawn the frame with the banner and a full first screen.
        first.push(started.elapsed().as_secs_f64() * 1000.0);
        let ok = h
            .wait_for(Duration::from_secs(30), |s| {
                s.chart.as_ref().is_some_and(|c| !c.loading)
            })
            .await;
        assert!(ok);
        whole.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "open 2,000-resource chart: banner + first screen",
        &mut first,
        "ms",
    );
    report("open 2,000-resource chart: whole chart", &mut whole, "ms");
}

/// The chart cache (4): writing a 2,000-resource chart (serialize, seal, store, evict), and
/// opening it from the cache to a drawn first screen (read, unseal, parse, build, draw).
async fn cached_chart(base: &str, token: &str, charts: &[Vec<Value>], runs: usize) {
    use bedside::workstation::runtime::offline::StorageConfig;
    use bedside::workstation::vault::cache::{CacheSettings, ChartCache};
    use bedside::workstation::vault::{Kdf, Vault};
    let home = tempfile::tempdir().unwrap();
    let storage = StorageConfig {
        vault_root: home.path().join("users"),
        cache_root: home.path().join("cache"),
        server_id: base.to_string(),
        settings: CacheSettings::default(),
        kdf: Kdf::default(),
        legacy_drafts: None,
        local_user: "bench".into(),
    };
    let vault = Vault::open(&storage.vault_root, base, "bench", "bench-password").unwrap();
    let cache =
        ChartCache::open(&storage.cache_root, vault.clone(), CacheSettings::default()).unwrap();
    let mut writes = Vec::new();
    for i in 0..runs.max(10) {
        let chart = &charts[i % charts.len()];
        let now = bedside::fhir::date::now_ms();
        let started = Instant::now();
        cache
            .put(&format!("bench-{}", i % charts.len()), chart, now, now)
            .unwrap();
        writes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "cache write of a 2,000-resource chart (off the render path)",
        &mut writes,
        "ms",
    );
    let stats = ChartCache::stats(cache.path()).unwrap();
    println!(
        "  ({} charts cached, {:.1} MB on disk sealed)",
        stats.charts,
        stats.bytes as f64 / 1_048_576.0
    );
    let mut reads = Vec::new();
    let mut builds = Vec::new();
    let mut whole = Vec::new();
    for i in 0..runs.max(10) {
        let now = bedside::fhir::date::now_ms();
        let id = format!("bench-{}", i % charts.len());
        let started = Instant::now();
        let hit = cache.get(&id, now).unwrap().unwrap();
        reads.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let mut chart = Chart::for_patient(&id);
        chart.add_page(hit.head.clone());
        chart.finish();
        builds.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let rest = cache.rest(&hit).unwrap();
        chart.add_page(rest);
        chart.finish();
        whole.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "  of which: first part read (read, unseal, parse)",
        &mut reads,
        "ms",
    );
    report("  of which: first part built", &mut builds, "ms");
    report(
        "  then: the rest read and built (screen already drawn)",
        &mut whole,
        "ms",
    );
    drop(cache);
    // The workstation runs as it does for real: its own single-threaded runtime on its own
    // thread (the server, as a remote one would, answers from another).
    let (base, token, n) = (base.to_string(), token.to_string(), charts.len());
    let mut first = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut first = Vec::new();
            for run in 0..runs {
                let mut options = bedside::workstation::app::Options::new(&base);
                options.token = Some(token.clone());
                options.storage = Some(storage.clone());
                options.vault = Some(vault.clone());
                let display = bedside::workstation::headless::test_display(&base, anchor());
                let mut h = Headless::with_options(options, display, 120, 40).unwrap();
                // Let the start-up work (drafts, outbox) settle first.
                let _ = h.wait_for(Duration::from_millis(200), |_| false).await;
                let started = Instant::now();
                h.app
                    .handle(Msg::Chart(ChartMsg::Open(format!("bench-{}", run % n))));
                let ok = h
                    .wait_for(Duration::from_secs(30), |s| {
                        s.chart
                            .as_ref()
                            .is_some_and(|c| c.cached.is_some() && c.chart.timeline.len() > 40)
                    })
                    .await;
                assert!(ok, "no chart from the cache");
                // wait_for has drawn the frame.
                first.push(started.elapsed().as_secs_f64() * 1000.0);
                let _ = h
                    .wait_for(Duration::from_secs(30), |s| {
                        s.chart.as_ref().is_some_and(|c| !c.loading)
                    })
                    .await;
            }
            first
        })
    })
    .join()
    .unwrap();
    report(
        "open 2,000-resource chart from the cache: banner + first screen",
        &mut first,
        "ms",
    );
}

/// A second user signs in at a shared terminal whose site wipes the cache at sign-out, with
/// the first user's cache full: how long the screen's thread is held by the switch, the
/// keystrokes right after it (while the old cache is removed in the background), and what the
/// same work costs when done in place (what the screen's thread used to wait for).
async fn sign_out_with_full_cache(base: &str, token: &str, charts: &[Vec<Value>]) {
    use bedside::workstation::runtime::offline::{StorageConfig, ready};
    use bedside::workstation::state::Unlocked;
    use bedside::workstation::vault::cache::{CacheSettings, ChartCache, DEFAULT_MAX_CHARTS};
    use bedside::workstation::vault::{Kdf, Vault, slug};
    let home = tempfile::tempdir().unwrap();
    let settings = CacheSettings {
        wipe_on_sign_out: true,
        ..CacheSettings::default()
    };
    let storage = StorageConfig {
        vault_root: home.path().join("users"),
        cache_root: home.path().join("cache"),
        server_id: base.to_string(),
        settings: settings.clone(),
        kdf: Kdf::default(),
        legacy_drafts: None,
        local_user: "bench".into(),
    };
    let fill = |user: &str| {
        let vault = Vault::open(&storage.vault_root, base, user, "bench-password").unwrap();
        let cache = ChartCache::open(&storage.cache_root, vault.clone(), settings.clone()).unwrap();
        for i in 0..DEFAULT_MAX_CHARTS {
            let now = bedside::fhir::date::now_ms();
            // Fifty different patients: each chart copy under its own Patient id.
            let id = format!("full-{i}");
            let mut chart = charts[i % charts.len()].clone();
            for r in &mut chart {
                if r["resourceType"] == "Patient" {
                    r["id"] = json!(id);
                }
            }
            cache.put(&id, &chart, now, now).unwrap();
        }
        let stats = ChartCache::stats(cache.path()).unwrap();
        (vault, stats)
    };
    // What the screen's thread used to wait for: the wipe and the next user's cache opened
    // in place.
    let (_, stats) = fill("before");
    let started = Instant::now();
    std::fs::remove_dir_all(storage.cache_root.join(slug(base, "before"))).unwrap();
    let removal_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (first, _) = fill("bench");
    let second = Vault::open(&storage.vault_root, base, "second", "bench-password").unwrap();
    let started = Instant::now();
    let opened = ready(Some(&storage), &second);
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "sign-out with a full cache ({} charts, {:.1} MB sealed): removing it in place {removal_ms:.1} ms, opening the next user's cache, outbox and drafts {ready_ms:.1} ms (both now off the screen's thread)",
        stats.charts,
        stats.bytes as f64 / 1_048_576.0
    );
    let old_dir = storage.cache_root.join(slug(base, "bench"));
    let (base, token) = (base.to_string(), token.to_string());
    let (switch, mut keys, gone) = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut options = bedside::workstation::app::Options::new(&base);
            options.token = Some(token);
            options.storage = Some(storage);
            options.vault = Some(first);
            let display = bedside::workstation::headless::test_display(&base, anchor());
            let mut h = Headless::with_options(options, display, 120, 40).unwrap();
            let _ = h.wait_for(Duration::from_millis(200), |_| false).await;
            let started = Instant::now();
            h.app.handle(Msg::Access(AccessMsg::VaultOpened(Box::new(Ok(
                Unlocked {
                    vault: second,
                    offline_user: None,
                    set_aside: None,
                    ready: opened,
                },
            )))));
            h.draw().unwrap();
            let switch = started.elapsed().as_secs_f64() * 1000.0;
            let mut keys = Vec::new();
            for i in 0..400 {
                let code = if i % 2 == 0 {
                    KeyCode::Char('a')
                } else {
                    KeyCode::Backspace
                };
                let started = Instant::now();
                h.app.handle(key(code));
                h.draw().unwrap();
                keys.push(started.elapsed().as_secs_f64() * 1000.0);
                if i % 40 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let started = Instant::now();
            while old_dir.exists() && started.elapsed() < Duration::from_secs(30) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (switch, keys, !old_dir.exists())
        })
    })
    .join()
    .unwrap();
    println!(
        "  the switch on the screen's thread (wipe renamed aside, handles moved): {switch:.2} ms"
    );
    report(
        "  keystroke + frame right after the switch",
        &mut keys,
        "ms",
    );
    assert!(gone, "the old cache was not removed");
    drop(home);
}

fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// 2, 4 and 5: the real binary on a pty.
fn on_pty(base: &str, token: &str, runs: usize) {
    let long = Duration::from_secs(30);
    let mut first_byte = Vec::new();
    let mut first_screen = Vec::new();
    for _ in 0..runs {
        let pty = pty::Pty::spawn(
            &["--server", base, "--token", token],
            80,
            24,
            "xterm-256color",
        );
        // With only a token, the first frame asks for the offline data's passphrase.
        assert!(pty.wait_for_text("Passphrase", 80, 24, long));
        let start = pty.started;
        if let Some(t) = *pty.first_output.lock().unwrap() {
            first_byte.push((t - start).as_secs_f64() * 1000.0);
        }
        // The whole first frame: its last words (the hint bar's "quit") have arrived.
        let drawn = pty.arrived(b"quit").expect("first frame");
        first_screen.push((drawn - start).as_secs_f64() * 1000.0);
    }
    report(
        "first byte after start (process spawn included)",
        &mut first_byte,
        "ms",
    );
    report(
        "first frame complete after start (spawn included)",
        &mut first_screen,
        "ms",
    );

    let (cols, rows) = (80, 24);
    let mut pty = pty::Pty::spawn(
        &["--server", base, "--token", token],
        cols,
        rows,
        "xterm-256color",
    );
    pty.passphrase(cols, rows);
    assert!(pty.wait_for_text("Find patient", cols, rows, long));
    let mut moves = Vec::new();
    let mut repaints = Vec::new();
    let mut idle = Vec::new();
    let (rss, _) = rss_kb(pty.child.id());
    println!(
        "{:<58} RSS {:.1} MB",
        "workstation memory at start",
        rss as f64 / 1024.0
    );
    for i in 0..10 {
        if i == 1 {
            let (rss, _) = rss_kb(pty.child.id());
            println!(
                "{:<58} RSS {:.1} MB",
                "workstation memory after 1 chart",
                rss as f64 / 1024.0
            );
        }
        pty.send(format!("/9{i:06}").as_bytes());
        assert!(pty.wait_for_text(&format!("9{i:06}"), cols, rows, long));
        assert!(pty.wait_for_text("BENCHMARK", cols, rows, long));
        pty.send(b"\r");
        assert!(
            pty.wait_for_text("2000 resources", cols, rows, long),
            "{}",
            pty.screen(cols, rows)
        );
        let before = pty.settle(Duration::from_millis(250), long);
        pty.send(b"j");
        let after = pty.after_change(before, Duration::from_millis(250), long);
        moves.push((after - before) as f64);
        pty.send(b"\x1b[15~"); // F5: redraw (Ctrl-L locks the screen)
        let repainted = pty.after_change(after, Duration::from_millis(250), long);
        repaints.push((repainted - after) as f64);
        std::thread::sleep(Duration::from_secs(1));
        idle.push((pty.bytes() - repainted) as f64);
    }
    report(
        "bytes for one cursor move in the timeline, 80x24",
        &mut moves,
        "B",
    );
    report(
        "bytes for a full 80x24 repaint of the chart",
        &mut repaints,
        "B",
    );
    report("bytes written in 1 s idle", &mut idle, "B");
    let (rss, peak) = rss_kb(pty.child.id());
    println!(
        "{:<58} RSS {:.1} MB, peak {:.1} MB",
        "workstation memory after 10 charts of 2,000 resources",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    pty.send(b"q\x03y");
    let _ = pty.wait_exit(long);
}

fn main() {
    // `cargo bench` passes --bench; ignore it.
    let iterations = arg("--iterations", 5000) as usize;
    let runs = arg("--runs", 20) as usize;
    // BENCH_ONLY=cache runs the chart cache part alone.
    let only_cache = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "cache");
    let only_pty = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "pty");
    // BENCH_ONLY=keys: the keystroke and in-memory parts, no server.
    let only_keys = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "keys");
    if !only_cache && !only_pty {
        keystroke_and_frame(iterations);
        note_keystroke(iterations);
        order_checks(iterations.min(2000));
        catalog_search(iterations.min(2000));
        composer_keys(iterations.min(2000));
        vitals_keys(iterations.min(2000));
        record_form_keys(iterations.min(2000));
    }
    if only_keys {
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    let charts: Vec<Vec<Value>> = (0..10).map(|i| chart(i, 2000)).collect();
    write_charts(&store, &charts);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = bedside::server::spawn_local(store.clone()).await.unwrap();
        let base = server.base_url();
        let auth = bedside::server::auth::Auth::new(store.clone());
        auth.add_user(
            "bench",
            "Bench",
            bedside::server::auth::Role::Physician,
            "bench-password",
        )
        .unwrap();
        let token = auth.issue_for("bench").unwrap().token;
        if only_cache {
            cached_chart(&base, &token, &charts, runs).await;
            sign_out_with_full_cache(&base, &token, &charts).await;
            server.stop().await;
            return;
        }
        if !only_pty {
            open_chart(&base, &token, runs).await;
            cached_chart(&base, &token, &charts, runs).await;
            sign_out_with_full_cache(&base, &token, &charts).await;
        }
        let base2 = base.clone();
        tokio::task::spawn_blocking(move || on_pty(&base2, &token, runs))
            .await
            .unwrap();
        server.stop().await;
    });
}
