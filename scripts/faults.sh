#!/usr/bin/env bash
# Fault injection on the real servers, under load: the reference server runs against a
# store, scripts/faults.py drives logins, /me and refresh rotations from 8 clients, and this
# script breaks what the server stands on at t=10 s and repairs it at t=25 s. It prints, per
# phase, the statuses clients saw, p99/max latency and how many 503s carried Retry-After,
# then how long recovery took, and checks the database afterwards (no refresh token used
# twice, no account half-written). Not part of scripts/test.sh: it stops shared servers.
#
#   scripts/faults.sh postgres   # pg_ctlcluster stop -m fast / start (the machine's cluster)
#   scripts/faults.sh mongo      # our MongoDB-wire test server killed, restarted on its port
#   scripts/faults.sh redis      # the Redis holding the counters killed, restarted
#
# Results go to target/faults/<fault>.md. The SQLite (full disk, read-only remount) and SMTP
# (silent, refusing) faults are tests in the suite: crates/auth-sqlite/tests/disk.rs and
# crates/auth-smtp/tests/smtp.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

fault=${1:?usage: scripts/faults.sh postgres|mongo|redis}
out=target/faults
mkdir -p "$out"
cargo build --quiet --example server --all-features
# shellcheck source=scripts/reference-server.sh
source scripts/reference-server.sh
pg_url=${MYAUTH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg_db="myauth_faults_$$"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$fault" = postgres ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start 2>/dev/null || true
    psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

extra=()
case "$fault" in
  postgres)
    psql "$pg_url" -qc "CREATE DATABASE $pg_db" >/dev/null
    db_url="${pg_url%/*}/$pg_db"
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    break_it() { pg_ctlcluster --skip-systemctl-redirect "$version" main stop -m fast; }
    repair_it() { pg_ctlcluster --skip-systemctl-redirect "$version" main start; }
    ;;
  mongo)
    mongo_port=$(free_port)
    start_mongo() {
      python3 scripts/mongo_test_server.py --port "$mongo_port" >"$out/mongo.stdout" 2>&1 &
      mongo_pid=$!; pids+=("$mongo_pid")
      for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$mongo_port") 2>/dev/null && return 0; sleep 0.1; done
      echo "the MongoDB-wire server did not start" >&2; return 1
    }
    start_mongo
    db_url="mongodb://127.0.0.1:$mongo_port/myauth_faults?directConnection=true"
    break_it() { kill -9 "$mongo_pid"; }
    repair_it() { start_mongo; }
    ;;
  redis)
    db_url="sqlite://$(mktemp -d)/faults.db"
    redis_port=$(free_port)
    start_redis() {
      redis-server --port "$redis_port" --save '' --appendonly no >"$out/redis.stdout" 2>&1 &
      redis_pid=$!; pids+=("$redis_pid")
      for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
      echo "redis-server did not start" >&2; return 1
    }
    start_redis
    extra=(MYAUTH_REDIS_URL="redis://127.0.0.1:$redis_port")
    break_it() { kill -9 "$redis_pid"; }
    repair_it() { start_redis; }
    ;;
  *) echo "unknown fault $fault (postgres, mongo or redis)" >&2; exit 2 ;;
esac

reference_server_start "$out/$fault.server" MYAUTH_DATABASE_URL="$db_url" \
  MYAUTH_REQUIRE_VERIFIED_EMAIL=false MYAUTH_IP_RATE_LIMITS=off \
  MYAUTH_LOGIN_FREE_FAILURES=1000 "${extra[@]}"
pids+=("$REFERENCE_SERVER_PID")

python3 scripts/faults.py --url "$REFERENCE_SERVER_URL" --seconds 40 --fault-at 10 --restore-at 25 \
  --out "$out/$fault.md" >"$out/$fault.load.log" &
load=$!
# The load's clock starts once its clients are registered (it prints `t0`): the fault comes
# 10 s after that, the repair 15 s later.
until grep -q '^t0' "$out/$fault.load.log" 2>/dev/null; do
  kill -0 "$load" 2>/dev/null || { cat "$out/$fault.load.log" >&2; exit 1; }
  sleep 0.05
done
sleep 10
echo "breaking $fault"; break_it
sleep 15
echo "repairing $fault"; repair_it
wait "$load"
cat "$out/$fault.load.log"

if [ "$fault" = postgres ]; then
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
  {
    echo
    echo "refresh tokens used twice (families with more than one live token): $(psql "$db_url" -tAc \
      "SELECT count(*) FROM (SELECT family_id FROM tokens WHERE kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL GROUP BY family_id HAVING count(*) > 1) f")"
    echo "accounts half-written (no hash or email): $(psql "$db_url" -tAc \
      "SELECT count(*) FROM users WHERE password_hash = '' OR email = ''")"
  } | tee -a "$out/$fault.md"
fi
echo "server log lines at ERROR: $(grep -c 'ERROR' "$out/$fault.server.out" "$out/$fault.server.err" | awk -F: '{s+=$2} END {print s}')" | tee -a "$out/$fault.md"
