//! The lock a serving process holds on its database, and syncing files and folders so that
//! a write or a rename survives a power cut.

use std::path::{Path, PathBuf};

use super::{Result, StoreError};

/// The lock a process serving a database holds on `<database>.lock` for as long as it runs,
/// so that a second server, or a restore, cannot take the same files from under it.
pub struct ServeLock {
    _file: std::fs::File,
}

pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl ServeLock {
    /// Takes the lock, or says which process-wide reason stops it.
    pub fn acquire(db: &Path) -> Result<ServeLock> {
        let path = lock_path(db);
        if let Some(dir) = db
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            crate::files::private_dir(dir).map_err(|e| {
                StoreError::invalid(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
        crate::files::private_file(&path)
            .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", path.display())))?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::invalid(format!("cannot open {}: {e}", path.display())))?;
        #[cfg(unix)]
        {
            use rustix::fs::{FlockOperation, flock};
            if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
                return Err(StoreError::Conflict(format!(
                    "another bedside server is running on {}; stop it first",
                    db.display()
                )));
            }
        }
        Ok(ServeLock { _file: file })
    }

    /// Whether a server holds the lock of `db` now.
    pub fn held(db: &Path) -> bool {
        if !lock_path(db).exists() {
            return false;
        }
        matches!(ServeLock::acquire(db), Err(StoreError::Conflict(_)))
    }
}

pub(crate) fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::invalid(format!("cannot sync {}: {e}", path.display())))
}

/// Makes a rename durable (best effort: not every platform can sync a folder).
pub(crate) fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
