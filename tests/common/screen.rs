//! The workstation drawn headless against a test server, signed in with a token, and what
//! tests read of it.
#![allow(dead_code)]

use bedside::workstation::Options;
use bedside::workstation::headless::{Headless, test_display};
use bedside::workstation::state::State;

/// The workstation at `width`x`height`, signed in with `token` as `author`, today's date real.
pub fn workstation(base: &str, token: &str, author: &str, width: u16, height: u16) -> Headless {
    let mut options = Options::new(base);
    options.token = Some(token.to_string());
    options.author = author.into();
    let display = test_display(base, chrono::Utc::now().date_naive());
    Headless::with_options(options, display, width, height).expect("headless workstation")
}

/// A chart is open and has finished loading.
pub fn loaded(s: &State) -> bool {
    s.chart.as_ref().is_some_and(|c| !c.loading)
}

/// The message on the status line, or "".
pub fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}
