//! libFuzzer binary of the target `jwt_claims` (crates/fuzz-targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (myauth_fuzz_targets::target("jwt_claims"))(data);
});
