//! `update`: one message in, the state changed, effects out. It never waits and never does
//! I/O, so every behaviour here is tested by feeding messages.

use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use serde_json::Value;

use crate::chart::{Chart, Kind, Target, read_patient};
use crate::client::FetchError;

use super::action::Action;
use super::keymap::{Context, Key};
use super::layout;
use super::query;
use super::state::*;

/// How many recently opened patients are remembered.
pub const RECENT_MAX: usize = 20;
/// Rows whose ward/bed or last visit is looked up after a search.
const LOCATION_ROWS: usize = 30;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    let rows = timeline_rows(state.size);
    match msg {
        Msg::Key(key) => {
            if key.kind == KeyEventKind::Release {
                return effects;
            }
            state.dirty = true;
            let had_notice = state.notice.clone();
            on_key(state, Key::from_event(&key), &mut effects);
            if state.notice == had_notice {
                state.notice = None;
            }
        }
        Msg::Resize(w, h) => {
            state.size = ratatui::layout::Rect::new(0, 0, w, h);
            clamp_search(state);
            if let Some(c) = &mut state.chart {
                let rows = timeline_rows(state.size);
                follow(c, rows);
            }
            state.dirty = true;
        }
        Msg::Action(action) => {
            state.dirty = true;
            act(state, action, &mut effects);
        }
        Msg::OpenPatient(id) => {
            state.dirty = true;
            open_patient_id(state, id, None, &mut effects);
        }
        Msg::Tick => {
            state.tick_pending = false;
            if state.busy() {
                state.spinner = state.spinner.wrapping_add(1);
                state.dirty = true;
            }
        }
        Msg::SearchDue(generation) => {
            if generation == state.search.generation {
                start_search(state, &mut effects);
            }
        }
        Msg::SearchDone { generation, result } => {
            if generation != state.search.generation {
                state.dropped_stale += 1;
            } else {
                search_done(state, result, &mut effects);
                state.dirty = true;
            }
        }
        Msg::Locations(found) => {
            for (id, location) in found {
                let rows = state.search.rows.iter_mut();
                for row in rows.chain(state.search.recent.iter_mut()) {
                    if row.patient.id == id {
                        row.location = location.clone();
                    }
                }
            }
            state.dirty = true;
        }
        Msg::RecentLoaded(result) => {
            if let Ok(resources) = result {
                let mut rows: Vec<Row> = resources
                    .iter()
                    .filter_map(read_patient)
                    .map(|patient| Row {
                        patient,
                        matched: Vec::new(),
                        location: None,
                    })
                    .collect();
                let order = &state.recent_ids;
                rows.sort_by_key(|r| order.iter().position(|id| *id == r.patient.id));
                let ids = rows.iter().map(|r| r.patient.id.clone()).collect();
                state.search.recent = rows;
                effects.push(Effect::FetchLocations { patient_ids: ids });
                state.dirty = true;
            }
        }
        Msg::ChartPatient { context, result } => {
            if let Some(c) = current_chart(state, context) {
                match result {
                    Ok(patient) => c.chart.add_page(vec![patient]),
                    Err(FetchError::NotFound) => {
                        c.error =
                            Some("this patient is not on the server (deleted or merged?)".into());
                        c.loading = false;
                    }
                    Err(e) => c.error = Some(format!("patient details: {e}")),
                }
                refresh_visible(c, rows);
                state.dirty = true;
            }
        }
        Msg::ChartAllergies { context, result } => {
            if let Some(c) = current_chart(state, context) {
                c.chart.set_allergies(result.map_err(|e| e.to_string()));
                refresh_visible(c, rows);
                state.dirty = true;
            }
        }
        Msg::ChartPage { context, result } => {
            if let Some(c) = current_chart(state, context) {
                match result {
                    Ok(resources) => c.chart.add_page(resources),
                    Err(e) => {
                        c.error = Some(format!("the chart is incomplete: {e}"));
                        c.loading = false;
                        c.chart.flush();
                    }
                }
                refresh_visible(c, rows);
                state.dirty = true;
            }
        }
        Msg::ChartDone { context } => {
            if let Some(c) = current_chart(state, context) {
                c.loading = false;
                if c.error.is_none() {
                    c.chart.finish();
                } else {
                    c.chart.flush();
                }
                refresh_visible(c, rows);
                state.dirty = true;
            }
        }
        Msg::Shutdown(_) => {
            state.quit = true;
        }
    }
    if state.busy() && !state.tick_pending {
        state.tick_pending = true;
        effects.push(Effect::Tick);
    }
    effects
}

