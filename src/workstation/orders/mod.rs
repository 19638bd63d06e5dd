//! Computerized order entry: the medication knowledge bedside checks orders against, and the
//! order checks themselves. No UI code here, so a server-side service (CDS Hooks
//! `order-sign`) can reuse the checks.

pub mod basket;
pub mod catalog;
pub mod checks;
pub mod from_chart;
pub mod knowledge;
