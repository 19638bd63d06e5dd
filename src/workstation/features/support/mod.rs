//! The support desk (F8, for the `support` role): duplicate patients (compared side by side,
//! marked not a duplicate, merged after a preview, the last merge undone), a record as the
//! server holds it (formatted JSON that folds and is searched, references to follow, its
//! versions and what changed between two, written to a file), a chart as it was at a past
//! moment, the access log of a patient or a user (exported as CSV), the data-quality scan
//! and the server's status. Every answer that could not be read is shown as not known.

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use serde_json::Value;

use crate::fhir::diff::Change;
use crate::workstation::support::raw::{Line, Version};
use crate::workstation::support::{Access, MergePreview, Pair, QualityKind};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeskTab {
    #[default]
    Duplicates,
    Record,
    AsOf,
    Access,
    Quality,
    Status,
}

impl DeskTab {
    pub const ALL: [DeskTab; 6] = [
        DeskTab::Duplicates,
        DeskTab::Record,
        DeskTab::AsOf,
        DeskTab::Access,
        DeskTab::Quality,
        DeskTab::Status,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DeskTab::Duplicates => "Duplicates",
            DeskTab::Record => "Record",
            DeskTab::AsOf => "As of",
            DeskTab::Access => "Access log",
            DeskTab::Quality => "Quality",
            DeskTab::Status => "Server",
        }
    }

    fn step(self, by: isize) -> DeskTab {
        let i = DeskTab::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        let n = DeskTab::ALL.len() as isize;
        DeskTab::ALL[((i + by).rem_euclid(n)) as usize]
    }
}

/// What a prompt of the desk asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `Type/id` of a record to open.
    OpenRecord,
    /// Text to find in the record.
    Find,
    /// Why the selected pair is two people.
    NotDuplicate,
    /// Why the previewed merge is done.
    MergeReason,
    /// Why the merge goes ahead although both records have active orders.
    OrdersReason,
    /// Why the last merge is undone.
    UndoReason,
    /// A patient id and a moment: `ID 2026-12-01T03:00`.
    AsOf,
    /// Whose log: a patient id, or `user:NAME`, then filters.
    AccessFor,
    /// Where the record open belongs: `PATIENT-ID: reason`.
    MoveTo,
}

/// What the desk asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Duplicates,
    Quality,
    Status,
    /// The record and its history.
    Record(String),
    AsOf {
        patient: String,
        at: String,
    },
    Access {
        patient: Option<String>,
        user: Option<String>,
        /// More conditions: role, subtype (the action), date (ge/le), emergency.
        filters: Vec<(String, String)>,
    },
    /// Move a note or result filed to the wrong patient.
    Move {
        reference: String,
        target: String,
        reason: String,
    },
    /// Both patients, both merge previews, their last stays.
    Compare {
        a: String,
        b: String,
    },
    MergePreview {
        source: String,
        target: String,
    },
    Merge {
        source: String,
        target: String,
        reason: String,
        orders_reason: Option<String>,
    },
    Unmerge {
        provenance: String,
        reason: String,
    },
    NotDuplicate {
        a: String,
        b: String,
        reason: String,
    },
}

/// Two records side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub a: String,
    pub b: String,
    /// For each: demographics and identifiers (label, value), counts of records, active
    /// orders, last stay.
    pub sides: [Side; 2],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    pub lines: Vec<(String, String)>,
}

/// A record opened on the desk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordView {
    pub reference: String,
    pub resource: Value,
    pub lines: Vec<Line>,
    pub folded: Vec<usize>,
    /// The line the cursor is on (an index into `lines`).
    pub cursor: usize,
    pub find: String,
    pub versions: Option<Result<Vec<Version>, String>>,
    /// Showing the versions list instead of the JSON; its cursor.
    pub history: Option<usize>,
    /// A version marked to compare with (`z` in the versions list; else the one below).
    pub marked: Option<usize>,
    /// The changes from the version compared with to the selected one.
    pub diff: Option<(String, String, Vec<Change>)>,
    /// Where it came from: meta.source, tags, labels, and Provenances naming it.
    pub origin: Vec<String>,
    /// Who wrote each version (from the audit trail): version, user and role. `None`: the
    /// trail could not be read.
    pub writers: Option<Vec<(String, String)>>,
}

