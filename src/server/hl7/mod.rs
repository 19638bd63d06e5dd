//! HL7 v2 interfaces (issue 23, under way): messages read by their own delimiters
//! (`parse.rs`), MLLP framing (`mllp.rs`), acknowledgements (`ack.rs`) and segments as FHIR
//! resources (`map.rs`), and the message log (`log.rs`: stored with its dedupe key before
//! the acknowledgement). The listener and the outbound queue build on these.

pub mod ack;
pub mod log;
pub mod map;
pub mod mllp;
pub mod parse;
