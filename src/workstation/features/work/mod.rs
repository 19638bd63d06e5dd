//! My unsigned work (F7): for a prescriber, the medication orders nurses filed as drafts,
//! waiting for a co-signature (Enter opens the chart and reviews the order with the checks
//! re-run: `y` signs, `x` rejects with a reason); for a nurse, the drafts they entered and
//! what became of each (waiting, signed by whom, rejected and why); for both, the notes and
//! addenda they saved unsigned.

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::work::{Draft, Unsigned};

/// How often the list is asked again while it is on screen.
pub const POLL_SECONDS: u64 = 60;

/// A nurse sees the drafts entered in this many days.
pub const NURSE_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WorkTab {
    #[default]
    Orders,
    Notes,
    /// Messages to me (a note or result of mine moved to another chart, and the like).
    Messages,
}

/// A message addressed to me.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub sent: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkState {
    pub tab: WorkTab,
    /// The user enters drafts (a nurse) rather than co-signing them.
    pub nurse: bool,
    /// `None`: not read yet; `Err`: could not be read (never shown as none).
    pub drafts: Option<Result<Vec<Draft>, String>>,
    pub notes: Option<Result<Vec<Unsigned>, String>>,
    pub messages: Option<Result<Vec<Message>, String>>,
    pub cursor: usize,
    pub loading: bool,
    pub loaded_ms: Option<i64>,
    pub generation: u64,
    /// The draft being reviewed (its chart open), and the override reasons given.
    pub reviewing: Option<Draft>,
    pub overrides: Vec<(String, String)>,
    /// A co-signature or rejection is on its way.
    pub sending: bool,
}

impl WorkState {
    /// How many lines the tab shown has.
    pub fn lines(&self) -> usize {
        match self.tab {
            WorkTab::Orders => self
                .drafts
                .as_ref()
                .and_then(|d| d.as_ref().ok())
                .map_or(0, Vec::len),
            WorkTab::Notes => self
                .notes
                .as_ref()
                .and_then(|d| d.as_ref().ok())
                .map_or(0, Vec::len),
            WorkTab::Messages => self
                .messages
                .as_ref()
                .and_then(|d| d.as_ref().ok())
                .map_or(0, Vec::len),
        }
    }

    pub fn selected_draft(&self) -> Option<&Draft> {
        match self.tab {
            WorkTab::Orders => self.drafts.as_ref()?.as_ref().ok()?.get(self.cursor),
            WorkTab::Notes | WorkTab::Messages => None,
        }
    }

    pub fn selected_note(&self) -> Option<&Unsigned> {
        match self.tab {
            WorkTab::Notes => self.notes.as_ref()?.as_ref().ok()?.get(self.cursor),
            WorkTab::Orders | WorkTab::Messages => None,
        }
    }
}
