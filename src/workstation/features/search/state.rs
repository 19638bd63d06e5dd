//! The search screen: the query, its status and the rows.

use crate::workstation::chart::PatientInfo;

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
    /// `:open MRN`: open the chart when the search finds exactly one patient.
    pub open_single: bool,
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
