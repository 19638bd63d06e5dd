//! The open chart: the patient context, the timeline cursor and view, what is opening.

use crate::workstation::chart::{Chart, Kind, Target};
use crate::workstation::features::note::state::*;
use crate::workstation::features::orders::state::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFocus {
    Timeline,
    Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartView {
    Timeline,
    Summary,
    Trend {
        key: String,
        title: String,
    },
    Note,
    Orders,
    Vitals,
    Lists,
    /// The patient's registration details being edited (`features/register`).
    Demographics,
}

/// How a chart is being opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opening {
    /// Check for a restricted record first (false once the glass is broken).
    pub check: bool,
    /// The user is support staff: clinical content needs break-the-glass on any chart.
    pub support: bool,
}

impl Opening {
    /// Nothing clinical is shown, from the server or the cache, until the glass is broken.
    pub fn withholds(self) -> bool {
        self.check && self.support
    }
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
    pub note: Option<NoteState>,
    pub orders: Option<OrdersState>,
    /// The vital-signs pane of this chart (its entry is kept when the pane closes).
    pub vitals: Option<crate::workstation::features::vitals::state::VitalsState>,
    /// The allergies-and-problems pane of this chart (a form being filled is kept).
    pub lists: Option<crate::workstation::features::lists::state::ListsState>,
    /// Clinical content withheld until the glass is broken: `true` for a restricted record,
    /// `false` for support staff (who see demographics only).
    pub withheld: Option<bool>,
    /// How the chart is being opened: what `update` decides on when the record arrives.
    pub opening: Opening,
    /// Shown from the cache, fetched from the server at this time (ms): until the server's
    /// changes are merged in, or for as long as the server cannot be reached.
    pub cached: Option<i64>,
    /// Interactions and duplicates already among the active medications (most severe first).
    pub review: Vec<crate::workstation::orders::checks::Alert>,
    /// The first line of the summary shown, when it is one scrolling column.
    pub summary_scroll: usize,
    /// An emergency (break-the-glass) grant on this chart ends at this time (epoch ms).
    pub grant_until: Option<i64>,
    /// Other patients with this patient's family and first given name, once known; shown on
    /// the banner until acknowledged.
    pub namesakes: Option<usize>,
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
            note: None,
            orders: None,
            vitals: None,
            lists: None,
            withheld: None,
            opening: Opening::default(),
            cached: None,
            review: Vec::new(),
            namesakes: None,
            grant_until: None,
            summary_scroll: 0,
        }
    }

    pub fn selected(&self) -> Option<&crate::workstation::chart::Item> {
        let i = *self.visible.get(self.cursor)?;
        self.chart.timeline.get(i as usize)
    }

    pub fn selected_target(&self) -> Option<Target> {
        self.selected().map(|i| i.target)
    }
}
