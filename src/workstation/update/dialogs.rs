//! An action in a pop-up: each pop-up's own, then back, quit, redraw and lock for all.

use super::*;

pub(super) fn dialog_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let Some(overlay) = state.overlay.clone() else {
        return;
    };
    let kinds = filter_choices(state);
    match (overlay, action) {
        (_, Action::Back) => state.overlay = None,
        (_, Action::Quit) => state.overlay = Some(Overlay::ConfirmQuit),
        (_, Action::RedrawScreen) => state.full_redraw = true,
        (_, Action::LockScreen) => access::lock(state, effects),
        (Overlay::ConfirmQuit, Action::Confirm) => {
            state.overlay = None;
            state.quit = true;
        }
        (
            Overlay::Help {
                context,
                query,
                scroll,
            },
            a,
        ) => {
            let scroll = match a {
                Action::MoveDown => scroll + 1,
                Action::MoveUp => scroll.saturating_sub(1),
                Action::PageDown => scroll + 10,
                Action::PageUp => scroll.saturating_sub(10),
                Action::GoTop => 0,
                Action::ShowHelp => {
                    state.overlay = None;
                    return;
                }
                _ => scroll,
            };
            state.overlay = Some(Overlay::Help {
                context,
                query,
                scroll,
            });
        }
        (Overlay::Messages { scroll }, a) => {
            if let Some(scroll) = list_cursor(scroll, a, state.messages.len()) {
                state.overlay = Some(Overlay::Messages { scroll });
            } else if matches!(a, Action::OpenSelected | Action::Confirm) {
                state.overlay = None;
            }
        }
        (Overlay::Problems { scroll }, a) => {
            if let Some(scroll) = list_cursor(scroll, a, state.problems.len()) {
                state.overlay = Some(Overlay::Problems { scroll });
            } else if matches!(a, Action::OpenSelected | Action::Confirm) {
                state.overlay = None;
            }
        }
        (Overlay::Filter { cursor }, a) => {
            let last = kinds.len().saturating_sub(1);
            let cursor = match a {
                Action::MoveDown => (cursor + 1).min(last),
                Action::MoveUp => cursor.saturating_sub(1),
                Action::PageDown => last,
                Action::PageUp => 0,
                Action::OpenSelected | Action::Confirm => {
                    state.overlay = None;
                    let choice = kinds.get(cursor).map(|(k, _)| *k).unwrap_or(None);
                    set_filter(state, choice);
                    return;
                }
                _ => cursor,
            };
            state.overlay = Some(Overlay::Filter { cursor });
        }
        (Overlay::Templates { cursor }, a) => {
            let n = state.notes.templates.len();
            if matches!(a, Action::OpenSelected | Action::Confirm) {
                state.overlay = None;
                notes::create_note(state, cursor, None, effects);
            } else if let Some(cursor) = list_cursor(cursor, a, n) {
                state.overlay = Some(Overlay::Templates { cursor });
            }
        }
        (Overlay::AccessLog { filter, .. }, Action::FilterTimeline) => {
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::AccessFilter,
                input: filter,
            });
        }
        (
            Overlay::AccessLog {
                entries,
                filter,
                scroll,
                detail,
            },
            a,
        ) => {
            let n = entries
                .as_ref()
                .and_then(|e| e.as_ref().ok())
                .map_or(0, Vec::len);
            // Enter shows the selected access in full (and hides it again).
            let (scroll, detail) = match a {
                Action::OpenSelected | Action::Confirm => (scroll, !detail),
                a => match list_cursor(scroll, a, n) {
                    Some(scroll) => (scroll, detail),
                    None => return,
                },
            };
            state.overlay = Some(Overlay::AccessLog {
                entries,
                filter,
                scroll,
                detail,
            });
        }
        (Overlay::AckChecks, Action::Confirm) => {
            state.overlay = None;
            orders::ack_checks(state);
        }
        (Overlay::Cosign, Action::Confirm) => {
            state.overlay = None;
            if crate::workstation::features::work::update::sign_review(state) {
                signing::confirmed(state, SignTarget::Cosign, effects);
            }
        }
        (Overlay::Cosign, Action::RejectOrder) => {
            state.field_cursor = None;
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::CosignReject,
                input: String::new(),
            });
        }
        (Overlay::ConfirmOrders, Action::Confirm) => {
            state.overlay = None;
            signing::confirmed(state, SignTarget::Orders, effects);
        }
        (Overlay::ConfirmSign { status }, Action::Confirm) => {
            state.overlay = None;
            signing::confirmed(state, SignTarget::Note(status), effects);
        }
        (Overlay::Drafts { cursor }, a) => {
            let n = state.drafts.len();
            if matches!(a, Action::OpenSelected | Action::Confirm) {
                state.overlay = None;
                if cursor < n {
                    let draft = state.drafts.remove(cursor);
                    open_patient_id(state, draft.patient_id.clone(), None, effects);
                    if let Some(c) = &mut state.chart {
                        c.note = Some(NoteState::new(draft));
                        c.view = ChartView::Note;
                    }
                }
            } else if let Some(cursor) = list_cursor(cursor, a, n) {
                state.overlay = Some(Overlay::Drafts { cursor });
            }
        }
        (
            Overlay::Prompt { .. }
            | Overlay::ConfirmQuit
            | Overlay::ConfirmSign { .. }
            | Overlay::AckChecks
            | Overlay::Cosign
            | Overlay::ConfirmOrders
            | Overlay::Signature { .. }
            | Overlay::OrderFields { .. }
            | Overlay::Override { .. }
            | Overlay::Discontinue { .. }
            | Overlay::Outbox { .. }
            | Overlay::Palette { .. },
            _,
        ) => {}
    }
}
