//! The workstation against a configured server (no command), and the options it starts with.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::Cli;
use crate::config::SignIn;
use crate::workstation::Options;

pub fn run(cli: &Cli) -> Result<()> {
    super::logging::workstation();
    let (config, mut warnings) = config_file();
    let Some(target) = target(cli, &config)? else {
        anyhow::bail!(
            "no FHIR server given: use `bedside --server URL` or `--profile NAME`, set \
             BEDSIDE_SERVER, put server = \"URL\" in {}, or try `bedside demo`",
            config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "config.toml".into())
        );
    };
    if target.sign_in == SignIn::Token && cli.token.is_none() {
        anyhow::bail!(
            "the profile {} signs in with a bearer token: pass --token or set BEDSIDE_TOKEN",
            target.profile.as_deref().unwrap_or_default()
        );
    }
    let server = target.url.clone();
    let transport = transport(cli, &config, target.ca_cert.as_ref())?;
    crate::workstation::client::FhirClient::with_transport(&server, None, &transport)?;
    let mut opts = workstation_options(server, cli.token.clone(), cli);
    opts.transport = transport;
    if let Some(hours) = config.duplicate_test_hours {
        opts.duplicate_test_hours = hours;
    }
    opts.idle_lock = Some(idle_lock(cli, &config, &mut warnings));
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
    runtime.block_on(crate::workstation::run_terminal(opts))
}

/// The server to work against: `--server` (or `BEDSIDE_SERVER`), or the profile of
/// `--profile NAME`, or `server` in config.toml; `None` when nothing names one.
pub(super) struct Target {
    pub url: String,
    /// The profile's CA certificate (`--ca-cert` wins over it).
    pub ca_cert: Option<PathBuf>,
    pub sign_in: SignIn,
    pub profile: Option<String>,
}

pub(super) fn target(cli: &Cli, config: &crate::config::Config) -> Result<Option<Target>> {
    let Some(name) = &cli.profile else {
        return Ok(cli
            .server
            .clone()
            .or(config.server.clone())
            .map(|url| Target {
                url,
                ca_cert: None,
                sign_in: SignIn::Password,
                profile: None,
            }));
    };
    let Some(profile) = config.servers.get(name) else {
        let known: Vec<&str> = config.servers.keys().map(String::as_str).collect();
        anyhow::bail!(
            "no profile '{name}': config.toml has {}",
            if known.is_empty() {
                "no [servers.NAME] table".to_string()
            } else {
                format!("[servers.{}]", known.join("], [servers."))
            }
        );
    };
    if let Some(server) = cli.server.as_ref().filter(|s| **s != profile.url) {
        anyhow::bail!(
            "both --server (or BEDSIDE_SERVER) {server} and --profile {name} ({}) name a \
             server: give one",
            profile.url
        );
    }
    Ok(Some(Target {
        url: profile.url.clone(),
        ca_cert: profile.ca_cert.clone(),
        sign_in: profile.sign_in,
        profile: Some(name.clone()),
    }))
}

/// How to reach the server: the CA to trust (`--ca-cert`, else the profile's, else
/// config.toml's) and whether plain HTTP may leave this machine.
pub(super) fn transport(
    cli: &Cli,
    config: &crate::config::Config,
    profile_ca: Option<&PathBuf>,
) -> Result<crate::workstation::client::Transport> {
    let ca = cli
        .ca_cert
        .clone()
        .or(profile_ca.cloned())
        .or(config.ca_cert.clone());
    let ca_cert_pem = match ca {
        Some(path) => Some(
            std::fs::read(&path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?,
        ),
        None => None,
    };
    Ok(crate::workstation::client::Transport {
        ca_cert_pem,
        allow_insecure: cli.allow_insecure,
    })
}

/// What needs an electronic signature: the site's config.toml sets the least.
pub(super) fn signing(config: &crate::config::Config) -> crate::config::Signing {
    let (site, _) = crate::config::load(&crate::config::site_config_path());
    crate::config::signing(site.signing, config.signing)
}

/// The idle lock: the site's config.toml sets the longest, the user's or --idle-lock less.
pub(super) fn idle_lock(
    cli: &Cli,
    config: &crate::config::Config,
    warnings: &mut Vec<String>,
) -> std::time::Duration {
    let (site, mut problems) = crate::config::load(&crate::config::site_config_path());
    let (seconds, mut more) = crate::config::idle_lock_seconds(
        site.idle_lock_seconds,
        config.idle_lock_seconds,
        cli.idle_lock,
    );
    warnings.append(&mut problems);
    warnings.append(&mut more);
    std::time::Duration::from_secs(seconds)
}

pub(super) fn config_path() -> Option<PathBuf> {
    crate::config::config_dir().map(|d| d.join("config.toml"))
}

pub(super) fn config_file() -> (crate::config::Config, Vec<String>) {
    match config_path() {
        Some(path) => crate::config::load(&path),
        None => (crate::config::Config::default(), Vec::new()),
    }
}

/// Where the workstation keeps offline data for `server_id`, with the site's and the user's
/// cache settings.
pub(super) fn storage(
    server_id: &str,
    config: &crate::config::Config,
    warnings: &mut Vec<String>,
) -> Option<crate::workstation::runtime::offline::StorageConfig> {
    let (site, _) = crate::config::load(&crate::config::site_config_path());
    let (settings, mut problems) =
        crate::workstation::vault::cache::cache_settings(&site.cache, &config.cache);
    warnings.append(&mut problems);
    let local = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".into());
    Some(crate::workstation::runtime::offline::StorageConfig {
        vault_root: crate::paths::vault_root().ok()?,
        cache_root: crate::paths::cache_root().ok()?,
        server_id: server_id.to_string(),
        settings,
        kdf: crate::workstation::vault::Kdf::default(),
        legacy_drafts: crate::paths::legacy_drafts().ok(),
        local_user: format!("token:{local}"),
    })
}

/// Where settings come from, for this user and this command line.
pub(super) fn settings_inputs(cli: &Cli) -> crate::workstation::settings::Inputs {
    crate::workstation::settings::Inputs {
        config_dir: crate::config::config_dir(),
        site_config: crate::config::site_config_path(),
        keymap_flag: cli.keymap.clone(),
        theme_flag: cli.theme.clone(),
        env: crate::workstation::app::TerminalEnv::from_env(),
    }
}

/// Options for the workstation: the user's keymap and theme (problems are listed on screen),
/// the recent-patient list in the data directory.
pub(super) fn workstation_options(server: String, token: Option<String>, cli: &Cli) -> Options {
    let settings = crate::workstation::settings::Settings::gather(&settings_inputs(cli));
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
