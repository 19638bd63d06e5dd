//! Offline end to end: a chart read from the encrypted cache while the server is down, a
//! note signed offline going to the outbox and reaching the server exactly once when it is
//! back, orders that are never sent on their own, a conflict that keeps both copies, and an
//! outbox that survives the workstation being killed (the real binary, SIGKILL).

mod common;

use bedside::workstation::msg::ChartMsg;
use std::time::Duration;

use bedside::server::seed::{Depth, SeedOptions};
use bedside::workstation::app::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::runtime::offline::StorageConfig;
use bedside::workstation::state::{ChartView, Msg, Overlay, State};
use bedside::workstation::vault::cache::{CacheSettings, ChartCache};
use bedside::workstation::vault::outbox::State as Sent;
use bedside::workstation::vault::{Kdf, Vault};
use chrono::NaiveDate;
use common::TestServer;
use common::pty::Pty;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const CHEAP: Kdf = Kdf {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

async fn seeded() -> TestServer {
    let server = TestServer::start().await;
    let mut opts = SeedOptions::new(30, Depth::Full);
    opts.anchor = anchor();
    opts.large_charts = 0;
    bedside::server::seed::seed(&server.store, &opts, |_| {}).unwrap();
    server
}

/// A workstation with its offline data under `home`, signed in as test.physician.
fn workstation(server: &TestServer, home: &std::path::Path) -> Headless {
    let storage = StorageConfig {
        vault_root: home.join("users"),
        cache_root: home.join("cache"),
        server_id: server.base.clone(),
        settings: CacheSettings::default(),
        kdf: CHEAP,
        legacy_drafts: None,
        local_user: "token:test".into(),
    };
    let vault = Vault::open_with(
        &storage.vault_root,
        &server.base,
        "test.physician",
        common::TEST_PASSWORD,
        CHEAP,
    )
    .unwrap();
    let mut options = Options::new(&server.base);
    options.token = Some(server.token.clone());
    options.author = "Dr Test".into();
    options.storage = Some(storage);
    options.vault = Some(vault);
    let display = test_display(&server.base, anchor());
    Headless::with_options(options, display, 120, 40).unwrap()
}

fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

fn cache_stats(home: &std::path::Path) -> (usize, u64) {
    std::fs::read_dir(home.join("cache"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| ChartCache::stats(&d.path().join("charts.db")).ok())
        .fold((0, 0), |(c, r), s| (c + s.charts, r + s.resources))
}

fn cache_charts(home: &std::path::Path) -> usize {
    cache_stats(home).0
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The DocumentReferences the server holds with draft identifier `id`.
async fn filed(server: &TestServer, draft_id: &str) -> Vec<Value> {
    let (_, b) = server
        .get(&format!(
            "DocumentReference?identifier=urn:bedside:draft|{draft_id}"
        ))
        .await;
    b["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| x["resource"].clone()).collect())
        .unwrap_or_default()
}

fn every_file(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_offline_sign_into_the_outbox_and_file_exactly_once() {
    let mut server = seeded().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = workstation(&server, home.path());

    // Online: open a chart; it is written to the cache, sealed.
    h.keys("smith john").unwrap();
    assert!(
        h.wait_for(WAIT, |s| !s.search.rows.is_empty() && !s.busy())
            .await
    );
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await);
    let c = h.state().chart.as_ref().unwrap();
    let (pid, items) = (c.patient_id.clone(), c.chart.timeline.len());
    let family = c.chart.patient.as_ref().unwrap().family.clone();
    assert!(items > 10);
    wait_until("the chart reaches the cache", || {
        cache_charts(home.path()) == 1
    })
    .await;
    let first = cache_stats(home.path()).1;
    for f in every_file(home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(family.len()).any(|w| w == family.as_bytes()),
            "{} holds the patient's name in the clear",
            f.display()
        );
    }

    // Opened again: the cached copy shows at once, marked, then the server's check clears it.
    h.keys("q").unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| c.cached.is_some()))
            .await
    );
    assert!(h.screen().contains("cached "), "{}", h.screen());
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .is_some_and(|c| !c.loading && c.cached.is_none()))
            .await
    );
    assert_eq!(
        h.state().chart.as_ref().unwrap().chart.timeline.len(),
        items
    );

    // A result filed elsewhere while the chart is cached: merged in on the next open.
    let new_obs = server
        .create(serde_json::json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}], "text": "Glucose"},
            "subject": {"reference": format!("Patient/{pid}")},
            "effectiveDateTime": "2026-11-20T09:00:00Z",
            "valueQuantity": {"value": 5.5, "unit": "mmol/L"}
        }))
        .await;
    h.keys("q").unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(
        h.wait_for(WAIT, |s| loaded(s)
            && s.chart.as_ref().unwrap().chart.timeline.len() == items + 1)
            .await,
        "the new result was not merged: {}",
        h.screen()
    );
    assert!(
        h.state()
            .chart
            .as_ref()
            .unwrap()
            .chart
            .obs
            .iter()
            .any(|o| o.id == new_obs)
    );

    // The merged chart replaces the cached one (off the render path).
    wait_until("the merged chart reaches the cache", || {
        cache_stats(home.path()).1 > first
    })
    .await;

    // The server goes down. The chart is still readable, marked, and the status says so.
    server.stop().await;
    h.keys("q").unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(
        h.wait_for(WAIT, |s| s.storage.offline() && loaded(s)).await,
        "{}",
        h.screen()
    );
    let screen = h.screen();
    assert!(screen.contains("OFFLINE"), "{screen}");
    assert!(screen.contains("CACHED"), "{screen}");
    assert_eq!(
        h.state().chart.as_ref().unwrap().chart.timeline.len(),
        items + 1
    );
    h.keys("jjjj").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().cursor, 4);

    // Search covers the cached patients.
    h.keys("/").unwrap();
    h.keys("smith").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.rows.iter().any(|r| r.patient.id == pid))
            .await,
        "{}",
        h.screen()
    );
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(h.wait_for(WAIT, loaded).await);

    // Orders are never sent later: the basket stays unsigned, and says so.
    h.keys("o").unwrap();
    assert_eq!(
        h.state().chart.as_ref().unwrap().view,
        ChartView::Orders,
        "{}",
        h.screen()
    );
    h.keys("inr<enter>").unwrap();
    h.keys("<down>on warfarin<enter>").unwrap();
    h.keys("s").unwrap();
    for _ in 0..6 {
        match h.state().overlay {
            Some(Overlay::Override { .. }) => h.keys("<enter>").unwrap(),
            _ => break,
        }
    }
    if h.state().overlay == Some(Overlay::ConfirmOrders) {
        h.keys("y").unwrap();
    }
    assert!(h.screen().contains("NOTHING was ordered"), "{}", h.screen());
    let o = h.state().chart.as_ref().unwrap().orders.as_ref().unwrap();
    assert_eq!(o.basket.len(), 1, "the basket is kept");
    h.keys("<esc>").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Timeline);
    h.keys("n").unwrap();

    // A note signed offline goes to the outbox, sealed, and the clinician sees it waiting.
    // Signed with the password, checked on this terminal (the server cannot be reached).
    h.keys(&format!(
        "<enter>Reviewed offline, plan unchanged.<esc>sy{}<enter>",
        common::TEST_PASSWORD
    ))
    .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.storage.waiting() == 1).await,
        "{}",
        h.screen()
    );
    let draft_id = h.state().storage.outbox[0].item.draft.id.clone();
    assert!(h.screen().contains("OUTBOX"), "{}", h.screen());
    h.keys("<f3>").unwrap();
    assert!(h.screen().contains("WAITING"), "{}", h.screen());
    h.keys("<esc>").unwrap();
    let outbox_file = every_file(home.path())
        .into_iter()
        .find(|p| p.ends_with("outbox.db"))
        .unwrap();
    let bytes = std::fs::read(outbox_file).unwrap();
    assert!(!bytes.windows(16).any(|w| w == b"Reviewed offline"));

    // Back: the note is sent (the probe finds the server), once.
    server.restart().await;
    assert!(
        h.wait_for(WAIT, |s| !s.storage.offline()
            && s.storage.waiting() == 0
            && s.storage.outbox.iter().any(|e| e.state == Sent::Sent))
            .await,
        "{}",
        h.screen()
    );
    let docs = filed(&server, &draft_id).await;
    assert_eq!(docs.len(), 1, "filed exactly once");
    assert_eq!(docs[0]["docStatus"], "final");
    assert_eq!(docs[0]["subject"]["reference"], format!("Patient/{pid}"));
    assert_eq!(docs[0]["author"][0]["display"], "Dr Test");
    // Sending it again (a retry after a lost answer) files nothing new.
    let entry = h.state().storage.outbox[0].clone();
    let client =
        bedside::workstation::client::FhirClient::new(&server.base, Some(server.token.clone()))
            .unwrap();
    let again = client
        .write(
            &entry.item.resource,
            Some(&format!("identifier=urn:bedside:draft|{draft_id}")),
            None,
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(again["id"], docs[0]["id"]);
    assert_eq!(filed(&server, &draft_id).await.len(), 1);
    h.keys("<f3>").unwrap();
    assert!(h.screen().contains("sent "), "{}", h.screen());
    h.keys("<esc>").unwrap();

    // A conflict: a note saved unsigned, signed offline, and changed on the server by someone
    // else meanwhile, keeps both copies.
    h.keys("n<enter>Day 1 plan.<esc>d").unwrap();
    h.keys("y").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .chart
            .as_ref()
            .and_then(|c| c.note.as_ref())
            .is_some_and(|n| n.draft.server_id.is_some()))
            .await,
        "{}",
        h.screen()
    );
    let saved_id = h
        .state()
        .chart
        .as_ref()
        .unwrap()
        .note
        .as_ref()
        .unwrap()
        .draft
        .server_id
        .clone()
        .unwrap();
    server.stop().await;
    h.keys(&format!(
        "iAmended offline.<esc>sy{}<enter>",
        common::TEST_PASSWORD
    ))
    .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.storage.waiting() == 1).await,
        "{}",
        h.screen()
    );
    server.restart().await;
    let (_, mut theirs) = server.get(&format!("DocumentReference/{saved_id}")).await;
    theirs["content"][0]["attachment"]["data"] = Value::String(base64_of("Colleague's version."));
    let (status, _) = server
        .put(&format!("DocumentReference/{saved_id}"), &theirs)
        .await;
    assert!(status.is_success());
    assert!(
        h.wait_for(WAIT, |s| s
            .storage
            .outbox
            .iter()
            .any(|e| e.state == Sent::Conflict))
            .await,
        "{}",
        h.screen()
    );
    h.keys("<f3>").unwrap();
    let pos = h
        .state()
        .storage
        .outbox
        .iter()
        .position(|e| e.state == Sent::Conflict)
        .unwrap();
    for _ in 0..pos {
        h.keys("<down>").unwrap();
    }
    h.keys("<enter>").unwrap();
    let screen = h.screen();
    assert!(screen.contains("YOUR COPY"), "{screen}");
    assert!(screen.contains("Amended offline."), "{screen}");
    assert!(screen.contains("THE SERVER'S COPY"), "{screen}");
    assert!(screen.contains("Colleague's version."), "{screen}");
    // Nothing was overwritten on the server.
    let (_, now) = server.get(&format!("DocumentReference/{saved_id}")).await;
    assert_eq!(
        now["content"][0]["attachment"]["data"],
        theirs["content"][0]["attachment"]["data"]
    );
    // Taken back as a draft to reconcile: it lands on top of the server's version.
    h.keys("r").unwrap();
    assert!(matches!(h.state().overlay, Some(Overlay::Drafts { .. })));
    assert!(h.state().drafts[0].text.contains("Amended offline."));
    assert!(h.state().drafts[0].server_version.is_some());
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The real binary, killed with SIGKILL while a note waits in its outbox; started again once
/// the server is back, it sends the note, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_survives_sigkill_and_is_sent_after_restart() {
    const COLS: u16 = 100;
    const ROWS: u16 = 30;
    let mut server = seeded().await;
    let base = server.base.clone();
    let token = server.token.clone();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let start = {
        let (base, token, home_path) = (base.clone(), token.clone(), home_path.clone());
        move || {
            let mut pty = Pty::spawn_at(
                &home_path,
                &["--server", &base, "--token", &token],
                COLS,
                ROWS,
                "xterm-256color",
                true,
                &[],
            );
            pty.passphrase(COLS, ROWS);
            assert!(
                pty.wait_for_text("Find patient", COLS, ROWS, WAIT),
                "{}",
                pty.screen(COLS, ROWS)
            );
            pty
        }
    };
    // Open a chart (so it is cached), then the server goes away.
    let s2 = start.clone();
    let mut pty = tokio::task::spawn_blocking(move || {
        let mut pty = s2();
        pty.send(b"smith john");
        assert!(pty.wait_for_text("SMITH, John", COLS, ROWS, WAIT));
        pty.send(b"\r");
        assert!(pty.wait_for_text("Timeline", COLS, ROWS, WAIT));
        pty.settle(Duration::from_millis(500), WAIT);
        pty
    })
    .await
    .unwrap();
    server.stop().await;
    let mut pty = tokio::task::spawn_blocking(move || {
        pty.send(b"n");
        assert!(pty.wait_for_text("pick a template", COLS, ROWS, WAIT));
        pty.send(b"\r");
        assert!(pty.wait_for_text("[EDITING]", COLS, ROWS, WAIT));
        pty.send(b"Killed while waiting to send.");
        assert!(pty.wait_for_text("waiting to send.", COLS, ROWS, WAIT));
        pty.send(b"\x1b");
        pty.settle(Duration::from_millis(300), WAIT);
        pty.send(b"s");
        assert!(pty.wait_for_text("Sign ", COLS, ROWS, WAIT));
        pty.send(b"y");
        assert!(pty.wait_for_text("Electronic signature", COLS, ROWS, WAIT));
        // A token user's signature offline: the passphrase of this terminal's key file.
        pty.send(b"test passphrase\r");
        assert!(
            pty.wait_for_text("OUTBOX", COLS, ROWS, WAIT),
            "{}",
            pty.screen(COLS, ROWS)
        );
        let pid = rustix::process::Pid::from_raw(pty.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
        assert!(pty.wait_exit(WAIT).is_some());
        pty
    })
    .await
    .unwrap();
    let _ = &mut pty;
    server.restart().await;
    assert_eq!(
        count_notes(&server, "Killed while waiting to send.").await,
        0
    );
    let s3 = start.clone();
    let pty = tokio::task::spawn_blocking(move || {
        let pty = s3();
        assert!(
            pty.wait_for_text("1 note sent from the outbox", COLS, ROWS, WAIT),
            "{}",
            pty.screen(COLS, ROWS)
        );
        pty
    })
    .await
    .unwrap();
    assert_eq!(
        count_notes(&server, "Killed while waiting to send.").await,
        1
    );
    drop(pty);
}

