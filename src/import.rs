//! `bedside import` (filled in below).
