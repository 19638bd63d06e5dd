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
    /// The entry is in the outbox (or why it could not be put there).
    Queued {
        context: u64,
        result: Result<(), String>,
    },
}
