//! Fuzz target `patch`: see [`orch_fuzz::patch`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::patch(data));