/// The open chart if `context` is still its context; a late reply for another patient is
/// counted and dropped, never shown.
fn current_chart(state: &mut State, context: u64) -> Option<&mut ChartState> {
    let current = state.chart.as_ref().is_some_and(|c| c.context == context);
    if !current {
        state.dropped_stale += 1;
        return None;
    }
    state.chart.as_mut()
}

fn on_key(state: &mut State, key: Key, effects: &mut Vec<Effect>) {
    let keymap = state.keymap.clone();
    if let Some(overlay) = state.overlay.clone() {
        if let Overlay::Prompt { kind, mut input } = overlay {
            if let Some(c) = key.typed_char() {
                input.push(c);
                state.overlay = Some(Overlay::Prompt { kind, input });
                return;
            }
            match key.code {
                KeyCode::Backspace => {
                    input.pop();
                    state.overlay = Some(Overlay::Prompt { kind, input });
                    return;
                }
                KeyCode::Enter => {
                    state.overlay = None;
                    apply_prompt(state, kind, input);
                    return;
                }
                _ => {}
            }
        }
        if let Some(action) = keymap.lookup(Context::Dialog, key) {
            dialog_action(state, action, effects);
        }
        return;
    }
    match state.screen {
        Screen::Search => {
            if state.search.focus == SearchFocus::Input {
                // No name, MRN or date has a `?`: it opens help even while typing.
                if let Some(c) = key.typed_char().filter(|c| *c != '?') {
                    type_char(state, c, effects);
                    return;
                }
                match (key.code, key.mods) {
                    (KeyCode::Backspace, _) => {
                        state.search.query.pop();
                        query_changed(state, effects);
                        return;
                    }
                    (KeyCode::Char('u'), KeyModifiers::CONTROL) => {
                        state.search.query.clear();
                        query_changed(state, effects);
                        return;
                    }
                    _ => {}
                }
            }
            match keymap.lookup(Context::Search, key) {
                Some(action) => act(state, action, effects),
                None => {
                    // Typing in the result list goes to the query.
                    if let Some(c) = key.typed_char() {
                        state.search.focus = SearchFocus::Input;
                        type_char(state, c, effects);
                    }
                }
            }
        }
        Screen::Chart => {
            if let Some(action) = keymap.lookup(Context::Chart, key) {
                act(state, action, effects);
            }
        }
    }
}

/// A character typed into the query. `/` clears the query, except inside a date being typed
/// (`14/03/1956`).
fn type_char(state: &mut State, c: char, effects: &mut Vec<Effect>) {
    let q = &mut state.search.query;
    if c == '/' && !q.ends_with(|x: char| x.is_ascii_digit()) {
        q.clear();
    } else {
        q.push(c);
    }
    query_changed(state, effects);
}

fn query_changed(state: &mut State, effects: &mut Vec<Effect>) {
    let s = &mut state.search;
    s.generation += 1;
    s.cursor = 0;
    s.scroll = 0;
    if s.query.trim().is_empty() {
        s.status = SearchStatus::Recent;
        s.rows.clear();
    } else {
        s.status = SearchStatus::Typing;
        effects.push(Effect::Debounce {
            generation: s.generation,
        });
    }
}

