//! Working without the server: the cached chart, connectivity, the outbox.

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;
