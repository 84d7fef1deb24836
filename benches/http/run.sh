#!/usr/bin/env bash
# The HTTP load figures of MyAuth, with one command, from a clean checkout: builds the
# reference server (with the `bench-internals` switch for the login storm), the ceiling
# server and the seeding tool (benches/tools) in release, starts them on
# loopback, seeds users, drives them with wrk (every run bounded in time), and writes
# benches/http/RESULTS.md. benches/http/README.md says what each figure means.
#
#   benches/http/run.sh                              # everything (≈ 13 min after the build)
#   SCALE_USERS=0 EXPIRED=0 benches/http/run.sh      # without the scale part (≈ 8 min)
#   DURATION=5 ROUNDS=1 PG=0 SCALE_USERS=0 EXPIRED=0 benches/http/run.sh   # a quick look
#
# Variables: DURATION (s per load run, 10), ROUNDS (rounds of the hot-path comparison, 2),
# USERS (1000), SCALE_USERS (100000; 0 skips), EXPIRED (expired refresh-token rows for the
# purge comparison, 1000000; 0 skips), PG (1; 0 skips PostgreSQL), PG_URL
# (postgres://postgres@127.0.0.1:5432/test: a server where this user may CREATE DATABASE; a
# fresh database is created and dropped; no query string), THREADS (wrk threads, 2), OUT
# (benches/http/RESULTS.md), BENCH_TARGET_DIR (cargo target directory,
# $HOME/.cache/myauth-target-release).
#
# Loopback only; every load run lasts DURATION seconds, every wait is bounded, and every
# process this script starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
USERS="${USERS:-1000}"
SCALE_USERS="${SCALE_USERS:-100000}"
EXPIRED="${EXPIRED:-1000000}"
PG="${PG:-1}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
THREADS="${THREADS:-2}"
OUT="${OUT:-benches/http/RESULTS.md}"
SCRIPTS="benches/http"
WORK="$(mktemp -d /tmp/myauth-http-bench.XXXXXX)"
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/myauth-target-release}"
# A fixed secret, so that access tokens of the reference server pass on the ceiling server.
export MYAUTH_JWT_SECRET="PjR0nJ7-EqcVF1A1NyfX5M_MY8Be6U1NI5Wqp3eLfc_"
# Seeded users are verified; registered ones log in without verifying.
export MYAUTH_REQUIRE_VERIFIED_EMAIL=false
export RUST_LOG="${RUST_LOG:-warn}"
export THREADS USERS

PIDS=()
PG_DB=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DB" ]; then psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
PART_START=$SECONDS
TIMINGS=()
part_done() { TIMINGS+=("| $1 | $((SECONDS - PART_START)) s |"); PART_START=$SECONDS; }

LOAD_BEFORE="$(loadavg)"
say "load average before: $LOAD_BEFORE"

# --- Tools and binaries -------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  say "installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
say "building (release) into $CARGO_TARGET_DIR"
# The reference server with `bench-internals`, so that MYAUTH_HASH_INLINE_FOR_BENCHMARKS
# works for the second login storm (a build without it refuses the variable); the helpers
# from their own package. Two commands: each package with its own features.
features=bench-internals
[ "$PG" = 1 ] && features="$features,postgres"
cargo build --release --quiet -p myauth --example server --features "$features"
cargo build --release --quiet -p myauth-bench-tools --bin ceiling --bin bench_seed
BIN="$CARGO_TARGET_DIR/release"
CORES="$(nproc)"
part_done "release build"

if [ "$PG" = 1 ]; then
  psql -q "$PG_URL" -c 'SELECT 1' >/dev/null || { echo "PostgreSQL at $PG_URL is not reachable (PG=0 skips it)" >&2; exit 1; }
  PG_DB="myauth_http_bench_$$"
  psql -q "$PG_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
  PG_BENCH_URL="${PG_URL%/*}/$PG_DB"
fi

