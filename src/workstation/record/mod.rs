//! Writing the record at the bedside, with no UI code: vital signs and NEWS2.

pub mod news2;
pub mod vitals;
