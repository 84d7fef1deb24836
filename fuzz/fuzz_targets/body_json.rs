//! libFuzzer binary of the target `body_json` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("body_json"))(data);
});
