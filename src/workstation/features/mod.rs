//! The workstation by feature: each slice owns its state, its update, its view and the
//! commands it advertises. `update` and `view` at the top only dispatch to them.

pub mod access;
pub mod census;
pub mod chart;
pub mod help;
pub mod inbox;
pub mod lists;
pub mod note;
pub mod offline;
pub mod orders;
pub mod palette;
pub mod register;
pub mod search;
pub mod support;
pub mod vitals;
pub mod work;

use crate::workstation::action::Action;
use crate::workstation::keymap::{Context, Key, Lookup};
use crate::workstation::state::*;

/// A typed command: `:name argument`.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    /// What the argument is, for the list ("" when there is none).
    pub argument: &'static str,
    pub description: &'static str,
}

/// "QUILL, Ann (MRN 0001234)": how a write names the patient it wrote to.
pub fn patient_label(c: &ChartState) -> String {
    c.chart
        .patient
        .as_ref()
        .map(|p| {
            format!(
                "{} (MRN {})",
                p.display_name(),
                p.mrn.as_deref().unwrap_or("none")
            )
        })
        .unwrap_or_default()
}

/// What a feature did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not the feature's key (its pane or pop-up is not open).
    NotMine,
    /// Taken.
    Done,
    /// The key is bound to an action the feature does not take itself: the screen takes it.
    Pass(Action),
}

/// The open chart if `context` is still its context; a late reply for another patient is
/// counted and dropped, never shown.
pub fn current_chart(state: &mut State, context: u64) -> Option<&mut ChartState> {
    let current = state.chart.as_ref().is_some_and(|c| c.context == context);
    if !current {
        state.dropped_stale += 1;
        return None;
    }
    state.chart.as_mut()
}

/// The action of `key` in `context`, with the keys of a chord typed before it. The beginning
/// of a chord is kept (and shown) until the next key; a key that ends no chord cancels it.
pub fn resolve(state: &mut State, context: Context, key: Key) -> Option<Action> {
    let mut keys = std::mem::take(&mut state.chord);
    if state.chord_context != context {
        keys.clear();
    }
    keys.push(key);
    match state.keymap.lookup_chord(context, &keys) {
        Lookup::Action(a) => Some(a),
        Lookup::Pending => {
            state.chord = keys;
            state.chord_context = context;
            None
        }
        Lookup::Unbound if keys.len() > 1 => {
            let typed: Vec<String> = keys.iter().map(Key::to_string).collect();
            state.notice = Some(Notice {
                level: Level::Info,
                text: format!(
                    "{} is not bound here ({} lists the keys)",
                    typed.join(" "),
                    state.keymap.hint(Context::Global, Action::ShowHelp)
                ),
            });
            None
        }
        Lookup::Unbound => None,
    }
}

/// Moves a list cursor; `None` for actions that do not move it.
pub fn list_cursor(cursor: usize, action: Action, len: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match action {
        Action::MoveDown => (cursor + 1).min(last),
        Action::MoveUp => cursor.saturating_sub(1),
        Action::PageDown | Action::GoBottom => last,
        Action::PageUp | Action::GoTop => 0,
        _ => return None,
    })
}

/// Leaving the note pane (another patient, the search screen): the draft reaches the disk.
pub fn leave_note(state: &mut State, effects: &mut Vec<Effect>) {
    if let Some(note) = state.chart.as_mut().and_then(|c| c.note.as_mut()) {
        note::update::save_if_unsaved(note, effects);
    }
}
