//! `bedside keygen`: a new database key in a new file of mode 0600.

use std::path::PathBuf;

use anyhow::Result;

use crate::server::store::DbKey;

#[derive(clap::Args)]
pub struct Args {
    /// The key file to write (must not exist)
    #[arg(long)]
    to: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let Args { to } = args;
    DbKey::generate()
        .and_then(|key| key.write_new_file(&to))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "a new database key is in {} (mode 0600). Keep a copy apart from the backups: without it, neither the database nor its backups can be read.",
        to.display()
    );
    Ok(())
}
