#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for a bounded time and prints,
# per target, the executions, the coverage (libFuzzer's `cov`: edges hit; `ft`: features)
# and the corpus size. Not part of scripts/test.sh: the corpus regression test
# (crates/fuzz-targets/tests/corpus.rs) runs there instead, on stable Rust.
#
#   scripts/fuzz.sh [seconds] [target ...]
#
# Each target runs `seconds` (default 600) and then on until it has made FUZZ_MIN_EXECS
# executions (default 5 000 000), whichever comes later. Everything runs under
# `nice -n 19`, so the fuzzer only takes CPU nobody else wants.
#
# Variables: FUZZ_MIN_EXECS (default 5000000); FUZZ_SANITIZER (`none`, the default: the
# library has `unsafe_code = "forbid"`, so ASan would mostly slow the search down;
# `address` to check the dependencies' unsafe code too); FUZZ_TARGET_DIR (default
# fuzz/target); FUZZ_MERGE=1 merges the inputs that add coverage into fuzz/corpus/<target>
# (review and commit them).
#
# Crashes go to fuzz/artifacts/<target>/; reproduce one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/crash-…
# and, once fixed, copy it to fuzz/regressions/<target>/ so the corpus test keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-600}"
if [ "$#" -gt 0 ]; then shift; fi
MIN_EXECS="${FUZZ_MIN_EXECS:-5000000}"
SANITIZER="${FUZZ_SANITIZER:-none}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer, -Cpasses=sancov-module with
# -Zunstable-options...). This project builds with stable Rust only, so the stable
# compiler is told to accept them: RUSTC_BOOTSTRAP=1 unlocks unstable flags on a stable
# toolchain. It is set for this script's fuzz build alone, never for the library's
# normal builds, whose code must stay stable-only.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  TARGETS=("$@")
else
  mapfile -t TARGETS < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^myauth-fuzz$')
fi

echo "==> building ${#TARGETS[@]} fuzz targets (sanitizer: $SANITIZER, debug assertions on)"
for target in "${TARGETS[@]}"; do
  (cd fuzz && nice -n 19 cargo fuzz build --sanitizer "$SANITIZER" --debug-assertions "$target")
done
BIN_DIR="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

# One summary per run (several runs may go side by side on other targets).
SUMMARY="fuzz/artifacts/summary-$(date -u +%Y%m%dT%H%M%SZ)-$$.md"
mkdir -p fuzz/artifacts
{
  echo "| target | seconds | executions | exec/s | edges (cov) | features (ft) | corpus (entries) | crashes |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$SUMMARY"

FAILED=0
for target in "${TARGETS[@]}"; do
  work="fuzz/corpus.work/$target"
  artifacts="fuzz/artifacts/$target"
  log="fuzz/artifacts/$target.log"
  mkdir -p "$work" "$artifacts" "fuzz/corpus/$target"
  cp -n fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  : > "$log"
  stamp="fuzz/artifacts/$target.started"
  : > "$stamp"
  echo "==> $target: ${SECONDS_PER_TARGET}s, then until $MIN_EXECS executions"
  started=$(date +%s)
  run() {
    # libFuzzer writes new inputs into the first directory (the working copy) only.
    nice -n 19 "$BIN_DIR/$target" "$work" "fuzz/corpus/$target" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      "$@" >>"$log" 2>&1
  }
  status=0
  run -max_total_time="$SECONDS_PER_TARGET" || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  if [ "$status" -eq 0 ] && [ "$execs" -lt "$MIN_EXECS" ]; then
    echo "    $execs executions after ${SECONDS_PER_TARGET}s; on to $MIN_EXECS"
    run -runs=$((MIN_EXECS - execs)) || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  fi
  elapsed=$(( $(date +%s) - started ))
  # The last status line: "#N  DONE  cov: X ft: Y corp: A/Bb ...".
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$work" -type f | wc -l)
  crashes=$(find "$artifacts" -type f -newer "$stamp" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then FAILED=1; fi
  rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
  echo "| $target | $elapsed | $execs | $rate | ${cov:-?} | ${ft:-?} | $corpus | $crashes |" >> "$SUMMARY"
  echo "    $target: $execs executions in ${elapsed}s, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus, crashes $crashes (log: $log)"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    nice -n 19 "$BIN_DIR/$target" -merge=1 "fuzz/corpus/$target" "$work" >>"$log" 2>&1 || true
  fi
done

echo
cat "$SUMMARY"
if [ "$FAILED" -ne 0 ]; then
  echo "some target crashed or failed: see fuzz/artifacts/" >&2
  exit 1
fi
