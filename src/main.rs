//! The `bedside` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use bedside::server::{DEFAULT_BODY_LIMIT, serve, shutdown_signal};
use bedside::store::Store;

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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
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
            let store = Store::open(&db)
                .with_context(|| format!("cannot open database {}", db.display()))?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                eprintln!(
                    "bedside FHIR R4 server at http://{}/fhir (database {})",
                    listener.local_addr()?,
                    db.display()
                );
                serve(store, listener, max_body, shutdown_signal())
                    .await
                    .context("the server stopped with an error")?;
                eprintln!("bedside server stopped");
                Ok(())
            })
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
