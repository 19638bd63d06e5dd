//! Offline work on the screen: charts from the cache and the server's changes merged in
//! without moving the cursor, the server's reachability, and the outbox.

use serde_json::Value;

use crate::workstation::chart::Chart;
use crate::workstation::vault::outbox::State as Sent;

use crate::workstation::action::Action;
use crate::workstation::features::chart::timeline::{follow, refresh_visible, timeline_rows};
use crate::workstation::features::current_chart;
use crate::workstation::state::*;

/// Puts `resources` in place of the chart's content. The item the user had selected stays
/// selected, on the same screen row; a user who has not moved stays at the newest item.
fn replace_content(c: &mut ChartState, resources: Vec<Value>, rows: usize) {
    let key = c
        .moved
        .then(|| c.selected().and_then(|i| c.chart.source_of(i.target)))
        .flatten();
    let row = c.cursor.saturating_sub(c.scroll);
    let mut chart = Chart::for_patient(&c.patient_id);
    if chart.patient.is_none() {
        chart.patient = c.chart.patient.clone();
    }
    chart.add_page(resources);
    chart.finish();
    c.chart = chart;
    let moved = c.moved;
    c.moved = false;
    refresh_visible(c, rows);
    c.moved = moved;
    if let Some(key) = key {
        let found = c.visible.iter().position(|&i| {
            c.chart
                .timeline
                .get(i as usize)
                .and_then(|item| c.chart.source_of(item.target))
                .as_deref()
                == Some(key.as_str())
        });
        if let Some(p) = found {
            c.cursor = p;
            c.scroll = p.saturating_sub(row);
            follow(c, rows);
        }
    }
}

pub(crate) fn chart_cached(
    state: &mut State,
    context: u64,
    resources: Vec<Value>,
    fetched_ms: i64,
) {
    let rows = timeline_rows(state.size);
    if let Some(c) = current_chart(state, context) {
        replace_content(c, resources, rows);
        c.cached = Some(fetched_ms);
        state.dirty = true;
    }
}

pub(crate) fn chart_merged(state: &mut State, context: u64, resources: Vec<Value>) {
    let rows = timeline_rows(state.size);
    if let Some(c) = current_chart(state, context) {
        replace_content(c, resources, rows);
        c.cached = None;
        state.dirty = true;
    }
}

/// The server could (true) or could not (false) be reached.
pub(crate) fn connectivity(state: &mut State, online: bool, effects: &mut Vec<Effect>) {
    if !online {
        if state.storage.offline_since.is_none() {
            state.storage.offline_since = Some(state.now_ms);
            state.notice = Some(Notice {
                level: Level::Warning,
                text: if state.storage.open {
                    format!(
                        "the server cannot be reached: read-only on cached charts; notes you sign wait in the outbox ({})",
                        state.keymap.hint(
                            crate::workstation::keymap::Context::Global,
                            Action::ShowOutbox
                        )
                    )
                } else {
                    "the server cannot be reached".into()
                },
            });
        }
        if !state.storage.probe_pending {
            state.storage.probe_pending = true;
            effects.push(Effect::Probe);
        }
        state.dirty = true;
        return;
    }
    if state.storage.offline_since.take().is_none() {
        return;
    }
    let mut text = String::from("the server is back");
    let waiting = state.storage.waiting();
    if waiting > 0 {
        text.push_str(&format!(
            "; sending {} from the outbox",
            crate::workstation::count(waiting, "note", "notes")
        ));
    }
    if state.storage.open {
        effects.push(Effect::FlushOutbox);
    }
    let support = state.access.demographics_only();
    if let Some(c) = &mut state.chart {
        let basket = c.orders.as_ref().map_or(0, |o| o.basket.len());
        if basket > 0 {
            text.push_str(&format!(
                "; {basket} orders in the basket are NOT signed: sign them now"
            ));
        }
        if c.cached.is_some() && !c.loading {
            // The cached chart gets the server's changes now.
            effects.push(crate::workstation::features::chart::load::open(
                c, true, support,
            ));
        }
    }
    state.notice = Some(Notice {
        level: Level::Info,
        text,
    });
    state.dirty = true;
}

/// The answer to a probe.
pub(crate) fn probed(state: &mut State, online: bool, effects: &mut Vec<Effect>) {
    state.storage.probe_pending = false;
    if online || state.storage.offline() {
        connectivity(state, online, effects);
    }
}

pub(crate) fn outbox(
    state: &mut State,
    entries: Vec<OutboxEntry>,
    sent_now: usize,
    effects: &mut Vec<Effect>,
) {
    let newly_stuck = entries
        .iter()
        .filter(|e| matches!(e.state, Sent::Conflict | Sent::Refused))
        .count()
        > state.storage.stuck();
    state.storage.outbox = entries;
    if let Some(Overlay::Outbox { cursor, .. }) = &mut state.overlay {
        *cursor = (*cursor).min(state.storage.outbox.len().saturating_sub(1));
    }
    if newly_stuck {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: format!(
                "a note in the outbox needs you (changed on the server, or refused): {}",
                state.keymap.hint(
                    crate::workstation::keymap::Context::Global,
                    Action::ShowOutbox
                )
            ),
        });
    } else if sent_now > 0 {
        let waiting = state.storage.waiting();
        state.notice = Some(Notice {
            level: Level::Info,
            text: if waiting > 0 {
                format!(
                    "{} sent from the outbox; {waiting} still waiting",
                    crate::workstation::count(sent_now, "note", "notes")
                )
            } else {
                format!(
                    "{} sent from the outbox",
                    crate::workstation::count(sent_now, "note", "notes")
                )
            },
        });
        // The open chart shows what was just filed.
        let support = state.access.demographics_only();
        let offline = state.storage.offline();
        if let Some(c) = &mut state.chart
            && !offline
            && c.withheld.is_none()
        {
            effects.push(crate::workstation::features::chart::load::open(
                c, true, support,
            ));
        }
    }
    state.dirty = true;
}

