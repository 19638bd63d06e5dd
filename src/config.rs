//! `config.toml` in the config directory: which server to use, and later themes, keymaps,
//! idle lock and cache settings. A broken file is reported with its line, never fatal.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// FHIR R4 base URL of the server (`--server` and `BEDSIDE_SERVER` win over it).
    pub server: Option<String>,
    /// Draw with ASCII only (for terminals without box drawing).
    #[serde(default)]
    pub ascii: bool,
    /// A test ordered or resulted this many hours ago is flagged as a duplicate (default 24).
    #[serde(default)]
    pub duplicate_test_hours: Option<u32>,
    /// The results safety net lists a critical result still waiting for review after this many
    /// hours (default 1).
    #[serde(default)]
    pub overdue_critical_hours: Option<u32>,
    /// ... and an abnormal one after this many days (default 3).
    #[serde(default)]
    pub overdue_abnormal_days: Option<u32>,
    /// Lock the screen after this many idle seconds. In the site file it is the longest
    /// allowed; a user's file or `--idle-lock` can only make it shorter.
    #[serde(default)]
    pub idle_lock_seconds: Option<u64>,
    /// A PEM CA certificate to trust for the server's HTTPS, besides the system's.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// The encrypted cache of recent charts.
    #[serde(default)]
    pub cache: CacheConfig,
    /// The colour theme: a shipped one (default, light, high-contrast, mono) or the name of
    /// `themes/NAME.toml` in the config directory (`--theme` wins over it).
    #[serde(default)]
    pub theme: Option<String>,
    /// The shipped keymap to build on: default, vim or vista (`--keymap` wins over it);
    /// `keymap.toml` in the config directory is merged over it.
    #[serde(default)]
    pub keymap: Option<String>,
    /// What needs an electronic signature (the signer's password, or a PIN the server
    /// allows): `notes-and-orders` (the default), `orders`, or `none`. The site's file sets
    /// the least; a user's file can only ask for more.
    #[serde(default)]
    pub signing: Option<Signing>,
    /// Backups `bedside serve` makes on a schedule (read from the site's file, where the
    /// server runs).
    #[serde(default)]
    pub backup: Option<BackupConfig>,
    /// `[servers.NAME]`: the servers this terminal works against, chosen with
    /// `bedside --profile NAME`.
    #[serde(default)]
    pub servers: std::collections::BTreeMap<String, ServerProfile>,
}

/// `[servers.NAME]`: one FHIR server and how to sign in to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerProfile {
    /// Its FHIR R4 base URL.
    pub url: String,
    /// How to sign in: `password` (the server's own sign-in screen, the default), `token`
    /// (a bearer token from `--token` or `BEDSIDE_TOKEN`) or `smart` (the hospital's identity
    /// provider, found through the server's `.well-known/smart-configuration`).
    #[serde(default)]
    pub sign_in: SignIn,
    /// A PEM CA certificate for this server's HTTPS (`--ca-cert` wins over it).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// `smart`: bedside's client id at the provider [default: bedside].
    #[serde(default)]
    pub client_id: Option<String>,
    /// `smart`: the scopes asked for [default: openid fhirUser offline_access user/*.cruds,
    /// less those the server does not list].
    #[serde(default)]
    pub scopes: Option<String>,
    /// `smart`: how the browser step is finished: `loopback` (a browser on this machine),
    /// `paste` (a link and QR code, then the address it lands on pasted back) or `device` (a
    /// code entered on any device) [default: chosen from where the terminal is].
    #[serde(default)]
    pub way: Option<String>,
    /// `smart`, `paste`: the redirect address registered at the provider [default:
    /// http://127.0.0.1/callback].
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// How a profile signs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignIn {
    #[default]
    Password,
    Token,
    Smart,
}

impl SignIn {
    pub fn as_str(self) -> &'static str {
        match self {
            SignIn::Password => "username and password",
            SignIn::Token => "a bearer token",
            SignIn::Smart => "the hospital's identity provider (SMART)",
        }
    }
}

/// `[backup]`: how often the server backs its database up, where to, and how many to keep.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// How often: a number and a unit, `30m`, `6h`, `1d` (also `s`).
    pub every: String,
    /// The folder backups are written to (created 0700 if missing).
    pub folder: PathBuf,
    /// How many of the newest backups to keep; older ones in the folder are removed.
    #[serde(default = "default_keep")]
    pub keep: usize,
}

fn default_keep() -> usize {
    14
}

impl BackupConfig {
    /// `every` as a duration, or why it is not one.
    pub fn interval(&self) -> Result<std::time::Duration, String> {
        let text = self.every.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().map_err(|_| {
            format!("backup.every = \"{text}\": give a number and a unit, e.g. \"6h\"")
        })?;
        let secs = match unit.trim() {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            other => {
                return Err(format!(
                    "backup.every = \"{text}\": the unit \"{other}\" is not one of s, m, h, d"
                ));
            }
        };
        if secs == 0 {
            return Err("backup.every must be more than zero".into());
        }
        Ok(std::time::Duration::from_secs(secs))
    }
}

/// What an electronic signature is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signing {
    None,
    Orders,
    #[default]
    NotesAndOrders,
}

impl Signing {
    pub fn orders(self) -> bool {
        self >= Signing::Orders
    }
    pub fn notes(self) -> bool {
        self == Signing::NotesAndOrders
    }
}

/// The signing rule: the stricter of the site's and the user's (the site's binds), and by
/// default both notes and orders.
pub fn signing(site: Option<Signing>, user: Option<Signing>) -> Signing {
    match (site, user) {
        (Some(s), Some(u)) => s.max(u),
        (Some(s), None) => s,
        (None, Some(u)) => u,
        (None, None) => Signing::NotesAndOrders,
    }
}

