//! The palette's keys: typing narrows the list, Enter runs the line or the chosen entry.

use crossterm::event::KeyCode;

use crate::workstation::action::Action;
use crate::workstation::features::Outcome;
use crate::workstation::features::chart::update::{apply_prompt, set_filter};
use crate::workstation::features::palette::entries::*;
use crate::workstation::features::search::update::query_changed;
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// Keys while the palette is open: typing narrows, arrows choose, Enter runs, Tab completes.
pub(crate) fn palette_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    let Some(Overlay::Palette {
        context,
        mut input,
        cursor,
    }) = state.overlay.clone()
    else {
        return Outcome::NotMine;
    };
    let list = entries(state, context, &input);
    let last = list.len().saturating_sub(1);
    let mut cursor = cursor.min(last);
    let action = state.keymap.lookup_local(Context::Palette, key);
    if let (None, Some(c)) = (action, key.typed_char()) {
        input.push(c);
        cursor = 0;
    } else if action.is_none()
        && key.mods.contains(crossterm::event::KeyModifiers::CONTROL)
        && crate::workstation::line::edit(&mut input, key)
    {
        // Ctrl-U, Ctrl-W (Home and End move the list here).
        cursor = 0;
    } else if action.is_none() && key.code == KeyCode::Backspace {
        if input.is_empty() {
            state.overlay = None;
            return Outcome::Done;
        }
        input.pop();
        cursor = 0;
    } else {
        match action {
            Some(Action::Back) => {
                state.overlay = None;
                return Outcome::Done;
            }
            Some(Action::MoveUp) => cursor = cursor.saturating_sub(1),
            Some(Action::MoveDown) => cursor = (cursor + 1).min(last),
            Some(Action::GoTop | Action::PageUp) => cursor = 0,
            Some(Action::GoBottom | Action::PageDown) => cursor = last,
            Some(Action::Complete) => {
                if let Some(e) = list.get(cursor) {
                    input = match &e.what {
                        What::Command(name) => format!("{name} "),
                        _ => e.label.clone(),
                    };
                    cursor = 0;
                }
            }
            Some(Action::Submit) => match list.get(cursor).map(|e| e.what.clone()) {
                Some(What::Command(name)) => {
                    input = format!("{name} ");
                    cursor = 0;
                }
                Some(What::Action(action)) => {
                    state.overlay = None;
                    return pass(run_action(state, context, action, effects));
                }
                Some(What::Run(line)) => {
                    state.overlay = None;
                    return pass(run_line(state, context, &line, effects));
                }
                None => {
                    state.overlay = None;
                    return pass(run_line(state, context, &input, effects));
                }
            },
            _ => return Outcome::Done,
        }
    }
    state.overlay = Some(Overlay::Palette {
        context,
        input,
        cursor,
    });
    Outcome::Done
}

fn pass(action: Option<Action>) -> Outcome {
    action.map_or(Outcome::Done, Outcome::Pass)
}

/// Runs `action` as if its key had been pressed where the palette was opened; an action the
/// pane does not take comes back for the screen.
fn run_action(
    state: &mut State,
    context: Context,
    action: Action,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    match context {
        Context::Note if state.chart.as_ref().is_some_and(|c| c.note.is_some()) => {
            crate::workstation::features::note::update::note_action(state, action, effects)
        }
        Context::Orders if state.chart.as_ref().is_some_and(|c| c.orders.is_some()) => {
            crate::workstation::features::orders::update::orders_action(state, action)
        }
        Context::Register if state.register.is_some() => {
            crate::workstation::features::register::update::register_action(state, action, effects);
            None
        }
        Context::Lists if state.chart.as_ref().is_some_and(|c| c.lists.is_some()) => {
            crate::workstation::features::lists::update::lists_action(state, action, effects)
        }
        Context::Vitals if state.chart.as_ref().is_some_and(|c| c.vitals.is_some()) => {
            crate::workstation::features::vitals::update::vitals_action(state, action, effects)
        }
        _ => Some(action),
    }
}

/// Runs a typed command line (`open MRN0012345`, `theme mono`, or an action's name).
pub(crate) fn run_line(
    state: &mut State,
    context: Context,
    line: &str,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    let line = line.trim().trim_start_matches(':').trim();
    let (name, arg) = match line.split_once(' ') {
        Some((n, a)) => (n, a.trim()),
        None => (line, ""),
    };
    let mut passed = None;
    let notice = match name {
        "" => None,
        "open" if arg.is_empty() => Some(state_notice(
            Level::Warning,
            "open what? type an MRN or a name: `:open MRN0012345`".into(),
        )),
        "open" => {
            crate::workstation::features::leave_note(state, effects);
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
                passed = run_action(state, context, action, effects);
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
    passed
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
