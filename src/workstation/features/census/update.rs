//! Patient lists: opening them (the lists first), picking one, moving, sorting, opening a
//! chart, my own lists (made, a patient added from the chart, taken off), and the answers,
//! including the poll that keeps a list up to date while it is on screen.

use crate::workstation::action::Action;
use crate::workstation::census::{Fetched, ListChange, Source, rows, sorted, sources};
use crate::workstation::features::Outcome;
use crate::workstation::features::census::{CensusState, POLL_SECONDS, Pick};
use crate::workstation::keymap::{Context, Key};
use crate::workstation::state::*;

/// The longest name a list of my own may have.
const TITLE_CHARS: usize = 60;

fn me(state: &State) -> Option<String> {
    state.notes.author_reference.clone()
}

/// Asks for the lists the user can open.
fn load_lists(state: &mut State, effects: &mut Vec<Effect>) {
    let me = me(state);
    let Some(c) = &mut state.census else { return };
    state.context += 1;
    c.lists_generation = state.context;
    c.lists = None;
    effects.push(Effect::LoadLists {
        generation: c.lists_generation,
        me,
    });
}

/// F4: the lists on screen; the lists are asked for the first time, the list shown is asked
/// again.
pub(crate) fn open_census(state: &mut State, effects: &mut Vec<Effect>) {
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Census;
    state.overlay = None;
    let c = state.census.get_or_insert_with(CensusState::default);
    c.opened_from = false;
    c.adding = None;
    let shown = c.source.is_some();
    if !matches!(c.lists, Some(Ok(_))) {
        load_lists(state, effects);
    } else if !shown {
        c.picking = Some(0);
    }
    if shown {
        load(state, effects);
    }
}

/// `+` on a chart: which of my lists should this patient go on?
pub(crate) fn add_to_list(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(patient) = super::adt::chart_patient(state) else {
        return;
    };
    if me(state).is_none() {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "lists of your own need a practitioner record linked to your sign-in".into(),
        });
        return;
    }
    crate::workstation::features::leave_note(state, effects);
    state.screen = Screen::Census;
    let c = state.census.get_or_insert_with(CensusState::default);
    c.adding = Some(patient);
    c.picking = Some(0);
    if !matches!(c.lists, Some(Ok(_))) {
        load_lists(state, effects);
    }
}

/// `I` on a chart: admit the patient (the wards asked for when not known yet).
pub(crate) fn admit(state: &mut State, effects: &mut Vec<Effect>) {
    if super::adt::admit(state, effects) {
        load_lists(state, effects);
    }
}

/// Asks for the chosen list again.
fn load(state: &mut State, effects: &mut Vec<Effect>) {
    let clinical = !state.access.demographics_only();
    let me = me(state);
    let Some(c) = &mut state.census else { return };
    let Some(source) = &c.source else { return };
    state.context += 1;
    c.generation = state.context;
    c.loading = true;
    effects.push(Effect::LoadCensus {
        generation: c.generation,
        source: source.clone(),
        me,
        clinical,
    });
}

/// A key while the lists are on screen.
pub(crate) fn census_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) -> Outcome {
    if state.screen != Screen::Census || state.census.is_none() {
        return Outcome::NotMine;
    }
    if state.census.as_ref().is_some_and(|c| c.handoff.is_some()) {
        // Locking the screen and quitting work from the form too (what is typed stays).
        if let Some(a @ (Action::LockScreen | Action::Quit)) =
            state.keymap.lookup_local(Context::Global, key)
        {
            return Outcome::Pass(a);
        }
        super::handoff::key(state, key, effects);
        return Outcome::Done;
    }
    match crate::workstation::features::resolve(state, Context::Census, key) {
        Some(action) => match census_action(state, action, effects) {
            Some(other) => Outcome::Pass(other),
            None => Outcome::Done,
        },
        None => Outcome::Done,
    }
}

fn ask_title(state: &mut State) {
    state.field_cursor = None;
    state.overlay = Some(Overlay::Prompt {
        kind: PromptKind::NewList,
        input: String::new(),
    });
}

