//! The orders pane: the composer searches the catalog as the clinician types, Enter adds an
//! order (or an order set) to the basket and opens its fields, checks run on every change and
//! again before signing, high-severity alerts need an override reason, and the basket is
//! signed as one transaction naming the patient.

use serde_json::Value;

use crate::workstation::client::FetchError;
use crate::workstation::orders::basket::{self, Fields, Item};

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::orders::active_orders;
use crate::workstation::features::orders::checks::run_checks;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// Composer results shown.
const PICKS: usize = 50;

pub(crate) fn open_orders(state: &mut State) {
    let Some(c) = &mut state.chart else { return };
    if c.orders.is_none() {
        c.orders = Some(OrdersState::new());
    }
    c.view = ChartView::Orders;
    run_checks(state);
}

fn search(state: &mut State) {
    let settings = state.order_settings.clone();
    let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) else {
        return;
    };
    let q = o.query.trim().to_lowercase();
    // Only the matches of a query this one extends may narrow it: the others go.
    while o
        .pools
        .last()
        .is_some_and(|(before, _)| !q.starts_with(before.as_str()))
    {
        o.pools.pop();
    }
    let within = o.pools.last().map(|(_, pool)| pool.as_slice());
    let (hits, pool) = settings.catalog.search_within(&q, within, PICKS);
    let mut picks: Vec<Pick> = settings
        .catalog
        .sets
        .iter()
        .enumerate()
        .filter(|(_, s)| !q.is_empty() && s.name.to_lowercase().contains(&q))
        .map(|(i, _)| Pick::Set(i))
        .collect();
    picks.extend(hits.into_iter().map(Pick::Entry));
    o.picks = picks;
    if !q.is_empty() && o.pools.last().is_none_or(|(before, _)| *before != q) {
        o.pools.push((q, pool));
    }
    o.pick_cursor = 0;
}

/// A key while the orders pane is open; false if it was not the pane's.
/// (The shape of every pane's key handler; the orders pane has no effect of its own to add.)
pub(crate) fn orders_key(state: &mut State, key: Key, _effects: &mut Vec<Effect>) -> Outcome {
    let focus = match state.chart.as_ref() {
        Some(c) if c.view == ChartView::Orders => match &c.orders {
            Some(o) => o.focus,
            None => return Outcome::NotMine,
        },
        _ => return Outcome::NotMine,
    };
    if focus == OrdersFocus::Composer {
        let o = state.chart.as_mut().and_then(|c| c.orders.as_mut());
        let Some(o) = o else { return Outcome::NotMine };
        if crate::workstation::line::edit_at(&mut o.query, &mut state.field_cursor, key) {
            search(state);
            return Outcome::Done;
        }
        // The list under the query moves with the pane's keys that are not typed (arrows).
        match state.keymap.lookup_local(Context::Orders, key) {
            Some(Action::MoveUp) => {
                o.pick_cursor = o.pick_cursor.saturating_sub(1);
                return Outcome::Done;
            }
            Some(Action::MoveDown) => {
                o.pick_cursor = (o.pick_cursor + 1).min(o.picks.len().saturating_sub(1));
                return Outcome::Done;
            }
            Some(Action::OpenSelected) => {
                add_pick(state);
                return Outcome::Done;
            }
            _ => {}
        }
    }
    // Keys the pane does not bind do nothing here (the chart's keys do not reach through).
    if let Some(action) = crate::workstation::features::resolve(state, Context::Orders, key) {
        if let Some(other) = orders_action(state, action) {
            return Outcome::Pass(other);
        }
    }
    Outcome::Done
}

