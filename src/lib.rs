//! bedside: a terminal clinician workstation and the HL7 FHIR R4 server it embeds.
//!
//! Two programs in one crate, and what they share. `ARCHITECTURE.md` is the map.

pub mod cli;
pub mod config;
pub mod fhir;
pub mod files;
pub mod paths;
pub mod problem;
pub mod secret;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "workstation")]
pub mod workstation;