/// The picker's keys.
fn pick_action(
    state: &mut State,
    pick: usize,
    action: Action,
    effects: &mut Vec<Effect>,
) -> Option<Action> {
    let has_me = me(state).is_some();
    let c = state.census.as_mut()?;
    let picks = c.picks(has_me);
    match action {
        Action::MoveDown => c.picking = Some((pick + 1).min(picks.len().saturating_sub(1))),
        Action::MoveUp => c.picking = Some(pick.saturating_sub(1)),
        Action::NewList if has_me => ask_title(state),
        Action::Submit => match picks.get(pick).cloned() {
            Some(Pick::NewList) => ask_title(state),
            Some(Pick::Open(source)) => match c.adding.take() {
                Some(patient) => {
                    c.picking = None;
                    if let Source::Personal { id, .. } = &source {
                        change(
                            state,
                            ListChange::Add {
                                list_id: id.clone(),
                                patient,
                            },
                            effects,
                        );
                    }
                    back_to_chart(state);
                }
                None => {
                    if c.source.as_ref() != Some(&source) {
                        c.rows.clear();
                        c.fetched = None;
                        c.loaded_ms = None;
                        c.cursor = 0;
                    }
                    c.source = Some(source);
                    c.picking = None;
                    c.error = None;
                    load(state, effects);
                }
            },
            None => {}
        },
        Action::Back => {
            c.picking = None;
            if c.adding.take().is_some() {
                back_to_chart(state);
            } else if c.source.is_none() {
                state.screen = Screen::Search;
            }
        }
        other => return Some(other),
    }
    None
}

fn back_to_chart(state: &mut State) {
    state.screen = if state.chart.is_some() {
        Screen::Chart
    } else {
        Screen::Search
    };
}

/// The lists' own actions; others are handed back.
fn census_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) -> Option<Action> {
    let has_me = me(state).is_some();
    let c = state.census.as_mut()?;
    if c.adt.is_some() || c.board.is_some() {
        return super::adt::key(state, action, effects);
    }
    if let Some(pick) = c.picking {
        return pick_action(state, pick, action, effects);
    }
    if let Some(cursor) = crate::workstation::features::list_cursor(c.cursor, action, c.rows.len())
    {
        c.cursor = cursor;
        return None;
    }
    match action {
        Action::SortList => {
            c.sort = c.sort.next();
            arrange(c, state.display.today);
        }
        Action::FilterList => {
            c.filter = c.filter.next();
            arrange(c, state.display.today);
        }
        Action::ChooseWard => {
            let picks = c.picks(has_me);
            let at = c
                .source
                .as_ref()
                .and_then(|s| picks.iter().position(|p| *p == Pick::Open(s.clone())))
                .unwrap_or(0);
            c.picking = Some(at);
        }
        Action::NewList if has_me => ask_title(state),
        Action::RemoveFromList => {
            let (Some(Source::Personal { id, .. }), Some(row)) = (&c.source, c.rows.get(c.cursor))
            else {
                state.notice = Some(Notice {
                    level: Level::Info,
                    text: "only a list of your own has patients taken off it here".into(),
                });
                return None;
            };
            let removal = ListChange::Remove {
                list_id: id.clone(),
                patient_id: row.patient_id.clone(),
            };
            change(state, removal, effects);
        }
        Action::RefreshList => load(state, effects),
        Action::BedBoard => super::adt::show_board(state, effects),
        Action::Handoff => super::handoff::edit(state, effects),
        Action::PrintHandoff => super::handoff::print(state, effects),
        Action::TransferPatient => super::adt::start(state, false),
        Action::DischargePatient => super::adt::start(state, true),
        Action::Submit => {
            let row = c.rows.get(c.cursor)?;
            let id = row.patient_id.clone();
            c.opened_from = true;
            crate::workstation::features::chart::load::open_patient_id(state, id, None, effects);
        }
        Action::Back => state.screen = Screen::Search,
        other => return Some(other),
    }
    None
}

fn change(state: &mut State, change: ListChange, effects: &mut Vec<Effect>) {
    state.notice = Some(Notice {
        level: Level::Info,
        text: "saving your list...".into(),
    });
    effects.push(Effect::ChangeList { change });
}

