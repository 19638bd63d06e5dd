//! The workstation driven by key sequences against the real embedded server on an ephemeral
//! port: search, open, filter, detail, trend, summary; wrong-patient guards; error lines.

mod common;

use bedside::workstation::msg::ChartMsg;
use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use bedside::workstation::headless::Headless;
use bedside::workstation::state::{ChartFocus, ChartView, Screen, SearchStatus};
use chrono::NaiveDate;
use common::TestServer;

const WAIT: Duration = Duration::from_secs(20);

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

async fn seeded(patients: u64) -> TestServer {
    let server = TestServer::start().await;
    let mut opts = SeedOptions::new(patients, Depth::Full);
    opts.anchor = anchor();
    opts.large_charts = 0;
    bedside::server::seed::seed(&server.store, &opts, |_| {}).expect("seed");
    server
}

fn loaded(s: &bedside::workstation::state::State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

#[tokio::test]
async fn search_open_filter_and_read_a_result() {
    let server = seeded(40).await;
    let mut h = Headless::new(&server.base, &server.token, 100, 30, anchor()).unwrap();
    assert!(h.screen().contains("No recent patients"));
    h.keys("smith john").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await
    );
    let screen = h.screen();
    // Namesakes: every row shows what tells them apart.
    assert!(screen.matches("SMITH, John").count() >= 2, "{screen}");
    assert!(screen.contains("MRN"), "{screen}");
    h.keys("<enter>").unwrap();
    assert_eq!(h.state().screen, Screen::Chart);
    assert!(h.wait_for(WAIT, loaded).await);
    let screen = h.screen();
    assert!(screen.contains("SMITH, John"), "{screen}");
    assert!(screen.contains("MRN "), "{screen}");
    assert!(
        screen.contains("Allergies") || screen.contains("NKDA"),
        "banner must state the allergy status: {screen}"
    );
    // Filter to results, open the first one's detail.
    h.keys("f").unwrap();
    assert!(h.screen().contains("Results"));
    let choices = bedside::workstation::features::chart::filter_choices(h.state());
    let results = choices
        .iter()
        .position(|(k, _)| *k == Some(bedside::workstation::chart::Kind::Result));
    if let Some(pos) = results {
        let downs = "<down>".repeat(pos);
        h.keys(&format!("{downs}<enter>")).unwrap();
        let c = h.state().chart.as_ref().unwrap();
        assert_eq!(c.filter, Some(bedside::workstation::chart::Kind::Result));
        assert!(!c.visible.is_empty());
        h.keys("<enter>").unwrap();
        assert_eq!(h.state().chart.as_ref().unwrap().focus, ChartFocus::Detail);
        let screen = h.screen();
        assert!(
            screen.contains("Range") || screen.contains("Previous"),
            "{screen}"
        );
        h.keys("t").unwrap();
        assert!(matches!(
            h.state().chart.as_ref().unwrap().view,
            ChartView::Trend { .. }
        ));
        assert!(h.screen().contains("Trend:"));
        h.keys("<esc>").unwrap();
    }
    h.keys("s").unwrap();
    assert!(h.screen().contains("Active problems"));
    h.keys("s").unwrap();
    // `/` from the chart goes to search; the patient is now recent.
    h.keys("/").unwrap();
    assert_eq!(h.state().screen, Screen::Search);
    assert!(h.screen().contains("Recent patients"));
    assert!(h.screen().contains("SMITH, John"));
}

#[tokio::test]
async fn a_late_reply_for_another_patient_is_dropped() {
    let server = seeded(20).await;
    let mut h = Headless::new(&server.base, &server.token, 120, 40, anchor()).unwrap();
    h.keys("garcia<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await
    );
    // Open the first Garcia, and at once the second: the first one's replies are stale.
    h.keys("<enter>").unwrap();
    let first = h.state().chart.as_ref().unwrap().patient_id.clone();
    h.keys("/garcia").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await
    );
    h.keys("<down><enter>").unwrap();
    let second = h.state().chart.as_ref().unwrap().patient_id.clone();
    assert_ne!(first, second);
    assert!(h.wait_for(WAIT, loaded).await);
    let c = h.state().chart.as_ref().unwrap();
    assert_eq!(c.chart.patient.as_ref().unwrap().id, second);
    assert_eq!(c.chart.foreign, 0);
}

