//! The command palette (`:`): any action by name, or a typed command with an argument.

pub mod entries;
pub mod update;
pub mod view;
