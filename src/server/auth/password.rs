//! Which passwords staff accounts may have, after NIST SP 800-63B (5.1.1.2): long enough,
//! not a commonly used one, not the username, and no composition rules. One-time passwords for
//! accounts an administrator creates are drawn here too.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Shortest password a staff account may have.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted (hashing stays cheap; a passphrase fits easily).
pub const MAX_CHARS: usize = 256;

const COMMON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/common-passwords.txt"
));

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Why `password` may not be used by `username`, or `None` when it may.
pub fn weakness(password: &str, username: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Some(format!(
            "the password is {chars} characters long; use at least {MIN_CHARS} (a few unrelated words make a good one)"
        ));
    }
    if chars > MAX_CHARS {
        return Some(format!(
            "the password is longer than {MAX_CHARS} characters"
        ));
    }
    let lower = password.to_lowercase();
    // The word under added digits and punctuation ("Password2024!" is "password").
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if common().contains(lower.as_str()) || (core.len() >= 4 && common().contains(core)) {
        return Some(
            "that password is on the list of commonly used passwords; choose another".into(),
        );
    }
    let distinct: HashSet<char> = lower.chars().collect();
    if distinct.len() < 5 {
        return Some("the password repeats too few characters; choose another".into());
    }
    let user = username.to_lowercase();
    if user.len() >= 3 && lower.contains(&user) {
        return Some("the password contains the username; choose another".into());
    }
    if lower.contains("bedside") {
        return Some("the password contains the name of this system; choose another".into());
    }
    None
}

/// A one-time password: four groups of five letters and digits (about 100 bits), easy to read
/// out and type once.
pub fn one_time() -> Result<String, getrandom::Error> {
    // No 0/O or 1/l/I: it is read off a screen or a slip of paper.
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)?;
    let mut out = String::with_capacity(23);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        assert!(weakness("a", "jdoe").is_some());
        assert!(weakness("short-pass1", "jdoe").is_some());
        assert!(weakness("qwertyuiopasdf", "jdoe").is_none());
        assert!(weakness("qwerty123456", "jdoe").is_some(), "on the list");
        assert!(
            weakness("Password2024!!", "jdoe").is_some(),
            "a listed word under digits"
        );
        assert!(weakness("aaaaaaaaaaaaaaaa", "jdoe").is_some());
        assert!(weakness("jdoe-jdoe-jdoe-x", "jdoe").is_some());
        assert!(weakness("correct horse battery", "jdoe").is_none());
        assert!(weakness(&"x".repeat(300), "jdoe").is_some());
    }

    #[test]
    fn one_time_passwords_pass_the_policy() {
        let p = one_time().unwrap();
        assert_eq!(p.len(), 23);
        assert!(weakness(&p, "jdoe").is_none(), "{p}");
        assert_ne!(p, one_time().unwrap());
    }
}
