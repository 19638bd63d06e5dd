//! The I-PASS handoff from a patient list: `h` edits the selected patient's (the latest kept
//! on the server, else filled from the chart), saved as theirs over the version read; `P`
//! writes the whole list's handoff as plain text and PDF to a private folder.

use crate::workstation::action::Action;
use crate::workstation::census::Row;
use crate::workstation::features::census::HandoffEdit;
use crate::workstation::handoff::{
    IPass, Parts, Saved, Severity, composition, latest, pdf, prefill, text,
};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

fn ask(state: &mut State, patients: Vec<String>, effects: &mut Vec<Effect>) -> u64 {
    state.context += 1;
    let generation = state.context;
    effects.push(Effect::LoadHandoffs {
        generation,
        patients,
    });
    generation
}

/// `h`: the selected patient's handoff.
pub(crate) fn edit(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(row) = state
        .census
        .as_ref()
        .and_then(|c| c.rows.get(c.cursor).cloned())
    else {
        return;
    };
    let generation = ask(state, vec![row.patient_id.clone()], effects);
    state.field_cursor = None;
    if let Some(c) = &mut state.census {
        c.handoff = Some(HandoffEdit {
            row,
            ipass: IPass::default(),
            original: IPass::default(),
            saved: None,
            field: 0,
            loading: true,
            sending: false,
            generation,
            discard_armed: false,
        });
    }
}

/// `P`: the whole list's handoff, written to files.
pub(crate) fn print(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &state.census else { return };
    if c.rows.is_empty() {
        state.notice = Some(Notice {
            level: Level::Info,
            text: "no patients on this list: nothing to hand off".into(),
        });
        return;
    }
    let patients = c.rows.iter().map(|r| r.patient_id.clone()).collect();
    let generation = ask(state, patients, effects);
    if let Some(c) = &mut state.census {
        c.printing = Some(generation);
    }
    state.notice = Some(Notice {
        level: Level::Info,
        text: "reading the handoffs...".into(),
    });
}

fn from(saved: &Saved) -> String {
    let who = saved.author["display"]
        .as_str()
        .or_else(|| saved.author["reference"].as_str())
        .unwrap_or("someone");
    let when: String = saved
        .date
        .chars()
        .take(16)
        .map(|c| if c == 'T' { ' ' } else { c })
        .collect();
    format!("{who}, {when}")
}

/// The handoff's parts arrived: the editor filled, or the list written.
pub(crate) fn on_parts(
    state: &mut State,
    generation: u64,
    result: Result<Parts, crate::workstation::client::FetchError>,
    effects: &mut Vec<Effect>,
) {
    let printed = crate::fhir::date::instant(state.now_ms);
    let dir = state.handoff_dir.clone();
    let Some(c) = &mut state.census else { return };
    if c.printing == Some(generation) {
        c.printing = None;
        let parts = match result {
            Ok(p) => p,
            Err(e) => {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!("NOT written: the handoffs could not be read: {e}"),
                });
                return;
            }
        };
        let entries: Vec<(Row, IPass, Option<String>)> = c
            .rows
            .iter()
            .map(|row| match latest(&parts.compositions, &row.patient_id) {
                Some(saved) => (row.clone(), saved.ipass.clone(), Some(from(&saved))),
                None => (
                    row.clone(),
                    prefill(row, &parts.problems, &parts.orders, &parts.flags),
                    None,
                ),
            })
            .collect();
        let title = c
            .source
            .as_ref()
            .map_or_else(|| "patient list".into(), |s| s.title());
        let body = text(&title, &printed, &entries);
        let pdf = pdf(&body);
        let name: String = format!("handoff-{}-{}", title, &printed[..16.min(printed.len())])
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || ch == '-' {
                    ch
                } else {
                    '-'
                }
            })
            .collect();
        effects.push(Effect::WriteHandoff {
            dir,
            name,
            text: body,
            pdf,
        });
        return;
    }
    let Some(h) = &mut c.handoff else { return };
    if h.generation != generation {
        state.dropped_stale += 1;
        return;
    }
    h.loading = false;
    match result {
        Ok(parts) => {
            h.saved = latest(&parts.compositions, &h.row.patient_id);
            h.ipass = match &h.saved {
                Some(saved) => saved.ipass.clone(),
                None => prefill(&h.row, &parts.problems, &parts.orders, &parts.flags),
            };
            h.original = h.ipass.clone();
        }
        Err(e) => {
            c.handoff = None;
            state.notice = Some(Notice {
                level: Level::Warning,
                text: format!("the handoff could not be read: {e}"),
            });
        }
    }
}