pub(crate) fn orders_action(state: &mut State, action: Action) -> Option<Action> {
    let Some(c) = &mut state.chart else {
        return None;
    };
    let active = active_orders(c).len();
    let Some(o) = &mut c.orders else { return None };
    match action {
        Action::NextPane | Action::PreviousPane => {
            let order = [
                OrdersFocus::Composer,
                OrdersFocus::Basket,
                OrdersFocus::Active,
            ];
            let at = order.iter().position(|f| *f == o.focus).unwrap_or(0);
            let step = if action == Action::NextPane { 1 } else { 2 };
            o.focus = order[(at + step) % 3];
        }
        Action::MoveUp | Action::MoveDown => {
            let down = action == Action::MoveDown;
            let (cursor, len) = match o.focus {
                OrdersFocus::Basket => (&mut o.basket_cursor, o.basket.len()),
                OrdersFocus::Active => (&mut o.active_cursor, active),
                OrdersFocus::Composer => (&mut o.pick_cursor, o.picks.len()),
            };
            *cursor = if down {
                (*cursor + 1).min(len.saturating_sub(1))
            } else {
                cursor.saturating_sub(1)
            };
        }
        Action::OpenSelected => {
            if o.focus == OrdersFocus::Basket && o.basket_cursor < o.basket.len() {
                state.overlay = Some(Overlay::OrderFields {
                    item: o.basket_cursor,
                    field: 0,
                });
            }
        }
        Action::RemoveOrder => match o.focus {
            OrdersFocus::Basket if o.basket_cursor < o.basket.len() => {
                o.basket.remove(o.basket_cursor);
                o.basket_cursor = o.basket_cursor.min(o.basket.len().saturating_sub(1));
                run_checks(state);
            }
            OrdersFocus::Active if o.active_cursor < active => {
                state.overlay = Some(Overlay::Discontinue {
                    input: String::new(),
                });
            }
            _ => {}
        },
        Action::SignOrders => begin_sign(state),
        Action::Back => c.view = ChartView::Timeline,
        other => return Some(other),
    }
    None
}

fn add_pick(state: &mut State) {
    let settings = state.order_settings.clone();
    let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) else {
        return;
    };
    let Some(pick) = o.picks.get(o.pick_cursor).cloned() else {
        return;
    };
    let added = match pick {
        Pick::Set(i) => basket::expand_set(
            &settings.catalog.sets[i],
            &settings.catalog,
            &settings.knowledge,
        ),
        Pick::Entry(hit) => {
            let entry = &settings.catalog.entries[hit.entry];
            vec![Item::new(entry, settings.knowledge.medication(&entry.code))]
        }
    };
    let first = o.basket.len();
    let count = added.len();
    o.basket.extend(added);
    o.basket_cursor = first;
    o.query.clear();
    o.picks.clear();
    o.pools.clear();
    o.focus = OrdersFocus::Basket;
    run_checks(state);
    // A single order opens its fields; a set is reviewed in the basket.
    if count == 1 {
        state.overlay = Some(Overlay::OrderFields {
            item: first,
            field: 0,
        });
    }
}

pub(crate) fn field_mut(item: &mut Item, field: usize) -> Option<&mut String> {
    match &mut item.fields {
        Fields::Medication(m) => match field {
            0 => Some(&mut m.dose),
            1 => Some(&mut m.unit),
            2 => Some(&mut m.route),
            3 => Some(&mut m.frequency),
            4 => Some(&mut m.duration_days),
            6 => Some(&mut m.indication),
            _ => None,
        },
        Fields::Test(t) => match field {
            0 => Some(&mut t.priority),
            1 => Some(&mut t.reason),
            _ => None,
        },
    }
}

/// `s`: fields first, then checks that did not run, then each high-severity alert's override
/// reason, then the confirm that names the patient.
pub(crate) fn begin_sign(state: &mut State) {
    run_checks(state);
    let Some(o) = state.chart.as_ref().and_then(|c| c.orders.as_ref()) else {
        return;
    };
    if o.basket.is_empty() || o.sending {
        return;
    }
    if let Some(i) = o.basket.iter().position(|it| !it.problems().is_empty()) {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: format!(
                "{} needs: {}",
                o.basket[i].name,
                o.basket[i].problems()[0].message
            ),
        });
        state.overlay = Some(Overlay::OrderFields { item: i, field: 0 });
        return;
    }
    if o.checks_error.is_some() && !o.checks_acknowledged {
        state.overlay = Some(Overlay::AckChecks);
        return;
    }
    let pending = o.alerts.iter().position(|a| {
        a.needs_override()
            && !o.basket[a.order]
                .overrides
                .iter()
                .any(|(x, _)| x.what == a.what)
    });
    state.overlay = Some(match pending {
        Some(alert) => Overlay::Override {
            alert,
            cursor: 0,
            text: String::new(),
        },
        None => Overlay::ConfirmOrders,
    });
}

