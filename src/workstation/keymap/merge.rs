//! Reading a keymap file over another, key by key, keeping every problem with its file, line
//! and a fix; a broken part keeps what was there before.

use std::collections::{BTreeMap, HashMap};

use super::*;

/// Where an entry of the file being merged came from.
struct Entry {
    line: usize,
    text: String,
}

impl Keymap {
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

    pub(super) fn merge_layer(&mut self, text: &str, file: &str, shipped: bool) {
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

    pub(super) fn has_exit(&self, ctx: Context) -> bool {
        let exits = ctx.exits();
        exits.is_empty() || self.bindings(ctx).iter().any(|(a, _)| exits.contains(a))
    }
}

fn context_names() -> String {
    Context::ALL.map(Context::name).join(", ")
}

/// The `inherits = "..."` of a keymap file, if any.
pub(super) fn inherits_of(text: &str) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let doc = doc.into_inner();
    doc.iter()
        .find(|(k, _)| k.get_ref().as_ref() == "inherits")
        .and_then(|(_, v)| v.get_ref().as_str().map(str::to_string))
}
