//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The duplicate searches' patients, or why one of them failed.
    Found {
        generation: u64,
        result: Result<Vec<Value>, String>,
    },
    /// The server's answer to the registration transaction.
    Created {
        generation: u64,
        result: Result<Value, FetchError>,
    },
}