# --- Helpers ------------------------------------------------------------------------------
# start BIN [VAR=VALUE...]: starts a server on a free loopback port; sets SERVER_PID and
# SERVER_URL once it printed its `listening on` line (at most 30 s).
start() {
  local bin="$1"; shift
  local path="$BIN/$bin"
  [ "$bin" = server ] && path="$BIN/examples/server"
  local log="$WORK/$bin-$RANDOM"
  local pin=()
  [ -n "${SERVER_CPU:-}" ] && pin=(taskset -c "$SERVER_CPU")
  env MYAUTH_BIND=127.0.0.1:0 "$@" "${pin[@]}" "$path" >"$log.out" 2>"$log.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local _
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$log.out" 2>/dev/null; then
      SERVER_URL="http://$(sed -n 's/^listening on //p' "$log.out" | head -n 1)"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log.err" >&2; return 1; }
    sleep 0.1
  done
  echo "$bin did not start within 30 s" >&2
  return 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# login URL EMAIL FIELD: one login; prints the token FIELD of the answer on its own line.
login() {
  local answer token
  answer="$(curl -s --max-time 10 -X POST "$1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$2\",\"password\":\"Str0ng!pass\"}")"
  token="$(sed -nE "s/.*\"$3\":\"([^\"]+)\".*/\1/p" <<<"$answer")"
  [ -n "$token" ] && printf '%s\n' "$token"
}

# refresh_tokens URL N: N live refresh tokens (one login each) in $WORK/tokens, for
# refresh.lua. wrk asks thread 0 for one request before the run and never sends it, so
# callers ask for connections + threads.
refresh_tokens() {
  local i
  : >"$WORK/tokens"
  for i in $(seq 1 "$2"); do login "$1" "user$((i % USERS))@bench.local" refresh_token >>"$WORK/tokens"; done
  [ "$(wc -l <"$WORK/tokens")" -eq "$2" ] || { echo "could not log in $2 times" >&2; return 1; }
  export TOKENS_FILE="$WORK/tokens"
}

HZ="$(getconf CLK_TCK)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# pg_snapshot: "pid ticks" of every PostgreSQL process. pg_delta A B: CPU ticks spent between
# two snapshots by the processes alive at the second (a backend that exits takes its ticks
# with it, so summing totals would undercount).
pg_snapshot() {
  local pid
  for pid in $(pgrep -x postgres || true); do
    awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
  done
}
pg_delta() { awk 'NR == FNR { before[$1] = $2; next } { total += $2 - before[$1] } END { print total + 0 }' <(echo "$1") <(echo "$2"); }
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
per_request() { awk -v d="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f", d / hz * 1e6 / n; else print "?" }'; }

ROWS="$WORK/rows"
declare -A RPS P99
# record KEY LABEL CONNECTIONS WRK_OUTPUT SERVER_TICKS PG_TICKS BUSY: one table row from a
# wrk report; stores its req/s and p99 under KEY.
record() {
  local key="$1" label="$2" c="$3" out="$4" server_ticks="$5" pg_ticks="$6" busy="$7"
  local rps p50 p99 bad n server_us pg_us="–"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  bad="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  n="$(awk '/requests in/ {print $1}' <<<"$out")"
  server_us="–"
  [ "$server_ticks" != "–" ] && server_us="$(per_request "$server_ticks" "${n:-0}")"
  [ "$pg_ticks" != "–" ] && pg_us="$(per_request "$pg_ticks" "${n:-0}")"
  echo "| $label | $c | ${rps:-?} | ${p50:-?} | ${p99:-?} | ${bad:-0} | $server_us | $pg_us | $busy |" >>"$ROWS"
  say "$label c=$c: ${rps:-?} req/s, p50 ${p50:-?}, p99 ${p99:-?}, non-2xx ${bad:-0}, server ${server_us} µs/req, postgres ${pg_us} µs/req, busy ${busy} %"
  RPS[$key]="${rps:-0}"
  P99[$key]="${p99:-?}"
}

