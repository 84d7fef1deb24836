#!/usr/bin/env bash
# `myauth import` of generated users into SQLite and PostgreSQL, release build, wall time
# per run (benches/README.md, "Import"). Needs PostgreSQL (MYAUTH_BENCH_POSTGRES_URL, default
# the local cluster's `postgres` user); creates and drops the database `myauth_import_bench`.
#
#   benches/import/run.sh [USERS]      # default 100000
set -euo pipefail
cd "$(dirname "$0")/../.."
users="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/myauth-target}"
pg_server="${MYAUTH_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release -p myauth-cli
myauth="$CARGO_TARGET_DIR/release/myauth"
python3 benches/import/gen.py "$users" "$work"
ls -l "$work"
export MYAUTH_JWT_SECRET="import-bench-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"

timed() { # label, then the command; prints wall seconds and users/s
  local label="$1" start end
  shift
  start="$(date +%s.%N)"
  "$@" --no-progress >"$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; return 1; }
  end="$(date +%s.%N)"
  python3 -c "import sys; s=$end-$start; print(f'{sys.argv[1]:<44} {s:7.1f} s {$users/s:9.0f} users/s  | ' + open(sys.argv[2]).read().strip().splitlines()[-1])" "$label" "$work/out.txt"
}

pg_db() { psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS myauth_import_bench" -c "CREATE DATABASE myauth_import_bench"; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for format in seed fastapi-users; do
  file="$work/seed.jsonl"
  [ "$format" = fastapi-users ] && file="$work/fastapi-users.csv"
  rm -f "$work/bench.db"*
  timed "sqlite $format" "$myauth" --database-url "sqlite://$work/bench.db" import "$file"
  timed "sqlite $format, again (all skipped)" "$myauth" --database-url "sqlite://$work/bench.db" import "$file"
  pg_db
  timed "postgres $format" "$myauth" --database-url "$pg_server/myauth_import_bench" import "$file"
  timed "postgres $format, again (all skipped)" "$myauth" --database-url "$pg_server/myauth_import_bench" import "$file"
done
psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS myauth_import_bench"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
