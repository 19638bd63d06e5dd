//! `bedside rekey`: encrypt a plain database in place, change its key, or decrypt it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{Cli, db_key, db_or_default};
use crate::server::store::DbKey;

#[derive(clap::Args)]
pub struct Args {
    /// The server's database [default: the platform data directory]
    #[arg(long)]
    db: Option<PathBuf>,
    /// The new key's file (make one with `bedside keygen`)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "decrypt",
        required_unless_present = "decrypt"
    )]
    new_key_file: Option<PathBuf>,
    /// Write the database in the clear instead
    #[arg(long)]
    decrypt: bool,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args {
        db, new_key_file, ..
    } = args;
    let db = db_or_default(db)?;
    let from = db_key(cli)?;
    // clap requires one of --new-key-file and --decrypt; without a new key, decrypt.
    let to = new_key_file
        .as_deref()
        .map(DbKey::read_file)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let done = crate::server::store::key::rekey(&db, from.as_ref(), to.as_ref())
        .with_context(|| format!("the key of {} was not changed", db.display()))?;
    let mut event = crate::server::audit::Event::new(
        crate::server::audit::Subtype::Rekey,
        crate::server::audit::system_agent(),
    );
    let what = match (&from, &to) {
        (None, Some(_)) => "encrypted",
        (Some(_), Some(_)) => "given a new key",
        _ => "decrypted",
    };
    event.resources = Vec::new();
    event.description = Some(format!("database {what}"));
    crate::server::audit::record_beside(&db, to.as_ref(), &[event])
        .context("the database was rewritten, but the audit record of it could not be written")?;
    for file in &done.already {
        println!("{} was already under the new key", file.display());
    }
    println!(
        "{} {what} in {:.1} s ({} file(s) rewritten and checked){}",
        db.display(),
        started.elapsed().as_secs_f64(),
        done.rewritten.len(),
        if to.is_some() {
            "; serve it with --key-file (or BEDSIDE_DB_KEY_FILE). Backups made before keep their old key."
        } else {
            ""
        }
    );
    Ok(())
}
