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

# PostgreSQL for the auth-postgres tests: the local cluster (started, or installed with apt
# when missing and we are root on Debian), unless MYAUTH_TEST_POSTGRES_URL points elsewhere.
ensure_postgres() {
  if [ -n "${MYAUTH_TEST_POSTGRES_URL:-}" ]; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "installing PostgreSQL"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "PostgreSQL is not installed and cannot be installed here; set MYAUTH_TEST_POSTGRES_URL" >&2
      return 1
    fi
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    step "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q
  export MYAUTH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
}

# A MongoDB-wire server for the auth-mongo tests (../shared/tools/mongo-test-server), unless
# MYAUTH_TEST_MONGODB_URL points at a real mongod.
ensure_mongodb() {
  if [ -n "${MYAUTH_TEST_MONGODB_URL:-}" ]; then return 0; fi
  local tool
  for tool in ../shared/tools/mongo-test-server ../../shared/tools/mongo-test-server; do
    if [ -f "$tool/mongo-test-server.sh" ]; then
      # shellcheck source=/dev/null
      source "$tool/mongo-test-server.sh"
      trap mongo_test_server_stop EXIT
      mongo_test_server_start
      export MYAUTH_TEST_MONGODB_URL="$MONGODB_URI"
      return 0
    fi
  done
  echo "no MongoDB server: set MYAUTH_TEST_MONGODB_URL or provide ../shared/tools/mongo-test-server" >&2
  return 1
}

# npm's jose, the non-Rust verifier of tests/keys (our tokens checked from our JWKS URL),
# installed once into $HOME/.cache/myauth-node with the machine's Node.js.
ensure_jose() {
  local dir="$HOME/.cache/myauth-node"
  if [ ! -f "$dir/node_modules/jose/package.json" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20 and npm" >&2; return 1; }
    step "installing npm's jose into $dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent jose@5.10.0 >/dev/null
  fi
  export MYAUTH_TEST_NODE_MODULES="$dir/node_modules"
}

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, warnings denied)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "test servers"
ensure_postgres
ensure_mongodb
ensure_jose

step "cargo test (all features, ignored server-backed tests included)"
cargo test --workspace --all-features -- --include-ignored
