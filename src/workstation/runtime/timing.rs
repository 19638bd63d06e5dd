//! How long the runtime waits, and how much it asks for at once.

use std::time::Duration;

/// The pause after the last keystroke before a search is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// How often the spinner turns while something loads.
pub const SPIN: Duration = Duration::from_millis(120);
/// Resources per `$everything` page.
pub const EVERYTHING_PAGE: usize = 250;

/// How soon after an edit the draft is written (never more is lost to a crash).
pub const AUTOSAVE: Duration = Duration::from_secs(2);
/// How long filing a note may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
