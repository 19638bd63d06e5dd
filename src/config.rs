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
    /// Lock the screen after this many idle seconds. In the site file it is the longest
    /// allowed; a user's file or `--idle-lock` can only make it shorter.
    #[serde(default)]
    pub idle_lock_seconds: Option<u64>,
    /// A PEM CA certificate to trust for the server's HTTPS, besides the system's.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
}

/// The idle lock used when nobody sets one: VistA's 300 seconds.
pub const DEFAULT_IDLE_LOCK: u64 = 300;

/// The idle lock in seconds from the site's setting (a ceiling), the user's and the command
/// line's (the command line wins over the user's file), and what to tell the user about it.
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
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<Config>(&text) {
            Ok(c) => (c, Vec::new()),
            Err(e) => (
                Config::default(),
                vec![format!(
                    "{}: {} (settings from this file ignored)",
                    path.display(),
                    describe(&text, &e)
                )],
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (
            Config::default(),
            vec![format!("{}: cannot read it ({e})", path.display())],
        ),
    }
}

/// `line N: message`.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
    match line {
        Some(l) => format!("line {l}: {}", e.message().trim()),
        None => e.message().trim().to_string(),
    }
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
