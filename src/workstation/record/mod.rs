//! Writing the record at the bedside, with no UI code: vital signs and NEWS2, allergies and
//! problems (and the coded terms offered for them).

pub mod entries;
pub mod news2;
pub mod registration;
pub mod terms;
pub mod vitals;
