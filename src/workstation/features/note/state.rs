//! The note pane: the draft, the editor, what was sent; and the site's note settings.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::workstation::editor::Editor;
use crate::workstation::notes::Template;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteMode {
    Editing,
    Command,
}

/// The note being written in this chart. The editor holds the text; `draft` holds everything
/// else and is what goes to disk and to the server.
#[derive(Debug)]
pub struct NoteState {
    pub draft: Draft,
    pub editor: Editor,
    pub mode: NoteMode,
    /// Edits not yet on disk.
    pub unsaved: bool,
    pub autosave_pending: bool,
    /// "draft saved 12:03", or why it was not.
    pub saved: Option<Result<String, String>>,
    /// A send in flight.
    pub sending: Option<DocStatus>,
    /// Why the last send failed, in plain words.
    pub error: Option<String>,
    /// The first line on screen (soft wrap is drawn by bedside, for the visible lines only).
    pub top: usize,
    /// Words, counted when the draft is saved (a count on every key would cost a full pass
    /// over a long note).
    pub words: usize,
}

impl NoteState {
    pub fn new(draft: Draft) -> NoteState {
        let editor = Editor::new(&draft.text);
        let words = count_words(&draft.text);
        NoteState {
            draft,
            editor,
            mode: NoteMode::Editing,
            unsaved: false,
            autosave_pending: false,
            saved: None,
            sending: None,
            error: None,
            top: 0,
            words,
        }
    }

    /// The draft with the editor's text.
    pub fn current(&self) -> Draft {
        let mut d = self.draft.clone();
        d.text = self.editor.text();
        d
    }

    pub fn recount(&mut self) {
        self.words = count_words(&self.editor.lines().join(" "));
    }
}

/// What notes need: templates, user phrases, and who is writing.
#[derive(Debug, Clone, Default)]
pub struct NoteSettings {
    pub templates: Vec<Template>,
    pub phrases: BTreeMap<String, String>,
    /// The author named on notes and orders: the signed-in user's name.
    pub author: String,
    /// `Practitioner/ID` of the signed-in user, when the server has one.
    pub author_reference: Option<String>,
}

impl NoteSettings {
    /// The author as a FHIR Reference.
    pub fn author_json(&self) -> Value {
        match &self.author_reference {
            Some(r) => serde_json::json!({"reference": r, "display": self.author}),
            None => serde_json::json!({"display": self.author}),
        }
    }
}

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}
