//! Everything the workstation shows, in one value that `update` changes and `view` reads.

use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate};
use ratatui::layout::Rect;
use serde_json::Value;

use crate::chart::{Chart, Kind, PatientInfo, Target};
use crate::client::FetchError;

use super::keymap::Keymap;

/// Messages into `update`: keys, and the results of effects, tagged with what they were for.
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Resize(u16, u16),
    /// An action from outside the keymap (tests, the command line).
    Action(super::action::Action),
    Tick,
    /// Open a chart by patient id (tests, and typed commands later).
    OpenPatient(String),
    SearchDue(u64),
    SearchDone {
        generation: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    Locations(Vec<(String, Option<String>)>),
    RecentLoaded(Result<Vec<Value>, FetchError>),
    ChartPatient {
        context: u64,
        result: Result<Value, FetchError>,
    },
    ChartAllergies {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    ChartPage {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    ChartDone {
        context: u64,
    },
    /// The terminal went away or a signal asked us to stop.
    Shutdown(&'static str),
}

/// Work for the runtime; results come back as `Msg`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Debounce {
        generation: u64,
    },
    SearchPatients {
        generation: u64,
        params: Vec<(&'static str, String)>,
    },
    FetchLocations {
        patient_ids: Vec<String>,
    },
    LoadRecent {
        patient_ids: Vec<String>,
    },
    SaveRecent {
        patient_ids: Vec<String>,
    },
    OpenChart {
        context: u64,
        patient_id: String,
    },
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Search,
    Chart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchFocus {
    Input,
    List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchStatus {
    /// Nothing typed: recent patients.
    Recent,
    /// Typed, waiting for the pause that starts a search.
    Typing,
    Searching,
    Done,
    Hint(String),
    NoMatch,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub patient: PatientInfo,
    pub matched: Vec<usize>,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchState {
    pub query: String,
    pub generation: u64,
    pub focus: SearchFocus,
    pub status: SearchStatus,
    pub rows: Vec<Row>,
    pub recent: Vec<Row>,
    pub cursor: usize,
    pub scroll: usize,
}

impl SearchState {
    /// The rows on screen: search results, or recent patients before any typing.
    pub fn shown(&self) -> &[Row] {
        if self.query.trim().is_empty() {
            &self.recent
        } else {
            &self.rows
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFocus {
    Timeline,
    Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartView {
    Timeline,
    Summary,
    Trend { key: String, title: String },
}

#[derive(Debug)]
pub struct ChartState {
    /// The patient-context generation every request for this chart carries.
    pub context: u64,
    pub patient_id: String,
    pub chart: Chart,
    pub loading: bool,
    pub error: Option<String>,
    pub focus: ChartFocus,
    pub view: ChartView,
    pub filter: Option<Kind>,
    pub find: Option<String>,
    /// Timeline indexes that pass the filter and the find text.
    pub visible: Vec<u32>,
    pub cursor: usize,
    pub scroll: usize,
    pub detail_scroll: usize,
    pub detail_cursor: usize,
    /// Once the user moves, new pages keep their item selected instead of the newest.
    pub moved: bool,
}

impl ChartState {
    /// A chart being loaded under patient context `context`, timeline focused, newest first.
    pub fn new(context: u64, chart: Chart) -> ChartState {
        ChartState {
            context,
            patient_id: chart.owner().unwrap_or_default().to_string(),
            chart,
            loading: true,
            error: None,
            focus: ChartFocus::Timeline,
            view: ChartView::Timeline,
            filter: None,
            find: None,
            visible: Vec::new(),
            cursor: 0,
            scroll: 0,
            detail_scroll: 0,
            detail_cursor: 0,
            moved: false,
        }
    }

    pub fn selected(&self) -> Option<&crate::chart::Item> {
        let i = *self.visible.get(self.cursor)?;
        self.chart.timeline.get(i as usize)
    }

    pub fn selected_target(&self) -> Option<Target> {
        self.selected().map(|i| i.target)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    Find,
    Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help { scroll: usize },
    Filter { cursor: usize },
    Prompt { kind: PromptKind, input: String },
    ConfirmQuit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Display settings fixed at start: the clock and zone for ages and times, and what the
/// terminal can show.
#[derive(Debug, Clone)]
pub struct Display {
    pub today: NaiveDate,
    pub zone: FixedOffset,
    /// No Unicode box drawing or braille: ASCII only.
    pub ascii: bool,
    /// Braille dots for trend charts (not on the Linux console's fonts).
    pub braille: bool,
    pub server: String,
}

pub struct State {
    pub screen: Screen,
    pub search: SearchState,
    pub chart: Option<ChartState>,
    pub overlay: Option<Overlay>,
    pub notice: Option<Notice>,
    pub size: Rect,
    pub display: Display,
    pub keymap: Arc<Keymap>,
    pub recent_ids: Vec<String>,
    pub spinner: usize,
    pub tick_pending: bool,
    /// The last patient context handed out.
    pub context: u64,
    /// Late replies dropped because they were for another patient or an older search.
    pub dropped_stale: u64,
    pub dirty: bool,
    pub full_redraw: bool,
    pub quit: bool,
}

impl State {
    pub fn new(
        display: Display,
        keymap: Arc<Keymap>,
        size: Rect,
        recent_ids: Vec<String>,
    ) -> State {
        let notice = (!keymap.problems.is_empty()).then(|| Notice {
            level: Level::Warning,
            text: format!(
                "keymap: {} (defaults used for that part)",
                keymap.problems[0]
            ),
        });
        State {
            screen: Screen::Search,
            search: SearchState {
                query: String::new(),
                generation: 0,
                focus: SearchFocus::Input,
                status: SearchStatus::Recent,
                rows: Vec::new(),
                recent: Vec::new(),
                cursor: 0,
                scroll: 0,
            },
            chart: None,
            overlay: None,
            notice,
            size,
            display,
            keymap,
            recent_ids,
            spinner: 0,
            tick_pending: false,
            context: 0,
            dropped_stale: 0,
            dirty: true,
            full_redraw: false,
            quit: false,
        }
    }

    /// Something is on its way from the server (the spinner turns).
    pub fn busy(&self) -> bool {
        matches!(self.search.status, SearchStatus::Searching)
            || self.chart.as_ref().is_some_and(|c| c.loading)
    }

    /// Effects to start when the app starts.
    pub fn startup(&self) -> Vec<Effect> {
        if self.recent_ids.is_empty() {
            Vec::new()
        } else {
            vec![Effect::LoadRecent {
                patient_ids: self.recent_ids.clone(),
            }]
        }
    }
}
