//! Patient search: the query, the debounced search, ranked rows, the recent list.

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::features::Command;

/// The commands this feature advertises in the palette.
pub const COMMANDS: &[Command] = &[Command {
    name: "open",
    argument: "MRN or name",
    description: "open a patient's chart (at once when one patient matches)",
}];
