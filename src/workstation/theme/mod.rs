//! Styles by meaning, from TOML themes: `themes/*.toml` compiled in (default, light,
//! high-contrast, mono) and the user's `themes/NAME.toml` in the config directory. A theme
//! names semantic scopes (`alert.allergy`), each falling back by dropping its last part
//! (`alert.allergy` -> `alert` -> `base`); it may inherit another and name colours in a
//! palette. Colours are mapped down to what the terminal shows (256, 16, none). A broken
//! theme never stops start-up: its problems are listed and the built-in one is used.
//! Clinical meaning never rests on colour alone: markers and words carry it in every theme,
//! and abnormal and allergy styles always keep a modifier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

use crate::problem::Problem;

mod depth;
mod raw;

pub use depth::Depth;
use raw::Raw;

/// The shipped themes: name, file text.
pub const SHIPPED: [(&str, &str); 4] = [
    (
        "default",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/default.toml")),
    ),
    (
        "light",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/light.toml")),
    ),
    (
        "high-contrast",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/themes/high-contrast.toml"
        )),
    ),
    (
        "mono",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/mono.toml")),
    ),
];

/// Every scope a theme may style, with what it is for (`bedside check-config --scopes`).
pub const SCOPES: [(&str, &str); 27] = [
    ("base", "everything not styled otherwise"),
    ("border", "pane borders"),
    ("border.focus", "the focused pane's border"),
    ("title", "pane titles and headings"),
    ("banner", "the patient banner"),
    ("banner.name", "the patient's name in the banner"),
    ("alert", "alerts (falls back for the alert.* scopes)"),
    ("alert.allergy", "allergies in the banner"),
    ("alert.allergy.unknown", "allergies not yet assessed"),
    ("alert.allergy.none", "no known allergies"),
    ("flag", "abnormal-value flags (falls back for flag.*)"),
    ("flag.high", "H: above the reference range"),
    ("flag.low", "L: below the reference range"),
    ("flag.critical", "critical values (HH, LL, !!)"),
    ("flag.abnormal", "abnormal without a direction (A)"),
    ("selection", "the selected line in the focused list"),
    ("selection.unfocused", "the selected line in another list"),
    ("match", "the matched letters of a search"),
    ("dim", "secondary text"),
    ("tag", "type tags in the timeline"),
    ("status", "the status line"),
    ("status.error", "errors"),
    ("status.warning", "warnings"),
    ("key", "key names in hints and help"),
    ("range", "reference ranges"),
    ("chart.series", "trend lines: a list of colours"),
    ("chart", "charts (falls back for chart.*)"),
];

/// Scopes that carry clinical meaning: colour alone never may.
pub const MARKED: [&str; 6] = [
    "alert.allergy",
    "alert.allergy.unknown",
    "flag.high",
    "flag.low",
    "flag.critical",
    "flag.abnormal",
];

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    /// False for a theme without colour (mono) or a terminal without any.
    pub colour: bool,
    /// The theme asks for ASCII borders (mono).
    pub ascii: bool,
    /// Colours for trend lines, one per series.
    pub series: Vec<Color>,
    pub base: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub banner_name: Style,
    pub banner: Style,
    pub allergy: Style,
    pub allergy_unknown: Style,
    pub allergy_none: Style,
    pub high: Style,
    pub low: Style,
    pub critical: Style,
    pub abnormal: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub matched: Style,
    pub dim: Style,
    pub tag: Style,
    pub status: Style,
    pub error: Style,
    pub warning: Style,
    pub key: Style,
    pub range: Style,
}

/// One theme's file: where it comes from, for messages, and its text.
#[derive(Debug, Clone)]
struct Source {
    file: String,
    text: String,
}

/// Every theme a user can pick (the shipped ones and theirs), ready to be built for the
/// terminal's colour depth. Built once at start, so `:theme NAME` does no I/O.
#[derive(Debug, Clone)]
pub struct Themes {
    sources: BTreeMap<String, Source>,
    pub depth: Depth,
    /// Problems reading the user's theme folder.
    pub problems: Vec<Problem>,
}