fn start_search(state: &mut State, effects: &mut Vec<Effect>) {
    let s = &mut state.search;
    match query::parse(&s.query) {
        Ok(q) => {
            s.status = SearchStatus::Searching;
            effects.push(Effect::SearchPatients {
                generation: s.generation,
                params: q.params(),
            });
        }
        Err(hint) => {
            s.status = SearchStatus::Hint(hint.to_string());
            s.rows.clear();
        }
    }
    state.dirty = true;
}

fn search_done(
    state: &mut State,
    result: Result<Vec<Value>, FetchError>,
    effects: &mut Vec<Effect>,
) {
    let s = &mut state.search;
    match result {
        Ok(resources) => {
            let q = query::parse(&s.query).unwrap_or_default();
            let patients = resources.iter().filter_map(read_patient).collect();
            s.rows = query::rank(patients, &q)
                .into_iter()
                .map(|r| Row {
                    patient: r.patient,
                    matched: r.matched,
                    location: None,
                })
                .collect();
            s.cursor = 0;
            s.scroll = 0;
            if s.rows.is_empty() {
                s.status = SearchStatus::NoMatch;
            } else {
                s.status = SearchStatus::Done;
                effects.push(Effect::FetchLocations {
                    patient_ids: s
                        .rows
                        .iter()
                        .take(LOCATION_ROWS)
                        .map(|r| r.patient.id.clone())
                        .collect(),
                });
            }
        }
        Err(e) => {
            s.status = SearchStatus::Failed(e.to_string());
            s.rows.clear();
        }
    }
}

fn dialog_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let Some(overlay) = state.overlay.clone() else {
        return;
    };
    let kinds = filter_choices(state);
    match (overlay, action) {
        (_, Action::Back) => state.overlay = None,
        (_, Action::Quit) => state.overlay = Some(Overlay::ConfirmQuit),
        (_, Action::RedrawScreen) => state.full_redraw = true,
        (Overlay::ConfirmQuit, Action::Confirm) => {
            state.overlay = None;
            state.quit = true;
        }
        (Overlay::Help { scroll }, a) => {
            let scroll = match a {
                Action::MoveDown => scroll + 1,
                Action::MoveUp => scroll.saturating_sub(1),
                Action::PageDown => scroll + 10,
                Action::PageUp => scroll.saturating_sub(10),
                Action::ShowHelp => {
                    state.overlay = None;
                    return;
                }
                _ => scroll,
            };
            state.overlay = Some(Overlay::Help { scroll });
        }
        (Overlay::Filter { cursor }, a) => {
            let last = kinds.len().saturating_sub(1);
            let cursor = match a {
                Action::MoveDown => (cursor + 1).min(last),
                Action::MoveUp => cursor.saturating_sub(1),
                Action::PageDown => last,
                Action::PageUp => 0,
                Action::OpenSelected | Action::Confirm => {
                    state.overlay = None;
                    let choice = kinds.get(cursor).map(|(k, _)| *k).unwrap_or(None);
                    set_filter(state, choice);
                    return;
                }
                _ => cursor,
            };
            state.overlay = Some(Overlay::Filter { cursor });
        }
        (Overlay::Prompt { .. }, _) | (Overlay::ConfirmQuit, _) => {}
    }
    let _ = effects;
}

/// The filter menu: all, then each kind the chart has, with counts.
pub fn filter_choices(state: &State) -> Vec<(Option<Kind>, usize)> {
    let Some(c) = &state.chart else {
        return vec![(None, 0)];
    };
    let mut counts = std::collections::BTreeMap::new();
    for item in &c.chart.timeline {
        *counts.entry(item.kind).or_insert(0usize) += 1;
    }
    let mut out = vec![(None, c.chart.timeline.len())];
    out.extend(
        Kind::ALL
            .iter()
            .filter_map(|k| Some((Some(*k), *counts.get(k)?))),
    );
    out
}

fn set_filter(state: &mut State, kind: Option<Kind>) {
    let rows = timeline_rows(state.size);
    if let Some(c) = &mut state.chart {
        c.filter = kind;
        c.view = ChartView::Timeline;
        refresh_visible(c, rows);
    }
}

