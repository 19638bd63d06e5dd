//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::census::Fetched;
use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// The site's Locations (the wards are picked from them).
    Wards {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// A ward's census as the server answered it.
    Loaded {
        generation: u64,
        ward_id: String,
        result: Result<Fetched, FetchError>,
    },
    /// Time to ask again (the list is refreshed if it is still on screen).
    Due { generation: u64 },
}