impl Themes {
    /// The shipped themes plus `*.toml` in `user_dir` (a user theme named like a shipped one
    /// replaces it).
    pub fn load(user_dir: Option<&Path>, depth: Depth) -> Themes {
        let mut sources: BTreeMap<String, Source> = SHIPPED
            .iter()
            .map(|(name, text)| {
                let source = Source {
                    file: format!("themes/{name}.toml"),
                    text: text.to_string(),
                };
                (name.to_string(), source)
            })
            .collect();
        let mut problems = Vec::new();
        if let Some(dir) = user_dir {
            let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
                Ok(entries) => entries.filter_map(|e| Some(e.ok()?.path())).collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    problems.push(
                        Problem::new(
                            &dir.display().to_string(),
                            None,
                            format!("cannot read it ({})", e.kind()),
                        )
                        .fix("check the folder's permissions; shipped themes are used"),
                    );
                    Vec::new()
                }
            };
            paths.sort();
            for path in paths {
                if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                let file = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        sources.insert(name.to_string(), Source { file, text });
                    }
                    Err(e) => problems.push(
                        Problem::new(&file, None, format!("cannot read it ({})", e.kind()))
                            .fix("check the file's permissions"),
                    ),
                }
            }
        }
        Themes {
            sources,
            depth,
            problems,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.sources.keys().cloned().collect()
    }

    /// Where theme `name` comes from.
    pub fn file_of(&self, name: &str) -> Option<String> {
        self.sources.get(name).map(|s| s.file.clone())
    }

    /// Theme `name` for this terminal, and its problems. A theme that cannot be built gives
    /// the built-in one (mono when the terminal has no colour) with the reason.
    pub fn build(&self, name: &str) -> (Theme, Vec<Problem>) {
        let (theme, mut problems) = self.build_unsorted(name);
        sort_problems(&mut problems);
        (theme, problems)
    }

    fn build_unsorted(&self, name: &str) -> (Theme, Vec<Problem>) {
        let mut problems = Vec::new();
        let name = if self.depth == Depth::None && name != "mono" {
            "mono"
        } else {
            name
        };
        let theme = match self.raw(name, &mut Vec::new()) {
            Ok(raw) => Some(raw.resolve(name, self.depth, &mut problems)),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        match theme {
            Some(t) => (t, problems),
            None => {
                let fallback = if self.depth == Depth::None {
                    "mono"
                } else {
                    "default"
                };
                // The shipped one, even when the broken file was the user's of that name.
                let t = builtin(fallback, self.depth);
                if let Some(p) = problems.last_mut() {
                    let fix = p.fix.take().unwrap_or_default();
                    p.fix = Some(format!(
                        "{fix}{}the built-in {fallback} theme is used until it is fixed",
                        if fix.is_empty() { "" } else { "; " }
                    ));
                }
                (t, problems)
            }
        }
    }

    /// The theme's own file merged over what it inherits (cycles and unknown parents are
    /// problems).
    fn raw(&self, name: &str, chain: &mut Vec<String>) -> Result<Raw, Vec<Problem>> {
        let Some(source) = self.sources.get(name) else {
            let known = self.names();
            let hint = match crate::problem::suggest(name, known.iter().map(String::as_str)) {
                Some(s) => format!("did you mean {s:?}? themes: {}", known.join(", ")),
                None => format!("themes: {}", known.join(", ")),
            };
            let file = chain
                .last()
                .and_then(|c| self.file_of(c))
                .unwrap_or_else(|| "theme".into());
            return Err(vec![
                Problem::new(&file, None, format!("no theme named {name:?}")).fix(hint),
            ]);
        };
        if chain.iter().any(|c| c == name) {
            return Err(vec![
                Problem::new(
                    &source.file,
                    None,
                    format!(
                        "inherits goes round in a circle: {} -> {name}",
                        chain.join(" -> ")
                    ),
                )
                .fix("make one of them inherit a shipped theme"),
            ]);
        }
        chain.push(name.to_string());
        let own = Raw::parse(&source.file, &source.text)?;
        let raw = match &own.inherits {
            Some((parent, line)) => {
                let parent = parent.clone();
                let line = *line;
                // A user theme named like a shipped one may inherit the shipped one.
                let base = if parent == name {
                    shipped_raw(&parent).ok_or_else(|| {
                        vec![
                            Problem::new(
                                &source.file,
                                Some(line),
                                format!("a theme cannot inherit itself ({parent:?})"),
                            )
                            .fix("inherit a shipped theme: default, light, high-contrast or mono"),
                        ]
                    })?
                } else {
                    self.raw(&parent, chain).map_err(|mut p| {
                        if let Some(first) = p.first_mut() {
                            if first.line.is_none() && first.file == source.file {
                                first.line = Some(line);
                            }
                        }
                        p
                    })?
                };
                base.over(own)
            }
            None => own,
        };
        chain.pop();
        Ok(raw)
    }
}

