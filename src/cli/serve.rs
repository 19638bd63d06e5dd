//! `bedside serve`: the embedded FHIR R4 server, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Cli, db_key, db_or_default};
use crate::server::auth::Auth;
use crate::server::store::Store;
use crate::server::{DEFAULT_BODY_LIMIT, ServerConfig, serve, shutdown_signal};

#[derive(clap::Args)]
pub struct Args {
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
    #[arg(long, value_name = "N", default_value_t = crate::server::listen::MAX_CONNECTIONS)]
    max_connections: usize,
    /// A web origin whose browser apps may call the FHIR API (CORS), e.g.
    /// https://app.example.org (repeatable; none by default)
    #[arg(long, value_name = "ORIGIN", value_parser = crate::server::cors::check_origin)]
    cors_origin: Vec<String>,
    /// Accept access tokens (JWT) from the site's OpenID Connect provider, e.g.
    /// https://login.example.org/realms/hospital (needs --oidc-audience)
    #[arg(long, value_name = "URL", requires = "oidc_audience")]
    oidc_issuer: Option<String>,
    /// What the provider's tokens for this server carry in `aud`
    #[arg(long, value_name = "AUD", requires = "oidc_issuer")]
    oidc_audience: Option<String>,
    /// The token claim naming the bedside user (the account, whose role applies)
    #[arg(long, value_name = "CLAIM", default_value = "sub")]
    oidc_user_claim: String,
    /// Seconds of clock skew allowed on a token's exp and nbf (at most 300)
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    oidc_leeway: u64,
    /// The identifier system the server numbers new patients in (their MRN: sequential,
    /// 7 digits, never changed once given)
    #[arg(long, value_name = "URI", default_value = crate::server::seed::MRN_SYSTEM)]
    mrn_system: String,
    /// Also take HL7 v2 messages over MLLP on this address (ADT in; ACKs after the durable
    /// write)
    #[arg(long, value_name = "ADDR", requires = "mllp_authority")]
    mllp: Option<SocketAddr>,
    /// The assigning authority (PID-3.4) of the site's MRN in the messages received
    #[arg(long, value_name = "NAME")]
    mllp_authority: Option<String>,
    /// Segments in the messages received may end in LF or CRLF too
    #[arg(long)]
    mllp_lenient: bool,
}

