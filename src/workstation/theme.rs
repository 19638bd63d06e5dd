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

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Depth {
    None,
    Ansi16,
    Ansi256,
    TrueColor,
}

impl Depth {
    /// From the environment: `NO_COLOR` (when `honour_no_color`), `COLORTERM`, `TERM`; with
    /// the reason, for `bedside doctor`.
    pub fn detect(
        no_color: bool,
        colorterm: Option<&str>,
        term: &str,
        honour_no_color: bool,
    ) -> (Depth, String) {
        let t = term.to_ascii_lowercase();
        if is_monochrome_term(term) {
            return (Depth::None, format!("TERM={term} has no colour"));
        }
        if no_color && honour_no_color {
            return (Depth::None, "NO_COLOR is set".into());
        }
        let ct = colorterm.unwrap_or("").to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" {
            return (Depth::TrueColor, format!("COLORTERM={ct}"));
        }
        if t.contains("256color") || t.contains("256colour") {
            return (Depth::Ansi256, format!("TERM={term}"));
        }
        if t.contains("direct") {
            return (Depth::TrueColor, format!("TERM={term}"));
        }
        if t.is_empty() {
            return (Depth::Ansi16, "TERM is not set; assuming 16 colours".into());
        }
        (Depth::Ansi16, format!("TERM={term}"))
    }

    pub fn label(self) -> &'static str {
        match self {
            Depth::None => "no colour",
            Depth::Ansi16 => "16 colours",
            Depth::Ansi256 => "256 colours",
            Depth::TrueColor => "truecolor (24-bit)",
        }
    }

    /// `c` as this terminal can show it.
    pub fn map(self, c: Color) -> Color {
        match (self, c) {
            (Depth::None, _) => Color::Reset,
            (Depth::TrueColor, c) => c,
            (Depth::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(ansi256(r, g, b)),
            (Depth::Ansi16, Color::Rgb(r, g, b)) => ansi16(r, g, b),
            (Depth::Ansi16, Color::Indexed(i)) if i >= 16 => {
                let (r, g, b) = rgb_of_256(i);
                ansi16(r, g, b)
            }
            (Depth::Ansi16, Color::Indexed(i)) => ANSI16[i as usize].0,
            (_, c) => c,
        }
    }
}

/// The 16 ANSI colours with xterm's default values.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2) as u32;
    // Weighted for the eye's sensitivity (green most, blue least).
    3 * d(a.0, b.0) + 4 * d(a.1, b.1) + 2 * d(a.2, b.2)
}

/// The nearest of the 16 ANSI colours.
fn ansi16(r: u8, g: u8, b: u8) -> Color {
    ANSI16
        .iter()
        .min_by_key(|(_, rgb)| distance(*rgb, (r, g, b)))
        .map_or(Color::Reset, |(c, _)| *c)
}

