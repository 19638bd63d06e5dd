//! The `bedside` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::io::IsTerminal;
use std::time::Instant;

use bedside::tui::Options;

use bedside::auth::{Auth, Role};
use bedside::seed::{Depth, SeedOptions};
use bedside::server::{DEFAULT_BODY_LIMIT, ServerConfig, serve, shutdown_signal};
use bedside::store::DbKey;
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
        s summary, ? help, : commands, q close/quit. Check your settings with `bedside check-config`."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// FHIR R4 base URL to work against, e.g. https://fhir.example.org/r4 (also after
    /// `doctor`: `bedside doctor --server URL` checks that server)
    #[arg(long, env = "BEDSIDE_SERVER", global = true)]
    server: Option<String>,
    /// Bearer token sent with every request (Authorization: Bearer ...)
    // A URL-safe base64 token may begin with `-`.
    #[arg(
        long,
        env = "BEDSIDE_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    token: Option<String>,
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
    CheckConfig {
        /// Also list every action, its description and its keys
        #[arg(long)]
        actions: bool,
        /// Also list every theme scope
        #[arg(long)]
        scopes: bool,
    },
    /// Print what bedside sees: terminal size, colours and Unicode, config paths, and whether
    /// the server answers (and its version)
    Doctor,
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
        /// Serve HTTPS with this PEM certificate chain (needs --tls-key)
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Seconds a client has to send a request's headers, from its first byte
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        header_timeout: u64,
        /// Seconds a client has to send a request's body
        #[arg(long, value_name = "SECS", default_value_t = 30)]
        body_timeout: u64,
        /// Seconds a kept-alive connection may sit idle between requests
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        idle_timeout: u64,
        /// The base URL clients reach the server at (e.g. https://ehr.example.org/fhir);
        /// links use it whatever the request's Host header says
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// A reverse proxy whose X-Forwarded-Proto/Host/For headers are believed (repeatable)
        #[arg(long, value_name = "IP")]
        trusted_proxy: Vec<std::net::IpAddr>,
        /// Let users sign notes and orders with a signature PIN of their own (set with
        /// POST /auth/signature-pin) instead of their password
        #[arg(long)]
        signature_pins: bool,
        /// Requests working on the database at once [default: 4 per CPU core, 4 to 64]
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// Requests that may wait for a worker; past it a request is answered 503 with
        /// Retry-After at once
        #[arg(long, value_name = "N", default_value_t = 512)]
        queue: usize,
        /// Milliseconds a request may wait for a worker before it is answered 503
        #[arg(long, value_name = "MS", default_value_t = 3000)]
        queue_wait: u64,
        /// The most the database may grow to, in MB: past it writes are refused (503, nothing
        /// stored) while reads go on, as on a full disk, before the disk itself fills
        #[arg(long, value_name = "MB")]
        max_db_size: Option<u64>,
        /// Open connections at most; more clients wait to be accepted
        #[arg(long, value_name = "N", default_value_t = bedside::server::listen::MAX_CONNECTIONS)]
        max_connections: usize,
    },
    /// Manage the embedded server's users (works on the database file directly)
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// The workstation's encrypted chart cache and outbox on this machine
    Cache {
        #[command(subcommand)]
        action: CacheCommand,
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
    /// Back up a server's database (and its audit trail) to one file, while it runs: a
    /// consistent snapshot, mode 0600, checked before it is given its name
    Backup {
        /// The server's database [default: the platform data directory]
        #[arg(long)]
        db: Option<PathBuf>,
        /// The backup file to write (must not exist)
        #[arg(long)]
        to: PathBuf,
    },
    /// Make a new database key (256 random bits) in a new file of mode 0600
    Keygen {
        /// The key file to write (must not exist)
        #[arg(long)]
        to: PathBuf,
    },
    /// Encrypt a plain database in place, change its key, or decrypt it (the server must be
    /// stopped): the database and its audit trail are rewritten, checked, then replaced.
    /// The current key comes from --key-file (none for a plain database)
    Rekey {
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
    },
    /// Restore a backup as a server's database (the server must be stopped)
    Restore {
        /// The backup file
        #[arg(long)]
        from: PathBuf,
        /// The database to restore to [default: the platform data directory]
        #[arg(long)]
        db: Option<PathBuf>,
        /// Replace an existing database (its files are renamed aside, not deleted)
        #[arg(long)]
        force: bool,
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

#[derive(Subcommand)]
enum CacheCommand {
    /// Per user: cached charts, their size and age, and notes still in the outbox (no key needed)
    Stats {
        /// Only this username
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete cached charts (all users, or one); the outbox and drafts are kept
    Purge {
        /// Only this username
        #[arg(long)]
        user: Option<String>,
        /// Also delete the key, outbox and drafts (a forgotten passphrase; refused while notes are unsent, unless --force)
        #[arg(long)]
        everything: bool,
        /// Delete even when notes in the outbox have not reached the server
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user: prints a one-time password they replace at first sign-in (or, with
    /// --password-stdin, sets the password read from standard input)
    Add {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Full name as shown on notes and orders, e.g. "Dr Jane Doe"
        #[arg(long, default_value = "")]
        name: String,
        /// Set this password, read from the first line of standard input (for scripts), instead
        /// of a one-time password
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users, their roles and state
    List {
        #[arg(long)]
        db: PathBuf,
    },
    /// Disable an account (its tokens stop working at once)
    Disable {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account
    Enable {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Issue a one-time password (or set the one on --password-stdin), clear a lockout and
    /// sign the user out everywhere
    ResetPassword {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Enrol a TOTP second factor: prints the otpauth URI and a QR code to scan
    Totp {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        username: String,
    },
    /// Require (or, with --off, stop requiring) a second factor for every user of a role
    RequireMfa {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, value_enum)]
        role: Role,
        #[arg(long)]
        off: bool,
    },
}

/// A password from the first line of standard input (`--password-stdin`, for scripts).
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// One user's offline data on this machine, found from the folders' own records.
struct LocalUser {
    username: String,
    server: String,
    vault_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
}

fn local_users(vault_root: &Path, cache_root: &Path) -> Vec<LocalUser> {
    let mut users: Vec<LocalUser> = bedside::vault::owners(vault_root)
        .into_iter()
        .map(|(dir, server, username)| LocalUser {
            cache_dir: Some(cache_root.join(bedside::vault::slug(&server, &username)))
                .filter(|d| d.exists()),
            vault_dir: Some(dir),
            username,
            server,
        })
        .collect();
    // A cache whose key folder is gone (it can no longer be read, but it is still listed).
    for entry in std::fs::read_dir(cache_root)
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = entry.path();
        if users.iter().any(|u| u.cache_dir.as_ref() == Some(&dir)) {
            continue;
        }
        let owner = rusqlite::Connection::open_with_flags(
            dir.join("charts.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row("SELECT username, server FROM owner", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
        });
        let (username, server) = owner.unwrap_or_else(|_| ("(unknown)".into(), String::new()));
        users.push(LocalUser {
            username,
            server,
            vault_dir: None,
            cache_dir: Some(dir),
        });
    }
    users
}

fn cache_command(action: CacheCommand) -> Result<()> {
    use bedside::vault::cache::ChartCache;
    use bedside::vault::outbox::Outbox;
    let vault_root = bedside::paths::vault_root()?;
    let cache_root = bedside::paths::cache_root()?;
    let wanted =
        |u: &LocalUser, only: &Option<String>| only.as_ref().is_none_or(|w| *w == u.username);
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into())
    };
    match action {
        CacheCommand::Stats { user } => {
            println!("charts in {}", cache_root.display());
            println!("keys, outboxes and drafts in {}", vault_root.display());
            println!(
                "{:<18} {:>6} {:>9} {:>9} {:<16} {:<16} {:>6} {:>6}  SERVER",
                "USER", "CHARTS", "RESOURCES", "SIZE", "OLDEST", "NEWEST", "OUTBOX", "DRAFTS"
            );
            let mut shown = 0;
            for u in local_users(&vault_root, &cache_root)
                .iter()
                .filter(|u| wanted(u, &user))
            {
                let stats = u
                    .cache_dir
                    .as_ref()
                    .map(|d| ChartCache::stats(&d.join("charts.db")))
                    .transpose()
                    .unwrap_or_else(|e| {
                        eprintln!("{}: cannot read the cache ({e})", u.username);
                        None
                    })
                    .unwrap_or_default();
                let unsent = u
                    .vault_dir
                    .as_ref()
                    .map(|d| Outbox::unsent_at(&d.join("outbox.db")).unwrap_or(0))
                    .unwrap_or(0);
                let drafts = u
                    .vault_dir
                    .as_ref()
                    .and_then(|d| std::fs::read_dir(d.join("drafts")).ok())
                    .map(|r| {
                        r.flatten()
                            .filter(|e| e.path().extension().is_some_and(|x| x == "draft"))
                            .count()
                    })
                    .unwrap_or(0);
                println!(
                    "{:<18} {:>6} {:>9} {:>8.1}M {:<16} {:<16} {:>6} {:>6}  {}",
                    u.username,
                    stats.charts,
                    stats.resources,
                    stats.bytes as f64 / 1_048_576.0,
                    when(stats.oldest_ms),
                    when(stats.newest_ms),
                    unsent,
                    drafts,
                    u.server
                );
                shown += 1;
            }
            if shown == 0 {
                println!(
                    "(nothing cached{})",
                    user.map(|u| format!(" for {u}")).unwrap_or_default()
                );
            }
            for entry in std::fs::read_dir(&vault_root)
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.contains(".set-aside-") {
                    println!(
                        "set aside (sealed with an earlier password): {}",
                        entry.path().display()
                    );
                }
            }
            Ok(())
        }
        CacheCommand::Purge {
            user,
            everything,
            force,
        } => {
            let users: Vec<LocalUser> = local_users(&vault_root, &cache_root)
                .into_iter()
                .filter(|u| wanted(u, &user))
                .collect();
            if users.is_empty() {
                println!(
                    "nothing to purge{}",
                    user.map(|u| format!(" for {u}")).unwrap_or_default()
                );
                return Ok(());
            }
            if everything && !force {
                let unsent: Vec<String> = users
                    .iter()
                    .filter_map(|u| {
                        let n = Outbox::unsent_at(&u.vault_dir.as_ref()?.join("outbox.db")).ok()?;
                        (n > 0).then(|| format!("{} ({n})", u.username))
                    })
                    .collect();
                if !unsent.is_empty() {
                    anyhow::bail!(
                        "notes in the outbox have not reached the server for: {}. Sign in and let them send, or add --force to delete them",
                        unsent.join(", ")
                    );
                }
            }
            let mut charts = 0;
            for u in &users {
                if let Some(dir) = &u.cache_dir {
                    charts += ChartCache::stats(&dir.join("charts.db"))
                        .map(|s| s.charts)
                        .unwrap_or(0);
                    std::fs::remove_dir_all(dir)
                        .with_context(|| format!("cannot delete {}", dir.display()))?;
                }
                if everything && let Some(dir) = &u.vault_dir {
                    std::fs::remove_dir_all(dir)
                        .with_context(|| format!("cannot delete {}", dir.display()))?;
                }
            }
            println!(
                "purged {charts} cached charts of {} user(s){}",
                users.len(),
                if everything {
                    ", with their keys, outboxes and drafts"
                } else {
                    "; outboxes and drafts kept"
                }
            );
            Ok(())
        }
    }
}

fn user_command(action: UserCommand, key: Option<&DbKey>) -> Result<()> {
    let auth = |db: &Path| -> Result<Auth> { Ok(Auth::new(open_store(db, key)?)) };
    match action {
        UserCommand::Add {
            db,
            username,
            role,
            name,
            password_stdin,
        } => {
            let auth = auth(&db)?;
            if password_stdin {
                let password = read_password()?;
                Auth::check_policy(&username, &password)?;
                let user = auth.add_user(&username, &name, role, &password)?;
                println!(
                    "added {} ({}) as {}",
                    user.username,
                    user.name,
                    user.role.as_str()
                );
            } else {
                let (user, one_time) = auth.add_user_one_time(&username, &name, role)?;
                println!(
                    "added {} ({}) as {}",
                    user.username,
                    user.name,
                    user.role.as_str()
                );
                println!("one-time password: {one_time}");
                println!("give it to {username} in person; they choose their own at first sign-in");
            }
        }
        UserCommand::List { db } => {
            let auth = auth(&db)?;
            let mfa = auth.mfa_roles()?;
            println!(
                "{:<20} {:<10} {:<6} {:<9} NAME",
                "USERNAME", "ROLE", "TOTP", "STATE"
            );
            for u in auth.list_users()? {
                let state = if u.disabled {
                    "disabled"
                } else if u.locked {
                    "locked"
                } else {
                    "active"
                };
                let totp = match (u.totp, mfa.contains(&u.role)) {
                    (true, _) => "yes",
                    (false, true) => "NEEDED",
                    (false, false) => "no",
                };
                println!(
                    "{:<20} {:<10} {:<6} {:<9} {}",
                    u.username,
                    u.role.as_str(),
                    totp,
                    state,
                    u.name
                );
            }
            if !mfa.is_empty() {
                let roles: Vec<&str> = mfa.iter().map(|r| r.as_str()).collect();
                println!("second factor required for: {}", roles.join(", "));
            }
        }
        UserCommand::Disable { db, username } => {
            auth(&db)?.set_disabled(&username, true)?;
            println!("{username} is disabled and signed out");
        }
        UserCommand::Enable { db, username } => {
            auth(&db)?.set_disabled(&username, false)?;
            println!("{username} is enabled");
        }
        UserCommand::ResetPassword {
            db,
            username,
            password_stdin,
        } => {
            let auth = auth(&db)?;
            auth.user(&username)?;
            if password_stdin {
                let password = read_password()?;
                Auth::check_policy(&username, &password)?;
                auth.reset_password(&username, &password)?;
                println!("{username}: new password set; lockout cleared; signed out everywhere");
            } else {
                let one_time = auth.reset_one_time(&username)?;
                println!("{username}: lockout cleared; signed out everywhere");
                println!("one-time password: {one_time}");
                println!("they choose their own at their next sign-in");
            }
        }
        UserCommand::Totp { db, username } => {
            let (secret, uri) = auth(&db)?.enrol_totp(&username)?;
            let qr = qrcode::QrCode::new(uri.as_bytes()).context("cannot draw the QR code")?;
            let drawn = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .dark_color(qrcode::render::unicode::Dense1x2::Light)
                .light_color(qrcode::render::unicode::Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            println!("{drawn}");
            println!("Scan this with an authenticator app, or enter the key by hand.");
            println!("key: {secret}");
            println!("uri: {uri}");
            println!("{username} will be asked for a 6-digit code at every sign-in.");
        }
        UserCommand::RequireMfa { db, role, off } => {
            auth(&db)?.require_mfa(role, !off)?;
            if off {
                println!(
                    "the {} role no longer requires a second factor",
                    role.as_str()
                );
            } else {
                println!(
                    "every {} must now sign in with a TOTP code (enrol each with `bedside user totp`)",
                    role.as_str()
                );
            }
        }
    }
    Ok(())
}

fn open_store(db: &Path, key: Option<&DbKey>) -> Result<Store> {
    Store::open_keyed(db, bedside::store::DEFAULT_READERS, key.cloned())
        .with_context(|| format!("cannot open database {}", db.display()))
}

/// The database key given to this run (--key-file, or the environment), if any.
fn db_key(cli: &Cli) -> Result<Option<DbKey>> {
    DbKey::configured(cli.key_file.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))
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

/// Serves `store` on `listen` (HTTPS when `tls` names a certificate and key) until SIGINT or
/// SIGTERM; `announce` is told the base URL.
fn serve_until_signal(
    store: Store,
    listen: SocketAddr,
    config: ServerConfig,
    tls: Option<(PathBuf, PathBuf)>,
    announce: impl FnOnce(&str),
) -> Result<()> {
    let tls = match tls {
        Some((cert, key)) => Some(bedside::server::tls::server_config(&cert, &key)?),
        None => None,
    };
    // Blocking threads are bounded by the workers (each request's database work takes one).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(config.work.blocking_threads())
        .thread_keep_alive(std::time::Duration::from_secs(60))
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        match tls {
            Some(tls) => {
                announce(&format!("https://{local}/fhir"));
                let listener = bedside::server::tls::TlsListener::new(listener, tls)?;
                serve(store, listener, config, shutdown_signal()).await
            }
            None => {
                announce(&format!("http://{local}/fhir"));
                let listener = bedside::server::no_delay(listener);
                serve(store, listener, config, shutdown_signal()).await
            }
        }
        .context("the server stopped with an error")?;
        eprintln!("bedside server stopped");
        Ok(())
    })
}

fn main() -> Result<()> {
    let mut cli = Cli::parse();
    let Some(command) = cli.command.take() else {
        init_workstation_logging();
        let (config, mut warnings) = config_file();
        let Some(server) = cli.server.clone().or(config.server.clone()) else {
            anyhow::bail!(
                "no FHIR server given: use `bedside --server URL`, set BEDSIDE_SERVER, put \
                 server = \"URL\" in {}, or try `bedside demo`",
                config_path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "config.toml".into())
            );
        };
        let transport = transport(&cli, &config)?;
        bedside::client::FhirClient::with_transport(&server, None, &transport)?;
        let mut opts = workstation_options(server, cli.token.clone(), &cli);
        opts.transport = transport;
        if let Some(hours) = config.duplicate_test_hours {
            opts.duplicate_test_hours = hours;
        }
        opts.idle_lock = Some(idle_lock(&cli, &config, &mut warnings));
        opts.signing = signing(&config);
        let server_id = opts.server.trim_end_matches('/').to_string();
        opts.storage = storage(&server_id, &config, &mut warnings);
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
            let store = open_store(&bedside::paths::demo_db(patients)?, db_key(&cli)?.as_ref())?;
            // The marker is written last, so a first run that was interrupted seeds again.
            if store.info("demo-seeded")?.is_none() {
                eprintln!("first run: seeding {patients} synthetic patients");
                seed_with_progress(&store, &SeedOptions::new(patients, Depth::Full))?;
                store.set_info("demo-seeded", &patients.to_string())?;
            }
            let auth = Auth::new(store.clone());
            bedside::auth::ensure_demo_users(&auth).context("cannot add the demo users")?;
            if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
                // No terminal (a script, CI): serve the demo database for other clients.
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                let config = ServerConfig::default();
                return serve_until_signal(store, loopback, config, None, |base| {
                    println!("bedside demo: no terminal, so no workstation");
                    println!("FHIR R4 server at {base}; Ctrl-C stops it");
                    println!(
                        "sign in with POST /auth/login as {} (or demo.nurse, demo.support, demo.admin), password {}",
                        bedside::auth::DEMO_PHYSICIAN,
                        bedside::auth::DEMO_PASSWORD
                    );
                });
            }
            // The demo signs in as its physician, so the first command just works.
            let issued = auth
                .issue_for(bedside::auth::DEMO_PHYSICIAN)
                .context("cannot sign in the demo physician")?;
            let (config, mut warnings) = config_file();
            let idle = idle_lock(&cli, &config, &mut warnings);
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let server = bedside::server::spawn_local(store)
                    .await
                    .context("cannot start the embedded server")?;
                let mut opts = workstation_options(server.base_url(), Some(issued.token), &cli);
                opts.user = Some(bedside::client::SignedIn {
                    username: issued.session.username.clone(),
                    name: issued.session.name.clone(),
                    role: issued.session.role.as_str().to_string(),
                    practitioner: issued.session.practitioner.clone(),
                });
                opts.demo_password = Some(bedside::auth::DEMO_PASSWORD.to_string());
                opts.idle_lock = Some(idle);
                opts.signing = signing(&config);
                // The demo's port changes every run; its offline data belongs to the database.
                opts.storage = storage(&format!("demo-{patients}"), &config, &mut warnings);
                opts.vault_secret = Some(bedside::auth::DEMO_PASSWORD.to_string());
                opts.warnings.append(&mut warnings);
                let result = bedside::tui::run_terminal(opts).await;
                server.stop().await;
                result
            })
        }
        Command::User { action } => user_command(action, db_key(&cli)?.as_ref()),
        Command::Cache { action } => cache_command(action),
        Command::CheckConfig { actions, scopes } => check_config(&cli, actions, scopes),
        Command::Doctor => doctor(&cli),
        Command::Serve {
            db,
            listen,
            max_body,
            tls_cert,
            tls_key,
            header_timeout,
            body_timeout,
            idle_timeout,
            public_url,
            trusted_proxy,
            signature_pins,
            workers,
            queue,
            queue_wait,
            max_db_size,
            max_connections,
        } => {
            init_server_logging();
            let db = match db {
                Some(db) => db,
                None => bedside::paths::default_db()?,
            };
            let defaults = bedside::server::WorkLimits::default();
            let work = bedside::server::WorkLimits {
                workers: workers.unwrap_or(defaults.workers).clamp(1, 128),
                queue,
                wait: std::time::Duration::from_millis(queue_wait.max(1)),
            };
            // Held while serving: a second server or a restore cannot take the files.
            let _lock = bedside::store::backup::ServeLock::acquire(&db)
                .with_context(|| format!("cannot serve {}", db.display()))?;
            let store = Store::open_keyed(&db, work.readers(), db_key(&cli)?)
                .with_context(|| format!("cannot open database {}", db.display()))?;
            // Scheduled backups come from the site's file, where the server runs.
            let (site, problems) = bedside::config::load(&bedside::config::site_config_path());
            for problem in problems {
                eprintln!("warning: {problem}");
            }
            let backups = match &site.backup {
                Some(backup) => {
                    let schedule = bedside::server::backups::Schedule::from_config(backup)
                        .map_err(|e| anyhow::anyhow!("{e}"))
                        .context("the [backup] settings of the site's config.toml")?;
                    eprintln!(
                        "backing up every {} s to {} (keeping {})",
                        schedule.every.as_secs(),
                        schedule.folder.display(),
                        schedule.keep
                    );
                    Some(schedule)
                }
                None => None,
            };
            if let Some(mb) = max_db_size {
                store
                    .set_size_limit(Some(mb.saturating_mul(1_000_000)))
                    .context("cannot set --max-db-size")?;
            }
            let tls = tls_cert.zip(tls_key);
            if tls.is_none() && !listen.ip().is_loopback() {
                eprintln!(
                    "warning: serving plain HTTP on {listen}; patient data and sign-in tokens cross the network unencrypted (use --tls-cert and --tls-key)"
                );
            }
            if Auth::new(store.clone()).list_users()?.is_empty() {
                eprintln!(
                    "no users yet: add one with `bedside user add --db {} --username NAME --role physician`",
                    db.display()
                );
            }
            let config = ServerConfig {
                body_limit: max_body,
                timeouts: bedside::server::Timeouts {
                    header: std::time::Duration::from_secs(header_timeout.max(1)),
                    body: std::time::Duration::from_secs(body_timeout.max(1)),
                    idle: std::time::Duration::from_secs(idle_timeout.max(1)),
                },
                tls: tls.is_some(),
                public_url,
                trusted_proxies: trusted_proxy,
                work,
                backups,
                max_connections,
                auth: bedside::auth::Settings {
                    signature_pins,
                    ..Default::default()
                },
            };
            let encrypted = store.key().is_some();
            if !encrypted {
                eprintln!(
                    "note: {} is not encrypted at rest; make a key with `bedside keygen` and encrypt it with `bedside rekey` (see README, Encryption at rest)",
                    db.display()
                );
            }
            serve_until_signal(store, listen, config, tls, |base| {
                eprintln!(
                    "bedside FHIR R4 server at {base} (database {}, {})",
                    db.display(),
                    if encrypted {
                        "encrypted at rest"
                    } else {
                        "not encrypted"
                    }
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
            let store = open_store(&db, db_key(&cli)?.as_ref())?;
            let mut opts = SeedOptions::new(patients, depth);
            opts.seed = seed;
            opts.anchor = anchor.unwrap_or(opts.anchor);
            opts.large_charts = large_charts.unwrap_or(opts.large_charts);
            seed_with_progress(&store, &opts)
        }
        Command::Backup { db, to } => {
            let db = match db {
                Some(db) => db,
                None => bedside::paths::default_db()?,
            };
            let key = db_key(&cli)?;
            let started = Instant::now();
            let bar = progress_bar(0, "bytes");
            let verified = bedside::server::backups::backup_recorded(
                &db,
                key.as_ref(),
                &to,
                bedside::auth::audit::system_agent(),
                |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
            );
            bar.finish_and_clear();
            let verified =
                verified.with_context(|| format!("the backup of {} failed", db.display()))?;
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
        Command::Keygen { to } => {
            DbKey::generate()
                .and_then(|key| key.write_new_file(&to))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "a new database key is in {} (mode 0600). Keep a copy apart from the backups: without it, neither the database nor its backups can be read.",
                to.display()
            );
            Ok(())
        }
        Command::Rekey {
            db, new_key_file, ..
        } => {
            let db = match db {
                Some(db) => db,
                None => bedside::paths::default_db()?,
            };
            let from = db_key(&cli)?;
            // clap requires one of --new-key-file and --decrypt; without a new key, decrypt.
            let to = new_key_file
                .as_deref()
                .map(DbKey::read_file)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let started = Instant::now();
            let done = bedside::store::key::rekey(&db, from.as_ref(), to.as_ref())
                .with_context(|| format!("the key of {} was not changed", db.display()))?;
            let mut event = bedside::auth::audit::Event::new(
                bedside::auth::audit::Subtype::Rekey,
                bedside::auth::audit::system_agent(),
            );
            let what = match (&from, &to) {
                (None, Some(_)) => "encrypted",
                (Some(_), Some(_)) => "given a new key",
                _ => "decrypted",
            };
            event.resources = Vec::new();
            event.description = Some(format!("database {what}"));
            bedside::auth::audit::record_beside(&db, to.as_ref(), &[event]).context(
                "the database was rewritten, but the audit record of it could not be written",
            )?;
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
        Command::Restore { from, db, force } => {
            let db = match db {
                Some(db) => db,
                None => bedside::paths::default_db()?,
            };
            let key = db_key(&cli)?;
            let restored = bedside::store::backup::restore(&from, &db, key.as_ref(), force)
                .with_context(|| format!("{} was not restored", from.display()))?;
            let mut event = bedside::auth::audit::Event::new(
                bedside::auth::audit::Subtype::Restore,
                bedside::auth::audit::system_agent(),
            );
            event.description = Some(format!(
                "restored from {} ({} resources, {} audit records)",
                from.display(),
                restored.verified.resources,
                restored.verified.audit_records
            ));
            bedside::auth::audit::record_beside(&db, key.as_ref(), &[event])
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
        Command::Import { db, report, paths } => {
            let files = bedside::import::collect_files(&paths)
                .context("cannot list the files to import")?;
            let store = open_store(&db, db_key(&cli)?.as_ref())?;
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
                bedside::files::write_private_file(&report, text.as_bytes())
                    .with_context(|| format!("cannot write {}", report.display()))?;
                println!("the reasons for each rejection are in {}", report.display());
            }
            Ok(())
        }
    }
}

/// How to reach the server: the CA to trust and whether plain HTTP may leave this machine.
fn transport(cli: &Cli, config: &bedside::config::Config) -> Result<bedside::client::Transport> {
    let ca = cli.ca_cert.clone().or(config.ca_cert.clone());
    let ca_cert_pem = match ca {
        Some(path) => Some(
            std::fs::read(&path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?,
        ),
        None => None,
    };
    Ok(bedside::client::Transport {
        ca_cert_pem,
        allow_insecure: cli.allow_insecure,
    })
}

/// What needs an electronic signature: the site's config.toml sets the least.
fn signing(config: &bedside::config::Config) -> bedside::config::Signing {
    let (site, _) = bedside::config::load(&bedside::config::site_config_path());
    bedside::config::signing(site.signing, config.signing)
}

/// The idle lock: the site's config.toml sets the longest, the user's or --idle-lock less.
fn idle_lock(
    cli: &Cli,
    config: &bedside::config::Config,
    warnings: &mut Vec<String>,
) -> std::time::Duration {
    let (site, mut problems) = bedside::config::load(&bedside::config::site_config_path());
    let (seconds, mut more) = bedside::config::idle_lock_seconds(
        site.idle_lock_seconds,
        config.idle_lock_seconds,
        cli.idle_lock,
    );
    warnings.append(&mut problems);
    warnings.append(&mut more);
    std::time::Duration::from_secs(seconds)
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

/// Where the workstation keeps offline data for `server_id`, with the site's and the user's
/// cache settings.
fn storage(
    server_id: &str,
    config: &bedside::config::Config,
    warnings: &mut Vec<String>,
) -> Option<bedside::tui::offline::StorageConfig> {
    let (site, _) = bedside::config::load(&bedside::config::site_config_path());
    let (settings, mut problems) = bedside::config::cache_settings(&site.cache, &config.cache);
    warnings.append(&mut problems);
    let local = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".into());
    Some(bedside::tui::offline::StorageConfig {
        vault_root: bedside::paths::vault_root().ok()?,
        cache_root: bedside::paths::cache_root().ok()?,
        server_id: server_id.to_string(),
        settings,
        kdf: bedside::vault::Kdf::default(),
        legacy_drafts: bedside::paths::legacy_drafts().ok(),
        local_user: format!("token:{local}"),
    })
}

/// Where settings come from, for this user and this command line.
fn settings_inputs(cli: &Cli) -> bedside::settings::Inputs {
    bedside::settings::Inputs {
        config_dir: bedside::config::config_dir(),
        site_config: bedside::config::site_config_path(),
        keymap_flag: cli.keymap.clone(),
        theme_flag: cli.theme.clone(),
        env: bedside::tui::app::TerminalEnv::from_env(),
    }
}

/// Options for the workstation: the user's keymap and theme (problems are listed on screen),
/// the recent-patient list in the data directory.
fn workstation_options(server: String, token: Option<String>, cli: &Cli) -> Options {
    let settings = bedside::settings::Settings::gather(&settings_inputs(cli));
    let dirs = directories::ProjectDirs::from("org", "bedside", "bedside");
    let mut opts = Options::new(&server);
    opts.token = token;
    opts.ascii = cli.ascii || settings.config.ascii;
    opts.theme = Some(settings.theme_name.clone());
    opts.themes = Some(settings.themes);
    opts.problems = settings.choice_problems;
    opts.keymap = settings.keymap;
    opts.recent_file = dirs
        .as_ref()
        .map(|d| d.data_dir().join("recent-patients.json"));
    opts.templates_dir = dirs.as_ref().map(|d| d.config_dir().join("templates"));
    opts.phrases_file = dirs.as_ref().map(|d| d.config_dir().join("phrases.toml"));
    opts.orders_dir = dirs.as_ref().map(|d| d.config_dir().join("orders"));
    opts
}

/// `bedside check-config`.
fn check_config(cli: &Cli, actions: bool, scopes: bool) -> Result<()> {
    let inputs = settings_inputs(cli);
    let settings = bedside::settings::Settings::gather(&inputs);
    if actions {
        println!("{}", bedside::settings::actions_report(&settings.keymap));
    }
    if scopes {
        println!("{}", bedside::settings::scopes_report());
    }
    print!("{}", bedside::settings::check_report(&inputs, &settings));
    if !settings.problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// `bedside doctor`.
fn doctor(cli: &Cli) -> Result<()> {
    let inputs = settings_inputs(cli);
    let settings = bedside::settings::Settings::gather(&inputs);
    let size = std::io::stdout()
        .is_terminal()
        .then(crossterm::terminal::size)
        .and_then(Result::ok);
    println!("bedside {}", env!("CARGO_PKG_VERSION"));
    print!(
        "{}",
        bedside::settings::terminal_report(&inputs.env, size, &settings)
    );
    print!(
        "{}",
        bedside::settings::paths_report(
            &inputs,
            bedside::paths::vault_root().ok().as_deref(),
            bedside::paths::cache_root().ok().as_deref(),
        )
    );
    match settings.problems.len() {
        0 => println!("settings  no problems"),
        n => println!("settings  {n} problem(s): run `bedside check-config`"),
    }
    let server = cli.server.clone().or(settings.config.server.clone());
    let Some(server) = server else {
        println!("server    none set (--server, BEDSIDE_SERVER or server in config.toml)");
        return Ok(());
    };
    let transport = transport(cli, &settings.config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let line = runtime.block_on(bedside::client::probe_server(&server, &transport));
    println!("server    {server}: {line}");
    Ok(())
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
    if bedside::files::private_dir(&dir).is_err() {
        return;
    }
    let path = dir.join("bedside.log");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let Ok(file) = options.open(&path) else {
        return;
    };
    // A log from an earlier version may have been created 0644.
    let _ = bedside::files::make_private(&path);
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