/// `y` to the sign question: the transaction goes out.
/// Orders are never queued for later: offline, the basket stays unsigned, and says why.
const ORDERS_OFFLINE: &str = "the server cannot be reached: NOTHING was ordered. The basket stays unsigned; sign it when the server is back (orders are never sent later on their own)";

pub(crate) fn confirm_sign(state: &mut State, effects: &mut Vec<Effect>) {
    if state.storage.offline() {
        if let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) {
            o.error = Some(ORDERS_OFFLINE.into());
        }
        state.notice = Some(Notice {
            level: Level::Warning,
            text: ORDERS_OFFLINE.into(),
        });
        return;
    }
    let requester = state.notes.author_json();
    let cosign = state.access.role() == Some("nurse");
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(c) = &mut state.chart else { return };
    let patient = c.chart.patient.clone().unwrap_or_default();
    let encounter = c.chart.current_encounter();
    let context = c.context;
    let Some(o) = &mut c.orders else { return };
    let ctx = basket::Context {
        patient_id: c.patient_id.clone(),
        patient_name: patient.display_name(),
        encounter,
        requester,
        now,
        cosign,
    };
    o.sending = true;
    o.error = None;
    effects.push(Effect::SignOrders {
        context,
        bundle: Box::new(basket::transaction(&o.basket, &ctx)),
    });
}

pub(crate) fn ack_checks(state: &mut State) {
    if let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) {
        o.checks_acknowledged = true;
    }
    begin_sign(state);
}

/// The answer to a sign or a discontinue: on success the chart reloads to show it.
pub(crate) fn sent(
    state: &mut State,
    context: u64,
    result: Result<Value, FetchError>,
    signed: bool,
    effects: &mut Vec<Effect>,
) {
    let Some(c) = &mut state.chart else { return };
    if c.context != context {
        state.dropped_stale += 1;
        return;
    }
    let who = crate::workstation::features::patient_label(c);
    let nurse = state.access.role() == Some("nurse");
    let Some(o) = &mut c.orders else { return };
    o.sending = false;
    match result {
        Ok(_) => {
            let text = if signed && nurse {
                let n = o.basket.len();
                o.basket.clear();
                o.alerts.clear();
                o.checks_acknowledged = false;
                format!(
                    "{} filed for {who}; medication orders are drafts awaiting a physician's co-signature",
                    crate::workstation::count(n, "order", "orders")
                )
            } else if signed {
                let n = o.basket.len();
                o.basket.clear();
                o.alerts.clear();
                o.checks_acknowledged = false;
                format!(
                    "{} signed for {who}",
                    crate::workstation::count(n, "order", "orders")
                )
            } else {
                format!("order discontinued for {who}")
            };
            state.notice = Some(Notice {
                level: Level::Info,
                text,
            });
            // Reload so the new orders (with their server ids) show in the chart.
            let orders = c.orders.take();
            crate::workstation::features::chart::load::refresh(state, effects);
            if let Some(c) = &mut state.chart {
                c.orders = orders;
                c.view = ChartView::Orders;
            }
        }
        Err(e) if signed && e.is_unreachable() => {
            o.error = Some(ORDERS_OFFLINE.into());
            effects.push(Effect::Probe);
            state.storage.probe_pending = true;
            state.storage.offline_since.get_or_insert(state.now_ms);
        }
        Err(e) => {
            o.error = Some(if signed {
                format!("not signed: {e}. Nothing was filed; the basket is kept")
            } else {
                format!("not discontinued: {e}")
            });
        }
    }
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: OrdersMsg, effects: &mut Vec<Effect>) {
    match msg {
        OrdersMsg::Signed { context, result } => {
            sent(state, context, result, true, effects);
            state.dirty = true;
        }
        OrdersMsg::Discontinued { context, result } => {
            sent(state, context, result, false, effects);
            state.dirty = true;
        }
    }
}
