//! `bedside restore`: a backup put back as a server's database.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Cli, db_key, db_or_default};

#[derive(clap::Args)]
pub struct Args {
    /// The backup file
    #[arg(long)]
    from: PathBuf,
    /// The database to restore to [default: the platform data directory]
    #[arg(long)]
    db: Option<PathBuf>,
    /// Replace an existing database (its files are renamed aside, not deleted)
    #[arg(long)]
    force: bool,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args { from, db, force } = args;
    let db = db_or_default(db)?;
    let key = db_key(cli)?;
    let restored = crate::server::store::backup::restore(&from, &db, key.as_ref(), force)
        .with_context(|| format!("{} was not restored", from.display()))?;
    let mut event = crate::server::audit::Event::new(
        crate::server::audit::Subtype::Restore,
        crate::server::audit::system_agent(),
    );
    event.description = Some(format!(
        "restored from {} ({} resources, {} audit records)",
        from.display(),
        restored.verified.resources,
        restored.verified.audit_records
    ));
    crate::server::audit::record_beside(&db, key.as_ref(), &[event])
        .context("restored, but the restore's audit record could not be written")?;
    if let Some(aside) = &restored.set_aside {
        println!("the database it replaced was kept as {}", aside.display());
    }
    println!(
        "restored {} to {}: integrity check ok, {} resources, {} audit records",
        from.display(),
        db.display(),
        restored.verified.resources,
        restored.verified.audit_records
    );
    Ok(())
}
