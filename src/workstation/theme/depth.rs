//! How many colours the terminal shows, and each colour mapped to the nearest it has.

use ratatui::style::Color;

use super::is_monochrome_term;

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
