//! Screens as text snapshots (insta + ratatui's TestBackend) at 80x24 and 160x48: search,
//! banner with timeline and detail, a lab report's detail, summary and trend. The data is the
//! deterministic seed with a fixed anchor date, the clock and zone are fixed, and the server
//! label is fixed, so the screens are the same on every machine.

mod common;

use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{ChartFocus, SearchStatus, State};
use chrono::NaiveDate;
use common::TestServer;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    let mut opts = SeedOptions::new(60, Depth::Full);
    opts.anchor = anchor();
    opts.large_charts = 0;
    bedside::server::seed::seed(&server.store, &opts, |_| {}).expect("seed");
    server
}

fn headless(server: &TestServer, w: u16, h: u16) -> Headless {
    let display = test_display("http://bedside.test/fhir", anchor());
    Headless::with(&server.base, &server.token, w, h, display, None).unwrap()
}

fn done(s: &State) -> bool {
    s.search.status == SearchStatus::Done && s.search.rows.iter().all(|r| r.location.is_some())
}

fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

/// The MRN of the first patient with a real (not "no known") allergy and a lab report.
async fn patient_with_allergies(server: &TestServer) -> String {
    let (_, bundle) = server
        .get("AllergyIntolerance?criticality=high&_count=50")
        .await;
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let patient = entry["resource"]["patient"]["reference"].as_str().unwrap();
        let (_, reports) = server
            .get(&format!("DiagnosticReport?subject={patient}&_count=1"))
            .await;
        if reports["entry"].as_array().is_some_and(|e| !e.is_empty()) {
            let (_, p) = server.get(patient).await;
            return p["identifier"][0]["value"].as_str().unwrap().to_string();
        }
    }
    panic!("the seed has no allergic patient with labs");
}

#[tokio::test]
async fn search_screen() {
    let server = seeded().await;
    for (w, h) in SIZES {
        let mut app = headless(&server, w, h);
        insta::assert_snapshot!(format!("search_empty_{w}x{h}"), app.screen());
        app.keys("smith john").unwrap();
        assert!(app.wait_for(WAIT, done).await);
        insta::assert_snapshot!(format!("search_smith_john_{w}x{h}"), app.screen());
    }
}

#[tokio::test]
async fn chart_screens() {
    let server = seeded().await;
    let mrn = patient_with_allergies(&server).await;
    for (w, h) in SIZES {
        let mut app = headless(&server, w, h);
        app.keys(&mrn).unwrap();
        assert!(app.wait_for(WAIT, done).await);
        app.keys("<enter>").unwrap();
        assert!(app.wait_for(WAIT, loaded).await);
        let screen = app.screen();
        assert!(screen.contains("Allergies: "), "{screen}");
        insta::assert_snapshot!(format!("chart_banner_timeline_{w}x{h}"), screen);

        // The newest lab report, its detail focused.
        let c = app.state().chart.as_ref().unwrap();
        let report = c
            .visible
            .iter()
            .position(|&i| {
                matches!(
                    c.chart.timeline[i as usize].target,
                    bedside::workstation::chart::Target::Report(_)
                )
            })
            .expect("a report in the timeline");
        app.keys(&format!("{}<enter>", "j".repeat(report))).unwrap();
        assert_eq!(
            app.state().chart.as_ref().unwrap().focus,
            ChartFocus::Detail
        );
        insta::assert_snapshot!(format!("chart_report_detail_{w}x{h}"), app.screen());

        app.keys("t").unwrap();
        insta::assert_snapshot!(format!("chart_trend_{w}x{h}"), app.screen());
        app.keys("<esc><esc>s").unwrap();
        insta::assert_snapshot!(format!("chart_summary_{w}x{h}"), app.screen());
    }
}

#[tokio::test]
async fn ascii_terminal_draws_only_ascii() {
    let server = seeded().await;
    let mut display = test_display("http://bedside.test/fhir", anchor());
    display.ascii = true;
    display.braille = false;
    let mut app = Headless::with(&server.base, &server.token, 80, 24, display, None).unwrap();
    app.keys("smith john").unwrap();
    assert!(app.wait_for(WAIT, done).await);
    app.keys("<enter>").unwrap();
    assert!(app.wait_for(WAIT, loaded).await);
    for keys in ["", "<enter>", "t", "<esc><esc>s"] {
        app.keys(keys).unwrap();
        let screen = app.screen();
        assert!(screen.is_ascii(), "non-ASCII after {keys:?}:\n{screen}");
    }
    let _: Option<Value> = None;
}
