//! libFuzzer binary of the target `opaque_token` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("opaque_token"))(data);
});
