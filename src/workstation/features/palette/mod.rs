//! The command palette (`:`): any action by name, or a typed command with an argument.

pub mod entries;
pub mod update;
pub mod view;

use crate::workstation::features::Command;

/// The palette's own commands.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "theme",
        argument: "name",
        description: "change the colours for this session (default, light, high-contrast, mono...)",
    },
    Command {
        name: "keys",
        argument: "",
        description: "the keys of the screen you came from (help)",
    },
    Command {
        name: "problems",
        argument: "",
        description: "problems found in your keymap, theme and config files",
    },
    Command {
        name: "messages",
        argument: "",
        description: "every message of this session, in full (newest last)",
    },
];
