//! The fuzz targets of MyAuth: one function per parser that sees untrusted bytes, each
//! taking the fuzzer's input and panicking only when the library broke a rule (a panic
//! inside the library, or an answer that contradicts its contract).
//!
//! The libFuzzer binaries in `fuzz/fuzz_targets/` call these functions; the test
//! `tests/corpus.rs` runs every one over its committed corpus in `fuzz/corpus/<target>/`
//! (and the crash reproducers in `fuzz/regressions/<target>/`) on stable Rust, as part
//! of the normal test run.

mod body;
mod forwarded;
mod jwt;
mod normalize;
mod opaque;
pub mod seeds;
mod smtp;
mod stored_hash;

/// The time every token target checks against: 2026-01-01T00:00:00Z, so that the
/// committed corpus means the same on every run.
pub const NOW_UNIX: i64 = 1_767_225_600;

/// One fuzz target: its name (the directory of its corpus and the libFuzzer binary) and
/// the function that runs one input.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("jwt_token", jwt::token),
    ("jwt_claims", jwt::claims),
    ("opaque_token", opaque::token),
    ("body_json", body::json),
    ("body_form", body::form),
    ("normalize", normalize::names),
    ("forwarded_for", forwarded::forwarded_for),
    ("stored_hash", stored_hash::stored_hash),
    ("smtp_template", smtp::template),
];

/// The function of the target `name`.
///
/// # Panics
///
/// When there is no such target (a binary and this table disagree).
pub fn target(name: &str) -> fn(&[u8]) {
    match TARGETS.iter().find(|(n, _)| *n == name) {
        Some((_, run)) => *run,
        None => panic!("no fuzz target named {name}"),
    }
}

/// `bytes` split at the first `separator`: before it, and after it (empty without one).
pub(crate) fn split_at_byte(bytes: &[u8], separator: u8) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == separator) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

/// A runtime for the targets that call the async service, one per thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => panic!("no Tokio runtime: {error}"),
        };
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}
