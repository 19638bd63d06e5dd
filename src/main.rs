//! The `bedside` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::io::IsTerminal;
use std::time::Instant;

use bedside::tui::Options;
use bedside::tui::keymap::Keymap;

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
    about = "Terminal clinician workstation with an embedded FHIR R4 server",
    long_about = "Terminal clinician workstation with an embedded FHIR R4 server.\n\n\
        Without a command, opens the workstation against --server (or BEDSIDE_SERVER, or\n\
        `server` in config.toml in the config directory). `bedside demo` needs no server.",
    after_help = "Keys: / find a patient, Enter open, Tab next pane, f filter, t trend, \
        s summary, ? help, q close/quit."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// FHIR R4 base URL to work against, e.g. https://fhir.example.org/r4
    #[arg(long, env = "BEDSIDE_SERVER")]
    server: Option<String>,
    /// Bearer token sent with every request (Authorization: Bearer ...)
    #[arg(long, env = "BEDSIDE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Draw with ASCII only (terminals without Unicode box drawing)
    #[arg(long, global = true)]
    ascii: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Open the workstation on a demo database (seeded on first run) served in-process
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
    let Some(command) = cli.command else {
        init_workstation_logging();
        let (config, mut warnings) = config_file();
        let Some(server) = cli.server.clone().or(config.server) else {
            anyhow::bail!(
                "no FHIR server given: use `bedside --server URL`, set BEDSIDE_SERVER, put \
                 server = \"URL\" in {}, or try `bedside demo`",
                config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "config.toml".into())
            );
        };
        bedside::client::FhirClient::new(&server, None)?;
        let mut opts = workstation_options(server, cli.token.clone(), cli.ascii || config.ascii);
        if let Some(hours) = config.duplicate_test_hours {
            opts.duplicate_test_hours = hours;
        }
        opts.warnings.append(&mut warnings);
        // One thread is plenty for a client: the work is waiting on the network, and one
        // allocator heap instead of one per worker keeps the workstation small.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        return runtime.block_on(bedside::tui::run_terminal(opts));
    };
    match command {
        Command::Demo { patients } => {
            if std::io::stdout().is_terminal() {
                init_workstation_logging();
            } else {
                init_server_logging();
            }
            let store = open_store(&bedside::paths::demo_db(patients)?)?;
            // The marker is written last, so a first run that was interrupted seeds again.
            if store.info("demo-seeded")?.is_none() {
                eprintln!("first run: seeding {patients} synthetic patients");
                seed_with_progress(&store, &SeedOptions::new(patients, Depth::Full))?;
                store.set_info("demo-seeded", &patients.to_string())?;
            }
            if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
                // No terminal (a script, CI): serve the demo database for other clients.
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                return serve_until_signal(store, loopback, DEFAULT_BODY_LIMIT, |base| {
                    println!("bedside demo: no terminal, so no workstation");
                    println!("FHIR R4 server at {base}; Ctrl-C stops it");
                });
            }
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let server = bedside::server::spawn_local(store)
                    .await
                    .context("cannot start the embedded server")?;
                let opts = workstation_options(server.base_url(), None, cli.ascii);
                let result = bedside::tui::run_terminal(opts).await;
                server.stop().await;
                result
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

fn config_path() -> Option<PathBuf> {
    bedside::config::config_dir().map(|d| d.join("config.toml"))
}

fn config_file() -> (bedside::config::Config, Vec<String>) {
    match config_path() {
        Some(path) => bedside::config::load(&path),
        None => (bedside::config::Config::default(), Vec::new()),
    }
}

/// Options for the workstation: the user's keymap merged over the default, the recent-patient
/// list in the data directory.
fn workstation_options(server: String, token: Option<String>, ascii: bool) -> Options {
    let keymap = match bedside::config::config_dir() {
        Some(dir) => Keymap::with_user_file(&dir.join("keymap.toml")),
        None => Keymap::default_keymap(),
    };
    let dirs = directories::ProjectDirs::from("org", "bedside", "bedside");
    let mut opts = Options::new(&server);
    opts.token = token;
    opts.keymap = keymap;
    opts.ascii = ascii;
    opts.recent_file = dirs
        .as_ref()
        .map(|d| d.data_dir().join("recent-patients.json"));
    opts.drafts_dir = dirs.as_ref().map(|d| d.data_dir().join("drafts"));
    opts.templates_dir = dirs.as_ref().map(|d| d.config_dir().join("templates"));
    opts.phrases_file = dirs.as_ref().map(|d| d.config_dir().join("phrases.toml"));
    opts.orders_dir = dirs.as_ref().map(|d| d.config_dir().join("orders"));
    // Until sign-in exists (the access issue), notes are filed under the login name.
    opts.author = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "bedside user".into());
    opts
}

/// The workstation's log goes to a file in the state directory (the terminal is the screen).
/// No patient data is ever logged.
fn init_workstation_logging() {
    let Some(dirs) = directories::ProjectDirs::from("org", "bedside", "bedside") else {
        return;
    };
    let dir = dirs
        .state_dir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dirs.data_local_dir().to_path_buf());
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("bedside.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDSIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
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