fn apply_prompt(state: &mut State, kind: PromptKind, input: String) {
    let rows = timeline_rows(state.size);
    let zone = state.display.zone;
    let Some(c) = &mut state.chart else { return };
    match kind {
        PromptKind::Find => {
            let text = input.trim().to_string();
            c.find = (!text.is_empty()).then_some(text);
            c.view = ChartView::Timeline;
            refresh_visible(c, rows);
            if c.visible.is_empty() {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!("nothing in this chart matches {:?}", input.trim()),
                });
            }
        }
        PromptKind::Date => match parse_day(input.trim()) {
            Some(day) => {
                // Newest first: the first item on or before the day asked for.
                let pos = c.visible.iter().position(|&i| {
                    c.chart.timeline[i as usize]
                        .when
                        .day(zone)
                        .is_some_and(|d| d <= day)
                });
                match pos {
                    Some(p) => {
                        c.cursor = p;
                        c.moved = true;
                        c.view = ChartView::Timeline;
                        follow(c, rows);
                    }
                    None => {
                        state.notice = Some(Notice {
                            level: Level::Warning,
                            text: format!("nothing on or before {day}"),
                        })
                    }
                }
            }
            None => {
                state.notice = Some(Notice {
                    level: Level::Warning,
                    text: format!(
                        "{:?} is not a date: use YYYY-MM-DD, YYYY-MM, YYYY or DD/MM/YYYY",
                        input.trim()
                    ),
                })
            }
        },
    }
}

/// The last day a typed date covers (`2024` means up to 2024-12-31).
fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::NaiveDate;
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%d/%m/%Y") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
        return d.checked_add_months(chrono::Months::new(1))?.pred_opt();
    }
    if s.len() == 4 {
        let y: i32 = s.parse().ok()?;
        return NaiveDate::from_ymd_opt(y, 12, 31);
    }
    None
}

/// Timeline lines on screen while the timeline has focus (what paging moves by).
pub fn timeline_rows(size: ratatui::layout::Rect) -> usize {
    layout::inner_rows(layout::chart(size, false).timeline)
}

fn search_rows(size: ratatui::layout::Rect) -> usize {
    layout::inner_rows(layout::search(size).list)
}

fn clamp_search(state: &mut State) {
    let rows = search_rows(state.size);
    let s = &mut state.search;
    let n = s.shown().len();
    s.cursor = s.cursor.min(n.saturating_sub(1));
    if s.cursor < s.scroll {
        s.scroll = s.cursor;
    } else if s.cursor >= s.scroll + rows {
        s.scroll = s.cursor + 1 - rows;
    }
}

/// Keeps the cursor on screen.
fn follow(c: &mut ChartState, rows: usize) {
    let n = c.visible.len();
    c.cursor = c.cursor.min(n.saturating_sub(1));
    if c.cursor < c.scroll {
        c.scroll = c.cursor;
    } else if c.cursor >= c.scroll + rows {
        c.scroll = c.cursor + 1 - rows;
    }
    c.scroll = c.scroll.min(n.saturating_sub(rows.min(n)));
}

/// Recomputes the visible lines after new data, a filter or a find, keeping the selected item
/// selected once the user has moved.
pub fn refresh_visible(c: &mut ChartState, rows: usize) {
    let keep: Option<Target> = if c.moved { c.selected_target() } else { None };
    let find = c.find.as_ref().map(|f| f.to_lowercase());
    c.visible = c
        .chart
        .timeline
        .iter()
        .enumerate()
        .filter(|(_, item)| c.filter.is_none_or(|k| item.kind == k))
        .filter(|(_, item)| {
            find.as_ref()
                .is_none_or(|f| item.summary.to_lowercase().contains(f.as_str()))
        })
        .map(|(i, _)| i as u32)
        .collect();
    let timeline = &c.chart.timeline;
    c.cursor = keep
        .and_then(|t| {
            c.visible
                .iter()
                .position(|&i| timeline[i as usize].target == t)
        })
        .unwrap_or(if c.moved { c.cursor } else { 0 });
    follow(c, rows);
}

