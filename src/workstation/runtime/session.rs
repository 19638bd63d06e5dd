//! What a signed-in user's session holds on this terminal: where their offline data lives,
//! and the unlocked vault with its chart cache, outbox and drafts, opened off the screen's
//! thread by the task that unlocked it and handed whole to the runner.

use std::path::PathBuf;
use std::sync::Arc;

use crate::workstation::client::SignedIn;
use crate::workstation::notes::drafts::DraftStore;
use crate::workstation::vault::cache::{CacheSettings, ChartCache};
use crate::workstation::vault::outbox::Outbox;
use crate::workstation::vault::{Kdf, Vault};

/// Where a user's offline data lives, and the site's cache rules.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Key files, outboxes and drafts: one folder per user under the data directory.
    pub vault_root: PathBuf,
    /// Cached charts: one folder per user under the cache directory.
    pub cache_root: PathBuf,
    /// What names the server in folder names (its URL; the demo's is fixed across runs).
    pub server_id: String,
    pub settings: CacheSettings,
    pub kdf: Kdf,
    /// Drafts an earlier bedside wrote in the clear, sealed and moved at the first sign-in.
    pub legacy_drafts: Option<PathBuf>,
    /// The name the vault goes by on a server where the user has only a token.
    pub local_user: String,
}

/// An unlocked vault handed from the task that opened it to the runner that uses it.
#[derive(Clone, Debug)]
pub struct Unlocked {
    pub vault: Vault,
    /// Opened while the server could not be reached (the password was checked against the
    /// key file, not the server): who the key file says the user is.
    pub offline_user: Option<SignedIn>,
    /// Set aside: an older folder this password did not open (password changed).
    pub set_aside: Option<String>,
    /// Its cache, outbox and drafts, already opened.
    pub ready: Ready,
}

impl PartialEq for Unlocked {
    fn eq(&self, other: &Unlocked) -> bool {
        self.vault.dir() == other.vault.dir()
    }
}

/// What an unlocked vault is used through, opened off the UI thread by the task that
/// unlocked it (opening the cache may migrate it; drafts of an earlier version are sealed):
/// the runner only moves these into place.
#[derive(Clone)]
pub struct Ready {
    pub cache: Option<Arc<ChartCache>>,
    pub outbox: Option<Arc<Outbox>>,
    pub drafts: DraftStore,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("cache", &self.cache.is_some())
            .field("outbox", &self.outbox.is_some())
            .finish_non_exhaustive()
    }
}

/// Opens `vault`'s cache (when the site keeps one), outbox and drafts. Blocking: call it from
/// a blocking task, or before the screen starts.
pub fn ready(cfg: Option<&StorageConfig>, vault: &Vault) -> Ready {
    let settings = cfg.map(|c| c.settings.clone()).unwrap_or_default();
    let cache = match cfg.filter(|_| settings.enabled) {
        Some(cfg) => match ChartCache::open(&cfg.cache_root, vault.clone(), settings) {
            Ok(cache) => Some(Arc::new(cache)),
            Err(e) => {
                tracing::warn!("no chart cache this session: {e}");
                None
            }
        },
        None => None,
    };
    let outbox = match Outbox::open(vault.clone()) {
        Ok(o) => Some(Arc::new(o)),
        Err(e) => {
            tracing::error!("no outbox this session: {e}");
            None
        }
    };
    let drafts = DraftStore::new(vault.dir().join("drafts"), vault.clone());
    if let Some(legacy) = cfg.and_then(|c| c.legacy_drafts.as_deref()) {
        let moved = drafts.adopt_plain(legacy, Some(&vault.username));
        if moved > 0 {
            tracing::info!("{moved} drafts written in the clear were sealed");
        }
    }
    Ready {
        cache,
        outbox,
        drafts,
    }
}
