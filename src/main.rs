//! The `bedside` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::time::Instant;

use bedside::seed::{Depth, SeedOptions};
use bedside::server::{DEFAULT_BODY_LIMIT, serve, shutdown_signal};
use bedside::store::Store;
use indicatif::{ProgressBar, ProgressStyle};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "bedside",
    version,
    about = "Terminal clinician workstation with an embedded FHIR R4 server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the embedded server with a seeded demo database (created on first run)
    Demo {
        /// Patients to seed on first run
        #[arg(long, default_value_t = 1000)]
        patients: u64,
    },
    /// Run the embedded FHIR R4 server (base URL http://ADDR/fhir)
    Serve {
        /// SQLite database file [default: the platform data directory]
        #[arg(long)]
        db: Option<PathBuf>,
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8180")]
        listen: SocketAddr,
        /// Largest request body accepted, in bytes
        #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
        max_body: usize,
    },
    /// Write a deterministic synthetic population (same seed and anchor, same data)
    Seed {
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
    },
    /// Load FHIR JSON Bundles, single resources and Bulk Data NDJSON files or folders
    Import {
        /// SQLite database file (created if missing)
        #[arg(long)]
        db: PathBuf,
        /// Where to write the list of rejected entries and why
        #[arg(long, default_value = "bedside-import-report.txt")]
        report: PathBuf,
        /// Files or folders (.json, .ndjson)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn open_store(db: &Path) -> Result<Store> {
    Store::open(db).with_context(|| format!("cannot open database {}", db.display()))
}

fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template =
        format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{eta}} left)");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Seeds with a progress bar (drawn only on a terminal) and prints what was written.
fn seed_with_progress(store: &Store, opts: &SeedOptions) -> Result<()> {
    let bar = progress_bar(opts.patients, "patients");
    let started = Instant::now();
    let summary = bedside::seed::seed(store, opts, |done| bar.set_position(done))
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

/// Serves `store` on `listen` until SIGINT or SIGTERM; `announce` is told the base URL.
fn serve_until_signal(
    store: Store,
    listen: SocketAddr,
    max_body: usize,
    announce: impl FnOnce(&str),
) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        announce(&format!("http://{}/fhir", listener.local_addr()?));
        serve(store, listener, max_body, shutdown_signal())
            .await
            .context("the server stopped with an error")?;
        eprintln!("bedside server stopped");
        Ok(())
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { patients } => {
            init_server_logging();
            let store = open_store(&bedside::paths::demo_db()?)?;
            // The marker is written last, so a first run that was interrupted seeds again.
            if store.info("demo-seeded")?.is_none() {
                eprintln!("first run: seeding {patients} synthetic patients");
                seed_with_progress(&store, &SeedOptions::new(patients, Depth::Full))?;
                store.set_info("demo-seeded", &patients.to_string())?;
            }
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            serve_until_signal(store, loopback, DEFAULT_BODY_LIMIT, |base| {
                println!("bedside demo: FHIR R4 server at {base}");
                println!("  try: curl '{base}/Patient?name=smith&_count=5'");
                println!(
                    "  the workstation (TUI) arrives with the next release; Ctrl-C stops the server"
                );
            })
        }
        Command::Serve {
            db,
            listen,
            max_body,
        } => {
            init_server_logging();
            let db = match db {
                Some(db) => db,
                None => bedside::paths::default_db()?,
            };
            let store = open_store(&db)?;
            serve_until_signal(store, listen, max_body, |base| {
                eprintln!(
                    "bedside FHIR R4 server at {base} (database {})",
                    db.display()
                );
            })
        }
        Command::Seed {
            db,
            patients,
            seed,
            anchor,
            depth,
            large_charts,
        } => {
            let store = open_store(&db)?;
            let mut opts = SeedOptions::new(patients, depth);
            opts.seed = seed;
            opts.anchor = anchor.unwrap_or(opts.anchor);
            opts.large_charts = large_charts.unwrap_or(opts.large_charts);
            seed_with_progress(&store, &opts)
        }
        Command::Import { db, report, paths } => {
            let files = bedside::import::collect_files(&paths)
                .context("cannot list the files to import")?;
            let store = open_store(&db)?;
            let total: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            let bar = progress_bar(total, "bytes");
            let started = Instant::now();
            let summary =
                bedside::import::import_files(&store, &files, |done| bar.set_position(done));
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
                std::fs::write(&report, text)
                    .with_context(|| format!("cannot write {}", report.display()))?;
                println!("the reasons for each rejection are in {}", report.display());
            }
            Ok(())
        }
    }
}

/// Server logs go to stderr: request method, route and status only, never resource content.
fn init_server_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDSIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}