/// The levels of xterm's 6x6x6 colour cube.
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn rgb_of_256(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI16[i as usize].1,
        16..=231 => {
            let i = i - 16;
            (
                CUBE[(i / 36) as usize],
                CUBE[(i / 6 % 6) as usize],
                CUBE[(i % 6) as usize],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

/// The nearest of xterm's 256 colours, from its cube (16-231) or its grey ramp (232-255).
fn ansi256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| {
        CUBE.iter()
            .enumerate()
            .min_by_key(|(_, c)| (**c as i32 - v as i32).abs())
            .map_or(0, |(i, _)| i as u8)
    };
    let cube = 16 + 36 * level(r) + 6 * level(g) + level(b);
    let mean = ((r as u32 + g as u32 + b as u32) / 3) as u8;
    let grey = 232 + (mean.saturating_sub(3) / 10).min(23);
    if distance(rgb_of_256(grey), (r, g, b)) < distance(rgb_of_256(cube), (r, g, b)) {
        grey
    } else {
        cube
    }
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

/// Where a value was written.
#[derive(Debug, Clone)]
struct Place {
    file: String,
    line: Option<usize>,
}

impl Place {
    fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::new(&self.file, self.line, message)
    }
}

/// A theme file read but not yet resolved: scopes and palette as written.
#[derive(Debug, Clone, Default)]
struct Raw {
    inherits: Option<(String, usize)>,
    scopes: BTreeMap<String, (toml::Value, Place)>,
    palette: BTreeMap<String, (toml::Value, Place)>,
    colour: Option<bool>,
    ascii: Option<bool>,
    /// Problems found while reading (kept, not fatal).
    problems: Vec<Problem>,
}

impl Raw {
    fn parse(file: &str, text: &str) -> Result<Raw, Vec<Problem>> {
        let not_toml = |e: toml::de::Error| {
            let mut p = Problem::from_toml(file, text, &e).fix("correct the line");
            p.message = format!("not valid TOML: {}", p.message);
            vec![p]
        };
        let spanned = toml::de::DeTable::parse(text)
            .map_err(not_toml)?
            .into_inner();
        let table: toml::Table = toml::from_str(text).map_err(not_toml)?;
        let line_of_key = |key: &str| {
            spanned
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key)
                .map(|(k, _)| crate::problem::line_of(text, k.span().start))
        };
        let mut raw = Raw::default();
        for (key, value) in table {
            let place = Place {
                file: file.to_string(),
                line: line_of_key(&key),
            };
            match key.as_str() {
                "inherits" => match value.as_str() {
                    Some(s) => raw.inherits = Some((s.to_string(), place.line.unwrap_or(1))),
                    None => raw.problems.push(
                        place
                            .problem("inherits must be a theme's name")
                            .fix("write inherits = \"default\""),
                    ),
                },
                "colors" | "colours" => match value.as_bool() {
                    Some(b) => raw.colour = Some(b),
                    None => raw.problems.push(
                        place
                            .problem(format!("{key} must be true or false"))
                            .fix(format!("write {key} = false for a theme without colour")),
                    ),
                },
                "borders" => match value.as_str() {
                    Some("ascii") => raw.ascii = Some(true),
                    Some("unicode") => raw.ascii = Some(false),
                    _ => raw.problems.push(
                        place
                            .problem("borders must be \"ascii\" or \"unicode\"")
                            .fix("write borders = \"ascii\" for VT100-class terminals"),
                    ),
                },
                "palette" => match value {
                    toml::Value::Table(t) => {
                        let palette_line = place.line;
                        for (name, colour) in t {
                            let line = palette_entry_line(text, palette_line, &name);
                            raw.palette.insert(
                                name,
                                (
                                    colour,
                                    Place {
                                        file: file.to_string(),
                                        line,
                                    },
                                ),
                            );
                        }
                    }
                    _ => raw.problems.push(
                        place
                            .problem("palette must be a table")
                            .fix("write [palette] on its own line, then name = \"#rrggbb\" lines"),
                    ),
                },
                scope => {
                    if SCOPES.iter().any(|(s, _)| *s == scope) {
                        raw.scopes.insert(scope.to_string(), (value, place));
                    } else {
                        let hint = match crate::problem::suggest(scope, SCOPES.map(|(s, _)| s)) {
                            Some(s) => format!(
                                "did you mean {s:?}? `bedside check-config --scopes` lists them"
                            ),
                            None => "`bedside check-config --scopes` lists every scope".into(),
                        };
                        raw.problems
                            .push(place.problem(format!("unknown scope {scope:?}")).fix(hint));
                    }
                }
            }
        }
        Ok(raw)
    }

    /// `child` over `self` (the parent).
    fn over(mut self, child: Raw) -> Raw {
        self.scopes.extend(child.scopes);
        self.palette.extend(child.palette);
        self.colour = child.colour.or(self.colour);
        self.ascii = child.ascii.or(self.ascii);
        self.inherits = child.inherits;
        // The parent's problems too: a user theme may inherit another user theme.
        self.problems.extend(child.problems);
        self
    }

    fn resolve(self, name: &str, depth: Depth, problems: &mut Vec<Problem>) -> Theme {
        problems.extend(self.problems.iter().cloned());
        let colour = self.colour != Some(false) && depth != Depth::None;
        let depth = if colour { depth } else { Depth::None };
        let palette = &self.palette;
        let colour_of = |scope: &str,
                         value: &toml::Value,
                         place: &Place,
                         problems: &mut Vec<Problem>|
         -> Option<Color> {
            match parse_colour(value, palette) {
                Ok(c) => Some(depth.map(c)),
                Err(e) => {
                    problems.push(place.problem(format!("{scope}: {e}")).fix(
                        "write a name (red, light-blue, dark-gray...), a palette name, an index 0-255 or \"#rrggbb\"",
                    ));
                    None
                }
            }
        };
        let mut styles: BTreeMap<&str, Style> = BTreeMap::new();
        let mut series = Vec::new();
        for (scope, (value, place)) in &self.scopes {
            if scope == "chart.series" {
                match value.as_array() {
                    Some(list) => {
                        series = list
                            .iter()
                            .filter_map(|v| colour_of(scope, v, place, problems))
                            .collect()
                    }
                    None => problems.push(
                        place
                            .problem("chart.series must be a list of colours")
                            .fix("write \"chart.series\" = [\"cyan\", \"magenta\"]"),
                    ),
                }
                continue;
            }
            let mut style = Style::default();
            match value {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        match k.as_str() {
                            "fg" => {
                                if let Some(c) = colour_of(scope, v, place, problems) {
                                    style = style.fg(c);
                                }
                            }
                            "bg" => {
                                if let Some(c) = colour_of(scope, v, place, problems) {
                                    style = style.bg(c);
                                }
                            }
                            "modifiers" => {
                                let list = v.as_array().cloned().unwrap_or_default();
                                if v.as_array().is_none() {
                                    problems.push(
                                        place
                                            .problem(format!("{scope}: modifiers must be a list"))
                                            .fix("write modifiers = [\"bold\"]"),
                                    );
                                }
                                for m in list {
                                    match m.as_str().and_then(modifier) {
                                        Some(m) => style = style.add_modifier(m),
                                        None => problems.push(place.problem(format!("{scope}: unknown modifier {m}")).fix("modifiers: bold, dim, italic, underlined, reversed, crossed-out")),
                                    }
                                }
                            }
                            other => problems.push(
                                place
                                    .problem(format!("{scope}: unknown field {other:?}"))
                                    .fix("a style has fg, bg and modifiers"),
                            ),
                        }
                    }
                }
                other => {
                    if let Some(c) = colour_of(scope, other, place, problems) {
                        style = style.fg(c);
                    }
                }
            }
            if !colour {
                style.fg = None;
                style.bg = None;
            }
            styles.insert(scope.as_str(), style);
        }
        let get = |scope: &str| -> Style {
            let mut s = scope;
            loop {
                if let Some(style) = styles.get(s) {
                    return *style;
                }
                match s.rfind('.') {
                    Some(i) => s = &s[..i],
                    None => return styles.get("base").copied().unwrap_or_default(),
                }
            }
        };
        let marked = |scope: &str, problems: &mut Vec<Problem>| -> Style {
            let style = get(scope);
            let markers = Modifier::BOLD | Modifier::REVERSED | Modifier::UNDERLINED;
            if style.add_modifier.intersects(markers) {
                return style;
            }
            let place = self
                .scopes
                .get(scope)
                .map(|(_, p)| p.clone())
                .unwrap_or(Place {
                    file: format!("theme {name}"),
                    line: None,
                });
            problems.push(
                place
                    .problem(format!(
                        "{scope} has no bold, reversed or underline: colour alone must not carry it"
                    ))
                    .fix(format!(
                        "add modifiers = [\"bold\"] to \"{scope}\" (bold is used meanwhile)"
                    )),
            );
            style.add_modifier(Modifier::BOLD)
        };
        Theme {
            name: name.to_string(),
            colour,
            ascii: self.ascii.unwrap_or(false),
            series: if colour { series } else { Vec::new() },
            base: get("base"),
            border: get("border"),
            border_focus: get("border.focus"),
            title: get("title"),
            banner_name: get("banner.name"),
            banner: get("banner"),
            allergy: marked("alert.allergy", problems),
            allergy_unknown: marked("alert.allergy.unknown", problems),
            allergy_none: get("alert.allergy.none"),
            high: marked("flag.high", problems),
            low: marked("flag.low", problems),
            critical: marked("flag.critical", problems),
            abnormal: marked("flag.abnormal", problems),
            selected: get("selection"),
            selected_unfocused: get("selection.unfocused"),
            matched: get("match"),
            dim: get("dim"),
            tag: get("tag"),
            status: get("status"),
            error: get("status.error"),
            warning: get("status.warning"),
            key: get("key"),
            range: get("range"),
        }
    }
}

