//! HL7 v2 interfaces (issue 23, under way): messages read by their own delimiters
//! (`parse.rs`), MLLP framing (`mllp.rs`), acknowledgements (`ack.rs`) and segments as FHIR
//! resources (`map.rs`). The listener, the message log and the outbound queue build on
//! these.

pub mod ack;
pub mod map;
pub mod mllp;
pub mod parse;