fn open_patient(state: &mut State, row: Row, effects: &mut Vec<Effect>) {
    open_patient_id(state, row.patient.id.clone(), Some(row.patient), effects);
}

/// Opens a chart under a new patient context; `known` (from a search row) fills the banner
/// until the server's copy arrives.
fn open_patient_id(
    state: &mut State,
    id: String,
    known: Option<crate::chart::PatientInfo>,
    effects: &mut Vec<Effect>,
) {
    state.context += 1;
    let mut chart = Chart::for_patient(&id);
    chart.patient = known;
    state.chart = Some(ChartState::new(state.context, chart));
    state.screen = Screen::Chart;
    state.overlay = None;
    effects.push(Effect::OpenChart {
        context: state.context,
        patient_id: id.clone(),
    });
    state.recent_ids.retain(|x| *x != id);
    state.recent_ids.insert(0, id);
    state.recent_ids.truncate(RECENT_MAX);
    // The recent list on screen follows at once.
    let s = &mut state.search;
    let row = state
        .chart
        .as_ref()
        .and_then(|c| c.chart.patient.clone())
        .map(|patient| Row {
            patient,
            matched: Vec::new(),
            location: None,
        });
    if let Some(row) = row {
        let location = s
            .rows
            .iter()
            .chain(&s.recent)
            .find(|r| r.patient.id == row.patient.id)
            .and_then(|r| r.location.clone());
        s.recent.retain(|r| r.patient.id != row.patient.id);
        s.recent.insert(0, Row { location, ..row });
        s.recent.truncate(RECENT_MAX);
    }
    effects.push(Effect::SaveRecent {
        patient_ids: state.recent_ids.clone(),
    });
}

fn act(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    match action {
        Action::ShowHelp => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            return;
        }
        Action::Quit => {
            state.overlay = Some(Overlay::ConfirmQuit);
            return;
        }
        Action::RedrawScreen => {
            state.full_redraw = true;
            return;
        }
        Action::SearchPatients => {
            let was_search = state.screen == Screen::Search;
            state.screen = Screen::Search;
            state.search.focus = SearchFocus::Input;
            if was_search || !state.search.query.is_empty() {
                state.search.query.clear();
                query_changed(state, effects);
            }
            return;
        }
        _ => {}
    }
    match state.screen {
        Screen::Search => search_action(state, action, effects),
        Screen::Chart => chart_action(state, action, effects),
    }
}

fn search_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let rows = search_rows(state.size);
    let s = &mut state.search;
    let n = s.shown().len();
    match action {
        Action::OpenSelected => {
            if let Some(row) = s.shown().get(s.cursor).cloned() {
                open_patient(state, row, effects);
            } else if matches!(s.status, SearchStatus::Typing) {
                // Enter before the pause: search now.
                start_search(state, effects);
            }
            return;
        }
        Action::Back => {
            if state.chart.is_some() {
                state.screen = Screen::Chart;
            } else if !s.query.is_empty() {
                s.query.clear();
                query_changed(state, effects);
            } else {
                s.focus = SearchFocus::Input;
            }
            return;
        }
        Action::NextPane | Action::PreviousPane => {
            s.focus = match s.focus {
                SearchFocus::Input => SearchFocus::List,
                SearchFocus::List => SearchFocus::Input,
            };
        }
        Action::MoveDown => s.cursor = (s.cursor + 1).min(n.saturating_sub(1)),
        Action::MoveUp => s.cursor = s.cursor.saturating_sub(1),
        Action::PageDown => s.cursor = (s.cursor + rows).min(n.saturating_sub(1)),
        Action::PageUp => s.cursor = s.cursor.saturating_sub(rows),
        Action::GoTop => s.cursor = 0,
        Action::GoBottom => s.cursor = n.saturating_sub(1),
        Action::CloseChart => {
            state.chart = None;
        }
        _ => {}
    }
    clamp_search(state);
}