pub fn run(cli: &Cli, args: Args) -> Result<()> {
    let Args {
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
        cors_origin,
        oidc_issuer,
        oidc_audience,
        oidc_user_claim,
        oidc_leeway,
        mrn_system,
        mllp,
        mllp_authority,
        mllp_lenient,
    } = args;
    let mrn_system = mrn_system.trim().to_string();
    anyhow::ensure!(
        mrn_system.contains(':')
            && !mrn_system.chars().any(|c| c.is_whitespace() || c == '|')
            && mrn_system.len() <= 255,
        "--mrn-system must be a URI, such as https://hospital.example/mrn"
    );
    let oidc = match oidc_issuer.zip(oidc_audience) {
        Some((issuer, audience)) => {
            let mut settings = crate::server::auth::oidc::OidcSettings::new(&issuer, &audience)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            settings.user_claim = oidc_user_claim.trim().to_string();
            let leeway = std::time::Duration::from_secs(oidc_leeway);
            anyhow::ensure!(
                leeway <= crate::server::auth::oidc::OidcSettings::MAX_LEEWAY,
                "--oidc-leeway is {oidc_leeway} s; at most 300 s of clock skew is allowed"
            );
            settings.leeway = leeway;
            eprintln!(
                "accepting tokens from {} for {} (the {} claim names the bedside user)",
                settings.issuer, settings.audience, settings.user_claim
            );
            Some(settings)
        }
        None => None,
    };
    super::logging::server();
    let db = db_or_default(db)?;
    let defaults = crate::server::WorkLimits::default();
    let work = crate::server::WorkLimits {
        workers: workers.unwrap_or(defaults.workers).clamp(1, 128),
        queue,
        wait: std::time::Duration::from_millis(queue_wait.max(1)),
    };
    // Held while serving: a second server or a restore cannot take the files.
    let _lock = crate::server::store::backup::ServeLock::acquire(&db)
        .with_context(|| format!("cannot serve {}", db.display()))?;
    let store = Store::open_keyed(&db, work.readers(), db_key(cli)?)
        .with_context(|| format!("cannot open database {}", db.display()))?;
    // Scheduled backups come from the site's file, where the server runs.
    let (site, problems) = crate::config::load(&crate::config::site_config_path());
    for problem in problems {
        eprintln!("warning: {problem}");
    }
    let backups = match &site.backup {
        Some(backup) => {
            let schedule = crate::server::backups::Schedule::from_config(backup)
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
    let mut config = ServerConfig {
        body_limit: max_body,
        timeouts: crate::server::Timeouts {
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
        cors_origins: cors_origin,
        oidc,
        mrn: crate::server::mrn::MrnPolicy {
            system: mrn_system,
            ..Default::default()
        },
        auth: crate::server::auth::Settings {
            signature_pins,
            ..Default::default()
        },
        hl7: None,
    };
    let encrypted = store.key().is_some();
    if !encrypted {
        eprintln!(
            "note: {} is not encrypted at rest; make a key with `bedside keygen` and encrypt it with `bedside rekey` (see README, Encryption at rest)",
            db.display()
        );
    }
    let interface = match mllp {
        Some(addr) => {
            let authority = mllp_authority.unwrap_or_default();
            anyhow::ensure!(
                !authority.trim().is_empty() && !authority.contains(['|', '^', '~', '&', '\\']),
                "--mllp-authority must name the MRN's assigning authority (PID-3.4), such as GENHOSP"
            );
            Some((
                addr,
                crate::server::hl7::handle::Options {
                    setup: crate::server::hl7::apply::Setup {
                        mrn_authority: authority.trim().to_string(),
                        mrn_system: config.mrn.system.clone(),
                        systems: Vec::new(),
                    },
                    lenient: mllp_lenient,
                },
            ))
        }
        None => None,
    };
    config.hl7 = interface
        .as_ref()
        .map(|(_, options)| std::sync::Arc::new(options.clone()));
    serve_until_signal_with(store, listen, config, tls, interface, |base| {
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

/// Serves `store` on `listen` (HTTPS when `tls` names a certificate and key) until SIGINT or
/// SIGTERM; `announce` is told the base URL.
// Used by `demo` (built with the workstation too).
#[cfg(feature = "workstation")]
pub(super) fn serve_until_signal(
    store: Store,
    listen: SocketAddr,
    config: ServerConfig,
    tls: Option<(PathBuf, PathBuf)>,
    announce: impl FnOnce(&str),
) -> Result<()> {
    serve_until_signal_with(store, listen, config, tls, None, announce)
}

/// `serve_until_signal`, with an HL7 v2 MLLP listener beside it when `interface` names one.
fn serve_until_signal_with(
    store: Store,
    listen: SocketAddr,
    config: ServerConfig,
    tls: Option<(PathBuf, PathBuf)>,
    interface: Option<(SocketAddr, crate::server::hl7::handle::Options)>,
    announce: impl FnOnce(&str),
) -> Result<()> {
    let tls = match tls {
        Some((cert, key)) => Some(crate::server::tls::server_config(&cert, &key)?),
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
        if let Some((addr, options)) = interface {
            let mllp = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for MLLP on {addr}"))?;
            eprintln!("HL7 v2 (MLLP) on {}", mllp.local_addr()?);
            tokio::spawn(crate::server::hl7::listen::serve(
                store.clone(),
                mllp,
                options,
                shutdown_signal(),
            ));
        }
        match tls {
            Some(tls) => {
                announce(&format!("https://{local}/fhir"));
                let listener = crate::server::tls::TlsListener::new(listener, tls)?;
                serve(store, listener, config, shutdown_signal()).await
            }
            None => {
                announce(&format!("http://{local}/fhir"));
                let listener = crate::server::no_delay(listener);
                serve(store, listener, config, shutdown_signal()).await
            }
        }
        .context("the server stopped with an error")?;
        eprintln!("bedside server stopped");
        Ok(())
    })
}
