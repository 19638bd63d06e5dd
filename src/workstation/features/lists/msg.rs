//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The server's answer to a new allergy or problem (a one-entry transaction).
    Written {
        context: u64,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to a change (entered in error, resolved) of `what`.
    Changed {
        context: u64,
        what: String,
        /// "marked entered in error", "resolved".
        done: &'static str,
        result: Result<Value, FetchError>,
    },
    /// The entry to edit, as the server holds it now.
    Read {
        context: u64,
        reference: String,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to an edit of `what`; after a conflict, the entry as it is now
    /// (when it could be read).
    Edited {
        context: u64,
        what: String,
        result: Result<Value, FetchError>,
        current: Option<Value>,
    },
    /// The entry is in the outbox (or why it could not be put there).
    Queued {
        context: u64,
        result: Result<(), String>,
    },
}
