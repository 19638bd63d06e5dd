//! What the runtime reports to this feature.

use crate::workstation::client::FetchError;
use crate::workstation::features::offline::state::*;

/// The server's reachability and the outbox.
#[derive(Debug)]
pub enum Msg {
    /// The server answered (true) or could not be reached (false).
    Connectivity(bool),
    /// The answer to a probe while offline.
    Probed(bool),
    /// The outbox as it is now, and how many notes were just sent from it.
    Outbox {
        entries: Vec<OutboxEntry>,
        sent_now: usize,
        /// Sending stopped: the server no longer accepts the sign-in.
        error: Option<FetchError>,
    },
}
