#!/usr/bin/env bash
# Publishes every MyAuth crate to a private Cargo registry running on this machine, then
# installs MyAuth from it the way an application does: examples/quickstart.rs as a package of
# its own with `cargo add myauth --registry internal --features postgres,smtp`, and the
# `myauth` command line with `cargo install myauth-cli --registry internal`. It proves that
# every crate packages, that the published manifests resolve each other from the registry
# (never from crates.io), and that what the registry holds builds.
#
#   scripts/publish-local.sh                         # what scripts/test.sh runs
#   MYAUTH_REGISTRY_KEEP=1 scripts/publish-local.sh  # leave the registry running afterwards
#
# The registry is cargo-http-registry from crates.io: a small server with cargo's publish API
# and a git index on disk, installed once into ~/.cache/myauth-tools. It listens on a free
# loopback port and starts empty on every run; CARGO_REGISTRIES_INTERNAL_INDEX points the
# workspace's `internal` registry (.cargo/config.toml) at it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/myauth-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
tools="$HOME/.cache/myauth-tools"
registry_bin="$tools/bin/cargo-http-registry"
registry_dir="$CARGO_TARGET_DIR/internal-registry"
consumer_dir="$CARGO_TARGET_DIR/from-registry"
# What is built from the registry keeps a target directory of its own: cargo compiles those
# crates with the default profile, not the workspace's.
consumer_target="$CARGO_TARGET_DIR/from-registry-target"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$registry_bin" ]; then
  step "installing cargo-http-registry into $tools"
  cargo install --quiet --locked cargo-http-registry --version 0.1.8 --root "$tools"
fi

# The crates the workspace publishes: those whose manifest says `publish = ["internal"]`.
mapfile -t crates < <(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if package["publish"] == ["internal"]:
        print(package["name"])')
printf 'publishable: %s\n' "${crates[*]}"

# An empty registry on a free loopback port, stopped when this script ends.
rm -rf "$registry_dir"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
step "starting the registry on 127.0.0.1:$port ($registry_dir)"
"$registry_bin" --addr "127.0.0.1:$port" "$registry_dir" >"$CARGO_TARGET_DIR/internal-registry.log" 2>&1 &
registry_pid=$!
stop_registry() {
  if [ -z "${MYAUTH_REGISTRY_KEEP:-}" ]; then kill "$registry_pid" 2>/dev/null || true; fi
}
trap stop_registry EXIT
for _ in $(seq 1 100); do
  if [ -f "$registry_dir/config.json" ] \
    && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$registry_pid" 2>/dev/null; then
    cat "$CARGO_TARGET_DIR/internal-registry.log" >&2
    exit 1
  fi
  sleep 0.1
done

index="file://$registry_dir"
export CARGO_REGISTRIES_INTERNAL_INDEX="$index"
# The registry takes any token; cargo wants one.
export CARGO_REGISTRIES_INTERNAL_TOKEN="local"

step "cargo publish --workspace --registry internal"
# Every crate is compiled from the registry below; cargo's own verification would compile
# each one once more.
cargo publish --workspace --registry internal --allow-dirty --no-verify \
  --exclude myauth-bench-tools --exclude myauth-fuzz-targets --exclude test-smtp-server

for crate in "${crates[@]}"; do
  if ! compgen -G "$registry_dir/$crate-[0-9]*.crate" >/dev/null; then
    echo "$crate is not in the registry" >&2
    exit 1
  fi
done
echo "${#crates[@]} crates in the registry"

# Every run republishes the same versions with new contents, and cargo trusts a registry
# crate's version never to change: it keeps the downloaded copy (~/.cargo/registry/{index,
# cache,src}, in a directory named after the registry's address; a `file://` registry's is
# `-<hash>`, which a crates.io directory never is) and the compiled one (its fingerprint in
# the target directory). Forget both for MyAuth's crates before building from the registry.
for dir in "$cargo_home"/registry/cache/-*/; do
  [ -e "$dir/auth-core-0.1.0.crate" ] || continue
  name="$(basename "$dir")"
  rm -rf "$cargo_home/registry/index/$name" "$cargo_home/registry/cache/$name" \
    "$cargo_home/registry/src/$name"
done
for crate in "${crates[@]}"; do
  rm -rf "$consumer_target"/debug/.fingerprint/"$crate"-*
done

step "examples/quickstart.rs from the registry: cargo add myauth --registry internal --features postgres,smtp"
rm -rf "$consumer_dir"
mkdir -p "$consumer_dir/quickstart/src" "$consumer_dir/quickstart/.cargo"
cd "$consumer_dir/quickstart"
# A package of its own (`[workspace]`), wherever the target directory is.
printf '%s\n' '[package]' 'name = "quickstart"' 'version = "0.1.0"' 'edition = "2024"' \
  'publish = false' '' '[workspace]' '' '[dependencies]' >Cargo.toml
printf '%s\n' '[registries]' "internal = { index = \"$index\" }" >.cargo/config.toml
cp "$root/examples/quickstart.rs" src/main.rs
cargo add --quiet myauth --registry internal --features postgres,smtp
cargo add --quiet axum@0.8 tracing-subscriber@0.3
cargo add --quiet tokio@1 --features full
cargo build --target-dir "$consumer_target"

# Every MyAuth crate in that build came from the registry: none from crates.io, none by path.
python3 - Cargo.lock "$index" <<'PY'
import sys, tomllib
lock, index = sys.argv[1], sys.argv[2]
packages = tomllib.load(open(lock, "rb"))["package"]
ours = {"myauth", "auth-core", "auth-sqlite", "auth-postgres", "auth-smtp", "auth-axum"}
found = {p["name"]: p.get("source", "") for p in packages if p["name"] in ours}
missing = sorted(ours - found.keys())
elsewhere = {name: source for name, source in found.items() if source != "registry+" + index}
if missing or elsewhere:
    sys.exit(f"not from the internal registry: missing {missing}, elsewhere {elsewhere}")
print(f"{len(found)} MyAuth crates resolved from {index}: {', '.join(sorted(found))}")
PY

step "the command line from the registry: cargo install myauth-cli --registry internal"
cd "$consumer_dir"
cargo install --quiet myauth-cli --registry internal --locked --debug \
  --target-dir "$consumer_target" --root "$consumer_dir/cli"
myauth="$consumer_dir/cli/bin/myauth"
"$myauth" --version
"$myauth" --database-url "sqlite://$consumer_dir/cli/smoke.db" migrate
"$myauth" --database-url "sqlite://$consumer_dir/cli/smoke.db" --json user list

step "done: ${#crates[@]} crates published; the quick start and the command line built from them"
