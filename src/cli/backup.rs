//! `bedside backup`: a consistent, checked copy of a running server's database.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{Cli, db_key, db_or_default, progress_bar};

#[derive(clap::Args)]
pub struct Args {
    /// The server's database [default: the platform data directory]
    #[arg(long)]
    db: Option<PathBuf>,
    /// The backup file to write (must not exist)
    #[arg(long)]
    to: PathBuf,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args { db, to } = args;
    let db = db_or_default(db)?;
    let key = db_key(cli)?;
    let started = Instant::now();
    let bar = progress_bar(0, "bytes");
    let verified = crate::server::backups::backup_recorded(
        &db,
        key.as_ref(),
        &to,
        crate::server::audit::system_agent(),
        |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    );
    bar.finish_and_clear();
    let verified = verified.with_context(|| format!("the backup of {} failed", db.display()))?;
    println!(
        "backed up {} to {} in {:.1} s: {} MB{}, integrity check ok, {} resources, {} audit records",
        db.display(),
        to.display(),
        started.elapsed().as_secs_f64(),
        verified.bytes / 1_000_000,
        if key.is_some() {
            ", encrypted with the database's key"
        } else {
            ""
        },
        verified.resources,
        verified.audit_records
    );
    for (rtype, n) in &verified.counts {
        println!("  {rtype:<24} {n}");
    }
    Ok(())
}
