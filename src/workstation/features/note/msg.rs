//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;
use crate::workstation::notes::document::DocStatus;
use crate::workstation::notes::drafts::Draft;

/// The note's facts: drafts on disk, what the server or the outbox did with a note.
#[derive(Debug)]
pub enum Msg {
    /// Drafts left from an earlier session, found at start.
    DraftsFound(Vec<Draft>),
    /// A draft reached the disk (or did not).
    DraftSaved {
        id: String,
        result: Result<String, String>,
    },
    /// Time to autosave the open note if it changed.
    AutosaveDue { context: u64 },
    /// The server's answer to signing or saving a note, with the note as it was sent (so
    /// that `update` can put it in the outbox when the server could not be reached).
    Sent {
        context: u64,
        draft: Box<Draft>,
        status: DocStatus,
        /// The author the note was sent under, as a FHIR Reference.
        author: Value,
        result: Result<Value, FetchError>,
    },
    /// A note signed or saved offline is safe in the outbox.
    Queued {
        context: u64,
        draft_id: String,
        status: DocStatus,
    },
    /// The outbox could not take the note (it stays open in the editor).
    NotQueued { context: u64, error: String },
}
