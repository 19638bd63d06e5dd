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
    let fhir = crate::workstation::client::FhirClient::with_transport(&server, None, &transport)?;
    // One thread is plenty for a client: the work is waiting on the network, and one
    // allocator heap instead of one per worker keeps the workstation small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut token = cli.token.clone();
    let mut provider = None;
    if target.sign_in == SignIn::Smart && token.is_none() {
        let (tokens, renewal, way) = runtime.block_on(smart_sign_in(&fhir, &target, cli))?;
        token = Some(tokens.access.clone());
        provider = Some((tokens, renewal, way));
    }
    let mut opts = workstation_options(server, token, cli);
    opts.transport = transport;
    match provider {
        Some((tokens, renewal, way)) => {
            if let Some(who) = &tokens.who {
                opts.author = who.clone();
            }
            opts.fhir_user = tokens.fhir_user.clone();
            opts.way_in = Some(format!(
                "the identity provider{} ({})",
                target
                    .profile
                    .as_ref()
                    .map(|p| format!(" of profile {p}"))
                    .unwrap_or_default(),
                way
            ));
            opts.renewal = Some(renewal);
        }
        None if opts.token.is_some() => {
            opts.way_in = Some("a bearer token (--token or BEDSIDE_TOKEN)".into());
        }
        None => {}
    }
    if let Some(hours) = config.duplicate_test_hours {
        opts.duplicate_test_hours = hours;
    }
    let (site, _) = crate::config::load(&crate::config::site_config_path());
    let (hours, days) = crate::config::overdue_limits(&site, &config);
    if let Some(hours) = hours {
        opts.overdue.critical_ms = i64::from(hours) * 3_600_000;
    }
    if let Some(days) = days {
        opts.overdue.abnormal_ms = i64::from(days) * 86_400_000;
    }
    opts.idle_lock = Some(idle_lock(cli, &config, &mut warnings));
    opts.signing = signing(&config);
    let server_id = opts.server.trim_end_matches('/').to_string();
    opts.storage = storage(&server_id, &config, &mut warnings);
    opts.warnings.append(&mut warnings);
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
    /// The profile's SMART settings (client id, scopes, way, redirect address).
    pub smart: crate::config::ServerProfile,
}

