//! The line-editing keys every one-line field takes: typing, Backspace, Ctrl-U (clear the
//! line), Ctrl-W (delete the word before the end), as in a shell.

use crossterm::event::{KeyCode, KeyModifiers};

use super::keymap::Key;

/// Applies `key` to `text`; false when the key is not a line-editing key.
pub fn edit(text: &mut String, key: Key) -> bool {
    if let Some(c) = key.typed_char() {
        text.push(c);
        return true;
    }
    let ctrl = key.mods.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Backspace
            if key
                .mods
                .intersects(KeyModifiers::ALT | KeyModifiers::CONTROL) =>
        {
            delete_word(text);
            true
        }
        KeyCode::Backspace => {
            text.pop();
            true
        }
        KeyCode::Char('u') if ctrl => {
            text.clear();
            true
        }
        KeyCode::Char('w') if ctrl => {
            delete_word(text);
            true
        }
        KeyCode::Char('h') if ctrl => {
            text.pop();
            true
        }
        _ => false,
    }
}

/// Deletes the last word and the spaces after it.
fn delete_word(text: &mut String) {
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    let start = text
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    text.truncate(start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str, seq: &[&str]) -> String {
        let mut t = text.to_string();
        for k in seq {
            edit(&mut t, Key::parse(k).unwrap());
        }
        t
    }

    #[test]
    fn shell_line_editing() {
        assert_eq!(keys("amox", &["backspace"]), "amo");
        assert_eq!(keys("take two tabs ", &["ctrl-w"]), "take two ");
        assert_eq!(keys("take two", &["ctrl-w", "ctrl-w"]), "");
        assert_eq!(keys("anything", &["ctrl-u", "x"]), "x");
        assert_eq!(keys("héllo wörld", &["ctrl-w"]), "héllo ");
        assert!(!edit(&mut String::new(), Key::parse("enter").unwrap()));
    }
}