/// By file (in the order they first appear), then line.
pub fn sort_problems(problems: &mut [Problem]) {
    let mut files: Vec<String> = Vec::new();
    for p in problems.iter() {
        if !files.contains(&p.file) {
            files.push(p.file.clone());
        }
    }
    problems.sort_by_key(|p| (files.iter().position(|f| *f == p.file), p.line));
}

fn shipped_raw(name: &str) -> Option<Raw> {
    let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name)?;
    let own = Raw::parse(&format!("themes/{name}.toml"), text).ok()?;
    match &own.inherits {
        Some((parent, _)) if parent != name => Some(shipped_raw(parent)?.over(own)),
        _ => Some(own),
    }
}

/// A shipped theme with no user files (tests, benchmarks, and the fallback).
pub fn builtin(name: &str, depth: Depth) -> Theme {
    let mut problems = Vec::new();
    match shipped_raw(name) {
        Some(raw) => raw.resolve(name, depth, &mut problems),
        None => plain(),
    }
}

/// No styles at all: the last resort.
fn plain() -> Theme {
    let s = Style::default();
    let bold = s.add_modifier(Modifier::BOLD);
    Theme {
        name: "plain".into(),
        colour: false,
        ascii: false,
        series: Vec::new(),
        base: s,
        border: s,
        border_focus: bold,
        title: bold,
        banner_name: bold,
        banner: s,
        allergy: bold,
        allergy_unknown: bold,
        allergy_none: s,
        high: bold,
        low: bold,
        critical: bold.add_modifier(Modifier::REVERSED),
        abnormal: bold,
        selected: s.add_modifier(Modifier::REVERSED),
        selected_unfocused: s.add_modifier(Modifier::UNDERLINED),
        matched: s.add_modifier(Modifier::UNDERLINED),
        dim: s,
        tag: s,
        status: s,
        error: bold,
        warning: bold,
        key: bold,
        range: s,
    }
}

impl Theme {
    /// The shipped default theme in 16 colours (tests and benchmarks).
    pub fn color() -> Theme {
        builtin("default", Depth::Ansi16)
    }

    /// The shipped mono theme.
    pub fn mono() -> Theme {
        builtin("mono", Depth::None)
    }

    /// The style of an order-check alert of `severity`.
    pub fn flag_style(&self, severity: crate::workstation::orders::knowledge::Severity) -> Style {
        use crate::workstation::orders::knowledge::Severity;
        match severity {
            Severity::High => self.critical,
            Severity::Moderate => self.high,
            Severity::Low => self.abnormal,
        }
    }

    pub fn flag(&self, flag: crate::workstation::chart::Flag) -> Style {
        use crate::workstation::chart::Flag;
        match flag {
            Flag::Normal => self.base,
            Flag::Abnormal => self.abnormal,
            Flag::High => self.high,
            Flag::Low => self.low,
            Flag::CriticalHigh | Flag::CriticalLow | Flag::Critical => self.critical,
        }
    }
}

pub fn is_monochrome_term(term: &str) -> bool {
    let t = term.to_ascii_lowercase();
    t.starts_with("vt1") || t.starts_with("vt2") || t.starts_with("vt52") || t == "dumb"
}

/// True when the terminal cannot be trusted with Unicode box drawing: VT100-class terminals,
/// or a locale that is set and is not UTF-8.
pub fn needs_ascii(term: &str, locale: Option<&str>) -> bool {
    if is_monochrome_term(term) {
        return true;
    }
    match locale {
        Some(l) if !l.is_empty() => {
            let l = l.to_ascii_lowercase();
            !(l.contains("utf-8") || l.contains("utf8")) && l != "c.utf-8"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
