//! The help's keys: typing narrows it.

use crossterm::event::KeyCode;

use crate::workstation::keymap::Key;
use crate::workstation::state::*;

/// Keys while help is open: typing searches, Backspace and Esc undo the search, the rest
/// (scrolling, closing) goes through the dialogs keymap.
pub fn help_key(state: &mut State, key: Key) -> bool {
    let Some(Overlay::Help {
        context, mut query, ..
    }) = state.overlay.clone()
    else {
        return false;
    };
    if let Some(c) = key.typed_char().filter(|_| state.chord.is_empty()) {
        // `?` on an empty search closes help, as it opened it.
        if c == '?' && query.is_empty() {
            state.overlay = None;
            return true;
        }
        query.push(c);
    } else if key.code == KeyCode::Backspace {
        query.pop();
    } else if key.mods.contains(crossterm::event::KeyModifiers::CONTROL)
        && crate::workstation::line::edit(&mut query, key)
    {
        // Ctrl-U, Ctrl-W.
    } else if key.code == KeyCode::Esc && !query.is_empty() {
        query.clear();
    } else {
        return false;
    }
    state.overlay = Some(Overlay::Help {
        context,
        query,
        scroll: 0,
    });
    true
}