/// Keys in the outbox overlay: move, Enter to compare both copies of a conflict, `r` to take
/// a stuck note back as a draft, `x` to discard a stuck note, F3 or Esc to close (the keys
/// are the default keymap's `[outbox]`).
pub(crate) fn outbox_key(
    state: &mut State,
    key: crate::workstation::keymap::Key,
    effects: &mut Vec<Effect>,
) -> bool {
    let Some(Overlay::Outbox {
        cursor,
        compare,
        scroll,
    }) = state.overlay.clone()
    else {
        return false;
    };
    let n = state.storage.outbox.len();
    let entry = state.storage.outbox.get(cursor).cloned();
    let stuck = entry
        .as_ref()
        .is_some_and(|e| matches!(e.state, Sent::Conflict | Sent::Refused));
    let Some(action) = crate::workstation::features::resolve(
        state,
        crate::workstation::keymap::Context::Outbox,
        key,
    ) else {
        return true;
    };
    let down = matches!(
        action,
        Action::MoveDown | Action::PageDown | Action::GoBottom
    );
    let up = matches!(action, Action::MoveUp | Action::PageUp | Action::GoTop);
    match action {
        Action::Back | Action::ShowOutbox if compare => {
            state.overlay = Some(Overlay::Outbox {
                cursor,
                compare: false,
                scroll: 0,
            });
        }
        Action::Back | Action::ShowOutbox => state.overlay = None,
        Action::Quit => state.overlay = Some(Overlay::ConfirmQuit),
        Action::RedrawScreen => state.full_redraw = true,
        a if compare && (down || up) => {
            let scroll = match a {
                Action::MoveDown => scroll + 1,
                Action::PageDown => scroll + 10,
                Action::MoveUp => scroll.saturating_sub(1),
                Action::PageUp => scroll.saturating_sub(10),
                Action::GoTop => 0,
                _ => scroll,
            };
            state.overlay = Some(Overlay::Outbox {
                cursor,
                compare,
                scroll,
            });
        }
        a if down || up => {
            let cursor = crate::workstation::features::list_cursor(cursor, a, n).unwrap_or(cursor);
            state.overlay = Some(Overlay::Outbox {
                cursor,
                compare,
                scroll,
            });
        }
        Action::OpenSelected if entry.is_some() => {
            state.overlay = Some(Overlay::Outbox {
                cursor,
                compare: true,
                scroll: 0,
            });
        }
        Action::TakeBack if stuck && entry.as_ref().is_some_and(|e| e.item.record.is_some()) => {
            // A set of vital signs is not a note: it cannot become a draft. Its values are in
            // the entry shown; record them again from the chart, then discard this one.
            state.notice = Some(Notice {
                level: Level::Warning,
                text: "a set of vital signs cannot be taken back as a draft: record it again from the chart's vital signs, then discard this one".into(),
            });
        }
        Action::TakeBack if stuck => {
            // The local copy becomes a draft again, on top of the server's current version, for
            // the clinician to reconcile and sign.
            let Some(e) = entry else { return true };
            let mut draft = e.item.draft.clone();
            if let Some(server) = &e.item.server_copy {
                draft.server_id = server["id"].as_str().map(str::to_string);
                draft.server_version = server
                    .pointer("/meta/versionId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            effects.push(Effect::SaveDraft(Box::new(draft.clone())));
            effects.push(Effect::RemoveFromOutbox { seq: e.seq });
            state.drafts.retain(|d| d.id != draft.id);
            state.drafts.insert(0, draft);
            state.overlay = Some(Overlay::Drafts { cursor: 0 });
            state.notice = Some(Notice {
                level: Level::Info,
                text: "taken back as a draft: open it, reconcile with the server's copy, and sign again".into(),
            });
        }
        Action::Discard if stuck => {
            if let Some(e) = entry {
                effects.push(Effect::RemoveFromOutbox { seq: e.seq });
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: format!(
                        "discarded your copy of the {} for {}; the server's stays",
                        e.item.draft.title.to_lowercase(),
                        e.item.draft.patient_name
                    ),
                });
            }
        }
        _ => {}
    }
    state.dirty = true;
    true
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: OfflineMsg, effects: &mut Vec<Effect>) {
    match msg {
        OfflineMsg::Connectivity(online) => connectivity(state, online, effects),
        OfflineMsg::Probed(online) => probed(state, online, effects),
        OfflineMsg::Outbox {
            entries, sent_now, ..
        } => outbox(state, entries, sent_now, effects),
    }
}
