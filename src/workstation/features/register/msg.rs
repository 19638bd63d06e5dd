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
    /// The patient to edit, as the server holds it now.
    Loaded {
        generation: u64,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to an edit; after a conflict, its current version (when it could
    /// be read).
    Saved {
        generation: u64,
        result: Result<Value, FetchError>,
        current: Option<Value>,
    },
}

impl Msg {
    pub fn generation(&self) -> u64 {
        match self {
            Msg::Found { generation, .. }
            | Msg::Created { generation, .. }
            | Msg::Loaded { generation, .. }
            | Msg::Saved { generation, .. } => *generation,
        }
    }
}