fn chart_action(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    let rows = timeline_rows(state.size);
    let Some(c) = &mut state.chart else {
        state.screen = Screen::Search;
        return;
    };
    let n = c.visible.len();
    let in_detail = c.focus == ChartFocus::Detail && c.view == ChartView::Timeline;
    match action {
        Action::MoveDown
        | Action::MoveUp
        | Action::PageDown
        | Action::PageUp
        | Action::GoTop
        | Action::GoBottom
            if in_detail =>
        {
            let members = detail_members(c);
            let step = |x: usize, a: Action| match a {
                Action::MoveDown => x + 1,
                Action::MoveUp => x.saturating_sub(1),
                Action::PageDown => x + 10,
                Action::PageUp => x.saturating_sub(10),
                Action::GoTop => 0,
                _ => usize::MAX / 2,
            };
            if members > 0 {
                c.detail_cursor = step(c.detail_cursor, action).min(members - 1);
            } else {
                c.detail_scroll = step(c.detail_scroll, action).min(500);
            }
        }
        Action::MoveDown => move_to(c, (c.cursor + 1).min(n.saturating_sub(1)), rows),
        Action::MoveUp => move_to(c, c.cursor.saturating_sub(1), rows),
        Action::PageDown => move_to(c, (c.cursor + rows).min(n.saturating_sub(1)), rows),
        Action::PageUp => move_to(c, c.cursor.saturating_sub(rows), rows),
        Action::GoTop => move_to(c, 0, rows),
        Action::GoBottom => move_to(c, n.saturating_sub(1), rows),
        Action::OpenSelected | Action::NextPane | Action::PreviousPane
            if c.view == ChartView::Timeline =>
        {
            c.focus = match (c.focus, action) {
                (ChartFocus::Timeline, _) => ChartFocus::Detail,
                (ChartFocus::Detail, Action::OpenSelected) => ChartFocus::Detail,
                (ChartFocus::Detail, _) => ChartFocus::Timeline,
            };
        }
        Action::Back => {
            if c.view != ChartView::Timeline {
                c.view = ChartView::Timeline;
            } else if c.focus == ChartFocus::Detail {
                c.focus = ChartFocus::Timeline;
            } else if c.find.is_some() || c.filter.is_some() {
                c.find = None;
                c.filter = None;
                refresh_visible(c, rows);
            } else {
                state.screen = Screen::Search;
            }
        }
        Action::FilterTimeline => {
            let current = c.filter;
            let choices = filter_choices(state);
            let cursor = choices.iter().position(|(k, _)| *k == current).unwrap_or(0);
            state.overlay = Some(Overlay::Filter { cursor });
        }
        Action::FindInChart => {
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::Find,
                input: c.find.clone().unwrap_or_default(),
            })
        }
        Action::JumpToDate => {
            state.overlay = Some(Overlay::Prompt {
                kind: PromptKind::Date,
                input: String::new(),
            })
        }
        Action::ToggleSummary => {
            c.view = if c.view == ChartView::Summary {
                ChartView::Timeline
            } else {
                ChartView::Summary
            };
        }
        Action::ShowTrend => {
            if matches!(c.view, ChartView::Trend { .. }) {
                c.view = ChartView::Timeline;
            } else {
                match trend_target(c) {
                    Some((key, title)) => c.view = ChartView::Trend { key, title },
                    None => {
                        state.notice = Some(Notice {
                            level: Level::Info,
                            text: "trends are for vital signs and results with numbers".into(),
                        })
                    }
                }
            }
        }
        Action::RefreshChart => {
            if let Some(patient) = c.chart.patient.clone() {
                let (cursor, filter, find) = (c.cursor, c.filter, c.find.clone());
                open_patient(
                    state,
                    Row {
                        patient,
                        matched: Vec::new(),
                        location: None,
                    },
                    effects,
                );
                if let Some(c) = &mut state.chart {
                    (c.cursor, c.filter, c.find, c.moved) = (cursor, filter, find, cursor > 0);
                }
            }
        }
        Action::CloseChart => {
            state.chart = None;
            state.screen = Screen::Search;
            state.search.focus = SearchFocus::Input;
        }
        _ => {}
    }
}

