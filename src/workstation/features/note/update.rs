//! The note pane: choosing a template, typing (with smart phrases), autosave, signing,
//! saving unsigned, addenda. A note lives in its chart, so it can only be filed to that
//! patient; the draft on disk names the patient too.

use crossterm::event::{KeyCode, KeyModifiers};

use crate::workstation::chart::Target;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;
use crate::workstation::notes::{fill, phrases};

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

pub(crate) use super::send::{Sent, confirm_send, note_not_queued, note_queued, note_sent};

/// `n`: reopen this chart's note, resume its draft from an earlier session, or pick a template.
pub(crate) fn new_note(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    if let Some(note) = &mut c.note {
        c.view = ChartView::Note;
        note.mode = NoteMode::Editing;
        return;
    }
    if let Some(pos) = state
        .drafts
        .iter()
        .position(|d| d.patient_id == c.patient_id)
    {
        let draft = state.drafts.remove(pos);
        open_draft(state, draft, effects);
        return;
    }
    state.overlay = Some(Overlay::Templates { cursor: 0 });
}

/// Opens `draft` in the current chart's note pane, if it is this patient's.
pub(crate) fn open_draft(state: &mut State, draft: Draft, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    if draft.patient_id != c.patient_id {
        state.notice = Some(Notice {
            level: Level::Error,
            text: "that draft belongs to another patient; it was not opened here".into(),
        });
        return;
    }
    c.note = Some(NoteState::new(draft));
    c.view = ChartView::Note;
    let _ = effects;
}

/// A new note from template `index` (or an addendum to `appends`).
pub(crate) fn create_note(
    state: &mut State,
    index: usize,
    appends: Option<(String, String)>,
    effects: &mut Vec<Effect>,
) {
    let settings = state.notes.clone();
    let zone = state.display.zone;
    let today = state.display.today;
    let server = state.display.server.clone();
    let Some(c) = &mut state.chart else { return };
    let Some(template) = settings.templates.get(index) else {
        return;
    };
    let patient = c.chart.patient.clone().unwrap_or_default();
    let values = [
        ("name", patient.display_name()),
        ("age", patient.age(today).unwrap_or_default()),
        ("sex", patient.sex_word().to_string()),
        ("mrn", patient.mrn.clone().unwrap_or_else(|| "none".into())),
        ("date", today.to_string()),
    ];
    let chart = &c.chart;
    let mut text = fill(&template.text, &values, |name| {
        phrases::expand(name, chart, zone, &settings.phrases)
    });
    let mut title = template.name.clone();
    if let Some((_, original)) = &appends {
        title = format!("Addendum to {original}");
        text = format!("Addendum to {original}\n\n{text}");
    }
    let draft = Draft {
        id: uuid::Uuid::new_v4().to_string(),
        server,
        patient_id: c.patient_id.clone(),
        patient_name: patient.display_name(),
        mrn: patient.mrn.clone(),
        encounter: c.chart.current_encounter(),
        template: template.key.clone(),
        title,
        loinc: template.loinc.clone(),
        loinc_display: template.loinc_display.clone(),
        text,
        created: String::new(),
        saved: String::new(),
        appends: appends.map(|(id, _)| id),
        server_id: None,
        server_version: None,
        owner: state.access.user.as_ref().map(|u| u.username.clone()),
    };
    effects.push(Effect::SaveDraft(Box::new(draft.clone())));
    let mut note = NoteState::new(draft);
    // Start typing after the first heading still waiting for text (`S: `), else at the end.
    let lines = note.editor.lines();
    let start = lines
        .iter()
        .position(|l| l.ends_with(": "))
        .map(|row| (row, lines[row].chars().count()))
        .unwrap_or_else(|| {
            let last = lines.len().saturating_sub(1);
            (last, lines.get(last).map_or(0, |l| l.chars().count()))
        });
    note.editor.jump(start);
    c.note = Some(note);
    c.view = ChartView::Note;
    follow_cursor(state);
}

