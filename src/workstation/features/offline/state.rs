//! The offline state: whether the server answers, and the outbox.

pub use crate::workstation::vault::outbox::Entry as OutboxEntry;

/// The workstation's offline data and the server's reachability.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    /// The workstation keeps data on disk (the real terminal; not most tests).
    pub enabled: bool,
    /// The key is unwrapped: cache, outbox and drafts can be used.
    pub open: bool,
    /// The server could not be reached, since this time (ms).
    pub offline_since: Option<i64>,
    pub probe_pending: bool,
    pub outbox: Vec<OutboxEntry>,
}

impl Storage {
    pub fn offline(&self) -> bool {
        self.offline_since.is_some()
    }

    /// Notes not yet on the server.
    pub fn waiting(&self) -> usize {
        self.outbox
            .iter()
            .filter(|e| e.state == crate::workstation::vault::outbox::State::Waiting)
            .count()
    }

    /// Notes that need the clinician (a conflict, a refusal).
    pub fn stuck(&self) -> usize {
        self.outbox
            .iter()
            .filter(|e| {
                matches!(
                    e.state,
                    crate::workstation::vault::outbox::State::Conflict
                        | crate::workstation::vault::outbox::State::Refused
                )
            })
            .count()
    }
}
