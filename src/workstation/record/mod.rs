//! Writing the record at the bedside, with no UI code: vital signs and NEWS2, allergies and
//! problems (and the coded terms offered for them), registering and editing patients.

pub mod demographics;
pub mod entries;
pub mod news2;
pub mod registration;
pub mod terms;
pub mod vitals;
