//! A problem found in a user's or a shipped file (keymap, theme, config): where it is, what is
//! wrong and how to fix it. Shown on screen and by `bedside check-config`; never fatal.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file's path as the user would type it (or `keymaps/vim.toml` for a shipped one).
    pub file: String,
    /// 1-based; `None` when the problem is the whole file (unreadable, missing).
    pub line: Option<usize>,
    pub message: String,
    pub fix: Option<String>,
}

impl Problem {
    pub fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line,
            message: message.into(),
            fix: None,
        }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Problem {
        self.fix = Some(fix.into());
        self
    }

    /// A TOML syntax or type error in `text`, at its line.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Problem {
        let line = e.span().map(|s| line_of(text, s.start));
        Problem::new(file, line, e.message().trim().to_string())
    }

    /// `file:line`
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n    fix: {fix}")?;
        }
        Ok(())
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    let end = (0..=end)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    text[..end].matches('\n').count() + 1
}

/// The candidate closest to `typed` when it is close enough to be a typo.
pub fn suggest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(typed, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_suggestions() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        assert_eq!(suggest("quitt", ["quit", "back"]), Some("quit"));
        assert_eq!(suggest("zzzzzz", ["quit", "back"]), None);
        let p = Problem::new("k.toml", Some(3), "bad").fix("do this");
        assert_eq!(p.to_string(), "k.toml:3: bad\n    fix: do this");
    }
}