pub(super) fn target(cli: &Cli, config: &crate::config::Config) -> Result<Option<Target>> {
    let Some(name) = &cli.profile else {
        return Ok(cli
            .server
            .clone()
            .or(config.server.clone())
            .map(|url| Target {
                smart: crate::config::ServerProfile {
                    url: url.clone(),
                    sign_in: SignIn::Password,
                    ca_cert: None,
                    client_id: None,
                    scopes: None,
                    way: None,
                    redirect_uri: None,
                },
                url,
                ca_cert: None,
                // `--sign-in-way` alone: the identity provider of the server given.
                sign_in: if cli.sign_in_way.is_some() {
                    SignIn::Smart
                } else {
                    SignIn::Password
                },
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
        sign_in: if cli.sign_in_way.is_some() {
            SignIn::Smart
        } else {
            profile.sign_in
        },
        profile: Some(name.clone()),
        smart: profile.clone(),
    }))
}

/// Signs in with the server's identity provider before the screen starts: the browser step
/// finished the chosen way (printed here, with a QR code for a phone when the link is to be
/// opened elsewhere). The tokens, how to renew them, and the way it went.
async fn smart_sign_in(
    fhir: &crate::workstation::client::FhirClient,
    target: &Target,
    cli: &Cli,
) -> Result<(
    crate::workstation::client::smart::Tokens,
    crate::workstation::Renewal,
    &'static str,
)> {
    use crate::workstation::client::smart::{self, Shown, Way};
    let Some(config) = smart::discover(fhir.http(), &target.url)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e))
        .context("cannot read the server's SMART configuration")?
    else {
        anyhow::bail!(
            "{} publishes no .well-known/smart-configuration: it has no identity provider to sign in with (try its own sign-in, or --token)",
            target.url
        );
    };
    let way_text = cli
        .sign_in_way
        .clone()
        .or(target.smart.way.clone())
        .unwrap_or_else(|| "auto".into());
    let way = match way_text.as_str() {
        "auto" => Way::automatic(&config, &|k| std::env::var(k).ok()),
        other => Way::parse(other).with_context(|| {
            format!("the sign-in way {other:?} is not one of auto, loopback, paste, device")
        })?,
    };
    if way == Way::Device && config.device_authorization_endpoint.is_none() {
        anyhow::bail!(
            "this server's identity provider does not offer sign-in with a device code: use --sign-in-way paste or loopback"
        );
    }
    let client = smart::Client {
        scopes: config.scopes(
            target
                .smart
                .scopes
                .as_deref()
                .unwrap_or(smart::DEFAULT_SCOPES),
        ),
        config,
        client_id: target
            .smart
            .client_id
            .clone()
            .unwrap_or_else(|| "bedside".into()),
        fhir_base: target.url.clone(),
    };
    let redirect = target
        .smart
        .redirect_uri
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1/callback".into());
    eprintln!(
        "Signing in to {}{} with its identity provider, by {}.",
        target.url,
        target
            .profile
            .as_ref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default(),
        way.describe()
    );
    // What the user pastes, from the terminal (paste only): one line each time one is asked
    // for, so nothing is left reading the terminal once the screen starts.
    let (paste_tx, mut pasted) = tokio::sync::mpsc::channel(1);
    let (more, wanted) = std::sync::mpsc::channel::<()>();
    if way == Way::Paste {
        let _ = more.send(());
        std::thread::spawn(move || {
            while wanted.recv().is_ok() {
                let mut line = String::new();
                match std::io::stdin().read_line(&mut line) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
                if paste_tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut show = move |shown: Shown| match shown {
        Shown::OpenUrl(url) => {
            let opened = smart::open_browser(&url);
            eprintln!(
                "{}\n  {url}\nWaiting for the browser (10 minutes at most)...",
                if opened {
                    "Your browser opens the sign-in page. If it does not, open:"
                } else {
                    "Open this address in a browser on this machine:"
                }
            );
        }
        Shown::PasteUrl(url) => {
            if let Some(qr) = smart::qr_text(&url) {
                eprintln!("{qr}");
            }
            eprintln!(
                "Open this address in a browser (or scan the code with a phone):\n  {url}\n\nAfter signing in, the browser lands on a page that may not load. Copy its whole address (or the code in it), paste it here and press Enter:"
            );
        }
        Shown::DeviceCode {
            uri,
            code,
            complete,
        } => {
            if let Some(qr) = complete.as_deref().and_then(smart::qr_text) {
                eprintln!("{qr}");
            }
            eprintln!(
                "On any device, open {uri} and enter the code\n\n    {code}\n\n(or scan the QR code). Waiting for you to finish there..."
            );
        }
        Shown::TryAgain(why) => {
            eprintln!("{why}. Paste again:");
            let _ = more.send(());
        }
    };
    let http = fhir.http().clone();
    let tokens = smart::sign_in(&http, &client, way, &redirect, &mut show, &mut pasted)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the sign-in with the identity provider did not finish")?;
    eprintln!(
        "Signed in{}.",
        tokens
            .who
            .as_ref()
            .map(|w| format!(" as {w}"))
            .unwrap_or_default()
    );
    let renewal = crate::workstation::Renewal {
        client,
        refresh: tokens.refresh.clone(),
        expires_in: tokens.expires_in,
        way,
        paste_redirect: redirect,
        who: tokens.who.clone(),
    };
    let way_name = match way {
        Way::Loopback => "browser here",
        Way::Paste => "link, pasted back",
        Way::Device => "device code",
    };
    Ok((tokens, renewal, way_name))
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
    opts.record_dir = dirs.as_ref().map(|d| d.config_dir().join("record"));
    opts
}
