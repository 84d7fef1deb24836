#!/usr/bin/env bash
# Reproduces the HTTP figures of benches/README.md with one command, from a clean checkout:
# builds the reference server, the ceiling server and the seeding tool in release, starts them on
# loopback, seeds users, drives them with wrk (bounded in time), and writes benches/http/RESULTS.md.
#
#   benches/http/run.sh                     # everything (≈ 10 min after the release build)
#   DURATION=5 SCALE_USERS=0 EXPIRED=0 benches/http/run.sh   # quick: skip the scale scenarios
#
# Loopback only; every load run is bounded by DURATION seconds; everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10}"
USERS="${USERS:-1000}"
SCALE_USERS="${SCALE_USERS:-100000}"
EXPIRED="${EXPIRED:-100000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
THREADS="${THREADS:-2}"
OUT="benches/http/RESULTS.md"
WORK="$(mktemp -d /tmp/myauth-bench.XXXXXX)"
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/myauth-target-release}"
export MYAUTH_JWT_SECRET="http benchmark secret, 32 bytes or more!"
export MYAUTH_REQUIRE_VERIFIED_EMAIL=false
export RUST_LOG="${RUST_LOG:-warn}"
export THREADS USERS

pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
echo "building (release)..."
cargo build --release --quiet --example server --example ceiling --example bench_seed --features postgres
BIN="$CARGO_TARGET_DIR/release/examples"
CORES="$(nproc)"