/// `a` on a signed note in the timeline: an addendum that appends to it.
pub(crate) fn add_addendum(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &state.chart else { return };
    let target = c.selected().map(|i| (i.target, i.summary.clone(), i.when));
    let original = match target {
        Some((Target::Entry(e), summary, when)) => c
            .chart
            .entry_source(e)
            .and_then(|s| s.strip_prefix("DocumentReference/"))
            .filter(|_| !summary.contains("[PRELIMINARY]"))
            .map(|id| {
                let title = summary.split(" - ").next().unwrap_or("note").to_string();
                (
                    id.to_string(),
                    format!("{title} of {}", when.display(state.display.zone)),
                )
            }),
        _ => None,
    };
    match original {
        Some(original) => {
            if c.note.is_some() {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: "finish or close the open note first (n reopens it)".into(),
                });
                return;
            }
            let free = state
                .notes
                .templates
                .iter()
                .position(|t| t.key == "free")
                .unwrap_or(0);
            create_note(state, free, Some(original), effects);
        }
        None => {
            state.notice = Some(Notice {
                level: Level::Info,
                text: "select a signed note in the timeline to add an addendum".into(),
            })
        }
    }
}

/// A key while the note pane is open; false if it was not the note's.
pub(crate) fn note_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let Some(c) = &mut state.chart else {
        return Outcome::NotMine;
    };
    if c.view != ChartView::Note {
        return Outcome::NotMine;
    }
    let Some(note) = &mut c.note else {
        return Outcome::NotMine;
    };
    if note.mode == NoteMode::Editing {
        let bound = state.keymap.lookup_local(Context::Editor, key);
        if bound == Some(Action::ExpandPhrase) && expand_phrase(state) {
            mark_edited(state, effects);
            return Outcome::Done;
        }
        let Some(note) = state.chart.as_mut().and_then(|c| c.note.as_mut()) else {
            return Outcome::Done;
        };
        match bound {
            Some(Action::ShowHelp) => {
                state.overlay = Some(Overlay::Help {
                    context: Context::Editor,
                    query: String::new(),
                    scroll: 0,
                });
                return Outcome::Done;
            }
            Some(Action::Back) => {
                note.mode = NoteMode::Command;
                save_if_unsaved(note, effects);
                return Outcome::Done;
            }
            Some(Action::SaveDraft) => {
                save_now(note, effects);
                return Outcome::Done;
            }
            Some(a) => {
                if let Some(command) = crate::workstation::editor::Command::of(a)
                    && note.editor.command(command)
                {
                    mark_edited(state, effects);
                }
                if crate::workstation::editor::Command::of(a).is_some() {
                    follow_cursor(state);
                    return Outcome::Done;
                }
            }
            None => {}
        }
        let Some(note) = state.chart.as_mut().and_then(|c| c.note.as_mut()) else {
            return Outcome::Done;
        };
        if note.editor.input(key) {
            mark_edited(state, effects);
        }
        follow_cursor(state);
        return Outcome::Done;
    }
    // Keys the pane does not bind do nothing here (the chart's keys do not reach through).
    if let Some(action) = crate::workstation::features::resolve(state, Context::Note, key) {
        if let Some(other) = note_action(state, action, effects) {
            return Outcome::Pass(other);
        }
    }
    Outcome::Done
}

pub(crate) fn note_action(
    state: &mut State,
    action: Action,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    let Some(c) = &mut state.chart else {
        return None;
    };
    let Some(note) = &mut c.note else { return None };
    match action {
        Action::EditNote => note.mode = NoteMode::Editing,
        Action::SaveDraft => save_now(note, effects),
        Action::CloseNote => {
            save_if_unsaved(note, effects);
            c.view = ChartView::Timeline;
        }
        Action::SignNote | Action::SaveNoteUnsigned => {
            if note.sending.is_some() {
                return None;
            }
            let status = if action == Action::SignNote {
                DocStatus::Final
            } else {
                DocStatus::Preliminary
            };
            state.overlay = Some(Overlay::ConfirmSign { status });
        }
        Action::MoveUp | Action::MoveDown => {
            let code = if action == Action::MoveUp {
                KeyCode::Up
            } else {
                KeyCode::Down
            };
            note.editor.input(Key::new(code, KeyModifiers::NONE));
            follow_cursor(state);
        }
        other => return Some(other),
    }
    None
}

fn mark_edited(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    let context = c.context;
    let Some(note) = &mut c.note else { return };
    note.unsaved = true;
    if !note.autosave_pending {
        note.autosave_pending = true;
        effects.push(Effect::Autosave { context });
    }
}

