//! The command palette (`:`) and the searchable help (`?`): both read the active keymap, so
//! they show what the user really has. The palette finds any action by name (fuzzy) and runs
//! typed commands with an argument: `:open MRN0012345`, `:theme mono`, `:filter labs`.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use crate::workstation::action::Action;
use crate::workstation::features::Command;
use crate::workstation::keymap::Context;
use crate::workstation::state::*;

/// Every typed command, in the order the palette lists them: each feature advertises its own.
fn commands() -> impl Iterator<Item = &'static Command> {
    use crate::workstation::features::{chart, palette, search};
    search::COMMANDS
        .iter()
        .chain(chart::COMMANDS)
        .chain(palette::COMMANDS)
}

/// What a palette line does when chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Action(Action),
    /// A command that takes an argument: choosing it puts `name ` in the input.
    Command(&'static str),
    /// A whole command line, ready to run.
    Run(String),
}

/// One line of the palette.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub label: String,
    /// The key that does the same, where there is one.
    pub keys: Option<String>,
    pub description: String,
    /// Character positions of `label` that matched the input.
    pub matched: Vec<usize>,
    pub what: What,
}

/// The palette's lines for `input`, best first.
pub fn entries(state: &State, context: Context, input: &str) -> Vec<Entry> {
    let input = input.trim_start();
    // (No let chains: the crate builds on Rust 1.85.)
    let typed_command = input
        .split_once(' ')
        .and_then(|(name, rest)| Some((commands().find(|c| c.name == name)?, rest)));
    if let Some((cmd, rest)) = typed_command {
        return arguments(state, cmd, rest.trim());
    }
    let matcher = SkimMatcherV2::default().ignore_case();
    let mut scored: Vec<(i64, usize, Entry)> = Vec::new();
    let mut push = |order: usize, label: String, keys, description: &str, what: What| {
        let (score, matched) = if input.is_empty() {
            (0, Vec::new())
        } else {
            // The name fuzzily (`sgnord` finds sign_orders); the description only where it
            // holds the words as typed, ranked after every name match.
            let name = label.split(" <").next().unwrap_or(&label);
            match matcher.fuzzy_indices(name, input) {
                Some((s, idx)) => (s + 1_000, idx),
                None if description.to_lowercase().contains(&input.to_lowercase()) => {
                    (0, Vec::new())
                }
                None => return,
            }
        };
        scored.push((
            score,
            order,
            Entry {
                label,
                keys,
                description: description.to_string(),
                matched,
                what,
            },
        ));
    };
    for (i, cmd) in commands().enumerate() {
        let (label, what) = if cmd.argument.is_empty() {
            (cmd.name.to_string(), What::Run(cmd.name.to_string()))
        } else {
            (
                format!("{} <{}>", cmd.name, cmd.argument),
                What::Command(cmd.name),
            )
        };
        push(i, label, None, cmd.description, what);
    }
    for (i, action) in Action::ALL.iter().enumerate() {
        if *action == Action::OpenPalette {
            continue;
        }
        push(
            commands().count() + i,
            action.name().to_string(),
            binding(state, context, *action),
            action.description(),
            What::Action(*action),
        );
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, e)| e).collect()
}

/// Where `action` has a key: in `context` if it has one there, else the first context that
/// binds it (named, since it works only there).
fn binding(state: &State, context: Context, action: Action) -> Option<String> {
    if let Some(k) = state.keymap.key_for(context, action) {
        return Some(k.to_string());
    }
    let ctx = state.keymap.contexts_of(action).into_iter().next()?;
    let k = state.keymap.key_for(ctx, action)?;
    Some(format!("{k} in {}", ctx.name()))
}

/// The lines for a command whose name is typed: its argument's choices, or the line itself.
fn arguments(state: &State, cmd: &Command, rest: &str) -> Vec<Entry> {
    let choices: Vec<(String, String)> = match cmd.name {
        "theme" => state
            .themes
            .names()
            .into_iter()
            .map(|n| {
                let from = state.themes.file_of(&n).unwrap_or_default();
                (n, from)
            })
            .collect(),
        "filter" => {
            let mut v = vec![("all".to_string(), "every item".to_string())];
            for (kind, count) in crate::workstation::features::chart::filter_choices(state)
                .into_iter()
                .skip(1)
            {
                if let Some(k) = kind {
                    v.push((
                        k.label().to_lowercase(),
                        crate::workstation::count(count, "item", "items"),
                    ));
                }
            }
            v
        }
        _ => Vec::new(),
    };
    if choices.is_empty() {
        return vec![Entry {
            label: format!("{} {rest}", cmd.name),
            keys: None,
            description: if rest.is_empty() {
                format!("type the {} after {:?}", cmd.argument, cmd.name)
            } else {
                cmd.description.to_string()
            },
            matched: Vec::new(),
            what: What::Run(format!("{} {rest}", cmd.name)),
        }];
    }
    let matcher = SkimMatcherV2::default().ignore_case();
    let mut out: Vec<(i64, Entry)> = choices
        .into_iter()
        .filter_map(|(choice, note)| {
            let score = if rest.is_empty() {
                0
            } else {
                matcher.fuzzy_match(&choice, rest)?
            };
            let entry = Entry {
                label: format!("{} {choice}", cmd.name),
                keys: None,
                description: note,
                matched: Vec::new(),
                what: What::Run(format!("{} {choice}", cmd.name)),
            };
            Some((score, entry))
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out: Vec<Entry> = out.into_iter().map(|(_, e)| e).collect();
    if out.is_empty() {
        // Run what was typed: the command says what is wrong with it.
        out.push(Entry {
            label: format!("{} {rest}", cmd.name),
            keys: None,
            description: cmd.description.to_string(),
            matched: Vec::new(),
            what: What::Run(format!("{} {rest}", cmd.name)),
        });
    }
    out
}
