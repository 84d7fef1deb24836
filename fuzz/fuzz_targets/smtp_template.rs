//! libFuzzer binary of the target `smtp_template` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("smtp_template"))(data);
});
