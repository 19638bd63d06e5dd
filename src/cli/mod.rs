//! The `bedside` command line: one file per subcommand. `main.rs` only calls [`main`].
//!
//! Server subcommands are built with the `server` feature, the workstation's with
//! `workstation`; `demo` needs both.

#[cfg(feature = "server")]
mod backup;
#[cfg(feature = "workstation")]
mod cache;
#[cfg(feature = "workstation")]
mod check_config;
#[cfg(all(feature = "server", feature = "workstation"))]
mod demo;
#[cfg(feature = "workstation")]
mod doctor;
#[cfg(feature = "server")]
mod import;
#[cfg(feature = "server")]
mod keygen;
mod logging;
#[cfg(feature = "server")]
mod rekey;
#[cfg(feature = "server")]
mod restore;
#[cfg(feature = "server")]
mod seed;
#[cfg(feature = "server")]
mod serve;
#[cfg(feature = "workstation")]
mod support;
#[cfg(feature = "server")]
mod user;
#[cfg(feature = "workstation")]
mod workstation;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bedside",
    version,
    about = "Terminal clinician workstation with an embedded FHIR R4 server",
    long_about = "Terminal clinician workstation with an embedded FHIR R4 server.\n\n\
        Without a command, opens the workstation against --server (or BEDSIDE_SERVER, or\n\
        `server` in config.toml in the config directory). `bedside demo` needs no server.",
    after_help = "Keys: / find a patient, Enter open, Tab next pane, f filter, t trend, \
        s summary, ? help, : commands, q close/quit. Check your settings with `bedside check-config`."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// FHIR R4 base URL to work against, e.g. https://fhir.example.org/r4 (also after
    /// `doctor`: `bedside doctor --server URL` checks that server)
    #[arg(long, env = "BEDSIDE_SERVER", global = true)]
    server: Option<String>,
    /// Work against the server of `[servers.NAME]` in config.toml (its URL, sign-in and CA)
    #[arg(long, env = "BEDSIDE_PROFILE", global = true, value_name = "NAME")]
    profile: Option<String>,
    /// Bearer token sent with every request (Authorization: Bearer ...)
    // A URL-safe base64 token may begin with `-`.
    #[arg(
        long,
        env = "BEDSIDE_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    token: Option<String>,
    /// Sign in with the hospital's identity provider (SMART), finishing the browser step by
    /// `loopback` (a browser here), `paste` (a link and QR code, then paste where it lands) or
    /// `device` (a code entered on any device); `auto` chooses from where the terminal is
    #[arg(long, value_name = "WAY", env = "BEDSIDE_SIGN_IN_WAY")]
    sign_in_way: Option<String>,
    /// Draw with ASCII only (terminals without Unicode box drawing)
    #[arg(long, global = true)]
    ascii: bool,
    /// Lock the screen after this many idle seconds [default: 300, or idle_lock_seconds in config.toml]
    #[arg(long, value_name = "SECONDS")]
    idle_lock: Option<u64>,
    /// Also trust this PEM CA certificate for the server's HTTPS (besides the system's)
    #[arg(long, value_name = "PEM", global = true)]
    ca_cert: Option<PathBuf>,
    /// Allow plain http:// to a server that is not on this machine (patient data unencrypted)
    #[arg(long, global = true)]
    allow_insecure: bool,
    /// The key file (mode 0600) of an encrypted server database [or BEDSIDE_DB_KEY_FILE, or
    /// the key itself in BEDSIDE_DB_KEY]
    #[cfg(feature = "server")]
    #[arg(long, global = true, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Colour theme: default, light, high-contrast, mono, or themes/NAME.toml in the config directory
    #[arg(long, global = true, value_name = "NAME")]
    theme: Option<String>,
    /// Keymap to build on: default, vim or vista (keymap.toml in the config directory is merged over it)
    #[arg(long, global = true, value_name = "NAME")]
    keymap: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the config file, keymap and theme you would get; each problem with file and line
    /// (exit status 1 when there is one)
    #[cfg(feature = "workstation")]
    CheckConfig(check_config::Args),
    /// Print what bedside sees: terminal size, colours and Unicode, config paths, and whether
    /// the server answers (and its version)
    #[cfg(feature = "workstation")]
    Doctor,
    /// Open the workstation on a demo database (seeded on first run) served in-process
    #[cfg(all(feature = "server", feature = "workstation"))]
    Demo(demo::Args),
    /// Run the embedded FHIR R4 server (base URL http://ADDR/fhir)
    #[cfg(feature = "server")]
    Serve(Box<serve::Args>),
    /// Manage the embedded server's users (works on the database file directly)
    #[cfg(feature = "server")]
    User {
        #[command(subcommand)]
        action: user::UserCommand,
    },
    /// The support desk's lists (duplicates, data quality, server status, access log, a
    /// record's history, a chart as it was) as a table, CSV or NDJSON, from a server
    /// (--server, with --token or --user)
    #[cfg(feature = "workstation")]
    Support(support::SupportArgs),
    /// The workstation's encrypted chart cache and outbox on this machine
    #[cfg(feature = "workstation")]
    Cache {
        #[command(subcommand)]
        action: cache::CacheCommand,
    },
    /// Write a deterministic synthetic population (same seed and anchor, same data)
    #[cfg(feature = "server")]
    Seed(seed::Args),
    /// Back up a server's database (and its audit trail) to one file, while it runs: a
    /// consistent snapshot, mode 0600, checked before it is given its name
    #[cfg(feature = "server")]
    Backup(backup::Args),
    /// Make a new database key (256 random bits) in a new file of mode 0600
    #[cfg(feature = "server")]
    Keygen(keygen::Args),
    /// Encrypt a plain database in place, change its key, or decrypt it (the server must be
    /// stopped): the database and its audit trail are rewritten, checked, then replaced.
    /// The current key comes from --key-file (none for a plain database)
    #[cfg(feature = "server")]
    Rekey(rekey::Args),
    /// Restore a backup as a server's database (the server must be stopped)
    #[cfg(feature = "server")]
    Restore(restore::Args),
    /// Load FHIR JSON Bundles, single resources and Bulk Data NDJSON files or folders
    #[cfg(feature = "server")]
    Import(import::Args),
}

