//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The review Tasks with their results and patients, and those patients' earlier results
    /// of the same codes (empty when that search failed).
    Loaded {
        generation: u64,
        result: Result<(Vec<Value>, Vec<Value>), FetchError>,
    },
    /// The server's answer to an acknowledgement of `count` results for `who`.
    Acknowledged {
        generation: u64,
        count: usize,
        who: String,
        result: Result<Value, FetchError>,
    },
    /// Time to ask again (if the inbox is still on screen).
    Due { generation: u64 },
    /// The critical results waiting for the user (Tasks with their results and patients).
    Critical {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// Time to ask for critical results again.
    CriticalDue { generation: u64 },
    /// The practitioners named `name` (to forward a result to, with `comment`).
    Colleagues {
        generation: u64,
        name: String,
        comment: String,
        result: Result<Vec<Value>, FetchError>,
    },
    /// The server's answer to forwarding a result to `to`.
    Forwarded {
        generation: u64,
        to: String,
        result: Result<Value, FetchError>,
    },
}
