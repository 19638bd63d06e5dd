#![no_main]
//! `cargo fuzz run search_query`: see bedside::server::fuzzing::search_query.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bedside::server::fuzzing::search_query(data);
});
