//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::census::adt::AdtChange;
use crate::workstation::census::{Fetched, ListChange};
use crate::workstation::client::FetchError;

#[derive(Debug)]
pub enum Msg {
    /// What the lists are made from: the site's Locations (its wards), my teams (CareTeams
    /// with no patient that name me) and my own lists; `None` when not asked (no practitioner).
    Lists {
        generation: u64,
        locations: Result<Vec<Value>, FetchError>,
        teams: Option<Result<Vec<Value>, FetchError>>,
        personal: Option<Result<Vec<Value>, FetchError>>,
        /// The server could not be reached: these are this terminal's sealed copy, from then.
        cached_at: Option<i64>,
    },
    /// A list's rows as the server answered them (`key`: the list's `Source::key`); when it
    /// could not be reached, the snapshot kept of that list and when it was fetched.
    Loaded {
        generation: u64,
        key: String,
        result: Result<Fetched, FetchError>,
        cached: Option<Box<(Fetched, i64)>>,
    },
    /// Time to ask again (the list is refreshed if it is still on screen).
    Due { generation: u64 },
    /// A ward's beds and the stays under way there (with their patients).
    Board {
        generation: u64,
        result: Result<(Vec<Value>, Vec<Value>), FetchError>,
    },
    /// The answer to an admission, transfer or discharge.
    AdtDone {
        change: Box<AdtChange>,
        result: Result<(), FetchError>,
    },
    /// What the handoff is filled from, for the patients asked.
    Handoffs {
        generation: u64,
        result: Result<crate::workstation::handoff::Parts, FetchError>,
    },
    /// The answer to saving `name`'s handoff.
    HandoffSaved {
        name: String,
        result: Result<Value, FetchError>,
    },
    /// Where the list's handoff was written (the text file), or why not.
    HandoffWritten { result: Result<String, String> },
    /// One of my own lists was changed (or made: its id), or not. Always reported, whatever
    /// is on screen by then.
    ListChanged {
        change: ListChange,
        result: Result<Option<String>, FetchError>,
    },
}