/// Notes on the server whose text is `text`.
async fn count_notes(server: &TestServer, text: &str) -> usize {
    let (_, b) = server
        .get("DocumentReference?_count=1000&_sort=-_lastUpdated")
        .await;
    b["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|x| {
                    x["resource"]["content"][0]["attachment"]["data"]
                        .as_str()
                        .is_some_and(|d| {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD
                                .decode(d)
                                .ok()
                                .is_some_and(|b| String::from_utf8_lossy(&b).contains(text))
                        })
                })
                .count()
        })
        .unwrap_or_default()
}

/// Vital signs recorded while the server is down wait in the outbox (sealed) and reach the
/// server exactly once when it is back: each Observation of the set, and NEWS2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vital_signs_recorded_offline_are_sent_exactly_once() {
    let mut server = seeded().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = workstation(&server, home.path());
    h.keys("smith john").unwrap();
    assert!(
        h.wait_for(WAIT, |s| !s.search.rows.is_empty() && !s.busy())
            .await
    );
    h.keys("<enter>").unwrap();
    assert!(h.wait_for(WAIT, loaded).await);
    let pid = h.state().chart.as_ref().unwrap().patient_id.clone();
    wait_until("the chart reaches the cache", || {
        cache_charts(home.path()) == 1
    })
    .await;
    let count = |server: &TestServer| {
        let (base, pid) = (server.base.clone(), pid.clone());
        let token = server.token.clone();
        async move {
            let client = common::client_with(&token);
            let b: Value = client
                .get(format!(
                    "{base}/Observation?patient=Patient/{pid}&identifier=urn:bedside:vitals|&_count=100"
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            b["entry"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(count(&server).await, 0);

    server.stop().await;
    h.keys("q").unwrap();
    h.app.handle(Msg::Chart(ChartMsg::Open(pid.clone())));
    assert!(
        h.wait_for(WAIT, |s| s.storage.offline() && loaded(s)).await,
        "{}",
        h.screen()
    );
    h.keys("v").unwrap();
    h.keys("T 38.4 HR 104 RR 21 BP 101/64 SpO2 94 O2 air ACVPU A<enter>")
        .unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.storage.waiting() == 1).await,
        "{}",
        h.screen()
    );
    let notice = h.state().notice.as_ref().unwrap().text.clone();
    assert!(notice.starts_with("NOT on the server yet"), "{notice}");
    // Sealed like a note.
    let outbox_file = every_file(home.path())
        .into_iter()
        .find(|p| p.ends_with("outbox.db"))
        .unwrap();
    let bytes = std::fs::read(outbox_file).unwrap();
    assert!(!bytes.windows(13).any(|w| w == b"urn:bedside:v"));

    server.restart().await;
    assert!(
        h.wait_for(WAIT, |s| !s.storage.offline()
            && s.storage.waiting() == 0
            && s.storage.outbox.iter().any(|e| e.state == Sent::Sent))
            .await,
        "{}",
        h.screen()
    );
    // Seven signs and NEWS2 (RR 2, SpO2 1, SBP 1, HR 1, T 1: 6, medium).
    assert_eq!(count(&server).await, 8);
    let (_, b) = server
        .get(&format!(
            "Observation?patient=Patient/{pid}&code=http://snomed.info/sct|1104051000000101"
        ))
        .await;
    assert_eq!(b["entry"][0]["resource"]["valueInteger"], 6);
    // Sent again (a lost answer, a flush after a kill): nothing new is filed.
    let entry = h.state().storage.outbox[0].clone();
    let client =
        bedside::workstation::client::FhirClient::new(&server.base, Some(server.token.clone()))
            .unwrap();
    client
        .post_bundle(entry.item.record.as_ref().unwrap(), WAIT)
        .await
        .unwrap();
    assert_eq!(count(&server).await, 8);
}

/// A ward's census is kept sealed on the terminal; when the server cannot be reached it is
/// shown from there, marked as a cached copy with its time, never as the server's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_census_is_kept_sealed_and_shown_as_cached_in_downtime() {
    let mut server = seeded().await;
    let home = tempfile::tempdir().unwrap();
    let mut h = workstation(&server, home.path());
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(
                |c| c.picking.is_some() && matches!(c.lists, Some(Ok(_)))
            ))
        .await,
        "{}",
        h.screen()
    );
    // Ward 4A (the seed fills beds ward by ward, 4A first).
    let wards = h.state().census.as_ref().unwrap().picks(false);
    let first = wards
        .iter()
        .position(|p| {
            matches!(
                p,
                bedside::workstation::features::census::Pick::Open(
                    bedside::workstation::census::Source::Ward(w)
                ) if w.name.starts_with("Ward 4A")
            )
        })
        .unwrap();
    for _ in 0..first {
        h.keys("<down>").unwrap();
    }
    h.keys("<enter>").unwrap();
    let rows = |s: &State| s.census.as_ref().map_or(0, |c| c.rows.len());
    assert!(
        h.wait_for(WAIT, |s| rows(s) > 0 && !s.census.as_ref().unwrap().loading)
            .await,
        "{}",
        h.screen()
    );
    let shown = rows(h.state());
    let name = h.state().census.as_ref().unwrap().rows[0].name.clone();
    let family = name.split(',').next().unwrap().to_string();
    let db = || {
        every_file(home.path())
            .into_iter()
            .find(|f| f.ends_with("charts.db"))
    };
    wait_until("the census snapshot reaches the cache", || {
        db().is_some_and(|f| {
            rusqlite::Connection::open(&f)
                .and_then(|c| {
                    c.query_row("SELECT count(*) FROM snapshot", [], |r| r.get::<_, i64>(0))
                })
                .is_ok_and(|n| n == 1)
        })
    })
    .await;
    for f in every_file(home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(family.len()).any(|w| w == family.as_bytes()),
            "{} holds a patient's name in the clear",
            f.display()
        );
    }
    // Downtime: asked again, the server is not there.
    server.stop().await;
    h.keys("r").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(|c| !c.loading && c.error.is_some()))
            .await,
        "{}",
        h.screen()
    );
    assert_eq!(rows(h.state()), shown, "the rows stay");
    // A new terminal (nothing shown yet) opens the sealed copy, said to be one.
    drop(h);
    let mut h = workstation(&server, home.path());
    h.keys("<f4>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(
                |c| c.picking.is_some() && matches!(c.lists, Some(Ok(_)))
            ))
        .await,
        "{}",
        h.screen()
    );
    assert!(
        h.screen().contains("CACHED COPY of the lists"),
        "{}",
        h.screen()
    );
    for _ in 0..first {
        h.keys("<down>").unwrap();
    }
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s
            .census
            .as_ref()
            .is_some_and(|c| c.cached_from.is_some()))
            .await,
        "{}",
        h.screen()
    );
    assert_eq!(rows(h.state()), shown);
    let screen = h.screen();
    assert!(screen.contains("CACHED COPY, NOT UP TO DATE"), "{screen}");
}