/// A key while the handoff form is open.
pub(crate) fn key(state: &mut State, key: Key, effects: &mut Vec<Effect>) {
    let action = state.keymap.lookup_local(Context::Form, key);
    let me = state.notes.author_json();
    let now = crate::fhir::date::instant(state.now_ms);
    let Some(c) = &mut state.census else { return };
    let Some(h) = &mut c.handoff else { return };
    if h.loading || h.sending {
        if action == Some(Action::Back) {
            c.handoff = None;
        }
        return;
    }
    match action {
        Some(Action::NextField) => {
            h.field = (h.field + 1).min(4);
            state.field_cursor = None;
        }
        Some(Action::PreviousField) => {
            h.field = h.field.saturating_sub(1);
            state.field_cursor = None;
        }
        Some(Action::Back) => {
            if h.ipass != h.original && !h.discard_armed {
                h.discard_armed = true;
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: "the handoff has changes: Enter saves them, Esc again discards them"
                        .into(),
                });
            } else {
                c.handoff = None;
            }
        }
        Some(Action::Submit) => {
            // Mine is updated over the version read; someone else's stays theirs.
            let own = h.saved.as_ref().filter(|s| {
                s.author["reference"].as_str().is_some() && s.author["reference"] == me["reference"]
            });
            let resource = composition(
                &h.row.patient_id,
                &h.ipass,
                &me,
                &now,
                own.map(|s| s.id.as_str()),
            );
            h.sending = true;
            effects.push(Effect::SaveHandoff {
                resource: Box::new(resource),
                version: own.map(|s| s.version.clone()),
                name: h.row.name.clone(),
            });
        }
        _ => {
            h.discard_armed = false;
            if h.field == 0 {
                // The severity: its first letter.
                if let crossterm::event::KeyCode::Char(ch) = key.code {
                    let chosen = Severity::ALL.into_iter().find(|s| {
                        s.words()
                            .to_ascii_lowercase()
                            .starts_with(ch.to_ascii_lowercase())
                    });
                    if chosen.is_some() {
                        h.ipass.severity = chosen;
                    }
                }
            } else {
                let field = &mut h.ipass.fields_mut()[h.field - 1];
                crate::workstation::line::edit_at(field, &mut state.field_cursor, key);
            }
        }
    }
}

/// The server's answer to a save.
pub(crate) fn saved(
    state: &mut State,
    name: String,
    result: Result<serde_json::Value, crate::workstation::client::FetchError>,
) {
    let Some(c) = &mut state.census else { return };
    let Some(h) = &mut c.handoff else { return };
    h.sending = false;
    match result {
        Ok(_) => {
            c.handoff = None;
            state.notice = Some(Notice {
                level: Level::Info,
                text: format!("handoff saved for {name}"),
            });
        }
        Err(crate::workstation::client::FetchError::Conflict(_)) => {
            state.notice = Some(Notice {
                level: Level::Warning,
                text: "NOT saved: your handoff was changed meanwhile on another terminal; what you typed is still here (Esc, then h, to read theirs)".into(),
            });
        }
        Err(e) => {
            state.notice = Some(Notice {
                level: Level::Warning,
                text: format!("NOT saved: {e}; what you typed is still here"),
            });
        }
    }
}