/// `[cache]`. In the site file, `enabled = false` and `wipe_on_sign_out = true` bind every
/// user, and the sizes are the most a user may ask for.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub enabled: Option<bool>,
    pub max_charts: Option<usize>,
    pub max_mb: Option<u64>,
    pub ttl_hours: Option<u64>,
    pub wipe_on_sign_out: Option<bool>,
}

/// The idle lock used when nobody sets one: VistA's 300 seconds.
pub const DEFAULT_IDLE_LOCK: u64 = 300;

/// The idle lock in seconds from the site's setting (a ceiling), the user's and the command
/// line's (the command line wins over the user's file), and what to tell the user about it.
/// The safety net's limits (hours for critical results, days for abnormal ones): the site's
/// are the longest a result may wait; a user's file can only make them shorter. At least 1.
pub fn overdue_limits(site: &Config, user: &Config) -> (Option<u32>, Option<u32>) {
    let shorter = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b).max(1)),
        (a, b) => a.or(b).map(|v| v.max(1)),
    };
    (
        shorter(site.overdue_critical_hours, user.overdue_critical_hours),
        shorter(site.overdue_abnormal_days, user.overdue_abnormal_days),
    )
}

pub fn idle_lock_seconds(
    site: Option<u64>,
    user: Option<u64>,
    flag: Option<u64>,
) -> (u64, Vec<String>) {
    let mut problems = Vec::new();
    let mut wanted = flag.or(user);
    if wanted == Some(0) {
        problems.push(
            "an idle lock of 0 s is not allowed (a terminal must lock); using the default".into(),
        );
        wanted = None;
    }
    let site = site.filter(|s| *s > 0);
    let seconds = match (site, wanted) {
        (Some(s), Some(w)) if w > s => {
            problems.push(format!(
                "idle lock {w} s is longer than this site allows ({s} s); using {s} s"
            ));
            s
        }
        (_, Some(w)) => w,
        (Some(s), None) => s,
        (None, None) => DEFAULT_IDLE_LOCK,
    };
    (seconds, problems)
}

/// The site-wide config file: `BEDSIDE_SITE_CONFIG`, or `/etc/bedside/config.toml`.
pub fn site_config_path() -> PathBuf {
    std::env::var_os("BEDSIDE_SITE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/bedside/config.toml"))
}

/// The config and the problems found reading it.
pub fn load(path: &Path) -> (Config, Vec<String>) {
    let (config, problems) = load_checked(path);
    let problems = problems
        .into_iter()
        .map(|p| match p.line {
            Some(l) => format!(
                "{}: line {l}: {} (settings from this file ignored)",
                p.file, p.message
            ),
            None => format!("{}: {}", p.file, p.message),
        })
        .collect();
    (config, problems)
}

/// The config and its problems with file and line, for `bedside check-config`.
pub fn load_checked(path: &Path) -> (Config, Vec<crate::problem::Problem>) {
    use crate::problem::Problem;
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<Config>(&text) {
            Ok(c) => (c, Vec::new()),
            Err(e) => {
                let problem = Problem::from_toml(&file, &text, &e);
                let fix = if problem.message.contains("unknown field") {
                    "the settings are: server, theme, keymap, ascii, idle_lock_seconds, [backup], \
                     duplicate_test_hours, overdue_critical_hours, overdue_abnormal_days, ca_cert, [cache], [servers.NAME] (url, sign_in, \
                     ca_cert); every setting of this file is ignored until it is fixed"
                } else {
                    "correct the line; every setting of this file is ignored until it is fixed"
                };
                (Config::default(), vec![problem.fix(fix)])
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (
            Config::default(),
            vec![
                Problem::new(&file, None, format!("cannot read it ({e})"))
                    .fix("check the file's permissions"),
            ],
        ),
    }
}

/// The line where `key = ...` is set at the top of a TOML file, if it is.
pub fn line_of_setting(path: &Path, key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "bedside", "bedside")
        .map(|d| d.config_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_reports_with_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "server = \"http://h/fhir\"\n").unwrap();
        assert_eq!(load(&path).0.server.as_deref(), Some("http://h/fhir"));
        std::fs::write(&path, "# comment\nserver = 3\n").unwrap();
        let (c, problems) = load(&path);
        assert!(c.server.is_none());
        assert!(problems[0].contains("line 2"), "{problems:?}");
        std::fs::write(&path, "sever = \"x\"\n").unwrap();
        assert!(load(&path).1[0].contains("unknown field"));
        assert!(load(&dir.path().join("missing.toml")).1.is_empty());
    }

    #[test]
    fn the_site_idle_lock_is_a_ceiling() {
        let site = Config {
            overdue_critical_hours: Some(4),
            ..Config::default()
        };
        let user = Config {
            overdue_critical_hours: Some(8),
            overdue_abnormal_days: Some(0),
            ..Config::default()
        };
        assert_eq!(
            overdue_limits(&site, &user),
            (Some(4), Some(1)),
            "only shorter, at least 1"
        );
        assert_eq!(idle_lock_seconds(None, None, None).0, DEFAULT_IDLE_LOCK);
        assert_eq!(idle_lock_seconds(Some(120), None, None).0, 120);
        assert_eq!(idle_lock_seconds(Some(120), Some(60), None).0, 60);
        assert_eq!(idle_lock_seconds(Some(120), Some(60), Some(30)).0, 30);
        let (s, problems) = idle_lock_seconds(Some(120), Some(900), None);
        assert_eq!(s, 120);
        assert!(problems[0].contains("longer than this site allows"));
        assert_eq!(idle_lock_seconds(None, Some(0), None).0, DEFAULT_IDLE_LOCK);
    }
}
