//! Who is at the terminal: sign-in, the lock, the vault, electronic signatures, break-the-glass and the access log.

pub mod form;
pub mod msg;
pub mod overlay;
pub mod signature;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;
