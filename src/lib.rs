//! bedside: a terminal clinician workstation and the HL7 FHIR R4 server it embeds.

pub mod auth;
pub mod chart;
pub mod client;
pub mod config;
pub mod fhir;
pub mod files;
pub mod import;
pub mod notes;
pub mod orders;
pub mod paths;
pub mod problem;
pub mod seed;
pub mod server;
pub mod settings;
pub mod store;
pub mod tui;
pub mod vault;
