//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The server's answer to a set of vital signs (a transaction).
    Recorded {
        context: u64,
        /// The entries sent, to check the answer has as many.
        sent: usize,
        result: Result<Value, FetchError>,
    },
    /// The set is in the outbox (or why it could not be put there).
    Queued {
        context: u64,
        result: Result<(), String>,
    },
}
