//! The command palette (`:`) and the searchable help (`?`): both read the active keymap, so
//! they show what the user really has. The palette finds any action by name (fuzzy) and runs
//! typed commands with an argument: `:open MRN0012345`, `:theme mono`, `:filter labs`.

use crossterm::event::KeyCode;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::super::action::Action;
use super::super::keymap::{Chord, Context, Key};
use super::super::state::*;
use super::chart::{apply_prompt, set_filter};
use super::search::query_changed;

/// A typed command: `:name argument`.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    /// What the argument is, for the list ("" when there is none).
    pub argument: &'static str,
    pub description: &'static str,
}

/// Every typed command, in the order the palette lists them.
pub const COMMANDS: [Command; 8] = [
    Command {
        name: "open",
        argument: "MRN or name",
        description: "open a patient's chart (at once when one patient matches)",
    },
    Command {
        name: "filter",
        argument: "labs|vitals|notes|meds|problems|orders|all",
        description: "show one kind of item in the timeline",
    },
    Command {
        name: "find",
        argument: "text",
        description: "find text in this chart's timeline",
    },
    Command {
        name: "date",
        argument: "day",
        description: "jump to a date in the timeline (2024-03-14, 14/03/2024, 2024)",
    },
    Command {
        name: "theme",
        argument: "name",
        description: "change the colours for this session (default, light, high-contrast, mono...)",
    },
    Command {
        name: "keys",
        argument: "",
        description: "the keys of the screen you came from (help)",
    },
    Command {
        name: "problems",
        argument: "",
        description: "problems found in your keymap, theme and config files",
    },
    Command {
        name: "messages",
        argument: "",
        description: "every message of this session, in full (newest last)",
    },
];

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
        .and_then(|(name, rest)| Some((COMMANDS.iter().find(|c| c.name == name)?, rest)));
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
    for (i, cmd) in COMMANDS.iter().enumerate() {
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
            COMMANDS.len() + i,
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
            for (kind, count) in super::filter_choices(state).into_iter().skip(1) {
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

/// Keys while the palette is open: typing narrows, arrows choose, Enter runs, Tab completes.
pub(super) fn palette_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> bool {
    let Some(Overlay::Palette {
        context,
        mut input,
        cursor,
    }) = state.overlay.clone()
    else {
        return false;
    };
    let list = entries(state, context, &input);
    let last = list.len().saturating_sub(1);
    let mut cursor = cursor.min(last);
    if let Some(c) = key.typed_char() {
        input.push(c);
        cursor = 0;
    } else if key.mods.contains(crossterm::event::KeyModifiers::CONTROL)
        && crate::workstation::line::edit(&mut input, key)
    {
        // Ctrl-U, Ctrl-W (Home and End move the list here).
        cursor = 0;
    } else {
        match key.code {
            KeyCode::Esc => {
                state.overlay = None;
                return true;
            }
            KeyCode::Backspace if input.is_empty() => {
                state.overlay = None;
                return true;
            }
            KeyCode::Backspace => {
                input.pop();
                cursor = 0;
            }
            KeyCode::Up => cursor = cursor.saturating_sub(1),
            KeyCode::Down => cursor = (cursor + 1).min(last),
            KeyCode::PageUp | KeyCode::Home => cursor = 0,
            KeyCode::PageDown | KeyCode::End => cursor = last,
            KeyCode::Tab => {
                if let Some(e) = list.get(cursor) {
                    input = match &e.what {
                        What::Command(name) => format!("{name} "),
                        _ => e.label.clone(),
                    };
                    cursor = 0;
                }
            }
            KeyCode::Enter => match list.get(cursor).map(|e| e.what.clone()) {
                Some(What::Command(name)) => {
                    input = format!("{name} ");
                    cursor = 0;
                }
                Some(What::Action(action)) => {
                    state.overlay = None;
                    run_action(state, context, action, effects);
                    return true;
                }
                Some(What::Run(line)) => {
                    state.overlay = None;
                    run_line(state, context, &line, effects);
                    return true;
                }
                None => {
                    state.overlay = None;
                    run_line(state, context, &input, effects);
                    return true;
                }
            },
            _ => return true,
        }
    }
    state.overlay = Some(Overlay::Palette {
        context,
        input,
        cursor,
    });
    true
}

/// Runs `action` as if its key had been pressed where the palette was opened.
fn run_action(state: &mut State, context: Context, action: Action, effects: &mut Vec<Effect>) {
    match context {
        Context::Note if state.chart.as_ref().is_some_and(|c| c.note.is_some()) => {
            super::notes::note_action(state, action, effects)
        }
        Context::Orders if state.chart.as_ref().is_some_and(|c| c.orders.is_some()) => {
            super::orders::orders_action(state, action, effects)
        }
        _ => super::act(state, action, effects),
    }
}

/// Runs a typed command line (`open MRN0012345`, `theme mono`, or an action's name).
pub(super) fn run_line(state: &mut State, context: Context, line: &str, effects: &mut Vec<Effect>) {
    let line = line.trim().trim_start_matches(':').trim();
    let (name, arg) = match line.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (line, ""),
    };
    let notice = match name {
        "" => None,
        "open" if arg.is_empty() => Some(state_notice(
            Level::Warning,
            "open what? type an MRN or a name: `:open MRN0012345`".into(),
        )),
        "open" => {
            super::leave_note(state, effects);
            state.screen = Screen::Search;
            state.search.focus = SearchFocus::Input;
            state.search.query = arg.to_string();
            state.search.open_single = true;
            query_changed(state, effects);
            None
        }
        "theme" => Some(switch_theme(state, arg)),
        "filter" | "find" | "date" if state.chart.is_none() => Some(state_notice(
            Level::Warning,
            format!("`:{name}` works on an open chart: open one first (`:open MRN`)"),
        )),
        "filter" => {
            if arg.eq_ignore_ascii_case("all") || arg.is_empty() {
                set_filter(state, None);
                None
            } else {
                match crate::workstation::chart::Kind::from_name(arg) {
                    Some(kind) => {
                        set_filter(state, Some(kind));
                        None
                    }
                    None => Some(state_notice(
                        Level::Warning,
                        format!(
                            "no timeline filter {arg:?}: try labs, vitals, notes, meds, \
                             problems, orders or all"
                        ),
                    )),
                }
            }
        }
        "find" => {
            apply_prompt(state, PromptKind::Find, arg.to_string());
            None
        }
        "date" => {
            apply_prompt(state, PromptKind::Date, arg.to_string());
            None
        }
        "keys" | "help" => {
            state.overlay = Some(Overlay::Help {
                context,
                query: arg.to_string(),
                scroll: 0,
            });
            None
        }
        "messages" => {
            if state.messages.is_empty() {
                Some(state_notice(
                    Level::Info,
                    "no messages yet this session".into(),
                ))
            } else {
                let scroll = state.messages.len().saturating_sub(1);
                state.overlay = Some(Overlay::Messages { scroll });
                None
            }
        }
        "problems" => {
            if state.problems.is_empty() {
                Some(state_notice(
                    Level::Info,
                    "no problems in your keymap, theme or config files".into(),
                ))
            } else {
                state.overlay = Some(Overlay::Problems { scroll: 0 });
                None
            }
        }
        other => match Action::from_name(other) {
            Some(action) => {
                run_action(state, context, action, effects);
                None
            }
            None => Some(state_notice(
                Level::Warning,
                format!("no command {other:?}: type : and look at the list"),
            )),
        },
    };
    if let Some(n) = notice {
        state.notice = Some(n);
    }
}

fn state_notice(level: Level, text: String) -> Notice {
    Notice { level, text }
}

fn switch_theme(state: &mut State, name: &str) -> Notice {
    if name.is_empty() {
        return state_notice(
            Level::Info,
            format!(
                "theme {}; others: {}",
                state.theme.name,
                state.themes.names().join(", ")
            ),
        );
    }
    if state.themes.file_of(name).is_none() {
        return state_notice(
            Level::Warning,
            format!(
                "no theme {name:?}: themes are {}",
                state.themes.names().join(", ")
            ),
        );
    }
    let (theme, problems) = state.themes.build(name);
    let used = theme.name.clone();
    state.set_theme(theme);
    if problems.is_empty() {
        return state_notice(Level::Info, format!("theme {used}"));
    }
    let n = problems.len();
    state.problems.extend(problems);
    state_notice(
        Level::Warning,
        format!("theme {name}: {n} problem(s), using {used} (:problems lists them)"),
    )
}

/// Keys while help is open: typing searches, Backspace and Esc undo the search, the rest
/// (scrolling, closing) goes through the dialogs keymap.
pub(super) fn help_key(state: &mut State, key: Key) -> bool {
    let Some(Overlay::Help {
        context, mut query, ..
    }) = state.overlay.clone()
    else {
        return false;
    };
    if let Some(c) = key.typed_char().filter(|_| state.chord.is_empty()) {
        // `?` on an empty search closes help, as it opened it.
        if c == '?' && query.is_empty() {
            state.overlay = None;
            return true;
        }
        query.push(c);
    } else if key.code == KeyCode::Backspace {
        query.pop();
    } else if key.mods.contains(crossterm::event::KeyModifiers::CONTROL)
        && crate::workstation::line::edit(&mut query, key)
    {
        // Ctrl-U, Ctrl-W.
    } else if key.code == KeyCode::Esc && !query.is_empty() {
        query.clear();
    } else {
        return false;
    }
    state.overlay = Some(Overlay::Help {
        context,
        query,
        scroll: 0,
    });
    true
}

/// The bindings help shows for `context`: each action with its keys, narrowed by `query`
/// (matched against the action's name, description and keys).
pub fn help_entries(
    keymap: &super::super::keymap::Keymap,
    context: Context,
    query: &str,
) -> Vec<(Action, Vec<Chord>)> {
    let matcher = SkimMatcherV2::default().ignore_case();
    let q = query.trim();
    if q.is_empty() {
        return keymap.bindings(context);
    }
    let lower = q.to_lowercase();
    // Words as typed first ("order" finds `o`, open the orders pane), then fuzzy matches on
    // the action's name (`opnord`), best first; descriptions match only as typed.
    type Ranked = ((u8, i64), (Action, Vec<Chord>));
    let mut ranked: Vec<Ranked> = keymap
        .bindings(context)
        .into_iter()
        .filter_map(|(action, keys)| {
            let key_text: Vec<String> = keys.iter().map(Chord::to_string).collect();
            let words = format!(
                "{} {} {}",
                action.description(),
                action.name().replace('_', " "),
                key_text.join(" ")
            )
            .to_lowercase();
            let rank = if action.name().replace('_', " ").contains(&lower) {
                (0, 0)
            } else if words.contains(&lower) {
                (1, 0)
            } else {
                (2, -matcher.fuzzy_match(action.name(), q)?)
            };
            Some((rank, (action, keys)))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, entry)| entry).collect()
}
