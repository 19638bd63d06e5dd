//! What a user's workstation would start with: their config file, keymap and theme, read the
//! way the workstation reads them, with every problem found. `bedside check-config` prints it
//! and `bedside doctor` adds the terminal and the server; the workstation uses the same.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::problem::Problem;
use crate::workstation::app::TerminalEnv;
use crate::workstation::keymap::Keymap;
use crate::workstation::theme::{Depth, Theme, Themes};

/// Where to look and what the command line asked for.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `~/.config/bedside` on Linux; none when there is no home.
    pub config_dir: Option<PathBuf>,
    pub site_config: PathBuf,
    pub keymap_flag: Option<String>,
    pub theme_flag: Option<String>,
    pub env: TerminalEnv,
}

impl Inputs {
    pub fn config_path(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("config.toml"))
    }

    pub fn keymap_path(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("keymap.toml"))
    }

    pub fn themes_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("themes"))
    }
}

pub struct Settings {
    pub config: Config,
    pub keymap: Keymap,
    /// The theme's name, after a wrong one fell back.
    pub theme_name: String,
    /// The user chose the theme (flag or config), rather than the terminal.
    pub theme_chosen: bool,
    pub themes: Themes,
    pub theme: Theme,
    pub depth: Depth,
    pub depth_reason: String,
    /// Every problem: config, keymap, theme; each with file, line and a fix.
    pub problems: Vec<Problem>,
    /// Of those, a keymap or theme asked for that does not exist (the workstation lists
    /// them with the keymap's and theme's own problems).
    pub choice_problems: Vec<Problem>,
}

impl Settings {
    pub fn gather(inputs: &Inputs) -> Settings {
        let mut problems = Vec::new();
        let (config, p) = match inputs.config_path() {
            Some(path) => crate::config::load_checked(&path),
            None => (Config::default(), Vec::new()),
        };
        problems.extend(p);
        let (site, p) = crate::config::load_checked(&inputs.site_config);
        problems.extend(p);
        let config_file = inputs
            .config_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "config.toml".into());
        let setting = |key: &str, flag: bool| -> (String, Option<usize>) {
            if flag {
                (format!("--{key}"), None)
            } else {
                let line = inputs
                    .config_path()
                    .and_then(|p| crate::config::line_of_setting(&p, key));
                (config_file.clone(), line)
            }
        };
        let (_, p) = crate::config::idle_lock_seconds(
            site.idle_lock_seconds,
            config.idle_lock_seconds,
            None,
        );
        let (_, q) = crate::workstation::vault::cache::cache_settings(&site.cache, &config.cache);
        for message in p.into_iter().chain(q) {
            problems.push(Problem::new(&config_file, None, message));
        }

        // The keymap: a shipped one by name, then the user's file over it.
        let keymap_name = inputs.keymap_flag.clone().or(config.keymap.clone());
        let mut choice_problems = Vec::new();
        let keymap_name = match keymap_name {
            Some(n) if Keymap::shipped(&n).is_none() => {
                let (file, line) = setting("keymap", inputs.keymap_flag.is_some());
                choice_problems.push(
                    Problem::new(&file, line, format!("no shipped keymap {n:?}")).fix(format!(
                        "use one of {}; the default keymap is used meanwhile",
                        Keymap::shipped_names().join(", ")
                    )),
                );
                None
            }
            other => other,
        };
        problems.extend(choice_problems.iter().cloned());
        let keymap = Keymap::load(keymap_name.as_deref(), inputs.keymap_path().as_deref());
        problems.extend(keymap.problems.iter().cloned());

        // The theme: chosen, or what suits the terminal.
        let chosen = inputs.theme_flag.clone().or(config.theme.clone());
        let (depth, depth_reason) = inputs.env.depth(chosen.is_some());
        let themes = Themes::load(inputs.themes_dir().as_deref(), depth);
        problems.extend(themes.problems.iter().cloned());
        let automatic = if depth == Depth::None {
            "mono"
        } else {
            "default"
        };
        let keymap_choices = choice_problems.len();
        let theme_name = match &chosen {
            Some(n) if themes.file_of(n).is_none() => {
                let (file, line) = setting("theme", inputs.theme_flag.is_some());
                let names = themes.names();
                let hint = match crate::problem::suggest(n, names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean {s:?}? themes: {}", names.join(", ")),
                    None => format!("themes: {}", names.join(", ")),
                };
                choice_problems.push(
                    Problem::new(&file, line, format!("no theme named {n:?}"))
                        .fix(format!("{hint}; the {automatic} theme is used meanwhile")),
                );
                automatic.to_string()
            }
            Some(n) => n.clone(),
            None => automatic.to_string(),
        };
        problems.extend(choice_problems[keymap_choices..].iter().cloned());
        let (theme, p) = themes.build(&theme_name);
        problems.extend(p);
        Settings {
            config,
            keymap,
            theme_name,
            theme_chosen: chosen.is_some(),
            themes,
            theme,
            depth,
            depth_reason,
            problems,
            choice_problems,
        }
    }
}

