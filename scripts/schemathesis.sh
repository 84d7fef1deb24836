#!/usr/bin/env bash
# Property-based fuzzing of our own OpenAPI document with Schemathesis (PyPI), against the
# reference server on SQLite and on PostgreSQL: every operation gets generated valid and
# invalid requests, and every answer is checked against the document (status, content type,
# headers, schema) and for 5xx. Not part of scripts/test.sh: it takes minutes.
#
#   scripts/schemathesis.sh [EXAMPLES_PER_OPERATION]   (default 400)
#
# Needs python3 (Schemathesis is installed once into ~/.cache/myauth/schemathesis-venv) and,
# for the PostgreSQL run, MYAUTH_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
# The summary of each run is printed and written to target/schemathesis/<backend>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-400}
venv="$HOME/.cache/myauth/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet schemathesis
fi

cargo build --quiet --example server --all-features
# shellcheck source=scripts/reference-server.sh
source scripts/reference-server.sh
out=target/schemathesis
mkdir -p "$out"

pg_url=${MYAUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg_db="myauth_schemathesis_$$"

cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

run() {
  local backend=$1 url=$2
  local admin_password
  admin_password="Adm1n!$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
  # The fuzzer sends thousands of requests from one address in seconds: the per-IP limits
  # are off (the account throttle stays on; its 429 is documented).
  RUST_LOG=error reference_server_start "$out/$backend.server" MYAUTH_DATABASE_URL="$url" \
    MYAUTH_REQUIRE_VERIFIED_EMAIL=false MYAUTH_IP_RATE_LIMITS=off \
    MYAUTH_ADMIN_EMAIL=fuzz-admin@example.com MYAUTH_ADMIN_PASSWORD="$admin_password" || exit 1
  pid=$REFERENCE_SERVER_PID
  local base=$REFERENCE_SERVER_URL
  local token
  token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"fuzz-admin@example.com\",\"password\":\"$admin_password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # Four operations can end or demote the admin whose token every request carries (the
  # stateful phase finds the admin's own id through GET /auth/me): they run last, on their
  # own, so they cannot blind the rest of the run.
  local last="logoutAll|setRoles|deactivateUser|endUserSessions"
  local started=$SECONDS
  set +e
  "$venv/bin/st" run "$base/auth/openapi.json" --url "$base" --no-color \
    -H "Authorization: Bearer $token" --checks all --exclude-checks ignored_auth \
    --exclude-operation-id-regex "^($last)$" --max-examples "$examples" --workers 2 \
    --generation-database none >"$out/$backend.txt" 2>&1
  local status=$?
  "$venv/bin/st" run "$base/auth/openapi.json" --url "$base" --no-color \
    -H "Authorization: Bearer $token" --checks all --exclude-checks ignored_auth \
    --include-operation-id-regex "^($last)$" --max-examples "$examples" \
    --generation-database none >>"$out/$backend.txt" 2>&1
  local status2=$?
  set -e
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  local cases failures
  cases=$(grep -oE '^  [0-9]+ generated' "$out/$backend.txt" | awk '{s+=$1} END {print s}')
  failures=$(grep -cE '^- ' "$out/$backend.txt" || true)
  echo "== $backend: $cases test cases in $((SECONDS - started)) s; exit codes $status/$status2;" \
    "failed checks: $failures; server errors: $(grep -c 'Server error' "$out/$backend.txt" || true)"
  grep -E '^(- |  ⚠️|  ❌)' "$out/$backend.txt" | sort | uniq -c || true
}

run sqlite "sqlite://$PWD/$out/fuzz.db?mode=rwc"
rm -f "$out"/fuzz.db*
psql "$pg_url" -qc "CREATE DATABASE $pg_db" >/dev/null
run postgres "${pg_url%/*}/$pg_db"
