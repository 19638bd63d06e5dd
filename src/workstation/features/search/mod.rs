//! Patient search: the query, the debounced search, ranked rows, the recent list.

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;