# start NAME PORT [VAR=VALUE...]: runs a server in the background and waits for its line.
start() {
  local bin="$1" port="$2"; shift 2
  env MYAUTH_BIND="127.0.0.1:$port" "$@" "$BIN/$bin" >"$WORK/$bin-$port.out" 2>"$WORK/$bin-$port.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/$bin-$port.out" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/$bin-$port.err" >&2; return 1; }
    sleep 0.1
  done
  echo "$bin did not start" >&2
  return 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

login_token() { # login_token PORT EMAIL FIELD
  curl -s -X POST "http://127.0.0.1:$1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"Str0ng!pass\"}" | sed -E "s/.*\"$3\":\"([^\"]+)\".*/\1/"
}

# load LABEL C ARGS...: one bounded wrk run; prints its requests/s and appends a table row.
load() {
  local label="$1" c="$2"; shift 2
  local out
  out="$(wrk -t"$THREADS" -c"$c" -d"${DURATION}s" --latency --timeout 10s "$@" 2>&1)"
  local rps p50 p99 bad
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  bad="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  echo "| $label | $c | ${rps:-?} | ${p50:-?} | ${p99:-?} | ${bad:-0} |" >>"$WORK/rows"
  echo "$label c=$c: ${rps:-?} req/s, p50 ${p50:-?}, p99 ${p99:-?}, non-2xx ${bad:-0}" >&2
  echo "${rps:-0}"
}

declare -A rps
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# Ceiling and the CurrentUser route.
start ceiling 4000
ceiling_pid=$server_pid
start server 3100 MYAUTH_DATABASE_URL="sqlite://$WORK/token.db"
bench_seed_token_pid=$server_pid
"$BIN/bench_seed" users "sqlite://$WORK/token.db" 1 >/dev/null
ACCESS="$(login_token 3100 user0@bench.local access_token)"
stop "$bench_seed_token_pid"
for c in 8 64; do
  rps[bare_$c]="$(load "ceiling GET /bare (no auth)" "$c" http://127.0.0.1:4000/bare)"
  rps[protected_$c]="$(load "GET /protected (CurrentUser)" "$c" -H "Authorization: Bearer $ACCESS" http://127.0.0.1:4000/protected)"
done
stop "$ceiling_pid"

# The auth endpoints on each backend.
backend_run() { # backend_run NAME URL PORT
  local name="$1" url="$2" port="$3"
  "$BIN/bench_seed" users "$url" "$USERS" >&2
  start server "$port" MYAUTH_DATABASE_URL="$url"
  local pid=$server_pid
  local access
  access="$(login_token "$port" user0@bench.local access_token)"
  for c in 8 64; do
    rps[${name}_me_$c]="$(load "$name GET /auth/me" "$c" -H "Authorization: Bearer $access" "http://127.0.0.1:$port/auth/me")"
    rps[${name}_login_$c]="$(load "$name POST /auth/login" "$c" -s benches/http/login.lua "http://127.0.0.1:$port")"
    : >"$WORK/tokens"
    # One token per connection, plus one per thread: wrk builds one request per thread
    # before the run starts, which takes a token that is never sent.
    for i in $(seq 1 "$((c + THREADS))"); do login_token "$port" "user$((i % USERS))@bench.local" refresh_token >>"$WORK/tokens"; done
    export TOKENS_FILE="$WORK/tokens"
    rps[${name}_refresh_$c]="$(load "$name POST /auth/refresh" "$c" -s benches/http/refresh.lua "http://127.0.0.1:$port")"
    rps[${name}_register_$c]="$(load "$name POST /auth/register" "$c" -s benches/http/register.lua "http://127.0.0.1:$port")"
  done
  stop "$pid"
}

backend_run sqlite "sqlite://$WORK/sqlite.db" 3200
PG_DB="myauth_bench_$$"
psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
PG_BENCH_URL="${PG_URL%/*}/$PG_DB"
backend_run postgres "$PG_BENCH_URL" 3300

# Raw argon2id limit: as many threads as hash permits (the default: one per core).
raw_line="$("$BIN/bench_seed" raw-argon2 "$DURATION" "$CORES")"
raw="$(awk '{print $NF}' <<<"$raw_line")"

# Login storm: 64 clients logging in, and /auth/me from a second client; then the same with the
# hashes on the runtime threads.
storm() { # storm LABEL [VAR=VALUE...]
  local label="$1"; shift
  start server 3400 MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db" "$@"
  local pid=$server_pid access
  access="$(login_token 3400 user1@bench.local access_token)"
  wrk -t1 -c64 -d"$((DURATION + 2))s" -s benches/http/login.lua http://127.0.0.1:3400 >/dev/null 2>&1 &
  local storm_pid=$!
  sleep 1
  load "$label: GET /auth/me during a 64-client login storm" 4 -H "Authorization: Bearer $access" http://127.0.0.1:3400/auth/me >/dev/null
  wait "$storm_pid" || true
  stop "$pid"
}
storm "hashing on blocking threads (default)"
storm "hashing on runtime threads (MYAUTH_HASH_INLINE_FOR_BENCHMARKS)" MYAUTH_HASH_INLINE_FOR_BENCHMARKS=true

# Peak memory during 256 concurrent logins.
start server 3500 MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db"
mem_pid=$server_pid
load "sqlite POST /auth/login (memory run)" 256 -s benches/http/login.lua http://127.0.0.1:3500 >/dev/null
peak="$(peak_kib "$mem_pid")"
stop "$mem_pid"

scale_rows=()
if [ "$SCALE_USERS" -gt 0 ]; then
  "$BIN/bench_seed" users "sqlite://$WORK/scale.db" "$SCALE_USERS" >&2
  start server 3600 MYAUTH_DATABASE_URL="sqlite://$WORK/scale.db"
  pid=$server_pid
  access="$(login_token 3600 user7@bench.local access_token)"
  big_login="$(USERS=$SCALE_USERS; export USERS; load "sqlite POST /auth/login, $SCALE_USERS users" 64 -s benches/http/login.lua http://127.0.0.1:3600)"
  big_me="$(load "sqlite GET /auth/me, $SCALE_USERS users" 64 -H "Authorization: Bearer $access" http://127.0.0.1:3600/auth/me)"
  stop "$pid"
  scale_rows+=("| login, $SCALE_USERS vs $USERS users | $(awk -v a="$big_login" -v b="${rps[sqlite_login_64]}" 'BEGIN {printf "%.2f", a/b}') |")
  scale_rows+=("| /auth/me, $SCALE_USERS vs $USERS users | $(awk -v a="$big_me" -v b="${rps[sqlite_me_64]}" 'BEGIN {printf "%.2f", a/b}') |")
fi
if [ "$EXPIRED" -gt 0 ]; then
  "$BIN/bench_seed" expired "sqlite://$WORK/sqlite.db" "$EXPIRED" >&2
  refresh_with() {
    start server 3700 MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db"
    local pid=$server_pid
    : >"$WORK/tokens"
    for i in $(seq 1 "$((64 + THREADS))"); do login_token 3700 "user$((i % USERS))@bench.local" refresh_token >>"$WORK/tokens"; done
    export TOKENS_FILE="$WORK/tokens"
    load "sqlite POST /auth/refresh, $1" 64 -s benches/http/refresh.lua http://127.0.0.1:3700
    stop "$pid"
  }
  with_expired="$(refresh_with "$EXPIRED expired tokens present")"
  purge_line="$("$BIN/bench_seed" purge "sqlite://$WORK/sqlite.db")"
  purged="$(refresh_with "after purging them")"
  scale_rows+=("| refresh with $EXPIRED expired rows present vs purged ($purge_line) | $(awk -v a="$with_expired" -v b="$purged" 'BEGIN {printf "%.2f", a/b}') |")
fi
psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "?" }'; }
bound_mib=$((64 + CORES * 19))
{
  echo "# HTTP benchmark results"
  echo
  echo "\`benches/http/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, wrk -t$THREADS, ${DURATION} s per run,"
  echo "$USERS seeded users; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| scenario | connections | requests/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  cat "$WORK/rows"
  echo
  echo "## Targets"
  echo
  echo "| target | measured |"
  echo "|---|---|"
  for c in 8 64; do
    echo "| GET /protected (CurrentUser) ≥ 0.9 × ceiling, c=$c | $(ratio "${rps[protected_$c]}" "${rps[bare_$c]}") |"
    echo "| GET /auth/me ≥ 0.5 × ceiling, SQLite, c=$c | $(ratio "${rps[sqlite_me_$c]}" "${rps[bare_$c]}") |"
    echo "| GET /auth/me ≥ 0.5 × ceiling, PostgreSQL, c=$c | $(ratio "${rps[postgres_me_$c]}" "${rps[bare_$c]}") |"
  done
  echo "| login at c=64 ≥ 0.85 × raw argon2id ($raw verifications/s on $CORES threads), SQLite | $(ratio "${rps[sqlite_login_64]}" "$raw") |"
  echo "| login at c=64 ≥ 0.85 × raw argon2id, PostgreSQL | $(ratio "${rps[postgres_login_64]}" "$raw") |"
  echo "| login c=64 vs c=8 (must not sag), SQLite | $(ratio "${rps[sqlite_login_64]}" "${rps[sqlite_login_8]}") |"
  echo "| peak RSS during 256 concurrent logins ≤ $bound_mib MiB (64 + $CORES permits × 19) | $((peak / 1024)) MiB |"
  echo "| GET /auth/me p99 during a login storm ≤ 25 ms | see the two storm rows above |"
  printf '%s\n' "${scale_rows[@]}"
} >"$OUT"
echo "wrote $OUT"
