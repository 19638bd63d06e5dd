//! Patient search: the query, the debounced search, ranked rows, the recent list.

pub mod update;
pub mod view;
