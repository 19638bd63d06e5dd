//! HL7 v2 interfaces (issue 23, under way): messages read by their own delimiters
//! (`parse.rs`), MLLP framing (`mllp.rs`) and acknowledgements (`ack.rs`). The listener, the mappings to FHIR, the
//! acknowledgements and the message log build on these.

pub mod ack;
pub mod mllp;
pub mod parse;
