//! What the runner holds for the signed-in user while their vault is open.

use std::sync::Arc;

use crate::workstation::vault::Vault;
use crate::workstation::vault::cache::ChartCache;
use crate::workstation::vault::outbox::Outbox;

use super::session::Ready;

/// The signed-in user's offline data while their vault is open, in one value: the key, the
/// chart cache and its writer, the outbox and the drafts. Closing it (a lock, a sign-out,
/// another user) drops all of it at once; nothing of one user's stays for the next.
pub(super) struct Session {
    /// None when drafts were given a key by the caller (tests), with no vault behind them.
    pub(super) vault: Option<Vault>,
    pub(super) cache: Option<Arc<ChartCache>>,
    pub(super) cache_writer: Option<std::sync::mpsc::Sender<super::offline::CacheJob>>,
    pub(super) outbox: Option<Arc<Outbox>>,
    pub(super) drafts: super::drafts::DraftWriter,
}

impl Session {
    /// Moves an unlocked vault's parts into place, with their writers started.
    pub(super) fn open(
        vault: Option<Vault>,
        ready: Ready,
        tx: tokio::sync::mpsc::UnboundedSender<crate::workstation::state::Msg>,
    ) -> Session {
        let cache_writer = ready.cache.clone().map(super::offline::start_cache_writer);
        let drafts = super::drafts::DraftWriter::start(ready.drafts, ready.outbox.clone(), tx);
        Session {
            vault,
            cache: ready.cache,
            cache_writer,
            outbox: ready.outbox,
            drafts,
        }
    }

    /// Wipes the key from memory once the pending draft writes are done.
    pub(super) fn close(self) {
        self.drafts.send(super::drafts::DraftJob::Close);
    }
}