/// The new list's name was typed: made (with the patient being added, if one is).
pub(crate) fn new_list(state: &mut State, title: String, effects: &mut Vec<Effect>) {
    let title: String = title.trim().chars().take(TITLE_CHARS).collect();
    let Some(owner) = me(state) else { return };
    if title.is_empty() {
        state.notice = Some(Notice {
            level: Level::Warning,
            text: "a list needs a name: nothing was made".into(),
        });
        return;
    }
    let patient = state.census.as_mut().and_then(|c| {
        c.picking = None;
        c.adding.take()
    });
    let adding = patient.is_some();
    change(
        state,
        ListChange::Create {
            title,
            owner,
            patient,
        },
        effects,
    );
    if adding {
        back_to_chart(state);
    }
}

/// The rows shown, from what was fetched: sorted, then filtered; the cursor stays on the
/// patient it was on.
fn arrange(c: &mut CensusState, today: chrono::NaiveDate) {
    let keep = c.rows.get(c.cursor).map(|r| r.patient_id.clone());
    let Some(f) = &c.fetched else { return };
    let filter = c.filter;
    c.rows = sorted(&rows(f, today), c.sort)
        .into_iter()
        .filter(|r| filter.keeps(r))
        .collect();
    c.cursor = keep
        .and_then(|id| c.rows.iter().position(|r| r.patient_id == id))
        .unwrap_or(0)
        .min(c.rows.len().saturating_sub(1));
}

/// Closing a chart opened from a list comes back to it.
pub(crate) fn after_close(state: &mut State, effects: &mut Vec<Effect>) {
    if state.census.as_ref().is_some_and(|c| c.opened_from) {
        open_census(state, effects);
    }
}

