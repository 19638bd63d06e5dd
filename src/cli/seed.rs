//! `bedside seed`: a deterministic synthetic population.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use super::{Cli, db_key, open_store, progress_bar};
use crate::server::seed::{Depth, SeedOptions};
use crate::server::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// SQLite database file (created if missing)
    #[arg(long)]
    db: PathBuf,
    /// Number of patients
    #[arg(long, default_value_t = 1000)]
    patients: u64,
    /// Random seed
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The day the charts lead up to, YYYY-MM-DD [default: today]
    #[arg(long)]
    anchor: Option<chrono::NaiveDate>,
    /// Chart depth: full charts, or demographics only
    #[arg(long, value_enum, default_value_t = Depth::Full)]
    depth: Depth,
    /// Patients given a very large chart (10,000+ resources) [default: 2 when seeding 100 or more]
    #[arg(long)]
    large_charts: Option<u64>,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args {
        db,
        patients,
        seed,
        anchor,
        depth,
        large_charts,
    } = args;
    let store = open_store(&db, db_key(cli)?.as_ref())?;
    let mut opts = SeedOptions::new(patients, depth);
    opts.seed = seed;
    opts.anchor = anchor.unwrap_or(opts.anchor);
    opts.large_charts = large_charts.unwrap_or(opts.large_charts);
    seed_with_progress(&store, &opts)
}

/// Seeds with a progress bar (drawn only on a terminal) and prints what was written.
pub(super) fn seed_with_progress(store: &Store, opts: &SeedOptions) -> Result<()> {
    let bar = progress_bar(opts.patients, "patients");
    let started = Instant::now();
    let summary = crate::server::seed::seed(store, opts, |done| bar.set_position(done))
        .context("seeding failed")?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} patients, {} resources in {secs:.1} s ({:.0} resources/s) into {}",
        summary.patients,
        summary.resources,
        summary.resources as f64 / secs.max(1e-9),
        store.path().display()
    );
    Ok(())
}
