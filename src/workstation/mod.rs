//! The workstation: a terminal UI in one-way data flow (terminal event -> keymap -> action ->
//! update -> effects in tokio tasks -> results back as messages -> pure view).

pub mod action;
pub mod app;
pub mod backend;
pub mod census;
pub mod chart;
pub mod client;
pub mod editor;
pub mod features;
pub mod handoff;
pub mod headless;
pub mod inbox;
pub mod keymap;
pub mod layout;
pub mod line;
pub mod msg;
pub mod notes;
pub mod orders;
pub mod query;
pub mod recent;
pub mod record;
pub mod runtime;
pub mod settings;
pub mod state;
pub mod support;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod update;
pub mod vault;
pub mod view;
pub mod work;
pub mod wrap;

pub use app::{App, Options, run_terminal};
pub use runtime::provider::Renewal;

/// `1 order`, `2 orders`, `0 orders`: a count that agrees with its noun (`plural` for the
/// irregular: `count(n, "match", "matches")`).
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
