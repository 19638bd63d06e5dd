//! The cache, the outbox and working without the server.

use super::*;

#[test]
fn a_cached_chart_shows_at_once_and_merges_without_moving_the_cursor() {
    let mut s = state();
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    let mut cached = vec![patient("p", "Cached")];
    cached.extend((1..=20).map(|d| obs(&format!("o{d}"), d)));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: cached.clone(),
            fetched_ms: 1_000,
        }),
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.cached, Some(1_000));
    assert_eq!(c.chart.timeline.len(), 20);
    // The user moves to the 5th newest item (o16).
    for _ in 0..4 {
        key(&mut s, "j");
    }
    let c = s.chart.as_ref().unwrap();
    let selected = c.chart.source_of(c.selected_target().unwrap()).unwrap();
    assert_eq!(selected, "Observation/o16");
    let row = c.cursor - c.scroll;
    // The server's changes: two newer results and a corrected older one.
    let mut merged = cached;
    merged.push(obs("o21", 21));
    merged.push(obs("o22", 22));
    merged[3]["valueQuantity"]["value"] = json!(99);
    update(
        &mut s,
        Msg::Chart(ChartMsg::Merged {
            context: 1,
            resources: merged,
        }),
    );
    let c = s.chart.as_ref().unwrap();
    assert_eq!(c.cached, None);
    assert_eq!(c.chart.timeline.len(), 22);
    assert_eq!(
        c.chart.source_of(c.selected_target().unwrap()).unwrap(),
        "Observation/o16",
        "the same item stays selected"
    );
    assert_eq!(c.cursor - c.scroll, row, "on the same screen line");
    assert!(c.chart.obs.iter().any(|o| o.number == Some(99.0)));
}

#[test]
fn offline_keeps_the_cached_mark_probes_and_coming_back_flushes() {
    let mut s = state();
    s.storage.enabled = true;
    s.storage.open = true;
    update(&mut s, Msg::Chart(ChartMsg::Open("p".into())));
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: vec![patient("p", "Cached"), obs("o1", 1)],
            fetched_ms: 1,
        }),
    );
    let effects = update(&mut s, Msg::Offline(OfflineMsg::Connectivity(false)));
    assert!(effects.contains(&Effect::Probe), "asks again later");
    assert!(s.storage.offline());
    // A second offline signal does not start a second probe.
    assert!(update(&mut s, Msg::Offline(OfflineMsg::Connectivity(false))).is_empty());
    update(&mut s, Msg::Chart(ChartMsg::Done { context: 1 }));
    assert_eq!(s.chart.as_ref().unwrap().cached, Some(1), "still marked");
    // The probe says no: it asks again.
    assert!(update(&mut s, Msg::Offline(OfflineMsg::Probed(false))).contains(&Effect::Probe));
    // The probe says yes: the outbox is flushed and the cached chart refreshed.
    let effects = update(&mut s, Msg::Offline(OfflineMsg::Probed(true)));
    assert!(!s.storage.offline());
    assert!(effects.contains(&Effect::FlushOutbox));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::OpenChart { context: 1, .. }))
    );
}

#[test]
fn a_note_the_server_did_not_get_goes_to_the_outbox_even_after_its_chart_closed() {
    for close_first in [false, true] {
        let mut s = state();
        let (context, draft, status, author) = sending_a_note(&mut s);
        if close_first {
            s.chart = None;
        }
        let effects = update(
            &mut s,
            Msg::Note(NoteMsg::Sent {
                context,
                draft: draft.clone(),
                status,
                author: author.clone(),
                result: Err(FetchError::Timeout(30)),
            }),
        );
        // `update` decides: into the outbox, and the terminal now knows it is offline.
        assert!(
            effects.contains(&Effect::QueueNote {
                context,
                draft,
                status,
                author
            }),
            "{effects:?}"
        );
        assert!(s.storage.offline());
    }
}

#[test]
fn a_note_the_server_refused_stays_in_the_editor_and_is_not_queued() {
    let mut s = state();
    let (context, draft, status, author) = sending_a_note(&mut s);
    let effects = update(
        &mut s,
        Msg::Note(NoteMsg::Sent {
            context,
            draft,
            status,
            author,
            result: Err(FetchError::Forbidden("no".into())),
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::QueueNote { .. } | Effect::DeleteDraft(_))),
        "{effects:?}"
    );
    assert!(!s.storage.offline());
    let note = s.chart.as_ref().and_then(|c| c.note.as_ref()).unwrap();
    assert!(note.sending.is_none() && note.error.is_some());
}

#[test]
fn offline_a_cached_chart_stays_without_an_error_and_nothing_more_is_loaded() {
    let mut s = state();
    opening_as(&mut s, "physician");
    update(
        &mut s,
        Msg::Chart(ChartMsg::Cached {
            context: 1,
            resources: vec![patient("p", "Doe")],
            fetched_ms: 1,
        }),
    );
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Err(FetchError::Unreachable("no route".into())),
        }),
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { .. })),
        "{effects:?}"
    );
    assert!(s.storage.offline());
    let c = s.chart.as_ref().unwrap();
    assert!(c.error.is_none() && !c.loading && c.cached == Some(1));
    // Without a cached copy the failure is shown, and the rest is still tried.
    let mut s = state();
    opening_as(&mut s, "physician");
    let effects = update(
        &mut s,
        Msg::Chart(ChartMsg::Patient {
            context: 1,
            result: Err(FetchError::Unreachable("no route".into())),
        }),
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadChartBody { keep: true, .. })),
        "{effects:?}"
    );
    assert!(s.chart.as_ref().unwrap().error.is_some());
}
