//! Fuzz target `api_query`: see [`orch_fuzz::api_query`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::api_query(data));
