//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

/// The server's answers about orders.
#[derive(Debug)]
pub enum Msg {
    /// The server's answer to signing the basket.
    Signed {
        context: u64,
        result: Result<Value, FetchError>,
    },
    /// The server's answer to discontinuing an order.
    Discontinued {
        context: u64,
        result: Result<Value, FetchError>,
    },
}
