//! The results inbox (F6): the results waiting for the signed-in clinician's review, grouped
//! per patient, critical and abnormal first, each with its value, flag, range and the value
//! before it; acknowledged one at a time, a patient's all, or all the normal ones at once, on
//! the server (the review Tasks completed), so every terminal sees the same list; forwarded to
//! a colleague with a comment (the Task's owner changed). The safety net (`S`): the critical
//! results still waiting after hours and the abnormal ones after days, mine or everyone's by
//! the clinician responsible (for the ward manager).

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::inbox::{Group, Item, Urgency};

/// How often the inbox is asked again while it is on screen.
pub const POLL_SECONDS: u64 = 60;

/// How often any terminal asks whether a critical result is waiting for its user.
pub const CRITICAL_SECONDS: u64 = 15;

/// Critical results reach the clinician responsible on whatever screen they are: a message on
/// the status line, never a pop-up that takes the keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriticalWatch {
    /// Review Tasks already told about.
    pub seen: std::collections::HashSet<String>,
    pub generation: u64,
    /// The last look failed (said once, until one succeeds again).
    pub failing: bool,
}

/// What the inbox shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxView {
    /// My results waiting for review.
    #[default]
    Mine,
    /// The safety net: my results waiting too long.
    OverdueMine,
    /// The safety net: everyone's results waiting too long, by the clinician responsible.
    OverdueAll,
}

impl InboxView {
    pub fn next(self) -> InboxView {
        match self {
            InboxView::Mine => InboxView::OverdueMine,
            InboxView::OverdueMine => InboxView::OverdueAll,
            InboxView::OverdueAll => InboxView::Mine,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxState {
    pub view: InboxView,
    /// The result being forwarded (its colleague and comment are asked for).
    pub forwarding: Option<Item>,
    pub groups: Vec<Group>,
    /// The item with the cursor, counted across the groups.
    pub cursor: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub loaded_ms: Option<i64>,
    pub generation: u64,
    /// An acknowledgement is on its way.
    pub sending: bool,
}

impl InboxState {
    /// Every item in order, with its group.
    pub fn items(&self) -> Vec<(&Group, &Item)> {
        self.groups
            .iter()
            .flat_map(|g| g.items.iter().map(move |i| (g, i)))
            .collect()
    }

    pub fn selected(&self) -> Option<(&Group, &Item)> {
        self.items().into_iter().nth(self.cursor)
    }

    /// How many are critical, abnormal, normal.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut out = (0, 0, 0);
        for (_, i) in self.items() {
            match i.urgency {
                Urgency::Critical => out.0 += 1,
                Urgency::Abnormal => out.1 += 1,
                Urgency::Normal => out.2 += 1,
            }
        }
        out
    }
}