# load KEY LABEL CONNECTIONS SERVER_PID WRK_ARGS...: one bounded wrk run against one server,
# recorded with the CPU time per request of the server and of PostgreSQL (for labels that
# start with "postgres") and how busy the machine was. WRK_THREADS overrides the threads.
load() {
  local key="$1" label="$2" c="$3" pid="$4"; shift 4
  local s0 s1 p0 p1 b0 b1 out busy pg="–"
  s0="$(ticks "$pid")"; p0="$(pg_snapshot)"; b0="$(busy_ticks)"
  local pin=()
  [ -n "${WRK_CPU:-}" ] && pin=(taskset -c "$WRK_CPU")
  out="$("${pin[@]}" wrk -t"${WRK_THREADS:-$THREADS}" -c"$c" -d"${DURATION}s" --latency --timeout 10s "$@" 2>&1)"
  s1="$(ticks "$pid")"; p1="$(pg_snapshot)"; b1="$(busy_ticks)"
  [ "$label" != "${label#postgres}" ] && pg="$(pg_delta "$p0" "$p1")"
  busy="$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "?" }')"
  record "$key" "$label" "$c" "$out" "$((s1 - s0))" "$pg" "$busy"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { if (n > 0) printf "%.2f", s / n; else print "?" }'; }
# round_ratios A B: the ratio RPS[A_r] / RPS[B_r] of each round r, as "MEAN (r1, r2, …)".
round_ratios() {
  local r list=()
  for r in $(seq 1 "$ROUNDS"); do list+=("$(ratio "${RPS[${1}_$r]}" "${RPS[${2}_$r]}")"); done
  local joined
  joined="$(IFS=,; echo "${list[*]}" | sed 's/,/, /g')"
  if [ "$ROUNDS" -gt 1 ]; then echo "$(mean "${list[@]}") ($joined)"; else echo "$joined"; fi
}
# verdict VALUE LIMIT OP: "met" or "**not met**" for VALUE ≥ LIMIT (OP ge) or ≤ (OP le).
verdict() {
  awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
    if (v == "?" || v == "") { print "?"; exit }
    ok = (op == "le") ? (v + 0 <= t + 0) : (v + 0 >= t + 0)
    print ok ? "met" : "**not met**" }'
}
# ms DURATION: a wrk duration (850.00us, 1.20ms, 1.50s, 1.00m) in milliseconds.
ms() { awk -v d="$1" 'BEGIN { v = d + 0; if (d ~ /us$/) v /= 1000; else if (d ~ /ms$/) v += 0; else if (d ~ /m$/) v *= 60000; else if (d ~ /s$/) v *= 1000; printf "%.2f", v }'; }
# raw KEY: the raw argon2id limit right now (DURATION / 2 s), under RAW[KEY].
declare -A RAW
RAW_LINES=()
raw() {
  local line
  line="$("$BIN/bench_seed" raw-argon2 "$(( (DURATION + 1) / 2 ))")"
  say "$1: $line"
  RAW_LINES+=("$1: $line")
  RAW[$1]="$(sed -nE 's/.*threads: ([0-9.]+) .*/\1/p' <<<"$line")"
  PERMITS="$(sed -nE 's/.* on ([0-9]+) threads.*/\1/p' <<<"$line")"
}

NOTES=()

# --- 1. The hot path: ceiling, CurrentUser and GET /auth/me, side by side -----------------
say "seeding $USERS users into SQLite"
"$BIN/bench_seed" users "sqlite://$WORK/sqlite.db" "$USERS" >&2
if [ "$PG" = 1 ]; then
  say "seeding $USERS users into PostgreSQL"
  "$BIN/bench_seed" users "$PG_BENCH_URL" "$USERS" >&2
fi
JWT_LINE="$("$BIN/bench_seed" jwt 3)"
say "$JWT_LINE"
start ceiling
ceiling_pid="$SERVER_PID"; ceiling="$SERVER_URL"
start server MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db"
sqlite_pid="$SERVER_PID"; sqlite="$SERVER_URL"
sqlite_access="$(login "$sqlite" user1@bench.local access_token)"
[ -n "$sqlite_access" ] || { echo "could not log in to get an access token" >&2; exit 1; }
if [ "$PG" = 1 ]; then
  start server MYAUTH_DATABASE_URL="$PG_BENCH_URL"
  pg_pid="$SERVER_PID"; pg="$SERVER_URL"
  # sqlx uses TLS when the server offers it (sslmode=prefer); the same reads without it:
  start server MYAUTH_DATABASE_URL="$PG_BENCH_URL?sslmode=disable"
  pg_plain_pid="$SERVER_PID"; pg_plain="$SERVER_URL"
  pg_access="$(login "$pg" user1@bench.local access_token)"
