//! Fuzz target `selectors`: see [`orch_fuzz::selectors`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::selectors(data));
