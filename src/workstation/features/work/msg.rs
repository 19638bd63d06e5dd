//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The medication orders (with their patients and practitioners) and the unsigned notes
    /// (with their patients), each as the server answered.
    Loaded {
        generation: u64,
        drafts: Result<Vec<Value>, FetchError>,
        notes: Result<Vec<Value>, FetchError>,
    },
    /// The Communications addressed to me, newest first, as the server answered.
    Messages {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// Time to ask again (if still on screen).
    Due { generation: u64 },
    /// The answer to a co-signature or a rejection (`words` says which, of what, for whom).
    Saved {
        words: String,
        result: Result<Value, FetchError>,
    },
}