fi
# Alternating rounds, so that drift in the machine's speed hits every scenario alike.
for c in 8 64; do
  for r in $(seq 1 "$ROUNDS"); do
    load "bare_${c}_$r" "ceiling GET /bare (no auth), round $r" "$c" "$ceiling_pid" "$ceiling/bare"
    load "protected_${c}_$r" "GET /protected (CurrentUser), round $r" "$c" "$ceiling_pid" -H "Authorization: Bearer $sqlite_access" "$ceiling/protected"
    load "sqlite_me_${c}_$r" "sqlite GET /auth/me, round $r" "$c" "$sqlite_pid" -H "Authorization: Bearer $sqlite_access" "$sqlite/auth/me"
    if [ "$PG" = 1 ]; then
      load "postgres_me_${c}_$r" "postgres GET /auth/me, round $r" "$c" "$pg_pid" -H "Authorization: Bearer $pg_access" "$pg/auth/me"
      load "postgres_plain_me_${c}_$r" "postgres GET /auth/me, sslmode=disable, round $r" "$c" "$pg_plain_pid" -H "Authorization: Bearer $pg_access" "$pg_plain/auth/me"
    fi
  done
done
stop "$ceiling_pid"; stop "$sqlite_pid"
# The same check with the server on one core and wrk on the other: the server's own cost per
# request, without the two competing for both cores.
if [ "$CORES" -ge 2 ]; then
  SERVER_CPU=1 start ceiling
  pinned_pid="$SERVER_PID"; pinned="$SERVER_URL"
  for r in $(seq 1 "$ROUNDS"); do
    WRK_CPU=0 WRK_THREADS=1 load "pinned_bare_$r" "ceiling GET /bare, server on CPU 1, wrk on CPU 0, round $r" 64 "$pinned_pid" "$pinned/bare"
    WRK_CPU=0 WRK_THREADS=1 load "pinned_protected_$r" "GET /protected (CurrentUser), server on CPU 1, wrk on CPU 0, round $r" 64 "$pinned_pid" -H "Authorization: Bearer $sqlite_access" "$pinned/protected"
  done
  stop "$pinned_pid"
fi
[ "$PG" = 1 ] && { stop "$pg_pid"; stop "$pg_plain_pid"; }
part_done "hot path ($ROUNDS rounds; seeding included)"

# --- 2. Login, refresh and register on each backend ---------------------------------------
# backend NAME URL: login (between two measurements of the raw argon2id limit), refresh and
# register, each at 8 then 64 connections.
backend() {
  local name="$1" url="$2" c
  start server MYAUTH_DATABASE_URL="$url"
  local pid="$SERVER_PID" base="$SERVER_URL"
  raw "${name}_before"
  for c in 8 64; do
    load "${name}_login_$c" "$name POST /auth/login" "$c" "$pid" -s "$SCRIPTS/login.lua" "$base"
  done
  raw "${name}_after"
  for c in 8 64; do
    refresh_tokens "$base" "$((c + THREADS))"
    load "${name}_refresh_$c" "$name POST /auth/refresh" "$c" "$pid" -s "$SCRIPTS/refresh.lua" "$base"
  done
  for c in 8 64; do
    load "${name}_register_$c" "$name POST /auth/register" "$c" "$pid" -s "$SCRIPTS/register.lua" "$base"
  done
  stop "$pid"
}
backend sqlite "sqlite://$WORK/sqlite.db"
part_done "SQLite login, refresh, register (raw argon2id included)"
if [ "$PG" = 1 ]; then
  backend postgres "$PG_BENCH_URL"
  part_done "PostgreSQL login, refresh, register (raw argon2id included)"
fi

# --- 3. Login storm: /auth/me from a second client ----------------------------------------
# storm KEY LABEL [VAR=VALUE...]: 64 clients log in for DURATION + 2 s; one second in, a
# second wrk (1 thread, 4 connections) reads /auth/me for DURATION s.
storm() {
  local key="$1" label="$2"; shift 2
  start server MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db" "$@"
  local pid="$SERVER_PID" base="$SERVER_URL" access storm_pid
  access="$(login "$base" user3@bench.local access_token)"
  wrk -t1 -c64 -d"$((DURATION + 2))s" --timeout 10s -s "$SCRIPTS/login.lua" "$base" >"$WORK/storm.out" 2>&1 &
  storm_pid=$!
  PIDS+=("$storm_pid")
  sleep 1
  WRK_THREADS=1 load "$key" "$label" 4 "$pid" -H "Authorization: Bearer $access" "$base/auth/me"
  wait "$storm_pid" || true
  local storm_rps storm_bad
  storm_rps="$(awk '/^Requests\/sec/ {print $2}' "$WORK/storm.out")"
  storm_bad="$(awk '/Non-2xx/ {print $5}' "$WORK/storm.out")"
  NOTES+=("$label: the storm itself (64 connections, 1 wrk thread) ran at ${storm_rps:-?} logins/s, non-2xx: ${storm_bad:-0}.")
  stop "$pid"
}
storm storm_default "sqlite GET /auth/me during a 64-client login storm, hashing on blocking threads (default)"
storm storm_inline "sqlite GET /auth/me during a 64-client login storm, hashing on the runtime threads (MYAUTH_HASH_INLINE_FOR_BENCHMARKS=true)" MYAUTH_HASH_INLINE_FOR_BENCHMARKS=true
part_done "login storm"

