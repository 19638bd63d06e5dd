//! Notes end to end against the embedded server: a template with a smart phrase, signing and
//! reading the DocumentReference back, an unsigned save then signing it, an addendum, and the
//! server going down during a sign (the draft stays).

mod common;

use std::time::Duration;

use base64::Engine;
use bedside::server::seed::{Depth, SeedOptions};
use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::{ChartView, Overlay, SearchStatus, State};
use chrono::NaiveDate;
use common::TestServer;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn note(s: &State) -> Option<&bedside::workstation::state::NoteState> {
    s.chart.as_ref()?.note.as_ref()
}

fn note_text(s: &State) -> String {
    note(s)
        .map(|n| n.editor.lines().join("\n"))
        .unwrap_or_default()
}

async fn newest_note(server: &TestServer, patient: &str) -> Value {
    let (_, b) = server
        .get(&format!(
            "DocumentReference?subject=Patient/{patient}&_sort=-_lastUpdated&_count=1"
        ))
        .await;
    b["entry"][0]["resource"].clone()
}

fn text_of(doc: &Value) -> String {
    let data = doc["content"][0]["attachment"]["data"].as_str().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_sign_addend_and_survive_a_server_outage() {
    let mut server = TestServer::start().await;
    let mut opts = SeedOptions::new(30, Depth::Full);
    opts.anchor = anchor();
    bedside::server::seed::seed(&server.store, &opts, |_| {}).unwrap();
    let home = tempfile::tempdir().unwrap();
    let vault = bedside::workstation::vault::Vault::open_with(
        home.path(),
        &server.base,
        "test.physician",
        "a passphrase",
        bedside::workstation::vault::Kdf {
            m_kib: 64,
            t: 1,
            p: 1,
        },
    )
    .unwrap();
    let drafts = vault.dir().join("drafts");
    let mut options = Options::new(&server.base);
    options.token = Some(server.token.clone());
    options.vault = Some(vault);
    options.author = "Dr Test".into();
    let display = test_display(&server.base, anchor());
    let mut h = Headless::with_options(options, display, 120, 40).unwrap();

    h.keys("smith john").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.search.status == SearchStatus::Done)
            .await
    );
    h.keys("<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| s.chart.as_ref().is_some_and(|c| !c.loading))
            .await
    );
    let patient = h.state().chart.as_ref().unwrap().patient_id.clone();
    let mrn = h
        .state()
        .chart
        .as_ref()
        .unwrap()
        .chart
        .patient
        .as_ref()
        .unwrap()
        .mrn
        .clone()
        .unwrap();

    // A progress note from its template; the pane names the patient.
    h.keys("n").unwrap();
    assert!(matches!(h.state().overlay, Some(Overlay::Templates { .. })));
    h.keys("<enter>").unwrap();
    assert_eq!(h.state().chart.as_ref().unwrap().view, ChartView::Note);
    assert!(
        h.screen().contains(&format!("SMITH, John (MRN {mrn})")),
        "{}",
        h.screen()
    );
    assert!(note_text(h.state()).starts_with("Progress note - SMITH, John"));
    // The phrases are discoverable from the note's help.
    h.keys("<esc>?").unwrap();
    assert!(h.screen().contains(".vitals"), "{}", h.screen());
    h.keys("<esc>i").unwrap();

    // A smart phrase expands from the chart.
    h.keys("Seen on the ward. .vitals<tab>").unwrap();
    let text = note_text(h.state());
    assert!(
        text.contains("S: Seen on the ward. Blood pressure"),
        "{text}"
    );
    assert!(text.contains("Heart rate"), "{text}");
    assert!(!text.contains(".vitals"));
    assert!(
        h.wait_for(WAIT, |s| note(s)
            .is_some_and(|n| matches!(n.saved, Some(Ok(_))) && !n.unsaved))
            .await
    );
    assert_eq!(
        std::fs::read_dir(&drafts)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "draft"))
            .count(),
        1,
        "one draft on disk"
    );
    // Sealed: the note's words are not on disk in the clear.
    for e in std::fs::read_dir(&drafts).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"Seen on the "));
    }

    // Sign: the question names the patient.
    h.keys("<esc>s").unwrap();
    assert!(
        h.screen()
            .contains(&format!("Sign progress note for SMITH, John (MRN {mrn})?")),
        "{}",
        h.screen()
    );
    h.keys("y").unwrap();
    // The electronic signature: a wrong one signs nothing, the password signs.
    assert!(
        h.screen().contains("Electronic signature"),
        "{}",
        h.screen()
    );
    h.keys("not my password<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| matches!(
            &s.overlay,
            Some(Overlay::Signature { error: Some(_), .. })
        ))
        .await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("not right"), "{}", h.screen());
    assert!(note(h.state()).is_some(), "nothing signed");
    h.keys(&format!("{}<enter>", common::TEST_PASSWORD))
        .unwrap();
    assert!(h.wait_for(WAIT, |s| note(s).is_none()).await, "not signed");
    let doc = newest_note(&server, &patient).await;
    assert_eq!(doc["status"], "current");
    assert_eq!(doc["docStatus"], "final");
    assert_eq!(doc["type"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(doc["type"]["coding"][0]["code"], "11506-3");
    assert_eq!(doc["subject"]["reference"], format!("Patient/{patient}"));
    assert_eq!(doc["author"][0]["display"], "Dr Test");
    assert!(doc["date"].as_str().is_some_and(|d| d.starts_with("20")));
    assert_eq!(
        doc["content"][0]["attachment"]["contentType"],
        "text/plain; charset=utf-8"
    );
    assert!(text_of(&doc).contains("S: Seen on the ward. Blood pressure"));
    assert_eq!(doc["description"], "Progress note (SOAP)");
    assert_eq!(doc["identifier"][0]["system"], "urn:bedside:draft");
    match h.state().chart.as_ref().unwrap().chart.current_encounter() {
        Some(enc) => assert_eq!(doc["context"]["encounter"][0]["reference"], enc.as_str()),
        None => assert!(
            doc.get("context").is_none(),
            "no encounter in progress: {doc}"
        ),
    }
    let signed_id = doc["id"].as_str().unwrap().to_string();
    // In the timeline at once, and the draft is gone.
    let c = h.state().chart.as_ref().unwrap();
    assert!(
        c.chart
            .timeline
            .iter()
            .any(|i| i.summary.starts_with("Progress note"))
    );
    // The draft file is deleted by the writer thread: give it a moment.
    let json_files = || {
        std::fs::read_dir(&drafts)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "draft")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while json_files() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(json_files(), 0, "the signed note's draft was not deleted");

    // Saved unsigned, shown as preliminary, then signed: the same resource becomes final.
    h.keys("n<down><down><down><down><enter>Observations stable.<esc>d")
        .unwrap();
    assert!(
        h.screen()
            .contains("Save UNSIGNED (preliminary) nurse note for SMITH, John"),
        "{}",
        h.screen()
    );
    h.keys("y").unwrap();
    assert!(
        h.wait_for(WAIT, |s| note(s)
            .is_some_and(|n| n.draft.server_id.is_some()))
            .await
    );
    let prelim = newest_note(&server, &patient).await;
    assert_eq!(prelim["docStatus"], "preliminary");
    assert!(
        h.state()
            .chart
            .as_ref()
            .unwrap()
            .chart
            .timeline
            .iter()
            .any(|i| i.summary.contains("[PRELIMINARY]"))
    );
    h.keys(&format!("sy{}<enter>", common::TEST_PASSWORD))
        .unwrap();
    assert!(h.wait_for(WAIT, |s| note(s).is_none()).await);
    let signed = newest_note(&server, &patient).await;
    assert_eq!(signed["id"], prelim["id"]);
    assert_eq!(signed["docStatus"], "final");
    assert!(
        !h.state()
            .chart
            .as_ref()
            .unwrap()
            .chart
            .timeline
            .iter()
            .any(|i| i.summary.contains("[PRELIMINARY]"))
    );

    // An addendum to the first signed note: a new DocumentReference that appends to it.
    let c = h.state().chart.as_ref().unwrap();
    let pos = c
        .visible
        .iter()
        .position(|&i| {
            let item = &c.chart.timeline[i as usize];
            matches!(item.target, bedside::workstation::chart::Target::Entry(e)
                if c.chart.entry_source(e) == Some(format!("DocumentReference/{signed_id}").as_str()))
        })
        .expect("the signed note in the timeline");
    h.keys(&format!("g{}a", "j".repeat(pos))).unwrap();
    assert!(
        note(h.state()).is_some_and(|n| n.draft.appends.as_deref() == Some(signed_id.as_str()))
    );
    h.keys(&format!(
        "Correction: seen at 10:00.<esc>sy{}<enter>",
        common::TEST_PASSWORD
    ))
    .unwrap();
    assert!(h.wait_for(WAIT, |s| note(s).is_none()).await);
    let addendum = newest_note(&server, &patient).await;
    assert_eq!(addendum["relatesTo"][0]["code"], "appends");
    assert_eq!(
        addendum["relatesTo"][0]["target"]["reference"],
        format!("DocumentReference/{signed_id}")
    );
    assert!(text_of(&addendum).contains("Correction: seen at 10:00."));

    // The server goes down during a sign: the note goes to the outbox, and the clinician is
    // told where it is (tests/offline.rs follows it to the server).
    h.keys("n<enter>Plan: discharge tomorrow.<esc>").unwrap();
    if let Some(s) = server.server.take() {
        s.stop().await;
    }
    // The server cannot check the signature: this terminal's key file does (for a token
    // user, its passphrase), and the signed note waits in the outbox.
    h.keys("sya passphrase<enter>").unwrap();
    assert!(
        h.wait_for(WAIT, |s| note(s).is_none() && s.storage.waiting() == 1)
            .await,
        "{}",
        h.screen()
    );
    assert!(h.screen().contains("OUTBOX"), "{}", h.screen());
    assert!(h.screen().contains("OFFLINE"), "{}", h.screen());
    let entry = &h.state().storage.outbox[0];
    assert!(entry.item.draft.text.contains("Plan: discharge tomorrow."));
    assert_eq!(entry.item.resource["docStatus"], "final");
}
