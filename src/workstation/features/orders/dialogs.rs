//! The orders' pop-ups that take keys: an item's fields, an alert's override reason, the
//! reason to discontinue. Their keys are `[form]`'s; the text keys edit the field.

use super::update::{begin_sign, field_mut};
use crate::workstation::action::Action;
use crate::workstation::features::orders::checks::run_checks;
use crate::workstation::features::orders::{active_orders, field_list};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::orders::basket::{Fields, OVERRIDE_REASONS};
use crate::workstation::state::*;
use crossterm::event::KeyCode;

/// Keys in the orders overlays that take text; false if not one of them.
pub(crate) fn overlay_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> bool {
    let Some(overlay) = state.overlay.clone() else {
        return false;
    };
    let action = state.keymap.lookup_local(Context::Form, key);
    match overlay {
        Overlay::OrderFields { item, field } => {
            let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) else {
                return false;
            };
            let Some(it) = o.basket.get_mut(item) else {
                state.overlay = None;
                return true;
            };
            let n = field_list(it).len();
            match action {
                Some(Action::PreviousField) => {
                    state.overlay = Some(Overlay::OrderFields {
                        item,
                        field: field.saturating_sub(1),
                    })
                }
                Some(Action::NextField) => {
                    state.overlay = Some(Overlay::OrderFields {
                        item,
                        field: (field + 1).min(n - 1),
                    })
                }
                Some(Action::Submit | Action::Back) => {
                    state.overlay = None;
                    run_checks(state);
                }
                _ if key.code == KeyCode::Backspace => {
                    if let Some(v) = field_mut(it, field) {
                        v.pop();
                    }
                }
                _ => {
                    if let Some(ch) = key.typed_char() {
                        match (&mut it.fields, field) {
                            (Fields::Medication(m), 5) => match ch {
                                'y' | 'Y' => m.as_needed = true,
                                'n' | 'N' => m.as_needed = false,
                                ' ' => m.as_needed = !m.as_needed,
                                _ => {}
                            },
                            _ => {
                                if let Some(v) = field_mut(it, field) {
                                    v.push(ch);
                                }
                            }
                        }
                    }
                }
            }
            true
        }
        Overlay::Override {
            alert,
            cursor,
            mut text,
        } => {
            match action {
                Some(Action::PreviousField) => {
                    state.overlay = Some(Overlay::Override {
                        alert,
                        cursor: cursor.saturating_sub(1),
                        text,
                    })
                }
                Some(Action::NextField) => {
                    state.overlay = Some(Overlay::Override {
                        alert,
                        cursor: (cursor + 1).min(OVERRIDE_REASONS.len() - 1),
                        text,
                    })
                }
                Some(Action::Back) => state.overlay = None,
                None if crate::workstation::line::edit_at(
                    &mut text,
                    &mut state.field_cursor,
                    key,
                ) =>
                {
                    state.overlay = Some(Overlay::Override {
                        alert,
                        cursor,
                        text,
                    });
                }
                Some(Action::Submit) => {
                    let reason = if text.trim().is_empty() {
                        OVERRIDE_REASONS[cursor].to_string()
                    } else {
                        text.trim().to_string()
                    };
                    if let Some(o) = state.chart.as_mut().and_then(|c| c.orders.as_mut()) {
                        if let Some(a) = o.alerts.get(alert).cloned() {
                            if let Some(item) = o.basket.get_mut(a.order) {
                                item.overrides.push((a, reason));
                            }
                        }
                    }
                    state.overlay = None;
                    begin_sign(state);
                }
                _ => {}
            }
            true
        }
        Overlay::Discontinue { mut input } => {
            match action {
                Some(Action::Back) => state.overlay = None,
                None if crate::workstation::line::edit_at(
                    &mut input,
                    &mut state.field_cursor,
                    key,
                ) =>
                {
                    state.overlay = Some(Overlay::Discontinue { input });
                }
                Some(Action::Submit) if !input.trim().is_empty() => {
                    state.overlay = None;
                    if let Some(c) = &mut state.chart {
                        let context = c.context;
                        let list = active_orders(c);
                        if let Some(o) = &mut c.orders {
                            if let Some((_, reference, _)) = list.get(o.active_cursor) {
                                o.sending = true;
                                effects.push(Effect::Discontinue {
                                    context,
                                    reference: reference.clone(),
                                    reason: input.trim().to_string(),
                                });
                            }
                        }
                    }
                }
                _ => {}
            }
            true
        }
        _ => false,
    }
}