# --- 4. Peak memory during 256 concurrent logins -------------------------------------------
# memory KEY LABEL [VAR=VALUE...]: VmHWM of the server after start-up and after 256
# connections logged in for DURATION s.
declare -A HWM_START HWM_PEAK
memory() {
  local key="$1" label="$2"; shift 2
  start server MYAUTH_DATABASE_URL="sqlite://$WORK/sqlite.db" "$@"
  local pid="$SERVER_PID"
  HWM_START[$key]="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
  load "$key" "$label" 256 "$pid" -s "$SCRIPTS/login.lua" "$SERVER_URL"
  HWM_PEAK[$key]="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
  stop "$pid"
}
memory mem_admitted "sqlite POST /auth/login, 256 connections, all admitted (MYAUTH_HASH_QUEUE=1024)" MYAUTH_HASH_QUEUE=1024
memory mem_default "sqlite POST /auth/login, 256 connections, default queue (64 per permit; beyond: 503)"
part_done "peak memory"

# --- 5. Scale: 100 000 users vs 1000 ------------------------------------------------------
if [ "$SCALE_USERS" -gt 0 ]; then
  "$BIN/bench_seed" users "sqlite://$WORK/small.db" "$USERS" >&2
  say "seeding $SCALE_USERS users into SQLite"
  SEED_SCALE_LINE="$("$BIN/bench_seed" users "sqlite://$WORK/scale.db" "$SCALE_USERS")"
  say "$SEED_SCALE_LINE"
  start server MYAUTH_DATABASE_URL="sqlite://$WORK/small.db"
  small_pid="$SERVER_PID"; small="$SERVER_URL"
  start server MYAUTH_DATABASE_URL="sqlite://$WORK/scale.db"
  big_pid="$SERVER_PID"; big="$SERVER_URL"
  small_access="$(login "$small" user4@bench.local access_token)"
  big_access="$(login "$big" "user$((SCALE_USERS - 1))@bench.local" access_token)"
  # Alternating, so that drift in the machine's speed hits both sides alike.
  load scale_me_small "sqlite GET /auth/me, $USERS users" 64 "$small_pid" -H "Authorization: Bearer $small_access" "$small/auth/me"
  load scale_me_big "sqlite GET /auth/me, $SCALE_USERS users" 64 "$big_pid" -H "Authorization: Bearer $big_access" "$big/auth/me"
  load scale_login_small "sqlite POST /auth/login, $USERS users" 64 "$small_pid" -s "$SCRIPTS/login.lua" "$small"
  USERS="$SCALE_USERS" load scale_login_big "sqlite POST /auth/login, $SCALE_USERS users" 64 "$big_pid" -s "$SCRIPTS/login.lua" "$big"
  stop "$small_pid"; stop "$big_pid"
  part_done "scale: $SCALE_USERS users (seeding included)"
fi

