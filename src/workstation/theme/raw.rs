//! A theme file as written: parsed with every problem kept (file, line, fix), laid over the
//! theme it inherits, then resolved to styles for the terminal's colour depth.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};

use super::*;

/// Where a value was written.
#[derive(Debug, Clone)]
pub(super) struct Place {
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
pub(super) struct Raw {
    pub(super) inherits: Option<(String, usize)>,
    scopes: BTreeMap<String, (toml::Value, Place)>,
    palette: BTreeMap<String, (toml::Value, Place)>,
    colour: Option<bool>,
    ascii: Option<bool>,
    /// Problems found while reading (kept, not fatal).
    problems: Vec<Problem>,
}

impl Raw {
    pub(super) fn parse(file: &str, text: &str) -> Result<Raw, Vec<Problem>> {
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
    pub(super) fn over(mut self, child: Raw) -> Raw {
        self.scopes.extend(child.scopes);
        self.palette.extend(child.palette);
        self.colour = child.colour.or(self.colour);
        self.ascii = child.ascii.or(self.ascii);
        self.inherits = child.inherits;
        // The parent's problems too: a user theme may inherit another user theme.
        self.problems.extend(child.problems);
        self
    }

    pub(super) fn resolve(self, name: &str, depth: Depth, problems: &mut Vec<Problem>) -> Theme {
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