pub use crate::workstation::support::Was;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeskState {
    pub tab: DeskTab,
    pub cursor: usize,
    pub generation: u64,
    pub loading: bool,
    /// `None`: not read yet; `Err`: could not be read (never shown as none found).
    pub pairs: Option<Result<(usize, Vec<Pair>), String>>,
    pub compared: Option<Result<Compared, String>>,
    /// A merge previewed, waiting for its reason.
    pub merge: Option<MergePreview>,
    pub merge_reason: Option<String>,
    /// The last merge done here, for undo: its Provenance and the two patients.
    pub last_merge: Option<(String, String)>,
    pub record: Option<Result<RecordView, String>>,
    /// Records opened before, to go back to after following a reference.
    pub trail: Vec<String>,
    pub as_of: Option<Result<Vec<Was>, String>>,
    pub as_of_label: String,
    pub access: Option<Result<Vec<Access>, String>>,
    pub access_label: String,
    pub quality: Option<Result<Vec<QualityKind>, String>>,
    pub status: Option<Result<Vec<(String, String)>, String>>,
    /// A write on its way.
    pub sending: bool,
}

impl DeskState {
    /// The lines of the list on the tab shown.
    pub fn lines(&self) -> usize {
        match self.tab {
            DeskTab::Duplicates => ok_len(self.pairs.as_ref().map(|r| r.as_ref().map(|p| &p.1))),
            DeskTab::Record => match &self.record {
                Some(Ok(r)) => match r.history {
                    Some(_) => r
                        .versions
                        .as_ref()
                        .and_then(|v| v.as_ref().ok())
                        .map_or(0, Vec::len),
                    None => crate::workstation::support::raw::visible(&r.lines, &r.folded).len(),
                },
                _ => 0,
            },
            DeskTab::AsOf => ok_len(self.as_of.as_ref().map(|r| r.as_ref())),
            DeskTab::Access => ok_len(self.access.as_ref().map(|r| r.as_ref())),
            DeskTab::Quality => self
                .quality
                .as_ref()
                .and_then(|q| q.as_ref().ok())
                .map_or(0, |q| q.iter().map(|k| 1 + k.records.len()).sum()),
            DeskTab::Status => ok_len(self.status.as_ref().map(|r| r.as_ref())),
        }
    }

    pub fn selected_pair(&self) -> Option<&Pair> {
        (self.tab == DeskTab::Duplicates)
            .then(|| self.pairs.as_ref()?.as_ref().ok()?.1.get(self.cursor))
            .flatten()
    }

    /// The record reference under the cursor of a list (quality, as it was, access).
    pub fn selected_reference(&self) -> Option<String> {
        match self.tab {
            DeskTab::Quality => {
                let kinds = self.quality.as_ref()?.as_ref().ok()?;
                let mut i = 0;
                for k in kinds {
                    if i == self.cursor {
                        return None;
                    }
                    i += 1;
                    for (r, _) in &k.records {
                        if i == self.cursor {
                            return Some(r.clone());
                        }
                        i += 1;
                    }
                }
                None
            }
            DeskTab::AsOf => self
                .as_of
                .as_ref()?
                .as_ref()
                .ok()?
                .get(self.cursor)
                .map(|w| format!("{}/_history/{}", w.reference, w.version)),
            DeskTab::Access => self
                .access
                .as_ref()?
                .as_ref()
                .ok()?
                .get(self.cursor)
                .and_then(|a| {
                    a.records
                        .first()
                        .cloned()
                        .or_else(|| a.patients.first().map(|p| format!("Patient/{p}")))
                }),
            _ => None,
        }
    }
}

fn ok_len<T>(v: Option<Result<&Vec<T>, &String>>) -> usize {
    match v {
        Some(Ok(v)) => v.len(),
        _ => 0,
    }
}