/// Parses the command line and runs what it asks for.
pub fn main() -> Result<()> {
    let mut cli = Cli::parse();
    let Some(command) = cli.command.take() else {
        return no_command(&cli);
    };
    match command {
        #[cfg(feature = "workstation")]
        Command::CheckConfig(args) => check_config::run(&cli, args),
        #[cfg(feature = "workstation")]
        Command::Doctor => doctor::run(&cli),
        #[cfg(all(feature = "server", feature = "workstation"))]
        Command::Demo(args) => demo::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Serve(args) => serve::run(&cli, *args),
        #[cfg(feature = "server")]
        Command::User { action } => user::run(action, db_key(&cli)?.as_ref()),
        #[cfg(feature = "workstation")]
        Command::Cache { action } => cache::run(action),
        #[cfg(feature = "workstation")]
        Command::Support(args) => support::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Seed(args) => seed::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Backup(args) => backup::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Keygen(args) => keygen::run(args),
        #[cfg(feature = "server")]
        Command::Rekey(args) => rekey::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Restore(args) => restore::run(&cli, args),
        #[cfg(feature = "server")]
        Command::Import(args) => import::run(&cli, args),
    }
}

/// Without a command: the workstation against the configured server.
#[cfg(feature = "workstation")]
fn no_command(cli: &Cli) -> Result<()> {
    workstation::run(cli)
}

#[cfg(not(feature = "workstation"))]
fn no_command(_cli: &Cli) -> Result<()> {
    anyhow::bail!("this bedside was built without the workstation: give a command (see --help)")
}

/// The database key given to this run (--key-file, or the environment), if any.
#[cfg(feature = "server")]
fn db_key(cli: &Cli) -> Result<Option<crate::server::store::DbKey>> {
    crate::server::store::DbKey::configured(cli.key_file.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Opens a server database with the pool a command-line tool needs.
#[cfg(feature = "server")]
fn open_store(
    db: &std::path::Path,
    key: Option<&crate::server::store::DbKey>,
) -> Result<crate::server::store::Store> {
    use anyhow::Context;
    crate::server::store::Store::open_keyed(db, crate::server::store::DEFAULT_READERS, key.cloned())
        .with_context(|| format!("cannot open database {}", db.display()))
}

/// `--db`, or the platform's data directory.
#[cfg(feature = "server")]
fn db_or_default(db: Option<PathBuf>) -> Result<PathBuf> {
    match db {
        Some(db) => Ok(db),
        None => crate::paths::default_db(),
    }
}

/// A progress bar (drawn only on a terminal) counting `unit`.
#[cfg(feature = "server")]
fn progress_bar(len: u64, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    let template =
        format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{eta}} left)");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_may_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from(["bedside", "--token", "-bXyZ", "--ascii"]).expect("parse");
        assert_eq!(cli.token.as_deref(), Some("-bXyZ"));
        assert!(cli.ascii);
    }
}
