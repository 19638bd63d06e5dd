//! Working without the server: the cached chart, connectivity, the outbox.

pub mod update;
pub mod view;
