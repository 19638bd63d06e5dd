//! What the runtime reports to this feature.

use serde_json::Value;

use crate::workstation::client::FetchError;

/// The open chart's facts (each tagged with the context it was asked for).
#[derive(Debug)]
pub enum Msg {
    /// Open a chart by patient id (tests, and typed commands later).
    Open(String),
    Patient {
        context: u64,
        result: Result<Value, FetchError>,
    },
    Allergies {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    Page {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    Done {
        context: u64,
    },
    /// Patients found by the name of the chart's patient (for the similar-name warning).
    Namesakes {
        context: u64,
        result: Result<Vec<Value>, FetchError>,
    },
    /// What the server answered to one of the chart's searches (counts, cut short, failed).
    Answer {
        context: u64,
        answer: crate::workstation::chart::Answer,
    },
    /// The chart as the cache held it, shown while the server is asked for changes.
    Cached {
        context: u64,
        resources: Vec<Value>,
        fetched_ms: i64,
    },
    /// The cached chart with the server's changes merged in: replaces what is shown.
    Merged {
        context: u64,
        resources: Vec<Value>,
    },
}
