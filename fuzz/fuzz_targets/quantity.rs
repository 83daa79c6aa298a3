//! Fuzz target `quantity`: see [`orch_fuzz::quantity`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::quantity(data));
