//! Where bedside keeps its files, from the platform's conventions (crate `directories`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use directories::ProjectDirs;

fn dirs() -> Result<ProjectDirs> {
    ProjectDirs::from("org", "bedside", "bedside")
        .context("cannot work out a home folder for bedside's data (is $HOME set?)")
}

/// Users' key files, outboxes and drafts (one folder each).
pub fn vault_root() -> Result<PathBuf> {
    Ok(dirs()?.data_dir().join("users"))
}

/// Users' cached charts (one folder each).
pub fn cache_root() -> Result<PathBuf> {
    Ok(dirs()?.cache_dir().join("users"))
}

/// Drafts an earlier bedside kept in the clear (sealed and moved at the next sign-in).
pub fn legacy_drafts() -> Result<PathBuf> {
    Ok(dirs()?.data_dir().join("drafts"))
}

/// bedside's own data folder, private to the user (0700): it holds databases with patient data.
fn private_data_dir() -> Result<PathBuf> {
    let dir = dirs()?.data_dir().to_path_buf();
    crate::files::private_dir(&dir)
        .with_context(|| format!("cannot create the private folder {}", dir.display()))?;
    Ok(dir)
}

/// The default database of `bedside serve`.
pub fn default_db() -> Result<PathBuf> {
    Ok(private_data_dir()?.join("bedside.db"))
}

/// The database `bedside demo --patients N` seeds on first run (one per population size).
pub fn demo_db(patients: u64) -> Result<PathBuf> {
    Ok(private_data_dir()?.join(format!("demo-{patients}.db")))
}

/// bedside's state folder, private to the user (0700): its log and reports, which may name
/// patients (a rejected import entry). `$XDG_STATE_HOME/bedside` where the platform has one,
/// else the local data folder.
pub fn state_dir() -> Result<PathBuf> {
    let dirs = dirs()?;
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    crate::files::private_dir(&dir)
        .with_context(|| format!("cannot create the private folder {}", dir.display()))?;
    Ok(dir)
}

/// Where `bedside import` lists the entries it rejected, one file per run.
pub fn import_report(now: chrono::DateTime<chrono::Local>) -> Result<PathBuf> {
    Ok(state_dir()?.join(format!("import-report-{}.txt", now.format("%Y%m%d-%H%M%S"))))
}
