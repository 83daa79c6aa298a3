//! Fuzz target `durable_log`: see [`orch_fuzz::durable_log`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orch_fuzz::durable_log(data));
