//! What the runtime reports to the support desk.

use serde_json::Value;

use super::Request;
use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The server's answer to `request`. For a record: the resource, its history Bundle and
    /// the Provenances that name it, as a Bundle `{"resource", "history", "provenance"}`;
    /// for a comparison: `{"a", "b", "ab", "ba", "last_a", "last_b"}`.
    Answer {
        generation: u64,
        request: Request,
        result: Result<Value, FetchError>,
    },
    /// A file written (its path) or why not.
    Written { result: Result<String, String> },
}
