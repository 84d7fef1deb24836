//! libFuzzer binary of the target `forwarded_for` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("forwarded_for"))(data);
});
