//! Fuzz target `manifest`: see [`orch_fuzz::manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::manifest(data));
