# shellcheck shell=bash
# A MongoDB wire-protocol server for tests, for bash scripts (scripts/test.sh uses it):
#
#   source scripts/mongo-test-server.sh
#   trap mongo_test_server_stop EXIT
#   mongo_test_server_start    # exports MONGO_TEST_SERVER_URL=mongodb://127.0.0.1:PORT/?directConnection=true
#
# The server is scripts/mongo_test_server.py (nx-27017 from PyPI with our workarounds; why
# it and not mongod is explained there). It needs python3 and access to PyPI the first
# time; it installs into ~/.cache/myauth/ once and then starts in about a second. Each
# start gets its own port and run directory, so two test runs on one machine never meet.

MONGO_TEST_SERVER_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mongo_test_server.py"
MONGO_TEST_SERVER_PID=""
MONGO_TEST_SERVER_DIR=""

# Starts the server and waits until it accepts connections. The first start installs the
# pinned packages, hence the generous limit (MONGO_TEST_SERVER_TIMEOUT seconds, default 300).
mongo_test_server_start() {
  local url="" deadline
  if ! command -v python3 >/dev/null 2>&1; then
    echo "mongo test server: python3 is not installed; install it or set MYAUTH_TEST_MONGODB_URL" >&2
    return 1
  fi
  mongo_test_server_stop
  MONGO_TEST_SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/myauth-mongo-test.XXXXXX")"
  python3 "$MONGO_TEST_SERVER_SCRIPT" --log "$MONGO_TEST_SERVER_DIR/server.log" \
    >"$MONGO_TEST_SERVER_DIR/stdout" 2>"$MONGO_TEST_SERVER_DIR/stderr" &
  MONGO_TEST_SERVER_PID=$!
  deadline=$((SECONDS + ${MONGO_TEST_SERVER_TIMEOUT:-300}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$MONGO_TEST_SERVER_PID" 2>/dev/null; then
      break
    fi
    # The script prints the URL just before the server binds, then the port opens.
    url="$(head -n 1 "$MONGO_TEST_SERVER_DIR/stdout" 2>/dev/null || true)"
    if [[ "$url" =~ ^mongodb://([^:/]+):([0-9]+)/ ]] &&
      (exec 3<>"/dev/tcp/${BASH_REMATCH[1]}/${BASH_REMATCH[2]}") 2>/dev/null; then
      export MONGO_TEST_SERVER_URL="$url"
      echo "mongo test server (nx-27017, pid $MONGO_TEST_SERVER_PID) ready at $url"
      return 0
    fi
    sleep 0.2
  done
  echo "mongo test server did not start; its output follows" >&2
  cat "$MONGO_TEST_SERVER_DIR/stderr" "$MONGO_TEST_SERVER_DIR/server.log" >&2 2>/dev/null || true
  mongo_test_server_stop
  return 1
}

# Stops the server this shell started, if any, and removes its run directory. Safe to call
# twice and when nothing was started, so it can sit in an EXIT trap.
mongo_test_server_stop() {
  if [ -n "$MONGO_TEST_SERVER_PID" ] && kill -0 "$MONGO_TEST_SERVER_PID" 2>/dev/null; then
    kill "$MONGO_TEST_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$MONGO_TEST_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    # It ignored SIGTERM for five seconds: it must not outlive the script.
    kill -9 "$MONGO_TEST_SERVER_PID" 2>/dev/null || true
  fi
  wait "$MONGO_TEST_SERVER_PID" 2>/dev/null || true
  MONGO_TEST_SERVER_PID=""
  if [ -n "$MONGO_TEST_SERVER_DIR" ]; then
    rm -rf "$MONGO_TEST_SERVER_DIR"
    MONGO_TEST_SERVER_DIR=""
  fi
}
