//! `bedside import`: FHIR JSON Bundles, single resources and Bulk Data NDJSON.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{Cli, db_key, open_store, progress_bar};

#[derive(clap::Args)]
pub struct Args {
    /// SQLite database file (created if missing)
    #[arg(long)]
    db: PathBuf,
    /// Where to write the list of rejected entries and why [default:
    /// import-report-DATE-TIME.txt in bedside's state folder]
    #[arg(long)]
    report: Option<PathBuf>,
    /// Files or folders (.json, .ndjson)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args { db, report, paths } = args;
    let files =
        crate::server::import::collect_files(&paths).context("cannot list the files to import")?;
    let store = open_store(&db, db_key(cli)?.as_ref())?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = progress_bar(total, "bytes");
    let started = Instant::now();
    let summary =
        crate::server::import::import_files(&store, &files, |done| bar.set_position(done));
    bar.finish_and_clear();
    let _ = store.optimize();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} files: {} imported, {} skipped (already present), {} rejected in {secs:.1} s",
        summary.files, summary.imported, summary.skipped, summary.rejected
    );
    if summary.rejected > 0 {
        let mut text = format!("bedside import: {} rejected\n", summary.rejected);
        for line in &summary.rejections {
            text.push_str(line);
            text.push('\n');
        }
        let report = match report {
            Some(report) => report,
            None => crate::paths::import_report(chrono::Local::now())?,
        };
        crate::files::write_private_file(&report, text.as_bytes())
            .with_context(|| format!("cannot write {}", report.display()))?;
        println!("the reasons for each rejection are in {}", report.display());
    }
    Ok(())
}
