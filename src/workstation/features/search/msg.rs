//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

/// The search screen's facts.
#[derive(Debug)]
pub enum Msg {
    Due(u64),
    Done {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    Locations(Vec<(String, Option<String>)>),
    RecentLoaded(Result<Vec<Value>, FetchError>),
    /// The signed-in user's recent patients (ids), read from their file.
    RecentIds(Vec<String>),
}
