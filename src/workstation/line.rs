//! The line-editing keys every one-line field takes, as in a shell: typing and Backspace at
//! the cursor, Delete, Left/Right, Home/End (Ctrl-A/Ctrl-E), Ctrl-U (delete to the start),
//! Ctrl-K (to the end), Ctrl-W (the word before the cursor).
//!
//! Only one field has the focus at a time, so one cursor is kept for it (`State::
//! field_cursor`): `None` means at the end, where typing appends.

use crossterm::event::{KeyCode, KeyModifiers};

use super::keymap::Key;

/// Applies `key` to `text` at the end of it; false when it is not a line-editing key.
pub fn edit(text: &mut String, key: Key) -> bool {
    edit_at(text, &mut None, key)
}

/// Applies `key` to `text` at `cursor` (a character index; `None`: the end); false when the
/// key is not a line-editing key.
pub fn edit_at(text: &mut String, cursor: &mut Option<usize>, key: Key) -> bool {
    let len = text.chars().count();
    let mut at = cursor.unwrap_or(len).min(len);
    let byte = |text: &str, i: usize| text.char_indices().nth(i).map_or(text.len(), |(b, _)| b);
    let ctrl = key.mods.contains(KeyModifiers::CONTROL);
    let alt = key.mods.contains(KeyModifiers::ALT);
    if let Some(c) = key.typed_char() {
        text.insert(byte(text, at), c);
        at += 1;
    } else {
        match key.code {
            KeyCode::Backspace if ctrl || alt => at = delete_word(text, at),
            KeyCode::Char('w') if ctrl => at = delete_word(text, at),
            KeyCode::Backspace | KeyCode::Char('h') if key.code == KeyCode::Backspace || ctrl => {
                if at > 0 {
                    // A whole grapheme: a letter goes with its combining accent.
                    let from = previous(text, at);
                    text.replace_range(byte(text, from)..byte(text, at), "");
                    at = from;
                }
            }
            KeyCode::Delete | KeyCode::Char('d') if key.code == KeyCode::Delete || ctrl => {
                if at < len {
                    let to = next(text, at);
                    text.replace_range(byte(text, at)..byte(text, to), "");
                }
            }
            KeyCode::Char('u') if ctrl => {
                let b = byte(text, at);
                text.replace_range(..b, "");
                at = 0;
            }
            KeyCode::Char('k') if ctrl => {
                let b = byte(text, at);
                text.truncate(b);
            }
            KeyCode::Left => at = previous(text, at),
            KeyCode::Right => at = next(text, at),
            KeyCode::Home => at = 0,
            KeyCode::Char('a') if ctrl => at = 0,
            KeyCode::End => at = len,
            KeyCode::Char('e') if ctrl => at = len,
            _ => return false,
        }
    }
    let len = text.chars().count();
    *cursor = (at < len).then_some(at);
    true
}

/// Deletes the word before character `at` and the spaces after it; the new cursor.
fn delete_word(text: &mut String, at: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut start = at.min(chars.len());
    while start > 0 && chars[start - 1].is_whitespace() {
        start -= 1;
    }
    while start > 0 && !chars[start - 1].is_whitespace() {
        start -= 1;
    }
    let mut out: String = chars[..start].iter().collect();
    out.extend(&chars[at.min(chars.len())..]);
    *text = out;
    start
}

/// The character index of the grapheme boundary before character `at` (0 at the start).
fn previous(text: &str, at: usize) -> usize {
    starts(text).take_while(|&i| i < at).last().unwrap_or(0)
}

/// The character index of the grapheme boundary after character `at` (the length at the end).
fn next(text: &str, at: usize) -> usize {
    let len = text.chars().count();
    starts(text).find(|&i| i > at).unwrap_or(len)
}

/// The character index where each grapheme of `text` starts.
fn starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    use unicode_segmentation::UnicodeSegmentation;
    let mut chars = 0;
    text.graphemes(true).map(move |g| {
        let at = chars;
        chars += g.chars().count();
        at
    })
}

/// Where the cursor of the focused field `text` is drawn: the display cells before it (a
/// CJK character takes two, a combining accent none).
pub fn cursor_column(text: &str, cursor: Option<usize>) -> usize {
    let len = text.chars().count();
    let at = cursor.unwrap_or(len).min(len);
    let byte = text.char_indices().nth(at).map_or(text.len(), |(b, _)| b);
    super::text::width(&text[..byte])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str, seq: &[&str]) -> (String, Option<usize>) {
        let mut t = text.to_string();
        let mut cursor = None;
        for k in seq {
            edit_at(&mut t, &mut cursor, Key::parse(k).unwrap());
        }
        (t, cursor)
    }

    #[test]
    fn shell_line_editing() {
        assert_eq!(keys("amox", &["backspace"]).0, "amo");
        assert_eq!(keys("take two tabs ", &["ctrl-w"]).0, "take two ");
        assert_eq!(keys("take two", &["ctrl-w", "ctrl-w"]).0, "");
        assert_eq!(keys("anything", &["ctrl-u", "x"]).0, "x");
        assert_eq!(keys("héllo wörld", &["ctrl-w"]).0, "héllo ");
        // Home/End and Ctrl-A/Ctrl-E move; typing goes in at the cursor.
        assert_eq!(
            keys("mith john", &["home", "S"]),
            ("Smith john".into(), Some(1))
        );
        assert_eq!(keys("mith", &["ctrl-a", "S", "ctrl-e", "!"]).0, "Smith!");
        assert_eq!(keys("smith", &["left", "left", "backspace"]).0, "smth");
        assert_eq!(keys("smith", &["home", "delete"]).0, "mith");
        assert_eq!(
            keys("smith john", &["left", "left", "left", "left", "ctrl-u"]).0,
            "john"
        );
        assert_eq!(keys("smith john", &["home", "right", "ctrl-k"]).0, "s");
        assert_eq!(keys("a b c", &["left", "left", "ctrl-w"]).0, "a  c");
        assert!(!edit(&mut String::new(), Key::parse("enter").unwrap()));
        assert_eq!(cursor_column("abc", Some(9)), 3);
    }

    #[test]
    fn wide_characters_and_accents_edit_and_draw_whole() {
        // `e` + COMBINING ACUTE ACCENT is one letter: one Left, one Backspace.
        let jose = "Jose\u{301}";
        assert_eq!(keys(jose, &["backspace"]).0, "Jos");
        assert_eq!(keys(jose, &["left", "delete"]).0, "Jos");
        assert_eq!(keys(jose, &["left", "x"]).0, "Josxe\u{301}");
        assert_eq!(cursor_column(jose, None), 4);
        // A CJK character takes two cells: the cursor is drawn after both.
        assert_eq!(cursor_column("山田", None), 4);
        assert_eq!(cursor_column("山田", Some(1)), 2);
        assert_eq!(keys("山田", &["left", "backspace"]).0, "田");
    }
}
