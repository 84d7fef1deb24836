# shellcheck shell=bash
# Starting the reference server from a script (schemathesis.sh, soak.sh, faults.sh):
#
#   source scripts/reference-server.sh
#   reference_server_start LOG_PREFIX [VAR=VALUE ...]
#
# runs `${CARGO_TARGET_DIR:-target}/debug/examples/server` (build it first with
# `cargo build --example server --all-features`) on a free loopback port with a fresh random
# JWT secret, emails to the log and the given variables; its output goes to
# LOG_PREFIX.out / LOG_PREFIX.err. It waits for the `listening on ADDR` line and exports
# REFERENCE_SERVER_PID and REFERENCE_SERVER_URL (http://ADDR); on failure it prints the
# server's stderr and returns 1. The caller stops the server (kill "$REFERENCE_SERVER_PID").

reference_server_start() {
  local prefix=$1
  shift
  local binary="${CARGO_TARGET_DIR:-target}/debug/examples/server"
  # Empty before the start: the loop below must never read an earlier run's address.
  : >"$prefix.out"
  : >"$prefix.err"
  env MYAUTH_BIND=127.0.0.1:0 MYAUTH_EMAIL_LOG=true \
    MYAUTH_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    RUST_LOG="${RUST_LOG:-warn}" "$@" "$binary" >>"$prefix.out" 2>>"$prefix.err" &
  REFERENCE_SERVER_PID=$!
  local addr=""
  for _ in $(seq 1 300); do
    addr=$(sed -n 's/^listening on //p' "$prefix.out")
    [ -n "$addr" ] && break
    kill -0 "$REFERENCE_SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "the reference server did not start:" >&2
    cat "$prefix.err" >&2
    return 1
  fi
  export REFERENCE_SERVER_PID REFERENCE_SERVER_URL="http://$addr"
}
