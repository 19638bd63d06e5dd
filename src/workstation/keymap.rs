//! Keys to actions, per context, from TOML: a shipped keymap (`keymaps/*.toml`, compiled in)
//! chosen in `config.toml`, then the user's `keymap.toml` merged over it key by key. Bindings
//! may be chords (`"g o"`). Every problem is kept with its file, line and a fix hint, and the
//! broken part falls back to what was there before; nothing here panics on a user's file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
pub use crate::problem::Problem;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Search,
    /// The chart screen, whatever pane has focus (the detail pane, the summary, the trend).
    Chart,
    /// The chart's timeline list when it has focus; falls back to `chart`, then `global`.
    Timeline,
    /// The note pane's command mode (in editing mode keys go to the editor).
    Note,
    /// The orders pane's basket and active-order lists (in the composer, keys search).
    Orders,
    /// Pop-ups: help, pickers, questions, the access log.
    Dialogs,
    /// Typing in the note (its line-editing keys, arrows, Home/End, Backspace, are fixed).
    Editor,
    /// Text fields: the sign-in and lock screens, prompts, order fields, the signature.
    Form,
    /// The outbox pop-up (falls back to `dialogs`).
    Outbox,
    /// The command palette: its input and list.
    Palette,
}

impl Context {
    pub const ALL: [Context; 11] = [
        Context::Global,
        Context::Search,
        Context::Chart,
        Context::Timeline,
        Context::Note,
        Context::Orders,
        Context::Dialogs,
        Context::Editor,
        Context::Form,
        Context::Outbox,
        Context::Palette,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Search => "search",
            Context::Chart => "chart",
            Context::Timeline => "timeline",
            Context::Note => "note",
            Context::Orders => "orders",
            Context::Dialogs => "dialogs",
            Context::Editor => "editor",
            Context::Form => "form",
            Context::Outbox => "outbox",
            Context::Palette => "palette",
        }
    }

    /// `[dialog]` is the name keymaps used before `[dialogs]`; it still works.
    pub fn from_name(name: &str) -> Option<Context> {
        if name == "dialog" {
            return Some(Context::Dialogs);
        }
        Context::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The context consulted when this one has no binding for a key.
    pub fn parent(self) -> Option<Context> {
        match self {
            // Text fields take every key they do not bind: no fallback.
            Context::Global | Context::Editor | Context::Form | Context::Palette => None,
            Context::Timeline => Some(Context::Chart),
            Context::Outbox => Some(Context::Dialogs),
            _ => Some(Context::Global),
        }
    }

    /// This context and those it falls back to, most specific first.
    pub fn chain(self) -> Vec<Context> {
        let mut chain = vec![self];
        let mut c = self;
        while let Some(p) = c.parent() {
            chain.push(p);
            c = p;
        }
        chain
    }

    /// Actions that leave this context: one must be reachable, or the user is stuck.
    fn exits(self) -> &'static [Action] {
        match self {
            Context::Global => &[],
            Context::Search => &[Action::Quit],
            Context::Chart | Context::Timeline => &[
                Action::Back,
                Action::CloseChart,
                Action::SearchPatients,
                Action::Quit,
            ],
            Context::Note => &[Action::CloseNote, Action::Back, Action::SearchPatients],
            Context::Orders => &[Action::Back, Action::SearchPatients],
            Context::Dialogs | Context::Editor => &[Action::Back],
            Context::Form | Context::Palette => &[Action::Submit, Action::Back],
            Context::Outbox => &[Action::Back, Action::ShowOutbox],
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
        // Shift is in the character (`G`), so `shift-g` is `G`.
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
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
                    return Err(format!("{s:?} is not a key (function keys are f1 to f12)"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => {
                        return Err(format!("{s:?} is not a key"));
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

/// One key or a sequence of keys typed one after the other (`g o`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chord(pub Vec<Key>);

impl Chord {
    pub fn single(key: Key) -> Chord {
        Chord(vec![key])
    }

    /// Keys apart by spaces: `"g o"`, `"ctrl-w w"`; `space` is the space bar.
    pub fn parse(s: &str) -> Result<Chord, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() {
            return Err(format!("{s:?} is not a key"));
        }
        if words.len() > MAX_CHORD {
            return Err(format!("{s:?} is longer than {MAX_CHORD} keys"));
        }
        let keys = words
            .iter()
            .map(|w| Key::parse(w))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chord(keys))
    }

    pub fn keys(&self) -> &[Key] {
        &self.0
    }

    /// True when `self` is a strict beginning of `other`.
    pub fn starts(&self, other: &Chord) -> bool {
        self.0.len() < other.0.len() && other.0.starts_with(&self.0)
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

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

/// Where an entry of the file being merged came from.
struct Entry {
    line: usize,
    text: String,
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

    /// The keymap a user gets: the shipped one named in their config (`None`: the default),
    /// with their `keymap.toml` merged over it.
    pub fn load(name: Option<&str>, user_file: Option<&std::path::Path>) -> Keymap {
        let mut k = match name {
            None => Keymap::default_keymap(),
            Some(n) => match Keymap::shipped(n) {
                Some(k) => k,
                None => {
                    let mut k = Keymap::default_keymap();
                    k.problems.push(
                        Problem::new("config.toml", None, format!("no shipped keymap {n:?}")).fix(
                            format!(
                                "set keymap to one of {}; the default keymap is used",
                                Keymap::shipped_names().join(", ")
                            ),
                        ),
                    );
                    k
                }
            },
        };
        if let Some(path) = user_file {
            let file = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => k.merge(&text, &file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => k.problems.push(
                    Problem::new(&file, None, format!("cannot read it ({})", e.kind()))
                        .fix("check the file's permissions; the shipped keymap is used"),
                ),
            }
        }
        k
    }

    /// Merges a user's file over this keymap key by key. `"key" = "none"` unbinds a key;
    /// `clear = ["chart"]` at the top drops a context's bindings first.
    pub fn merge(&mut self, text: &str, file: &str) {
        self.merge_layer(text, file, false);
    }

    fn merge_layer(&mut self, text: &str, file: &str, shipped: bool) {
        let before = self.bindings.clone();
        let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
        for e in errors {
            let mut p = Problem::from_toml(file, text, &e)
                .fix("correct the line; the rest of the file is used");
            p.message = format!("not valid TOML: {}", p.message);
            self.problems.push(p);
        }
        let line = |offset: usize| crate::problem::line_of(text, offset);
        let doc = doc.into_inner();
        let mut added: HashMap<(Context, Chord), Entry> = HashMap::new();
        let mut touched: BTreeMap<Context, usize> = BTreeMap::new();
        // `inherits` and `clear` first, whatever their place in the file.
        for (key, value) in doc.iter() {
            let at = line(key.span().start);
            match key.get_ref().as_ref() {
                "inherits" if shipped => {}
                "inherits" => self.problems.push(
                    Problem::new(file, Some(at), "inherits works only in shipped keymaps").fix(
                        "pick the keymap to build on with keymap = \"vim\" in config.toml, \
                         and delete this line",
                    ),
                ),
                "clear" => {
                    let names: Vec<Option<&str>> = match value.get_ref() {
                        toml::de::DeValue::Array(a) => {
                            a.iter().map(|v| v.get_ref().as_str()).collect()
                        }
                        _ => vec![None],
                    };
                    for name in names {
                        match name.and_then(Context::from_name) {
                            Some(ctx) => {
                                self.bindings.remove(&ctx);
                                touched.insert(ctx, at);
                            }
                            None => self.problems.push(
                                Problem::new(file, Some(at), "clear must list contexts").fix(
                                    format!(
                                        "write clear = [\"chart\"]; contexts: {}",
                                        context_names()
                                    ),
                                ),
                            ),
                        }
                    }
                }
                _ => {}
            }
        }
        for (key, value) in doc.iter() {
            let name = key.get_ref().as_ref();
            let at = line(key.span().start);
            if name == "inherits" || name == "clear" {
                continue;
            }
            let Some(context) = Context::from_name(name) else {
                let hint = match crate::problem::suggest(name, Context::ALL.map(Context::name)) {
                    Some(s) => format!("did you mean [{s}]? contexts: {}", context_names()),
                    None => format!("contexts: {}", context_names()),
                };
                self.problems.push(
                    Problem::new(file, Some(at), format!("unknown context [{name}]")).fix(hint),
                );
                continue;
            };
            let toml::de::DeValue::Table(entries) = value.get_ref() else {
                self.problems.push(
                    Problem::new(file, Some(at), format!("{name} must be a table")).fix(format!(
                        "write [{name}] on its own line, then \"key\" = \"action\" lines"
                    )),
                );
                continue;
            };
            touched.entry(context).or_insert(at);
            let mut seen: HashMap<Chord, (usize, String)> = HashMap::new();
            for (key_text, action) in entries.iter() {
                let key_text = key_text.get_ref().as_ref();
                let at = line(action.span().start);
                let what = format!("[{}] {key_text:?}", context.name());
                let chord = match Chord::parse(key_text) {
                    Ok(c) => c,
                    Err(e) => {
                        let message = if e.starts_with(&format!("{key_text:?}")) {
                            format!("[{}] {e}", context.name())
                        } else {
                            format!("{what}: {e}")
                        };
                        self.problems
                            .push(Problem::new(file, Some(at), message).fix(
                                "write one key per word: a character (\"j\", \"G\"), or a name \
                                 such as enter, esc, tab, space, pagedown, f1, with ctrl-, alt- \
                                 or shift- in front; keys apart by spaces make a chord (\"g o\")",
                            ));
                        continue;
                    }
                };
                if let Some((first, first_text)) = seen.get(&chord) {
                    self.problems.push(
                        Problem::new(
                            file,
                            Some(at),
                            format!("{what} is the same key as {first_text:?} on line {first}"),
                        )
                        .fix("keep one of the two lines; the first is used"),
                    );
                    continue;
                }
                seen.insert(chord.clone(), (at, key_text.to_string()));
                let map = self.bindings.entry(context).or_default();
                match action.get_ref().as_str() {
                    Some("none") => {
                        map.remove(&chord);
                    }
                    Some(action_name) => match Action::from_name(action_name) {
                        Some(a) => {
                            map.insert(chord.clone(), a);
                            added.insert(
                                (context, chord),
                                Entry {
                                    line: at,
                                    text: key_text.to_string(),
                                },
                            );
                        }
                        None => {
                            let names = Action::ALL.iter().map(|a| a.name());
                            let hint = match crate::problem::suggest(action_name, names) {
                                Some(s) => format!(
                                    "did you mean {s:?}? `bedside check-config --actions` lists them all"
                                ),
                                None => {
                                    "`bedside check-config --actions` lists every action".into()
                                }
                            };
                            self.problems.push(
                                Problem::new(
                                    file,
                                    Some(at),
                                    format!("{what}: unknown action {action_name:?}"),
                                )
                                .fix(hint),
                            )
                        }
                    },
                    None => self.problems.push(
                        Problem::new(
                            file,
                            Some(at),
                            format!("{what}: the action must be a string"),
                        )
                        .fix(format!(
                            "write {key_text:?} = \"action_name\", or \"none\" to unbind"
                        )),
                    ),
                }
            }
        }
        self.drop_prefix_conflicts(file, &before, &mut added);
        self.restore_exits(file, &before, &touched);
        crate::workstation::theme::sort_problems(&mut self.problems);
    }

    /// A key that is both bound and the start of a chord (in a context or one it falls back
    /// to) would make the chord untypable or the key wait: the entry from this file is undone.
    fn drop_prefix_conflicts(
        &mut self,
        file: &str,
        before: &Layer,
        added: &mut HashMap<(Context, Chord), Entry>,
    ) {
        loop {
            let Some((ctx_a, a, ctx_b, b)) = self.prefix_conflict(added) else {
                return;
            };
            // Undo the entry this file added (the later line if both are).
            let undo = match (
                added.get(&(ctx_a, a.clone())),
                added.get(&(ctx_b, b.clone())),
            ) {
                (Some(x), Some(y)) if y.line > x.line => (ctx_b, b.clone()),
                (Some(_), _) => (ctx_a, a.clone()),
                _ => (ctx_b, b.clone()),
            };
            let (other_ctx, other) = if undo == (ctx_a, a.clone()) {
                (ctx_b, b.clone())
            } else {
                (ctx_a, a.clone())
            };
            let Some(entry) = added.remove(&undo) else {
                return;
            };
            let action = |c: Context, k: &Chord| {
                self.bindings
                    .get(&c)
                    .and_then(|m| m.get(k))
                    .map_or("?", |a| a.name())
            };
            let message = format!(
                "[{}] {:?} ({}) conflicts with {:?} ({}) in [{}]: a key cannot be both a binding \
                 and the start of a chord",
                undo.0.name(),
                entry.text,
                action(undo.0, &undo.1),
                other.to_string(),
                action(other_ctx, &other),
                other_ctx.name(),
            );
            self.problems
                .push(Problem::new(file, Some(entry.line), message).fix(format!(
                    "bind another key, or unbind the other one with {:?} = \"none\"",
                    other.to_string()
                )));
            let map = self.bindings.entry(undo.0).or_default();
            match before.get(&undo.0).and_then(|m| m.get(&undo.1)) {
                Some(old) => map.insert(undo.1, *old),
                None => map.remove(&undo.1),
            };
        }
    }

    /// The first pair (context, key; context, chord) where the key starts the chord and one of
    /// them was added by the file being merged (or any pair when `added` is empty).
    fn prefix_conflict(
        &self,
        added: &HashMap<(Context, Chord), Entry>,
    ) -> Option<(Context, Chord, Context, Chord)> {
        let mut found = Vec::new();
        for ctx in Context::ALL {
            let Some(own) = self.bindings.get(&ctx) else {
                continue;
            };
            for other_ctx in ctx.chain() {
                let Some(other) = self.bindings.get(&other_ctx) else {
                    continue;
                };
                for a in own.keys() {
                    for b in other.keys() {
                        let pair = if a.starts(b) {
                            (ctx, a.clone(), other_ctx, b.clone())
                        } else if b.starts(a) {
                            (other_ctx, b.clone(), ctx, a.clone())
                        } else {
                            continue;
                        };
                        if added.contains_key(&(pair.0, pair.1.clone()))
                            || added.contains_key(&(pair.2, pair.3.clone()))
                        {
                            found.push(pair);
                        }
                    }
                }
            }
        }
        // The same answer whatever the hash order.
        found.sort_by_key(|(c, a, d, b)| (*c, a.to_string(), *d, b.to_string()));
        found.into_iter().next()
    }

    /// A context the file left with no way out gets back what it had before.
    fn restore_exits(&mut self, file: &str, before: &Layer, touched: &BTreeMap<Context, usize>) {
        for (ctx, at) in touched {
            let ctx = *ctx;
            if ctx == Context::Global || self.has_exit(ctx) {
                continue;
            }
            let exits: Vec<&str> = ctx.exits().iter().map(|a| a.name()).collect();
            let fallback = match before.get(&ctx) {
                Some(b) if !b.is_empty() => {
                    self.bindings.insert(ctx, b.clone());
                    "; its previous bindings are used"
                }
                _ => "",
            };
            self.problems.push(
                Problem::new(
                    file,
                    Some(*at),
                    format!(
                        "[{}] has no way out: no key for {}{fallback}",
                        ctx.name(),
                        exits.join(" or ")
                    ),
                )
                .fix(format!(
                    "bind one, for example \"esc\" = \"{}\" under [{}]",
                    exits[0],
                    ctx.name()
                )),
            );
        }
        // Contexts that reach their way out only through [global] lose it if global did.
        if touched.contains_key(&Context::Global) {
            for ctx in Context::ALL {
                if ctx != Context::Global && !touched.contains_key(&ctx) && !self.has_exit(ctx) {
                    let at = touched.get(&Context::Global).copied();
                    let exits: Vec<&str> = ctx.exits().iter().map(|a| a.name()).collect();
                    if let Some(g) = before.get(&Context::Global) {
                        self.bindings.insert(Context::Global, g.clone());
                    }
                    self.problems.push(
                        Problem::new(
                            file,
                            at,
                            format!(
                                "[global] leaves [{}] with no way out (no key for {}); the \
                                 previous [global] bindings are used",
                                ctx.name(),
                                exits.join(" or ")
                            ),
                        )
                        .fix(format!(
                            "bind {} under [global] or [{}]",
                            exits[0],
                            ctx.name()
                        )),
                    );
                    break;
                }
            }
        }
    }

    fn has_exit(&self, ctx: Context) -> bool {
        let exits = ctx.exits();
        exits.is_empty() || self.bindings(ctx).iter().any(|(a, _)| exits.contains(a))
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

fn context_names() -> String {
    Context::ALL.map(Context::name).join(", ")
}

/// The `inherits = "..."` of a keymap file, if any.
fn inherits_of(text: &str) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let doc = doc.into_inner();
    doc.iter()
        .find(|(k, _)| k.get_ref().as_ref() == "inherits")
        .and_then(|(_, v)| v.get_ref().as_str().map(str::to_string))
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
