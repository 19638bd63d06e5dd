//! Styles by meaning. Two built-ins for now: colour (16 ANSI colours, so it works from the
//! Linux console up) and monochrome for VT100-class terminals and `NO_COLOR`. Clinical meaning
//! never rests on colour alone: markers and words carry it in both.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: &'static str,
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

impl Theme {
    pub fn color() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            name: "default",
            base: Style::default(),
            border: Style::default().fg(Color::DarkGray),
            border_focus: Style::default().fg(Color::DarkGray),
            title: Style::default().add_modifier(bold),
            banner_name: Style::default().fg(Color::White).add_modifier(bold),
            banner: Style::default(),
            allergy: Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(bold),
            allergy_unknown: Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
            allergy_none: Style::default().fg(Color::Green),
            high: Style::default().fg(Color::LightRed).add_modifier(bold),
            low: Style::default().fg(Color::LightBlue).add_modifier(bold),
            critical: Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(bold),
            abnormal: Style::default().fg(Color::Yellow).add_modifier(bold),
            selected: Style::default().fg(Color::Black).bg(Color::Cyan),
            selected_unfocused: Style::default().add_modifier(Modifier::REVERSED),
            matched: Style::default()
                .fg(Color::Yellow)
                .add_modifier(bold | Modifier::UNDERLINED),
            dim: Style::default().fg(Color::DarkGray),
            tag: Style::default().fg(Color::Cyan),
            status: Style::default(),
            error: Style::default().fg(Color::LightRed).add_modifier(bold),
            warning: Style::default().fg(Color::Yellow),
            key: Style::default().fg(Color::Cyan).add_modifier(bold),
            range: Style::default().fg(Color::DarkGray),
        }
    }

    /// No colour at all: bold, reverse and underline only.
    pub fn mono() -> Theme {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let reverse = Style::default().add_modifier(Modifier::REVERSED);
        Theme {
            name: "mono",
            base: Style::default(),
            border: Style::default(),
            border_focus: bold,
            title: bold,
            banner_name: bold,
            banner: Style::default(),
            allergy: reverse.add_modifier(Modifier::BOLD),
            allergy_unknown: reverse,
            allergy_none: Style::default(),
            high: bold,
            low: bold,
            critical: reverse.add_modifier(Modifier::BOLD),
            abnormal: bold,
            selected: reverse,
            selected_unfocused: Style::default().add_modifier(Modifier::UNDERLINED),
            matched: Style::default().add_modifier(Modifier::UNDERLINED),
            dim: Style::default(),
            tag: Style::default(),
            status: Style::default(),
            error: bold,
            warning: bold,
            key: bold,
            range: Style::default(),
        }
    }

    /// Monochrome when `NO_COLOR` is set or the terminal is a VT100-class one.
    pub fn detect(no_color: bool, term: &str) -> Theme {
        if no_color || is_monochrome_term(term) {
            Theme::mono()
        } else {
            Theme::color()
        }
    }

    /// The style of an order-check alert of `severity`.
    pub fn flag_style(&self, severity: crate::orders::knowledge::Severity) -> Style {
        use crate::orders::knowledge::Severity;
        match severity {
            Severity::High => self.critical,
            Severity::Moderate => self.high,
            Severity::Low => self.abnormal,
        }
    }

    pub fn flag(&self, flag: crate::chart::Flag) -> Style {
        use crate::chart::Flag;
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
mod tests {
    use super::*;

    #[test]
    fn terminal_detection() {
        assert!(needs_ascii("vt100", None));
        assert!(needs_ascii("xterm-256color", Some("POSIX")));
        assert!(!needs_ascii("xterm-256color", Some("en_GB.UTF-8")));
        assert!(!needs_ascii("linux", None));
        assert!(!needs_ascii("screen", Some("")));
        assert_eq!(Theme::detect(false, "vt220").name, "mono");
        assert_eq!(Theme::detect(true, "xterm").name, "mono");
        assert_eq!(Theme::detect(false, "screen").name, "default");
    }
}
