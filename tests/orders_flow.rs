//! Orders end to end, driven by keys against the embedded server: compose from the catalog,
//! see the checks fire, override with a reason, sign, read the transaction back, discontinue,
//! and a failed sign that keeps the basket.

mod common;

use bedside::workstation::msg::ChartMsg;
use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{ChartView, Msg, Overlay, State};
use chrono::NaiveDate;
use common::TestServer;

const WAIT: Duration = Duration::from_secs(20);

fn orders(s: &State) -> &bedside::workstation::state::OrdersState {
    s.chart.as_ref().unwrap().orders.as_ref().unwrap()
}

fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_check_override_sign_discontinue() {
    let mut server = TestServer::start().await;
    let mut opts = SeedOptions::new(40, Depth::Full);
    opts.anchor = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    bedside::server::seed::seed(&server.store, &opts, |_| {}).unwrap();
    // A patient on warfarin (the seed gives some warfarin with an NSAID on purpose).
    let (_, b) = server
        .get("MedicationRequest?code=http://www.nlm.nih.gov/research/umls/rxnorm|11289&status=active&_count=1")
        .await;
    let reference = b["entry"][0]["resource"]["subject"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let pid = reference.trim_start_matches("Patient/").to_string();

    let mut options = Options::new(&server.base);
    options.token = Some(server.token.clone());
    options.author = "Dr Test".into();
    let display = test_display(&server.base, opts.anchor);
    let mut h = Headless::with_options(options, display, 120, 40).unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);

    // Compose: ibuprofen, which interacts with warfarin.
    h.keys("o").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Orders);
    h.keys("ibupro").unwrap();
    assert!(h.screen().contains("ibuprofen"), "{}", h.screen());
    h.keys("<enter>").unwrap();
    assert!(matches!(
        h.state().overlay,
        Some(Overlay::OrderFields { .. })
    ));
    assert!(
        h.screen().contains("an indication"),
        "fields flagged in place: {}",
        h.screen()
    );
    h.keys("<down><down><down><down><down><down>knee pain<enter>")
        .unwrap();
    let o = orders(h.state());
    assert!(
        o.basket[0].problems().is_empty(),
        "{:?}",
        o.basket[0].problems()
    );
    let interaction = o
        .alerts
        .iter()
        .find(|a| a.kind == bedside::workstation::orders::checks::AlertKind::DrugDrug)
        .expect("warfarin + ibuprofen fires");
    assert!(interaction.needs_override());
    assert!(h.screen().contains("[HIGH]"), "{}", h.screen());

    // And an INR.
    h.keys("<tab><tab>inr<enter><down>on warfarin<enter>")
        .unwrap();
    assert_eq!(orders(h.state()).basket.len(), 2);

    // Sign: each high-severity alert asks for a reason, then the confirm names the patient.
    h.keys("s").unwrap();
    for _ in 0..6 {
        match h.state().overlay {
            Some(Overlay::Override { .. }) => h.keys("<enter>").unwrap(),
            _ => break,
        }
    }
    assert_eq!(
        h.state().overlay,
        Some(Overlay::ConfirmOrders),
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("Sign 2 orders for"), "{}", h.screen());
    h.keys("y").unwrap();
    assert!(
        h.screen().contains("Electronic signature"),
        "{}",
        h.screen()
    );
    h.keys(&format!("{}<enter>", common::TEST_PASSWORD))
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("orders signed")))
            .await,
        "{}",
        h.screen()
    );
    assert!(h.wait_for(WAIT, loaded).await);

    // Read back: the MedicationRequest and its DetectedIssue with the override reason.
    let (_, meds) = server
        .get(&format!(
            "MedicationRequest?subject=Patient/{pid}&code=http://www.nlm.nih.gov/research/umls/rxnorm|5640&_sort=-_lastUpdated"
        ))
        .await;
    let ibuprofen = meds["entry"][0]["resource"].clone();
    assert_eq!(ibuprofen["status"], "active");
    assert_eq!(ibuprofen["requester"]["display"], "Dr Test");
    let issue_ref = ibuprofen["detectedIssue"][0]["reference"]
        .as_str()
        .expect("override filed");
    let (_, issue) = server.get(issue_ref).await;
    assert!(
        issue["mitigation"][0]["action"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Overridden: ")
    );
    let (_, srs) = server
        .get(&format!("ServiceRequest?subject=Patient/{pid}&code=6301-6"))
        .await;
    assert!(srs["entry"].as_array().is_some_and(|e| !e.is_empty()));

    // Discontinue the new ibuprofen from the active list.
    let id = ibuprofen["id"].as_str().unwrap().to_string();
    let c = h.state().chart.as_ref().unwrap();
    let list = bedside::workstation::features::orders::active_orders(c);
    let pos = list
        .iter()
        .position(|(_, source, _)| *source == format!("MedicationRequest/{id}"))
        .expect("the new order is active in the chart");
    h.keys(&format!("<tab>{}x", "j".repeat(pos))).unwrap();
    assert!(
        matches!(h.state().overlay, Some(Overlay::Discontinue { .. })),
        "{:?}",
        h.state().overlay
    );
    h.keys("GI upset<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("discontinued")))
            .await
    );
    let (_, stopped) = server.get(&format!("MedicationRequest/{id}")).await;
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(stopped["statusReason"]["text"], "GI upset");

    // The server goes away: the sign fails, nothing is lost, the basket stays.
    assert!(h.wait_for(WAIT, loaded).await);
    h.keys("<tab>cbc<enter><down>anemia<enter>").unwrap();
    if let Some(s) = server.server.take() {
        s.stop().await;
    }
    h.keys("s").unwrap();
    for _ in 0..6 {
        match h.state().overlay {
            Some(Overlay::Override { .. }) | Some(Overlay::AckChecks) => {
                h.keys("<enter>y").unwrap()
            }
            _ => break,
        }
    }
    if h.state().overlay == Some(Overlay::ConfirmOrders) {
        h.keys("y").unwrap();
    }
    // The signature cannot be checked with the server gone: nothing is signed, and it says
    // so; the basket stays.
    h.keys(&format!("{}<enter>", common::TEST_PASSWORD))
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| matches!(
            &s.overlay,
            Some(Overlay::Signature { error: Some(e), .. }) if e.contains("nothing was signed")
        ))
        .await,
        "{}",
        h.screen()
    );
    assert_eq!(orders(h.state()).basket.len(), 1);
    h.keys("<esc>").unwrap();
    assert_eq!(h.state().overlay, None);
}
