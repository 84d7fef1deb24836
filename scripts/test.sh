#!/usr/bin/env bash
# The project's one test command: formatting, lints, docs, and every test including the
# server-backed ones. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Reuse compiled dependencies between runs (CI runs on the same machine).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/myauth-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, warnings denied)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "cargo test (all features, ignored server-backed tests included)"
cargo test --workspace --all-features -- --include-ignored
