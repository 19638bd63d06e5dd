//! Patient lists: pick a list (my patients, a team's, one of my own, a ward's census), see one
//! row per patient (bed, name, age and sex, days since admission, attending, allergies, NEWS2
//! and its trend, results waiting for review, unsigned notes, orders waiting for
//! co-signature), sorted from the keyboard, kept up to date while it is on screen, Enter to
//! open a chart and the list one key away (F4). My own lists are kept on the server (a FHIR
//! `List`), so they follow me to any terminal: a patient is added from the chart (`+`) and
//! taken off on the list (`x`).

pub mod adt;
pub mod handoff;
pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::census::adt::{AdtChange, BedRow};
use crate::workstation::census::{Fetched, Row, Sort, Source, Ward};

/// How often the list is asked again while it is on screen.
pub const POLL_SECONDS: u64 = 60;

/// A line of the list picker: a list to open, or a new list of my own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Open(Source),
    NewList,
}

/// A ward's bed board: its beds, free or with whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub ward: Ward,
    /// `None` while asked for.
    pub beds: Option<Result<Vec<BedRow>, String>>,
    pub cursor: usize,
    pub generation: u64,
}

/// An admission, transfer or discharge being chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum AdtKind {
    Admit,
    Transfer { stay_id: String },
    Discharge { stay_id: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AdtStep {
    /// Which ward (the cursor over the wards).
    Ward(usize),
    /// Which bed (on the bed board).
    Bed,
    /// Where the patient goes (the cursor over the dispositions).
    Disposition(usize),
    /// The change, named in full, waiting for Enter.
    Confirm(Box<AdtChange>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Adt {
    pub kind: AdtKind,
    /// The patient (id, name).
    pub patient: (String, String),
    pub step: AdtStep,
    /// Started from a chart: done or not, the chart comes back.
    pub from_chart: bool,
}

/// The I-PASS handoff of one patient, being edited.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffEdit {
    pub row: Row,
    pub ipass: crate::workstation::handoff::IPass,
    /// As read (or filled in), to know whether anything was typed.
    pub original: crate::workstation::handoff::IPass,
    /// The latest kept on the server (anyone's).
    pub saved: Option<crate::workstation::handoff::Saved>,
    /// 0: the severity; 1 to 4: the text parts.
    pub field: usize,
    pub loading: bool,
    pub sending: bool,
    pub generation: u64,
    /// Esc once with changes: Esc again discards them.
    pub discard_armed: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CensusState {
    /// The handoff being edited (`h`).
    pub handoff: Option<HandoffEdit>,
    /// The whole list's handoff is being read to be written (its request).
    pub printing: Option<u64>,
    /// An admission, transfer or discharge being chosen.
    pub adt: Option<Adt>,
    /// The bed board shown (`b`), or the one a bed is chosen from.
    pub board: Option<Board>,
    /// The lists the user can open: `None` while they are asked for.
    pub lists: Option<Result<Vec<Source>, String>>,
    /// Part of the lists could not be read (my teams, my own lists): said above the picker.
    pub lists_note: Option<String>,
    /// The list picker is open (with its cursor).
    pub picking: Option<usize>,
    /// A patient (id, name) is being added to one of my lists: the picker offers only those,
    /// and a new one; done or not, the chart comes back.
    pub adding: Option<(String, String)>,
    pub source: Option<Source>,
    pub fetched: Option<Fetched>,
    /// The rows shown: in `sort` order, those `filter` keeps.
    pub rows: Vec<Row>,
    pub sort: Sort,
    pub filter: crate::workstation::census::Filter,
    pub cursor: usize,
    pub loading: bool,
    /// Why the last load failed (the rows shown, if any, are from before).
    pub error: Option<String>,
    /// When the rows shown were fetched (epoch ms).
    pub loaded_ms: Option<i64>,
    /// The rows shown are this terminal's sealed snapshot, fetched then (the server could
    /// not be reached).
    pub cached_from: Option<i64>,
    /// Answers for an earlier request are dropped.
    pub generation: u64,
    /// The same for the lists (asked apart from the rows).
    pub lists_generation: u64,
    /// A chart was opened from the list: closing it comes back here.
    pub opened_from: bool,
}

impl CensusState {
    /// The picker's lines: every list (while adding a patient, only my own lists), then a new
    /// list of my own when the user has a practitioner to own it.
    pub fn picks(&self, me: bool) -> Vec<Pick> {
        let lists = match &self.lists {
            Some(Ok(l)) => l.clone(),
            _ => Vec::new(),
        };
        let mut out: Vec<Pick> = lists
            .into_iter()
            .filter(|s| self.adding.is_none() || s.is_personal())
            .map(Pick::Open)
            .collect();
        if me && self.lists.as_ref().is_some_and(|l| l.is_ok()) {
            out.push(Pick::NewList);
        }
        out
    }
}

impl CensusState {
    /// The wards among the lists.
    pub fn wards(&self) -> Vec<Ward> {
        match &self.lists {
            Some(Ok(l)) => l
                .iter()
                .filter_map(|s| match s {
                    Source::Ward(w) => Some(w.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
