#!/usr/bin/env bash
# Soak: the reference server under a bounded mixed workload (register, login, /me, refresh,
# reset request, logout) for a fixed time, on SQLite or PostgreSQL, with RSS, open file
# descriptors, database connections, token/session rows and p50/p99 latency sampled every
# minute (scripts/soak.py). Not part of scripts/test.sh: it runs for half an hour.
#
#   scripts/soak.sh sqlite|postgres [MINUTES] [RATE]     (default 30 minutes, 20 iterations/s)
#
# Short token lifetimes (access 60 s, refresh and reset 300 s) and a purge every 60 s make
# the token tables reach their steady state within the run: flat rows mean the purge keeps
# up. The per-address limits are off (one client address sends everything). The table is
# printed and written to target/soak/<backend>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:?usage: scripts/soak.sh sqlite|postgres [MINUTES] [RATE]}
minutes=${2:-30}
rate=${3:-20}
out=target/soak
mkdir -p "$out"
cargo build --quiet --example server --all-features
# shellcheck source=scripts/reference-server.sh
source scripts/reference-server.sh

pg_url=${MYAUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg_db="myauth_soak_$$"
work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  sqlite) db_url="sqlite://$work/soak.db"; facts=(--sqlite "$work/soak.db") ;;
  postgres)
    psql "$pg_url" -qc "CREATE DATABASE $pg_db" >/dev/null
    db_url="${pg_url%/*}/$pg_db"; facts=(--postgres-db "$pg_db" --psql-url "$db_url") ;;
  *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 2 ;;
esac

reference_server_start "$out/$backend.server" MYAUTH_DATABASE_URL="$db_url" \
  MYAUTH_REQUIRE_VERIFIED_EMAIL=false MYAUTH_IP_RATE_LIMITS=off \
  MYAUTH_ACCESS_TTL_SECS=60 MYAUTH_REFRESH_TTL_SECS=300 MYAUTH_REFRESH_ABSOLUTE_TTL_SECS=600 \
  MYAUTH_RESET_TTL_SECS=300 MYAUTH_PURGE_INTERVAL_SECS=60 MYAUTH_LOGIN_FREE_FAILURES=1000
pid=$REFERENCE_SERVER_PID

echo "soak: $backend, $minutes min at $rate iterations/s against $REFERENCE_SERVER_URL (pid $pid)"
python3 scripts/soak.py --url "$REFERENCE_SERVER_URL" --pid "$pid" --minutes "$minutes" --rate "$rate" \
  "${facts[@]}" --out "$out/$backend.md"
