//! Where bedside keeps its files, from the platform's conventions (crate `directories`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use directories::ProjectDirs;

fn dirs() -> Result<ProjectDirs> {
    ProjectDirs::from("org", "bedside", "bedside")
        .context("cannot work out a home folder for bedside's data (is $HOME set?)")
}

/// The default database of `bedside serve`.
pub fn default_db() -> Result<PathBuf> {
    Ok(dirs()?.data_dir().join("bedside.db"))
}

/// The database `bedside demo --patients N` seeds on first run (one per population size).
pub fn demo_db(patients: u64) -> Result<PathBuf> {
    Ok(dirs()?.data_dir().join(format!("demo-{patients}.db")))
}
