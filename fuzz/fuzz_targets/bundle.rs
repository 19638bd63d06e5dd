#![no_main]
//! `cargo fuzz run bundle`: see bedside::server::fuzzing::bundle.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    bedside::server::fuzzing::bundle(data);
});