#[tokio::test]
async fn no_match_and_unreachable_server_are_explained() {
    let server = seeded(5).await;
    let mut h = Headless::new(&server.base, &server.token, 80, 24, anchor()).unwrap();
    h.keys("zzyzx").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::NoMatch)
            .await
    );
    assert!(h.screen().contains("No patient matches"), "{}", h.screen());
    // Nothing listens on this port any more.
    let base = server.base.clone();
    let token = server.token.clone();
    let mut server = server;
    if let Some(s) = server.server.take() {
        s.stop().await;
    }
    let mut h = Headless::new(&base, &token, 80, 24, anchor()).unwrap();
    h.keys("smith").unwrap();
    assert!(
        h.wait_for(WAIT, |s| matches!(s.search.status, SearchStatus::Failed(_)))
            .await
    );
    assert!(h.screen().contains("Search failed"), "{}", h.screen());
}

/// A restricted record opens to its banner and a break-the-glass question; the reason opens
/// it. Support staff get demographics and, on `A`, who opened the chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_records_and_the_access_log() {
    use bedside::workstation::state::{Msg, Overlay, PromptKind};
    let server = seeded(20).await;
    let mrn = format!("{}|0000014", bedside::server::seed::MRN_SYSTEM);
    let (_, found) = server.get(&format!("Patient?identifier={mrn}")).await;
    let vip = found["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(bedside::server::auth::policy::is_restricted(
        &found["entry"][0]["resource"]
    ));

    let mut h = Headless::new(&server.base, &server.token, 120, 40, anchor()).unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(vip.clone())));
    let asking = |s: &bedside::workstation::state::State| {
        matches!(
            s.overlay,
            Some(Overlay::Prompt {
                kind: PromptKind::BreakGlass,
                ..
            })
        )
    };
    assert!(h.wait_for(WAIT, asking).await);
    let screen = h.screen();
    assert!(screen.contains("RESTRICTED record"), "{screen}");
    assert!(screen.contains("WITHHELD"), "{screen}");
    assert!(h.state().chart.as_ref().unwrap().chart.timeline.is_empty());
    h.keys("Unconscious in ED, no history available<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.chart.as_ref().is_some_and(|c| {
            c.withheld.is_none() && !c.loading && !c.chart.timeline.is_empty()
        }))
        .await,
        "{}\n{:?} {:?}",
        h.screen(),
        h.state().notice,
        h.state().overlay
    );
    // While the grant lasts, the banner says so, with the time left.
    assert!(
        h.screen().contains("EMERGENCY ACCESS 60 min left"),
        "{}",
        h.screen()
    );

    // Support: demographics only, and the access log.
    let support = server.user("t.support", bedside::server::auth::Role::Support);
    let mut opts = bedside::workstation::Options::new(&server.base);
    opts.token = Some(support);
    opts.user = Some(bedside::workstation::client::SignedIn {
        username: "t.support".into(),
        name: "Support".into(),
        role: "support".into(),
        practitioner: None,
    });
    let display = bedside::workstation::headless::test_display(&server.base, anchor());
    let mut s = Headless::with_options(opts, display, 140, 40).unwrap();
    s.app.handle(Msg::Chart(ChartMsg::Open(vip.clone())));
    assert!(
        s.wait_for(WAIT, asking).await,
        "{:?} {:?}",
        s.state().overlay,
        s.state().notice
    );
    s.keys("<esc>").unwrap();
    // (A restricted record: support sees that it is restricted, and nothing clinical.)
    assert!(
        s.screen().contains("clinical content withheld"),
        "{}",
        s.screen()
    );
    // A record that is not restricted: withheld for the role, said as such (not "restricted").
    let (_, anyone) = server.get("Patient?identifier=0000003").await;
    let ordinary = anyone["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut plain = {
        let mut opts = bedside::workstation::Options::new(&server.base);
        opts.token = Some(server.user("t.support", bedside::server::auth::Role::Support));
        opts.user = Some(bedside::workstation::client::SignedIn {
            username: "t.support".into(),
            name: "Support".into(),
            role: "support".into(),
            practitioner: None,
        });
        let display = bedside::workstation::headless::test_display(&server.base, anchor());
        Headless::with_options(opts, display, 140, 40).unwrap()
    };
    plain.app.handle(Msg::Chart(ChartMsg::Open(ordinary)));
    assert!(plain.wait_for(WAIT, asking).await);
    plain.keys("<esc>").unwrap();
    let screen = plain.screen();
    assert!(screen.contains("WITHHELD for your role"), "{screen}");
    assert!(!screen.contains("restricted record"), "{screen}");
    s.keys("A").unwrap();
    let listed = |st: &bedside::workstation::state::State| matches!(&st.overlay, Some(Overlay::AccessLog { entries: Some(Ok(e)), .. }) if !e.is_empty());
    assert!(s.wait_for(WAIT, listed).await, "{}", s.screen());
    let screen = s.screen();
    assert!(screen.contains("test.physician"), "{screen}");
    assert!(screen.contains("EMERGENCY: Unconscious in ED"), "{screen}");
    // Each access says what was asked for (the search's query, or the resource)...
    assert!(screen.contains("?patient=Patient"), "{screen}");
    // ...and Enter shows the selected one in full, its whole address included.
    s.keys("<enter>").unwrap();
    let detail = s.screen();
    assert!(detail.contains(" From "), "{detail}");
    assert!(detail.contains("127.0.0.1"), "{detail}");
    assert!(detail.contains(" User "), "{detail}");
    s.keys("<enter>").unwrap();
    // Filtered to one user.
    s.keys("/t.support<enter>").unwrap();
    assert!(s.wait_for(WAIT, listed).await, "{}", s.screen());
    assert!(!s.screen().contains("test.physician"), "{}", s.screen());
}

