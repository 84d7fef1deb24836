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

# Whatever this script started is stopped when it ends, however it ends.
MONGO_STARTED=""
cleanup() {
  if [ -n "$MONGO_STARTED" ]; then mongo_test_server_stop || true; fi
  if [ -n "${REDIS_STARTED_PID:-}" ]; then kill "$REDIS_STARTED_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

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

# A MongoDB wire-protocol server for the auth-mongo tests (scripts/mongo-test-server.sh:
# nx-27017 from PyPI, installed once under ~/.cache/myauth), unless MYAUTH_TEST_MONGODB_URL
# already points at a real mongod. When neither works the step fails: the MongoDB tests
# are never skipped quietly.
ensure_mongodb() {
  if [ -n "${MYAUTH_TEST_MONGODB_URL:-}" ]; then return 0; fi
  # shellcheck source=scripts/mongo-test-server.sh
  source scripts/mongo-test-server.sh
  MONGO_STARTED=1
  mongo_test_server_start
  export MYAUTH_TEST_MONGODB_URL="$MONGO_TEST_SERVER_URL"
}

# Redis for the auth-redis tests: the local server (started, or installed with apt when
# missing and we are root on Debian, on a free port of its own), unless
# MYAUTH_TEST_REDIS_URL points elsewhere.
REDIS_STARTED_PID=""
ensure_redis() {
  if [ -n "${MYAUTH_TEST_REDIS_URL:-}" ]; then return 0; fi
  if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    export MYAUTH_TEST_REDIS_URL="redis://127.0.0.1:6379"
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "installing Redis"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "Redis is not installed and cannot be installed here; set MYAUTH_TEST_REDIS_URL" >&2
      return 1
    fi
  fi
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  step "starting Redis on port $port"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize no \
    >/dev/null 2>&1 &
  REDIS_STARTED_PID=$!
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null
  export MYAUTH_TEST_REDIS_URL="redis://127.0.0.1:$port"
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

# Chromium and its chromedriver for the real-browser tests (tests/http/browser.rs), from
# Debian's packages, installed with apt when missing and we are root on Debian.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Chromium and chromedriver"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Chromium or chromedriver is missing and cannot be installed here: apt-get install chromium chromium-driver" >&2
    return 1
  fi
}

# tmux, for the no-echo password prompt test of the myauth CLI (crates/myauth-cli/tests),
# installed with apt when missing and we are root on Debian.
ensure_tmux() {
  if command -v tmux >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing tmux"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
  else
    echo "tmux is missing and cannot be installed here: the CLI prompt test needs it" >&2
    return 1
  fi
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
ensure_redis
ensure_jose
ensure_chromium
ensure_tmux

step "cargo test (all features, ignored server-backed tests included)"
cargo test --workspace --all-features -- --include-ignored

step "private registry: every crate published, the quick start and the CLI installed from it"
bash scripts/publish-local.sh
