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
}
