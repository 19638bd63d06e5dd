//! Overlays drawn over a screen: help (the real bindings, from the keymap), the timeline
//! filter, the find/date prompt and the quit question.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::workstation::action::Action;
use crate::workstation::features::{access, chart, help, note, offline, orders, palette};
use crate::workstation::keymap::Context;
use crate::workstation::state::{Overlay, PromptKind, State};
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

pub fn draw(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(overlay) = &state.overlay else {
        return;
    };
    match overlay {
        Overlay::Help {
            context,
            query,
            scroll,
        } => help::view::help(state, theme, frame, area, *context, query, *scroll),
        Overlay::Palette {
            context,
            input,
            cursor,
        } => palette::view::palette(state, theme, frame, area, *context, input, *cursor),
        Overlay::Problems { scroll } => help::view::problems(state, theme, frame, area, *scroll),
        Overlay::Messages { scroll } => help::view::messages(state, theme, frame, area, *scroll),
        Overlay::Filter { cursor } => chart::overlay::filter(state, theme, frame, area, *cursor),
        Overlay::Prompt {
            kind: PromptKind::BreakGlass,
            input,
        } => access::overlay::break_glass(state, theme, frame, area, input),
        Overlay::Prompt { kind, input } => {
            let apply = format!(
                "text to look for, {} to apply",
                state.keymap.hint(Context::Form, Action::Submit)
            );
            let (title, hint) = match kind {
                PromptKind::Find => (" Find in chart ", apply.as_str()),
                PromptKind::Date => (" Go to date ", "YYYY-MM-DD, YYYY-MM, YYYY or DD/MM/YYYY"),
                PromptKind::AccessFilter => (
                    " Filter the access log ",
                    "a username and/or a date (2026-11-21); empty shows all",
                ),
                PromptKind::BreakGlass => (" Break the glass ", ""),
                PromptKind::CosignReject => (
                    " Reject the draft order: why? ",
                    "the nurse who entered it sees this reason",
                ),
                PromptKind::CosignOverride => (
                    " Override the high-severity alert: why? ",
                    "kept with the order as a DetectedIssue, as for any override",
                ),
                PromptKind::Forward => (
                    " Forward the result to ",
                    "a colleague's name, a colon, your comment (Chen: K+ 6.1, please review)",
                ),
                PromptKind::NewList => (
                    " New list of my own: its name ",
                    "kept on the server, yours alone; Esc makes nothing",
                ),
                PromptKind::Support(ask) => {
                    use crate::workstation::features::support::Ask;
                    match ask {
                        Ask::OpenRecord => (
                            " Open a record ",
                            "Type/id, as Observation/123 or Patient/abc",
                        ),
                        Ask::Find => (" Find in the record ", apply.as_str()),
                        Ask::NotDuplicate => (
                            " Not a duplicate: why? ",
                            "kept on the server; the pair is never proposed again",
                        ),
                        Ask::MergeReason => (
                            " Merge: why? ",
                            "kept in the Provenance and the audit; the merge can be undone",
                        ),
                        Ask::OrdersReason => (
                            " Both records have active orders: why merge now? ",
                            "say who reviewed the two order lists",
                        ),
                        Ask::UndoReason => (" Undo the merge: why? ", "kept with the undo"),
                        Ask::AsOf => (
                            " The chart as it was ",
                            "a patient id and a moment: ID 2026-12-01T03:00",
                        ),
                        Ask::AccessFor => (
                            " Access log of ",
                            "a patient id or user:NAME; then role= action= since= until= emergency",
                        ),
                        Ask::MoveTo => (
                            " Move to the right patient ",
                            "their id, a colon, why (abc123: written on the wrong chart)",
                        ),
                    }
                }
                PromptKind::EnteredInError => (
                    " Entered in error: why? ",
                    "the reason is kept with the entry (wrong patient, wrong substance...)",
                ),
            };
            text_prompt(state, theme, frame, area, title, input, hint);
        }
        Overlay::AccessLog {
            entries,
            filter,
            scroll,
            detail,
        } => access::overlay::access_log(
            state, theme, frame, area, entries, filter, *scroll, *detail,
        ),
        Overlay::Outbox {
            cursor,
            compare,
            scroll,
        } => offline::view::outbox(state, theme, frame, area, *cursor, *compare, *scroll),
        Overlay::Templates { cursor } => {
            note::overlay::templates(state, theme, frame, area, *cursor)
        }
        Overlay::Drafts { cursor } => note::overlay::drafts(state, theme, frame, area, *cursor),
        Overlay::ConfirmSign { status } => {
            note::overlay::confirm_sign(state, theme, frame, area, *status)
        }
        Overlay::OrderFields { item, field } => {
            orders::overlay::fields(state, theme, frame, area, *item, *field)
        }
        Overlay::Override {
            alert,
            cursor,
            text,
        } => orders::overlay::override_reason(state, theme, frame, area, *alert, *cursor, text),
        Overlay::AckChecks => orders::overlay::ack_checks(state, theme, frame, area),
        Overlay::ConfirmOrders => orders::overlay::confirm_orders(state, theme, frame, area),
        Overlay::Cosign => {
            crate::workstation::features::work::view::cosign(state, theme, frame, area)
        }
        Overlay::Signature {
            target,
            input,
            error,
            checking,
        } => access::overlay::signature(
            state,
            theme,
            frame,
            area,
            *target,
            input,
            error.as_deref(),
            *checking,
        ),
        Overlay::Discontinue { input } => {
            orders::overlay::discontinue(state, theme, frame, area, input)
        }
        Overlay::ConfirmQuit => {
            confirm(
                state,
                theme,
                frame,
                area,
                " Quit ",
                "Quit bedside?",
                theme.base,
            );
        }
    }
}
