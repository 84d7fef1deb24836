//! libFuzzer binary of the target `stored_hash` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("stored_hash"))(data);
});