/// The line of `name = ...` inside `[palette]` (which starts at `from`).
fn palette_entry_line(text: &str, from: Option<usize>, name: &str) -> Option<usize> {
    let from = from?;
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix(name)
                .or_else(|| l.strip_prefix(&format!("\"{name}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .or(Some(from))
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" | "underline" => Modifier::UNDERLINED,
            "reversed" | "reverse" => Modifier::REVERSED,
            "crossedout" => Modifier::CROSSED_OUT,
            _ => return None,
        },
    )
}

/// A colour as a theme writes it: a palette name, a colour name, an index, `#rrggbb`.
fn parse_colour(
    value: &toml::Value,
    palette: &BTreeMap<String, (toml::Value, Place)>,
) -> Result<Color, String> {
    match value {
        toml::Value::Integer(i) => u8::try_from(*i)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {i} is not 0-255")),
        toml::Value::String(s) => {
            if let Some((v, _)) = palette.get(s) {
                return match v {
                    toml::Value::String(p) if palette.contains_key(p) => {
                        Err(format!("palette colour {s:?} names another palette colour"))
                    }
                    v => {
                        parse_colour(v, &BTreeMap::new()).map_err(|e| format!("palette {s:?}: {e}"))
                    }
                };
            }
            if s.eq_ignore_ascii_case("default") {
                return Ok(Color::Reset);
            }
            if s.starts_with('#') && s.len() != 7 {
                return Err(format!(
                    "{s:?} is not a colour (write #rrggbb with 6 hex digits)"
                ));
            }
            s.parse::<Color>()
                .map_err(|_| format!("{s:?} is not a colour"))
        }
        other => Err(format!("{other} is not a colour")),
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