pub(crate) fn on_msg(state: &mut State, msg: super::Msg, effects: &mut Vec<Effect>) {
    state.dirty = true;
    let today = state.display.today;
    let now = state.now_ms;
    let on_screen = state.screen == Screen::Census;
    let has_me = me(state).is_some();
    let Some(c) = &mut state.census else { return };
    match msg {
        super::Msg::Lists {
            generation,
            locations,
            teams,
            personal,
            cached_at,
        } => {
            if generation != c.lists_generation {
                state.dropped_stale += 1;
                return;
            }
            let locations = match locations {
                Ok(l) => l,
                Err(e) => {
                    c.lists = Some(Err(format!("the lists could not be read: {e}")));
                    return;
                }
            };
            let mut missing = Vec::new();
            let mut part = |r: Option<Result<Vec<serde_json::Value>, _>>, what: &str| match r {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    missing.push(format!("{what} ({e})"));
                    Vec::new()
                }
                None => Vec::new(),
            };
            let teams = part(teams, "your teams");
            let personal = part(personal, "your own lists");
            c.lists_note = (!missing.is_empty())
                .then(|| format!("NOT SHOWN: {} could not be read", missing.join(", ")));
            if let Some(at) = cached_at {
                let when = chrono::DateTime::from_timestamp_millis(at)
                    .map(|t| {
                        t.with_timezone(&state.display.zone)
                            .format("%d %b %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default();
                c.lists_note = Some(format!(
                    "CACHED COPY of the lists from {when}: the server cannot be reached"
                ));
            }
            let found = sources(has_me, &locations, &teams, &personal);
            // The list shown is kept under its new name; one that is gone is left.
            if let Some(shown) = &c.source
                && let Some(now) = found.iter().find(|s| s.key() == shown.key())
            {
                c.source = Some(now.clone());
            }
            let wards: Vec<&Source> = found
                .iter()
                .filter(|s| matches!(s, Source::Ward(_)))
                .collect();
            // Only one ward and nothing else: nothing to pick.
            if found.len() == 1 && wards.len() == 1 && c.adding.is_none() {
                c.source = found.first().cloned();
                c.lists = Some(Ok(found));
                c.picking = None;
                load(state, effects);
            } else {
                let at = c.picking.unwrap_or(0);
                c.lists = Some(Ok(found));
                if c.source.is_none() || c.adding.is_some() || c.picking.is_some() {
                    c.picking = Some(at.min(c.picks(has_me).len().saturating_sub(1)));
                }
            }
        }
        super::Msg::Loaded {
            generation,
            key,
            result,
            cached,
        } => {
            if generation != c.generation || c.source.as_ref().is_none_or(|s| s.key() != key) {
                state.dropped_stale += 1;
                return;
            }
            c.loading = false;
            let show = |c: &mut CensusState, fetched: Fetched, at: i64| {
                c.fetched = Some(fetched);
                arrange(c, today);
                c.loaded_ms = Some(at);
            };
            match result {
                Ok(fetched) => {
                    show(c, fetched, now);
                    c.error = None;
                    c.cached_from = None;
                }
                Err(e) => {
                    c.error = Some(e.to_string());
                    // Downtime: the snapshot kept of this list, when it is newer than the
                    // rows shown, said to be a cached copy.
                    if let Some((fetched, at)) = cached.map(|b| *b)
                        && c.loaded_ms.is_none_or(|shown| at > shown)
                    {
                        show(c, fetched, at);
                        c.cached_from = Some(at);
                    }
                }
            }
            effects.push(Effect::Poll {
                what: crate::workstation::msg::Polled::Census,
                generation: c.generation,
                after_seconds: POLL_SECONDS,
            });
        }
        super::Msg::Board { generation, result } => super::adt::on_board(state, generation, result),
        super::Msg::Handoffs { generation, result } => {
            super::handoff::on_parts(state, generation, result, effects)
        }
        super::Msg::HandoffSaved { name, result } => super::handoff::saved(state, name, result),
        super::Msg::HandoffWritten { result } => {
            state.notice = Some(match result {
                Ok(path) => Notice {
                    level: Level::Info,
                    text: format!(
                        "handoff written to {path} (and .pdf); it holds patient data: keep it private"
                    ),
                },
                Err(e) => Notice {
                    level: Level::Warning,
                    text: format!("NOT written: {e}"),
                },
            });
        }
        super::Msg::AdtDone { change, result } => {
            super::adt::done(state, &change, result, effects);
            if state.screen == Screen::Census {
                load(state, effects);
            }
        }
        super::Msg::Due { generation } => {
            if generation == c.generation && on_screen && !c.loading && c.picking.is_none() {
                load(state, effects);
            }
        }
        super::Msg::ListChanged { change, result } => {
            let list = match &change {
                ListChange::Create { title, .. } => format!("{title:?}"),
                ListChange::Add { list_id, .. } | ListChange::Remove { list_id, .. } => c
                    .lists
                    .as_ref()
                    .and_then(|l| l.as_ref().ok())
                    .and_then(|l| l.iter().find(|s| s.key() == format!("list/{list_id}")))
                    .map_or_else(|| "your list".into(), Source::title),
            };
            match result {
                Ok(made) => {
                    state.notice = Some(Notice {
                        level: Level::Info,
                        text: change.words(&list),
                    });
                    // A new list made from the picker is opened.
                    if let (
                        Some(id),
                        ListChange::Create {
                            title,
                            patient: None,
                            ..
                        },
                    ) = (made, &change)
                    {
                        c.source = Some(Source::Personal {
                            id,
                            name: title.clone(),
                        });
                        c.rows.clear();
                        c.fetched = None;
                        c.loaded_ms = None;
                        c.cursor = 0;
                        c.picking = None;
                    }
                    let shown = c.source.as_ref().map(Source::key);
                    let touched = match &change {
                        ListChange::Add { list_id, .. } | ListChange::Remove { list_id, .. } => {
                            Some(format!("list/{list_id}"))
                        }
                        ListChange::Create { .. } => shown.clone(),
                    };
                    let keep_picking = c.picking;
                    load_lists(state, effects);
                    if let Some(c) = &mut state.census {
                        c.picking = keep_picking;
                    }
                    if on_screen && shown.is_some() && shown == touched {
                        load(state, effects);
                    }
                }
                Err(e) => {
                    state.notice = Some(Notice {
                        level: Level::Error,
                        text: format!("NOT SAVED: {list} was not changed: {e}"),
                    })
                }
            }
        }
    }
}
