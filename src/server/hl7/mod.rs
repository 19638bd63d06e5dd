//! HL7 v2 interfaces (issue 23, under way): messages read by their own delimiters
//! (`parse.rs`), MLLP framing (`mllp.rs`), acknowledgements (`ack.rs`), segments as FHIR
//! resources (`map.rs`), ADT applied to the store (`apply.rs`), the message log (`log.rs`:
//! stored with its dedupe key before the acknowledgement), one message handled
//! (`handle.rs`) and the MLLP listener (`listen.rs`). Results (ORU), documents (MDM), merges
//! (A40), cancels and the outbound queue build on these.

pub mod ack;
pub mod apply;
pub mod handle;
pub mod listen;
pub mod log;
pub mod map;
pub mod mllp;
pub mod parse;