fn move_to(c: &mut ChartState, cursor: usize, rows: usize) {
    if cursor != c.cursor {
        c.detail_scroll = 0;
        c.detail_cursor = 0;
    }
    c.cursor = cursor;
    c.moved = true;
    follow(c, rows);
}

/// Lines the detail pane's cursor moves over (a report's results), 0 for scrolled text.
pub fn detail_members(c: &ChartState) -> usize {
    match c.selected_target() {
        Some(Target::Report(i)) => c
            .chart
            .reports
            .get(i as usize)
            .map(|r| c.chart.report_results(r).len())
            .unwrap_or(0),
        _ => 0,
    }
}

/// What `t` trends: the selected observation, or in a report the result under the detail
/// cursor (else its first abnormal, else first numeric result).
fn trend_target(c: &ChartState) -> Option<(String, String)> {
    let chart = &c.chart;
    let obs = match c.selected_target()? {
        Target::Obs(i) => chart.obs_at(i)?,
        Target::Report(i) => {
            let results = chart.report_results(chart.reports.get(i as usize)?);
            if c.focus == ChartFocus::Detail {
                results.get(c.detail_cursor).copied()?
            } else {
                results
                    .iter()
                    .find(|o| o.flag != crate::chart::Flag::Normal && o.number.is_some())
                    .or_else(|| results.iter().find(|o| o.number.is_some()))
                    .copied()?
            }
        }
        Target::Entry(_) => return None,
    };
    let numeric = obs.number.is_some() || obs.components.iter().any(|x| x.number.is_some());
    if !numeric {
        return None;
    }
    Some((obs.key.clone()?, obs.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Keymap;
    use crate::tui::state::Display;
    use crossterm::event::{KeyEvent, KeyEventState};
    use ratatui::layout::Rect;
    use serde_json::json;
    use std::sync::Arc;

    fn state() -> State {
        let display = Display {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            zone: chrono::FixedOffset::east_opt(0).unwrap(),
            ascii: false,
            braille: true,
            server: "http://test/fhir".into(),
        };
        State::new(
            display,
            Arc::new(Keymap::default_keymap()),
            Rect::new(0, 0, 80, 24),
            Vec::new(),
        )
    }

    fn key(s: &mut State, k: &str) -> Vec<Effect> {
        let key = Key::parse(k).unwrap();
        update(
            s,
            Msg::Key(KeyEvent {
                code: key.code,
                modifiers: key.mods,
                kind: KeyEventKind::Press,
                state: KeyEventState::NONE,
            }),
        )
    }

    fn typed(s: &mut State, text: &str) -> Vec<Effect> {
        text.chars().flat_map(|c| key(s, &c.to_string())).collect()
    }

    fn patient(id: &str, family: &str) -> Value {
        json!({"resourceType": "Patient", "id": id, "name": [{"family": family, "given": ["Jo"]}]})
    }

    #[test]
    fn typing_debounces_and_only_the_latest_search_counts() {
        let mut s = state();
        let effects = typed(&mut s, "smi");
        assert_eq!(effects.len(), 3, "one debounce per key");
        assert_eq!(s.search.generation, 3);
        // An old pause fires: nothing is sent.
        assert!(update(&mut s, Msg::SearchDue(2)).is_empty());
        let effects = update(&mut s, Msg::SearchDue(3));
        assert!(
            matches!(&effects[0], Effect::SearchPatients { generation: 3, params }
            if params.contains(&("name", "smi".to_string())))
        );
        // A reply to an older search is dropped.
        update(
            &mut s,
            Msg::SearchDone {
                generation: 2,
                result: Ok(vec![patient("x", "Old")]),
            },
        );
        assert!(s.search.rows.is_empty());
        assert_eq!(s.dropped_stale, 1);
        update(
            &mut s,
            Msg::SearchDone {
                generation: 3,
                result: Ok(vec![patient("p", "Smith")]),
            },
        );
        assert_eq!(s.search.rows.len(), 1);
        assert_eq!(s.search.status, SearchStatus::Done);
    }

    #[test]
    fn slash_clears_the_query_except_inside_a_date() {
        let mut s = state();
        typed(&mut s, "14/03/1956");
        assert_eq!(s.search.query, "14/03/1956");
        typed(&mut s, " smith/");
        assert_eq!(s.search.query, "");
    }

    #[test]
    fn opening_a_patient_tags_requests_and_drops_late_replies() {
        let mut s = state();
        typed(&mut s, "smith");
        let due = s.search.generation;
        update(&mut s, Msg::SearchDue(due));
        let generation = s.search.generation;
        update(
            &mut s,
            Msg::SearchDone {
                generation,
                result: Ok(vec![patient("a", "Smith"), patient("b", "Smith")]),
            },
        );
        let effects = key(&mut s, "enter");
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::OpenChart { context: 1, .. }))
        );
        assert_eq!(s.screen, Screen::Chart);
        // Back to search, open the second patient: context 2.
        key(&mut s, "/");
        typed(&mut s, "smith");
        let due = s.search.generation;
        update(&mut s, Msg::SearchDue(due));
        let generation = s.search.generation;
        update(
            &mut s,
            Msg::SearchDone {
                generation,
                result: Ok(vec![patient("a", "Smith"), patient("b", "Smith")]),
            },
        );
        key(&mut s, "down");
        key(&mut s, "enter");
        assert_eq!(s.chart.as_ref().unwrap().patient_id, "b");
        // The first chart's page arrives late: dropped, not merged.
        let late = json!({"resourceType": "Observation", "id": "o", "subject": {"reference": "Patient/a"},
                          "effectiveDateTime": "2026-01-01", "code": {"text": "K"}});
        update(
            &mut s,
            Msg::ChartPage {
                context: 1,
                result: Ok(vec![late]),
            },
        );
        assert!(s.chart.as_ref().unwrap().chart.timeline.is_empty());
        assert_eq!(s.dropped_stale, 1);
        assert_eq!(s.recent_ids, ["b", "a"]);
    }

    #[test]
    fn quit_asks_first_from_anywhere() {
        let mut s = state();
        key(&mut s, "?");
        assert!(matches!(s.overlay, Some(Overlay::Help { .. })));
        key(&mut s, "ctrl-c");
        assert_eq!(s.overlay, Some(Overlay::ConfirmQuit));
        key(&mut s, "n");
        assert!(!s.quit && s.overlay.is_none());
        key(&mut s, "ctrl-c");
        key(&mut s, "y");
        assert!(s.quit);
    }

    #[test]
    fn a_failed_chart_page_keeps_what_arrived_and_says_so() {
        let mut s = state();
        update(&mut s, Msg::OpenPatient("p".into()));
        update(
            &mut s,
            Msg::ChartPage {
                context: 1,
                result: Ok(vec![
                    json!({"resourceType": "Encounter", "id": "e", "status": "finished",
                "subject": {"reference": "Patient/p"}, "period": {"start": "2026-01-01"}}),
                ]),
            },
        );
        update(
            &mut s,
            Msg::ChartPage {
                context: 1,
                result: Err(FetchError::Timeout(30)),
            },
        );
        let c = s.chart.as_ref().unwrap();
        assert_eq!(c.chart.timeline.len(), 1);
        assert!(!c.loading);
        assert!(c.error.as_deref().unwrap().contains("within 30 s"));
    }
}