# --- 6. Refresh with 1 000 000 expired token rows present, during their purge, after it ---
if [ "$EXPIRED" -gt 0 ]; then
  "$BIN/bench_seed" users "sqlite://$WORK/expired.db" "$USERS" >&2
  # The reference server purges expired tokens when it starts: seed them once it runs.
  start server MYAUTH_DATABASE_URL="sqlite://$WORK/expired.db"
  pid="$SERVER_PID"; base="$SERVER_URL"
  say "seeding $EXPIRED expired refresh tokens into SQLite"
  SEED_EXPIRED_LINE="$("$BIN/bench_seed" expired "sqlite://$WORK/expired.db" "$EXPIRED")"
  say "$SEED_EXPIRED_LINE"
  SIZE_BEFORE="$(du -shc "$WORK"/expired.db* | tail -n 1 | cut -f1)"
  part_done "scale: seeding $EXPIRED expired tokens"
  refresh_tokens "$base" "$((64 + THREADS))"
  load expired_present "sqlite POST /auth/refresh, $EXPIRED expired rows present" 64 "$pid" -s "$SCRIPTS/refresh.lua" "$base"
  # The purge (one DELETE, as the reference server runs it every hour) under refresh load;
  # wrk stops at SIGINT and reports, and stops by itself after 300 s at the latest.
  refresh_tokens "$base" "$((64 + THREADS))"
  b0="$(busy_ticks)"; s0="$(ticks "$pid")"
  wrk -t"$THREADS" -c64 -d300s --latency --timeout 10s -s "$SCRIPTS/refresh.lua" "$base" >"$WORK/purge.out" 2>&1 &
  purge_wrk=$!
  PIDS+=("$purge_wrk")
  sleep 1
  PURGE_LINE="$("$BIN/bench_seed" purge "sqlite://$WORK/expired.db")"
  kill -INT "$purge_wrk" 2>/dev/null || true
  wait "$purge_wrk" || true
  b1="$(busy_ticks)"; s1="$(ticks "$pid")"
  busy="$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "?" }')"
  record expired_during "sqlite POST /auth/refresh during the purge (1 s before it to its end)" 64 "$(cat "$WORK/purge.out")" "$((s1 - s0))" "–" "$busy"
  say "$PURGE_LINE"
  SIZE_AFTER="$(du -shc "$WORK"/expired.db* | tail -n 1 | cut -f1)"
  refresh_tokens "$base" "$((64 + THREADS))"
  load expired_purged "sqlite POST /auth/refresh, after the purge" 64 "$pid" -s "$SCRIPTS/refresh.lua" "$base"
  stop "$pid"
  part_done "scale: refresh with $EXPIRED expired rows, their purge, refresh after"
fi