#[tokio::test]
async fn a_patient_who_shares_a_name_is_flagged_until_acknowledged() {
    let server = seeded(40).await;
    let mut h = Headless::new(&server.base, &server.token, 100, 30, anchor()).unwrap();
    h.keys("smith john").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await
    );
    let others = h.state().search.rows.len() - 1;
    assert!(others >= 1);
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| c.namesakes.is_some()))
            .await
    );
    let flag = if others == 1 {
        "1 other patient named SMITH, John".to_string()
    } else {
        format!("{others} other patients named SMITH, John")
    };
    assert!(h.screen().contains(&flag), "{}", h.screen());
    // Acknowledged for this chart: the flag goes, and stays gone on reopening it.
    h.keys("!").unwrap();
    assert!(!h.screen().contains(&flag), "{}", h.screen());
    let id = h.state().chart.as_ref().unwrap().patient_id.clone();
    h.keys("q").unwrap();
    h.app.handle(bedside::workstation::state::Msg::Chart(
        bedside::workstation::msg::ChartMsg::Open(id),
    ));
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| c.namesakes.is_some()))
            .await
    );
    assert!(!h.screen().contains("other patient"), "{}", h.screen());
    // A patient with a name of their own is not flagged.
    let unique = server
        .create(common::patient(
            "Quixotewright",
            "Zebedee",
            "1950-01-01",
            "male",
            "MRN-UNIQ-1",
        ))
        .await;
    h.app.handle(bedside::workstation::state::Msg::Chart(
        bedside::workstation::msg::ChartMsg::Open(unique),
    ));
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| c.namesakes == Some(0)))
            .await,
        "{}",
        h.screen()
    );
}
