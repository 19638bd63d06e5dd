//! The note's pop-ups: templates, unsent drafts, the question before sending.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::workstation::action::Action;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;
use crate::workstation::theme::Theme;
use crate::workstation::view::widgets::*;

use crate::workstation::notes::document::DocStatus;

pub fn templates(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, cursor: usize) {
    let names: Vec<&str> = state
        .notes
        .templates
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let letters = crate::workstation::keymap::accelerators(&state.keymap, &names);
    let items: Vec<String> = names
        .iter()
        .zip(letters)
        .map(|(n, l)| format!("{:<2} {n}", l.map(String::from).unwrap_or_default()))
        .collect();
    list(
        state,
        theme,
        frame,
        area,
        " New note: pick a template ",
        &items,
        cursor,
    );
}

pub fn drafts(state: &State, theme: &Theme, frame: &mut Frame, area: Rect, cursor: usize) {
    let items: Vec<String> = state
        .drafts
        .iter()
        .map(|d| {
            format!(
                "{} (MRN {}) - {}, saved {}",
                d.patient_name,
                d.mrn.as_deref().unwrap_or("none"),
                d.title,
                d.saved.replace('T', " ").trim_end_matches('Z')
            )
        })
        .collect();
    let title = format!(
        " Unsent drafts from an earlier session: {} reopens, {} later ",
        state.keymap.hint(Context::Dialogs, Action::OpenSelected),
        state.keymap.hint(Context::Dialogs, Action::Back)
    );
    list(state, theme, frame, area, &title, &items, cursor);
}

pub fn confirm_sign(
    state: &State,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    status: DocStatus,
) {
    let question = crate::workstation::features::note::sign_question(state, status);
    confirm(
        state,
        theme,
        frame,
        area,
        " Confirm ",
        &question,
        theme.warning,
    );
}