# --- Results ------------------------------------------------------------------------------
LOAD_AFTER="$(loadavg)"
say "load average after: $LOAD_AFTER"
bound_mib=$((64 + PERMITS * 19))
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
# target NAME VALUE OP LIMIT [NOTE]: a row of the targets table (VALUE may be "MEAN (…)").
target() {
  local shown="≥"
  [ "$3" = le ] && shown="≤"
  echo "| $1 | $2 | $shown $4${5:+ $5} | $(verdict "${2%% *}" "$4" "$3") |"
}
raw_mean() { mean "${RAW[${1}_before]}" "${RAW[${1}_after]}"; }
{
  echo "# HTTP benchmark results"
  echo
  echo "Produced by \`benches/http/run.sh\` (DURATION=$DURATION ROUNDS=$ROUNDS USERS=$USERS SCALE_USERS=$SCALE_USERS EXPIRED=$EXPIRED PG=$PG)"
  echo "on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src crates examples Cargo.toml 2>/dev/null || echo ' (with local changes)');"
  echo "$CORES × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/^Mem:/ {print $2}') GiB;"
  echo "$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2) with $THREADS threads on the same cores as the servers$( [ "$PG" = 1 ] && echo " and PostgreSQL $(psql -tAq "$PG_URL" -c 'SHOW server_version' | cut -d' ' -f1)")."
  echo "Load average before: $LOAD_BEFORE; after: $LOAD_AFTER."
  echo
  echo "## Targets"
  echo
  echo "Ratios of the hot path are the mean of $ROUNDS alternating rounds (each round in brackets)."
  echo
  echo "| target | measured | goal | |"
  echo "|---|---|---|---|"
  for c in 8 64; do
    target "GET /protected (CurrentUser) / ceiling, c=$c" "$(round_ratios "protected_$c" "bare_$c")" ge 0.9
    target "GET /auth/me / ceiling, SQLite, c=$c" "$(round_ratios "sqlite_me_$c" "bare_$c")" ge 0.5
    if [ "$PG" = 1 ]; then
      target "GET /auth/me / ceiling, PostgreSQL, c=$c" "$(round_ratios "postgres_me_$c" "bare_$c")" ge 0.5
      target "GET /auth/me / ceiling, PostgreSQL with sslmode=disable, c=$c" "$(round_ratios "postgres_plain_me_$c" "bare_$c")" ge 0.5
    fi
  done
  if [ "$CORES" -ge 2 ]; then
    target "GET /protected (CurrentUser) / ceiling, c=64, server and wrk on separate cores" "$(round_ratios pinned_protected pinned_bare)" ge 0.9
  fi
  target "login c=64 / raw argon2id limit, SQLite (limit $(raw_mean sqlite)/s on $PERMITS threads, measured before and after)" "$(ratio "${RPS[sqlite_login_64]}" "$(raw_mean sqlite)")" ge 0.85
  if [ "$PG" = 1 ]; then
    target "login c=64 / raw argon2id limit, PostgreSQL (limit $(raw_mean postgres)/s)" "$(ratio "${RPS[postgres_login_64]}" "$(raw_mean postgres)")" ge 0.85
  fi
  target "login c=64 / login c=8, SQLite (no sag)" "$(ratio "${RPS[sqlite_login_64]}" "${RPS[sqlite_login_8]}")" ge 0.9 "(threshold ours)"
  if [ "$PG" = 1 ]; then
    target "login c=64 / login c=8, PostgreSQL (no sag)" "$(ratio "${RPS[postgres_login_64]}" "${RPS[postgres_login_8]}")" ge 0.9 "(threshold ours)"
  fi
  target "GET /auth/me p99 (ms) during a 64-client login storm" "$(ms "${P99[storm_default]}")" le 25
  target "… the same with hashing on the runtime threads" "$(ms "${P99[storm_inline]}")" le 25 "(shows why the design matters)"
  target "peak RSS (MiB) during 256 concurrent logins, all admitted (after start-up: $(kib_to_mib "${HWM_START[mem_admitted]}") MiB)" "$(kib_to_mib "${HWM_PEAK[mem_admitted]}")" le "$bound_mib" "(64 + $PERMITS permits × 19)"
  target "peak RSS (MiB) during 256 concurrent logins, default queue" "$(kib_to_mib "${HWM_PEAK[mem_default]}")" le "$bound_mib"
  if [ "$SCALE_USERS" -gt 0 ]; then
    target "GET /auth/me, $SCALE_USERS users / $USERS users (SQLite)" "$(ratio "${RPS[scale_me_big]}" "${RPS[scale_me_small]}")" ge 0.90
    target "POST /auth/login, $SCALE_USERS users / $USERS users (SQLite)" "$(ratio "${RPS[scale_login_big]}" "${RPS[scale_login_small]}")" ge 0.90
  fi
  if [ "$EXPIRED" -gt 0 ]; then
    echo "| POST /auth/refresh, $EXPIRED expired rows present / purged (SQLite) | $(ratio "${RPS[expired_present]}" "${RPS[expired_purged]}") | reported | |"
    echo "| POST /auth/refresh during the purge: p99, non-2xx | ${P99[expired_during]}, see the row below | reported | |"
  fi
  echo
  echo "## Every run"
  echo
  echo "wrk, $DURATION s per run. *server µs/req*: CPU time (user + system, all threads) of the server"
  echo "process per completed request; *postgres µs/req*: the same for all PostgreSQL processes;"
  echo "*busy %*: share of the whole machine's CPU in use during the run (wrk included)."
  echo
  echo "| scenario | connections | req/s | p50 | p99 | non-2xx | server µs/req | postgres µs/req | busy % |"
  echo "|---|---|---|---|---|---|---|---|---|"
  cat "$ROWS"
  echo
  echo "## Tools and notes"
  echo
  echo "- \`bench_seed jwt 3\`: $JWT_LINE"
  for line in "${RAW_LINES[@]}"; do
    printf -- '- `bench_seed raw-argon2 %s`, %s\n' "$(( (DURATION + 1) / 2 ))" "$line"
  done
  [ -n "${SEED_SCALE_LINE:-}" ] && echo "- \`bench_seed users … $SCALE_USERS\`: $SEED_SCALE_LINE"
  if [ -n "${SEED_EXPIRED_LINE:-}" ]; then
    echo "- \`bench_seed expired … $EXPIRED\` (while the server ran, after its start-up purge): $SEED_EXPIRED_LINE; database files: $SIZE_BEFORE"
    echo "- \`bench_seed purge …\` (under refresh load): $PURGE_LINE; database files afterwards: $SIZE_AFTER"
  fi
  printf -- '- %s\n' "${NOTES[@]}"
  echo
  echo "## Time per part"
  echo
  echo "| part | wall time |"
  echo "|---|---|"
  printf '%s\n' "${TIMINGS[@]}"
} >"$OUT"
say "wrote $OUT"
