//! The ward's census: pick a ward, see one row per patient staying there (bed, name, age and
//! sex, days since admission, attending, allergies, NEWS2 and its trend, results waiting for
//! review, unsigned notes, orders waiting for co-signature), sorted from the keyboard, kept up
//! to date while it is on screen, Enter to open a chart and the list one key away (F4).

pub mod msg;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::census::{Fetched, Row, Sort, Ward};

/// How often the census is asked again while it is on screen.
pub const POLL_SECONDS: u64 = 60;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CensusState {
    /// The site's wards: `None` while they are asked for.
    pub wards: Option<Result<Vec<Ward>, String>>,
    /// The ward picker is open (with its cursor).
    pub picking: Option<usize>,
    pub ward: Option<Ward>,
    pub fetched: Option<Fetched>,
    /// The rows, in `sort` order.
    pub rows: Vec<Row>,
    pub sort: Sort,
    pub cursor: usize,
    pub loading: bool,
    /// Why the last load failed (the rows shown, if any, are from before).
    pub error: Option<String>,
    /// When the rows shown were fetched (epoch ms).
    pub loaded_ms: Option<i64>,
    /// Answers for an earlier request are dropped.
    pub generation: u64,
    /// A chart was opened from the list: closing it comes back here.
    pub opened_from: bool,
}
