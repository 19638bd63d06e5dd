#![no_main]
//! `cargo fuzz run ingest`: see bedside::server::fuzzing::ingest.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bedside::server::fuzzing::ingest(data);
});
