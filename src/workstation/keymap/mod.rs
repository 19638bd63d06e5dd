//! Keys to actions, per context, from TOML: a shipped keymap (`keymaps/*.toml`, compiled in)
//! chosen in `config.toml`, then the user's `keymap.toml` merged over it key by key. Bindings
//! may be chords (`"g o"`). Every problem is kept with its file, line and a fix hint, and the
//! broken part falls back to what was there before; nothing here panics on a user's file.

use std::collections::{BTreeMap, HashMap, HashSet};

use crossterm::event::{KeyCode, KeyModifiers};

use super::action::Action;
pub use crate::problem::Problem;

mod context;
mod key;
mod merge;

use merge::inherits_of;

pub use context::Context;
pub use key::{Chord, Key};

/// The shipped keymaps: name, file text.
pub const SHIPPED: [(&str, &str); 3] = [
    (
        "default",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/default.toml")),
    ),
    (
        "vim",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/vim.toml")),
    ),
    (
        "vista",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/keymaps/vista.toml")),
    ),
];

/// The longest chord a keymap may bind.
pub const MAX_CHORD: usize = 3;

/// What the keys typed so far mean in a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Action(Action),
    /// The beginning of a chord: wait for the next key.
    Pending,
    Unbound,
}

type Layer = HashMap<Context, HashMap<Chord, Action>>;

#[derive(Debug, Clone, Default)]
pub struct Keymap {
    /// The shipped keymap this one is built on (`default`, `vim`, `vista`).
    pub name: String,
    bindings: Layer,
    pub problems: Vec<Problem>,
}

impl Keymap {
    /// The shipped default keymap.
    pub fn default_keymap() -> Keymap {
        Keymap::shipped("default").unwrap_or_default()
    }

    /// A shipped keymap by name (with what it inherits), or `None` if there is no such one.
    pub fn shipped(name: &str) -> Option<Keymap> {
        Keymap::shipped_at(name, 0)
    }

    fn shipped_at(name: &str, depth: usize) -> Option<Keymap> {
        let (_, text) = SHIPPED.iter().find(|(n, _)| *n == name)?;
        let file = format!("keymaps/{name}.toml");
        let mut k = match inherits_of(text) {
            Some(parent) if depth < SHIPPED.len() => {
                Keymap::shipped_at(&parent, depth + 1).unwrap_or_default()
            }
            _ => Keymap::default(),
        };
        k.name = name.to_string();
        k.merge_layer(text, &file, true);
        Some(k)
    }