pub(crate) fn autosave_due(state: &mut State, context: u64, effects: &mut Vec<Effect>) {
    let Some(c) = &mut state.chart else { return };
    if c.context != context {
        return;
    }
    if let Some(note) = &mut c.note {
        note.autosave_pending = false;
        save_if_unsaved(note, effects);
    }
}

pub(crate) fn save_if_unsaved(note: &mut NoteState, effects: &mut Vec<Effect>) {
    if note.unsaved {
        save_now(note, effects);
    }
}

/// Scrolls the note so the cursor stays on screen.
pub(crate) fn follow_cursor(state: &mut State) {
    let body = crate::workstation::layout::chart(state.size, false).body;
    let width = body.width.saturating_sub(2) as usize;
    let height = body.height.saturating_sub(3) as usize;
    if let Some(note) = state.chart.as_mut().and_then(|c| c.note.as_mut()) {
        let (row, col) = note.editor.cursor();
        note.top = crate::workstation::wrap::follow(
            note.editor.lines(),
            note.top,
            row,
            col,
            width,
            height,
        );
    }
}

fn save_now(note: &mut NoteState, effects: &mut Vec<Effect>) {
    note.unsaved = false;
    note.recount();
    effects.push(Effect::SaveDraft(Box::new(note.current())));
}

/// `.vitals` (or another phrase) just before the cursor: replaced by its text.
fn expand_phrase(state: &mut State) -> bool {
    let settings = state.notes.clone();
    let zone = state.display.zone;
    let Some(c) = &mut state.chart else {
        return false;
    };
    let Some(note) = &mut c.note else {
        return false;
    };
    let (row, col) = note.editor.cursor();
    let Some(line) = note.editor.lines().get(row) else {
        return false;
    };
    let before: String = line.chars().take(col).collect();
    let token = before.rsplit(char::is_whitespace).next().unwrap_or("");
    let Some(name) = token.strip_prefix('.').filter(|n| !n.is_empty()) else {
        return false;
    };
    let Some(text) = phrases::expand(name, &c.chart, zone, &settings.phrases) else {
        return false;
    };
    let n = token.chars().count();
    note.editor.delete_before(n);
    note.editor.insert_str(&text);
    true
}

/// What the runtime reported, for this feature.
pub(crate) fn on_msg(state: &mut State, msg: NoteMsg, effects: &mut Vec<Effect>) {
    use crate::workstation::features::offline::update as offline;
    match msg {
        NoteMsg::DraftsFound(mut drafts) => {
            // Another user's drafts are theirs: kept on disk, not listed here.
            let me = state.access.user.as_ref().map(|u| u.username.clone());
            drafts.retain(|d| d.owner.is_none() || d.owner == me);
            if !drafts.is_empty() {
                state.drafts = drafts;
                if state.overlay.is_none() {
                    state.overlay = Some(Overlay::Drafts { cursor: 0 });
                }
                state.dirty = true;
            }
        }
        NoteMsg::DraftSaved { id, result } => {
            let note = state.chart.as_mut().and_then(|c| c.note.as_mut());
            if let Some(note) = note.filter(|n| n.draft.id == id) {
                note.saved = Some(result);
                state.dirty = true;
            } else if let Err(e) = result {
                state.notice = Some(Notice {
                    level: Level::Error,
                    text: format!("a draft could not be saved: {e}"),
                });
                state.dirty = true;
            }
        }
        NoteMsg::AutosaveDue { context } => autosave_due(state, context, effects),
        NoteMsg::Sent {
            context,
            draft,
            status,
            author,
            result,
        } => {
            match &result {
                Ok(_) => offline::connectivity(state, true, effects),
                Err(e) if e.is_unreachable() => {
                    offline::connectivity(state, false, effects);
                }
                Err(_) => {}
            }
            let sent = Sent {
                context,
                draft,
                status,
                author,
            };
            note_sent(state, sent, result, effects);
            state.dirty = true;
        }
        NoteMsg::Queued {
            context,
            draft_id,
            status,
        } => note_queued(state, context, draft_id, status, effects),
        NoteMsg::NotQueued { context, error } => note_not_queued(state, context, error),
    }
}
