//! The reference server: the whole HTTP contract, configured only by environment variables
//! (see the README). `cargo run --example server` serves it on SQLite (./myauth.db) with
//! emails written to the log; the code lives in [`myauth::server`], which `myauth serve`
//! runs too.
//!
//! It prints one line `listening on ADDR` once it accepts connections, and exits non-zero
//! with a one-line reason on bad configuration.

use std::io::IsTerminal as _;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: in a file, a pipe or a log collector the
        // escape codes are noise that breaks grep and log parsers.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match myauth::server::run_from_env().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}
