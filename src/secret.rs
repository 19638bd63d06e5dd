//! A password, token, TOTP code, signature PIN or passphrase. `Debug` prints it redacted, so
//! a log line, a panic message or a test failure that prints a value holding one never shows
//! it; it is wiped from memory when dropped.

use zeroize::Zeroize;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that needs it (a request body, a key derivation).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For a field the user is typing into.
    pub fn edit(&mut self) -> &mut String {
        &mut self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its length in characters (a mask of as many stars).
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Secret {
        Secret(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Secret {
        Secret(secret.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("correct horse battery staple");
        let printed = format!("{s:?} {:?}", Some(&s));
        assert!(!printed.contains("horse"), "{printed}");
        assert_eq!(s.expose(), "correct horse battery staple");
    }
}
