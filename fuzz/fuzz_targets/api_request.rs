//! Fuzz target `api_request`: see [`orch_fuzz::api_request`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::api_request(data));