    pub fn shipped_names() -> Vec<&'static str> {
        SHIPPED.iter().map(|(n, _)| *n).collect()
    }

    /// What `keys` (typed in order) mean in `context`: the most specific context decides.
    pub fn lookup_chord(&self, context: Context, keys: &[Key]) -> Lookup {
        for ctx in context.chain() {
            let Some(map) = self.bindings.get(&ctx) else {
                continue;
            };
            if let Some(a) = map.get(&Chord(keys.to_vec())) {
                return Lookup::Action(*a);
            }
            if map
                .keys()
                .any(|c| c.0.len() > keys.len() && c.0.starts_with(keys))
            {
                return Lookup::Pending;
            }
        }
        Lookup::Unbound
    }

    /// The action of a single key in `context` (falling back to its parents), not a chord.
    pub fn lookup(&self, context: Context, key: Key) -> Option<Action> {
        match self.lookup_chord(context, &[key]) {
            Lookup::Action(a) => Some(a),
            _ => None,
        }
    }

    /// Bound only in the context itself (for text fields, where globals must not steal keys).
    pub fn lookup_local(&self, context: Context, key: Key) -> Option<Action> {
        self.bindings
            .get(&context)?
            .get(&Chord::single(key))
            .copied()
    }

    /// What may follow `prefix` in `context`: the rest of each chord and its action.
    pub fn continuations(&self, context: Context, prefix: &[Key]) -> Vec<(Chord, Action)> {
        let mut out: Vec<(Chord, Action)> = Vec::new();
        let mut seen = HashSet::new();
        for ctx in context.chain() {
            for (chord, action) in self.bindings.get(&ctx).into_iter().flatten() {
                if chord.0.len() > prefix.len()
                    && chord.0.starts_with(prefix)
                    && seen.insert(chord.clone())
                {
                    out.push((Chord(chord.0[prefix.len()..].to_vec()), *action));
                }
            }
        }
        out.sort_by_key(|(c, _)| c.to_string());
        out
    }

    /// Every binding that works in `context` (its own, then what it falls back to, minus
    /// what it shadows), grouped by action, keys in a stable order.
    pub fn bindings(&self, context: Context) -> Vec<(Action, Vec<Chord>)> {
        let mut by_action: BTreeMap<Action, Vec<Chord>> = BTreeMap::new();
        for (_, chord, action) in self.effective(context) {
            by_action.entry(action).or_default().push(chord);
        }
        by_action
            .into_iter()
            .map(|(a, mut keys)| {
                keys.sort_by_key(key_rank);
                (a, keys)
            })
            .collect()
    }

    /// (the context it is bound in, chord, action) for every binding that works in `context`.
    pub fn effective(&self, context: Context) -> Vec<(Context, Chord, Action)> {
        let mut out = Vec::new();
        let mut seen: HashSet<Chord> = HashSet::new();
        for ctx in context.chain() {
            for (chord, action) in self.bindings.get(&ctx).into_iter().flatten() {
                // Shadowed by a more specific context: the same key, or one starting it.
                let shadowed = seen
                    .iter()
                    .any(|s| s == chord || s.starts(chord) || chord.starts(s));
                if !shadowed {
                    out.push((ctx, chord.clone(), *action));
                }
            }
            for (chord, _) in self.bindings.get(&ctx).into_iter().flatten() {
                seen.insert(chord.clone());
            }
        }
        out.sort_by_key(|(c, k, _)| (*c, k.to_string()));
        out
    }

    /// The first key bound to `action` in `context` (or what it falls back to), for hints.
    /// Drawn on every frame for the hint bar, so it looks only at `action`'s own keys.
    pub fn key_for(&self, context: Context, action: Action) -> Option<Chord> {
        let chain = context.chain();
        let mut best: Option<&Chord> = None;
        for (level, ctx) in chain.iter().enumerate() {
            for (chord, a) in self.bindings.get(ctx).into_iter().flatten() {
                if *a != action {
                    continue;
                }
                let shadowed = chain[..level].iter().any(|c| {
                    self.bindings.get(c).is_some_and(|m| {
                        m.keys()
                            .any(|s| s == chord || s.starts(chord) || chord.starts(s))
                    })
                });
                if !shadowed && best.is_none_or(|b| key_rank(chord) < key_rank(b)) {
                    best = Some(chord);
                }
            }
        }
        best.cloned()
    }

    /// The key to show for `action` in `context` in a hint (`Enter opens`), as the user's
    /// keymap has it: a single key before a chord, Enter, Esc and the arrows before letters,
    /// plain keys before modified ones. `:name` (the palette runs it) when no key is bound.
    pub fn hint(&self, context: Context, action: Action) -> String {
        let chain = context.chain();
        let mut keys: Vec<&Chord> = Vec::new();
        for (level, ctx) in chain.iter().enumerate() {
            for (chord, a) in self.bindings.get(ctx).into_iter().flatten() {
                let shadowed = chain[..level]
                    .iter()
                    .any(|c| self.bindings.get(c).is_some_and(|m| m.contains_key(chord)));
                if *a == action && !shadowed {
                    keys.push(chord);
                }
            }
        }
        keys.sort_by_key(|c| (hint_rank(c), c.to_string()));
        keys.first()
            .map_or_else(|| format!(":{}", action.name()), |c| c.to_string())
    }

    /// The contexts where `action` has a key.
    pub fn contexts_of(&self, action: Action) -> Vec<Context> {
        Context::ALL
            .into_iter()
            .filter(|c| {
                self.bindings
                    .get(c)
                    .is_some_and(|m| m.values().any(|a| *a == action))
            })
            .collect()
    }
}

/// Which key a hint shows first: a single key before a chord; Enter and Esc, Tab, the arrows,
/// then characters, then function keys, then other named keys; modified keys last.
fn hint_rank(c: &Chord) -> (usize, u8) {
    let Some(k) = c.0.first() else {
        return (usize::MAX, u8::MAX);
    };
    let plain = k.mods.is_empty() || k.mods == KeyModifiers::SHIFT;
    let kind = match k.code {
        _ if !plain => 6,
        KeyCode::Enter | KeyCode::Esc => 0,
        KeyCode::Tab | KeyCode::BackTab => 1,
        KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right => 2,
        KeyCode::Char(' ') => 5,
        KeyCode::Char(_) => 3,
        KeyCode::F(_) => 4,
        _ => 5,
    };
    (c.0.len(), kind)
}

/// Which of an action's keys to show first: single keys before chords, a character before a
/// named key (`?` before `F1`).
fn key_rank(k: &Chord) -> (usize, bool, String) {
    let text = k.to_string();
    (k.0.len(), text.chars().count() > 1, text)
}

/// An accelerator letter for each of `labels` (a pop-up list): the first letter of the label
/// not yet taken and not bound in the dialogs (`j`, `k`, `y`, `n`, `q` keep their meaning).
/// A label whose letters are all taken has none.
pub fn accelerators(keymap: &Keymap, labels: &[&str]) -> Vec<Option<char>> {
    let mut taken: std::collections::HashSet<char> = keymap
        .bindings(Context::Dialogs)
        .into_iter()
        .flat_map(|(_, chords)| chords)
        .filter_map(|c| match c.0.as_slice() {
            [k] => k.typed_char().map(|c| c.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    labels
        .iter()
        .map(|label| {
            let pick = label
                .chars()
                .map(|c| c.to_ascii_lowercase())
                .find(|c| c.is_ascii_alphabetic() && !taken.contains(c))?;
            taken.insert(pick);
            Some(pick)
        })
        .collect()
}

#[cfg(test)]
mod tests;
