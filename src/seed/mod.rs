//! `bedside seed` (filled in below).