/// `bedside check-config`: what the user would get, then each problem. The exit status is
/// non-zero when there is one.
pub fn check_report(inputs: &Inputs, settings: &Settings) -> String {
    let mut out = String::new();
    let found = |p: Option<PathBuf>| match p {
        Some(p) if p.exists() => format!("{}", p.display()),
        Some(p) => format!("{} (none)", p.display()),
        None => "(no config directory)".into(),
    };
    out.push_str(&format!("config  {}\n", found(inputs.config_path())));
    out.push_str(&format!(
        "keymap  {} (shipped) + {}\n",
        settings.keymap.name,
        found(inputs.keymap_path())
    ));
    let theme_file = settings
        .themes
        .file_of(&settings.theme.name)
        .unwrap_or_default();
    out.push_str(&format!(
        "theme   {} ({theme_file}) in {}: {}\n",
        settings.theme.name,
        settings.depth.label(),
        settings.depth_reason
    ));
    if settings.problems.is_empty() {
        out.push_str("no problems\n");
    } else {
        out.push('\n');
        for p in &settings.problems {
            out.push_str(&format!("{p}\n"));
        }
        out.push_str(&format!(
            "\n{} problem(s); the workstation starts, using the defaults for those parts\n",
            settings.problems.len()
        ));
    }
    out
}

/// Every action with its one-line description and where the active keymap binds it.
pub fn actions_report(keymap: &Keymap) -> String {
    let mut out = String::new();
    for action in crate::workstation::action::Action::ALL {
        let mut keys = Vec::new();
        for ctx in keymap.contexts_of(*action) {
            if let Some(k) = keymap.key_for(ctx, *action) {
                keys.push(format!("{} [{}]", k, ctx.name()));
            }
        }
        out.push_str(&format!(
            "{:<20} {}\n{:<20} {}\n",
            action.name(),
            action.description(),
            "",
            if keys.is_empty() {
                "(no key: use the : palette)".to_string()
            } else {
                keys.join(", ")
            }
        ));
    }
    out
}

/// Every theme scope and what it styles.
pub fn scopes_report() -> String {
    crate::workstation::theme::SCOPES
        .iter()
        .map(|(s, what)| format!("{s:<24} {what}\n"))
        .collect()
}

/// `bedside doctor`'s view of the terminal: size, colours, Unicode.
pub fn terminal_report(env: &TerminalEnv, size: Option<(u16, u16)>, settings: &Settings) -> String {
    let mut out = String::new();
    let size = match size {
        Some((w, h)) if w < 80 || h < 24 => {
            format!("{w}x{h} (smaller than 80x24: some panes are cut)")
        }
        Some((w, h)) => format!("{w}x{h}"),
        None => "not a terminal (standard output is redirected)".into(),
    };
    out.push_str(&format!("terminal  {size}, TERM={}\n", or_unset(&env.term)));
    out.push_str(&format!(
        "colours   {} ({}); COLORTERM={}, NO_COLOR={}\n",
        settings.depth.label(),
        settings.depth_reason,
        env.colorterm.as_deref().unwrap_or("(unset)"),
        if env.no_color { "set" } else { "(unset)" },
    ));
    let unicode = if env.needs_ascii() {
        "no: ASCII drawing"
    } else {
        "yes"
    };
    out.push_str(&format!(
        "unicode   {unicode} (locale {})\n",
        env.locale.as_deref().unwrap_or("(unset)")
    ));
    out.push_str(&format!(
        "theme     {}{}; keymap {}\n",
        settings.theme.name,
        if settings.theme_chosen {
            ""
        } else {
            " (chosen from the terminal)"
        },
        settings.keymap.name
    ));
    out
}

fn or_unset(s: &str) -> &str {
    if s.is_empty() { "(unset)" } else { s }
}

/// `bedside doctor`'s list of files: each path and whether it is there.
pub fn paths_report(inputs: &Inputs, data: Option<&Path>, cache: Option<&Path>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, path: Option<&Path>| {
        let text = match path {
            Some(p) if p.exists() => format!("{}", p.display()),
            Some(p) => format!("{} (not there)", p.display()),
            None => "(none: no home directory)".into(),
        };
        out.push_str(&format!("{label:<9} {text}\n"));
    };
    line("config", inputs.config_path().as_deref());
    line("keymap", inputs.keymap_path().as_deref());
    line("themes", inputs.themes_dir().as_deref());
    line("site", Some(inputs.site_config.as_path()));
    line("data", data);
    line("cache", cache);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path) -> Inputs {
        Inputs {
            config_dir: Some(dir.to_path_buf()),
            site_config: dir.join("no-site.toml"),
            keymap_flag: None,
            theme_flag: None,
            env: TerminalEnv {
                term: "xterm-256color".into(),
                colorterm: None,
                no_color: false,
                locale: Some("en_GB.UTF-8".into()),
            },
        }
    }

    #[test]
    fn a_clean_setup_has_no_problems_and_a_wrong_name_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::gather(&inputs(dir.path()));
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(
            (s.theme.name.as_str(), s.keymap.name.as_str()),
            ("default", "default")
        );
        std::fs::write(
            dir.path().join("config.toml"),
            "theme = \"lihgt\"\nkeymap = \"emacs\"\n",
        )
        .unwrap();
        let s = Settings::gather(&inputs(dir.path()));
        assert_eq!(s.theme.name, "default");
        let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text[0].contains("config.toml:2: no shipped keymap \"emacs\""),
            "{text:?}"
        );
        assert!(
            text[1].contains("config.toml:1: no theme named \"lihgt\""),
            "{text:?}"
        );
        assert!(text[1].contains("did you mean \"light\"?"), "{text:?}");
    }
}
