//! Keys to actions, per context, from TOML: the shipped `keymaps/default.toml` compiled in,
//! then the user's `keymap.toml` merged over it key by key. Problems are collected for the
//! screen, never a panic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Search,
    Chart,
    /// The note pane's command mode (in editing mode keys go to the editor).
    Note,
    /// The orders pane's basket and active-order lists (in the composer, keys search).
    Orders,
    Dialog,
}

impl Context {
    pub const ALL: [Context; 6] = [
        Context::Global,
        Context::Search,
        Context::Chart,
        Context::Note,
        Context::Orders,
        Context::Dialog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Search => "search",
            Context::Chart => "chart",
            Context::Note => "note",
            Context::Orders => "orders",
            Context::Dialog => "dialog",
        }
    }
}

/// A key with its modifiers, normalised so that `G` is `G` (not shift-g) and Shift-Tab is
/// `backtab` whatever the terminal reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        // Terminals send ctrl-letters in either case; bind them lower-case.
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        Key::new(e.code, e.modifiers)
    }

    /// A plain printable character (what a text field takes).
    pub fn typed_char(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c) if (self.mods - KeyModifiers::SHIFT).is_empty() => Some(c),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (prefix, m) = if lower.starts_with("ctrl-") {
                ("ctrl-", KeyModifiers::CONTROL)
            } else if lower.starts_with("alt-") {
                ("alt-", KeyModifiers::ALT)
            } else if lower.starts_with("shift-") {
                ("shift-", KeyModifiers::SHIFT)
            } else {
                break;
            };
            if rest.len() == prefix.len() {
                break;
            }
            mods |= m;
            rest = &rest[prefix.len()..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap_or(0);
                if !(1..=12).contains(&n) {
                    return Err(format!("{s:?}: function keys are f1 to f12"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => {
                        return Err(format!(
                            "{s:?} is not a key (write a character, or a name such as enter, \
                             esc, tab, pagedown, f1, with ctrl-/alt-/shift- in front)"
                        ));
                    }
                }
            }
        };
        Ok(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("Up"),
            KeyCode::Down => f.write_str("Down"),
            KeyCode::Left => f.write_str("Left"),
            KeyCode::Right => f.write_str("Right"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A problem found while loading a keymap, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub source: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    bindings: BTreeMap<Context, HashMap<Key, Action>>,
    pub problems: Vec<Problem>,
}

impl Keymap {
    /// The shipped default keymap.
    pub fn default_keymap() -> Keymap {
        let mut k = Keymap::default();
        k.merge(DEFAULT_KEYMAP, "keymaps/default.toml");
        k
    }

    /// The defaults with a user file merged over them (problems are kept, not fatal).
    pub fn with_user_file(path: &std::path::Path) -> Keymap {
        let mut k = Keymap::default_keymap();
        match std::fs::read_to_string(path) {
            Ok(text) => k.merge(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => k.problems.push(Problem {
                source: path.display().to_string(),
                message: format!("cannot read it ({e}); using the default keymap"),
            }),
        }
        k
    }

    /// Merges TOML keymap text key by key; `"none"` unbinds a key.
    pub fn merge(&mut self, text: &str, source: &str) {
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                self.problems.push(Problem {
                    source: source.to_string(),
                    message: format!("not valid TOML, ignored: {}", e.message().trim()),
                });
                return;
            }
        };
        for (context_name, entries) in table {
            let Some(context) = Context::ALL.into_iter().find(|c| c.name() == context_name) else {
                self.problems.push(Problem {
                    source: source.to_string(),
                    message: format!(
                        "unknown context [{context_name}] (contexts: global, search, chart, note, orders, dialog)"
                    ),
                });
                continue;
            };
            let Some(entries) = entries.as_table() else {
                self.problems.push(Problem {
                    source: source.to_string(),
                    message: format!("[{context_name}] must be a table of \"key\" = \"action\""),
                });
                continue;
            };
            for (key_text, action) in entries {
                let key = match Key::parse(key_text) {
                    Ok(k) => k,
                    Err(e) => {
                        self.problems.push(Problem {
                            source: source.to_string(),
                            message: format!("[{context_name}] {e}"),
                        });
                        continue;
                    }
                };
                let map = self.bindings.entry(context).or_default();
                match action.as_str() {
                    Some("none") => {
                        map.remove(&key);
                    }
                    Some(name) => match Action::from_name(name) {
                        Some(a) => {
                            map.insert(key, a);
                        }
                        None => self.problems.push(Problem {
                            source: source.to_string(),
                            message: format!(
                                "[{context_name}] {key_text:?}: unknown action {name:?} \
                                 (see `?` in bedside for the list)"
                            ),
                        }),
                    },
                    None => self.problems.push(Problem {
                        source: source.to_string(),
                        message: format!(
                            "[{context_name}] {key_text:?}: the action must be a string"
                        ),
                    }),
                }
            }
        }
    }

    /// The action for `key` in `context`, falling back to the global bindings.
    pub fn lookup(&self, context: Context, key: Key) -> Option<Action> {
        self.bindings
            .get(&context)
            .and_then(|m| m.get(&key))
            .or_else(|| self.bindings.get(&Context::Global)?.get(&key))
            .copied()
    }

    /// Bound only in the context itself (for text fields, where globals must not steal keys).
    pub fn lookup_local(&self, context: Context, key: Key) -> Option<Action> {
        self.bindings.get(&context)?.get(&key).copied()
    }

    /// Every binding of `context` (and the globals), grouped by action, for help and hints.
    pub fn bindings(&self, context: Context) -> Vec<(Action, Vec<Key>)> {
        let mut by_action: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for ctx in [context, Context::Global] {
            for (key, action) in self.bindings.get(&ctx).into_iter().flatten() {
                let shadowed = ctx == Context::Global
                    && self
                        .bindings
                        .get(&context)
                        .is_some_and(|m| m.contains_key(key));
                if !shadowed {
                    by_action.entry(*action).or_default().push(*key);
                }
            }
            if context == Context::Global {
                break;
            }
        }
        by_action
            .into_iter()
            .map(|(a, mut keys)| {
                keys.sort_by_key(|k| (k.to_string().chars().count() > 1, k.to_string()));
                (a, keys)
            })
            .collect()
    }

    /// The first key bound to `action` in `context` (or globally), for hints.
    pub fn key_for(&self, context: Context, action: Action) -> Option<Key> {
        self.bindings(context)
            .into_iter()
            .find(|(a, _)| *a == action)
            .and_then(|(_, keys)| keys.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keymap_loads_cleanly_and_binds_the_core_keys() {
        let k = Keymap::default_keymap();
        assert!(k.problems.is_empty(), "{:?}", k.problems);
        let key = |s: &str| Key::parse(s).unwrap();
        assert_eq!(
            k.lookup(Context::Chart, key("/")),
            Some(Action::SearchPatients)
        );
        assert_eq!(k.lookup(Context::Chart, key("G")), Some(Action::GoBottom));
        assert_eq!(
            k.lookup(Context::Chart, key("shift-tab")),
            Some(Action::PreviousPane)
        );
        assert_eq!(k.lookup(Context::Search, key("q")), Some(Action::Quit));
        assert_eq!(k.lookup(Context::Chart, key("q")), Some(Action::CloseChart));
        assert_eq!(k.lookup(Context::Chart, key("ctrl-c")), Some(Action::Quit));
    }

    #[test]
    fn shifted_letters_and_ctrl_letters_normalise() {
        let g = Key::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(g, Key::parse("G").unwrap());
        let c = Key::new(KeyCode::Char('C'), KeyModifiers::CONTROL);
        assert_eq!(c, Key::parse("ctrl-c").unwrap());
        assert_eq!(Key::parse("ctrl-c").unwrap().to_string(), "Ctrl-c");
    }

    #[test]
    fn user_overrides_merge_and_problems_are_reported() {
        let mut k = Keymap::default_keymap();
        k.merge(
            "[chart]\n\"x\" = \"show_trend\"\n\"t\" = \"none\"\n\"zz\" = \"quit\"\n\"y\" = \"fly\"\n[nope]\n",
            "user.toml",
        );
        assert_eq!(
            k.lookup(Context::Chart, Key::parse("x").unwrap()),
            Some(Action::ShowTrend)
        );
        assert_eq!(k.lookup(Context::Chart, Key::parse("t").unwrap()), None);
        assert_eq!(k.problems.len(), 3, "{:?}", k.problems);
        let mut bad = Keymap::default_keymap();
        bad.merge("[chart", "broken.toml");
        assert_eq!(bad.problems.len(), 1);
        assert_eq!(
            bad.lookup(Context::Chart, Key::parse("j").unwrap()),
            Some(Action::MoveDown)
        );
    }

    #[test]
    fn every_action_is_reachable_from_a_key_in_the_default_keymap() {
        let k = Keymap::default_keymap();
        for a in Action::ALL {
            let bound = Context::ALL
                .iter()
                .any(|c| k.bindings(*c).iter().any(|(x, _)| x == a));
            assert!(bound, "{} has no key", a.name());
        }
    }
}
