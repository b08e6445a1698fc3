#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR (fuzz_*) for SECONDS each, on a copy of its
# seed corpus (tests/fuzz/corpus/<target without fuzz_>), and fails if any target finds a
# crash, a sanitizer report, a leak or a hang. A finding's input is kept in
# ${WHISK_FUZZ_FINDINGS:-/tmp/whisk-fuzz-findings}; rerun it with: BUILD_DIR/tests/fuzz/fuzz_X FILE
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -uo pipefail
BUILD=${1:?usage: run.sh BUILD_DIR SECONDS}
SECS=${2:?usage: run.sh BUILD_DIR SECONDS}
HERE=$(cd "$(dirname "$0")" && pwd)
FINDINGS=${WHISK_FUZZ_FINDINGS:-/tmp/whisk-fuzz-findings}
mkdir -p "$FINDINGS"
WORK=$(mktemp -d /tmp/whisk-fuzz-run.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

mapfile -t TARGETS < <(find "$BUILD" -type f -name 'fuzz_*' -perm -u+x | sort)
if [[ ${#TARGETS[@]} == 0 ]]; then
  echo "no fuzz_* executables under $BUILD (build the whisk_fuzz target with -DWHISK_FUZZ=ON)"
  exit 1
fi
failed=()
for bin in "${TARGETS[@]}"; do
  name=$(basename "$bin")
  seeds="$HERE/corpus/${name#fuzz_}"
  if [[ ! -d $seeds ]]; then
    echo "FAIL - $name: no seed corpus in $seeds"
    failed+=("$name")
    continue
  fi
  cp -r "$seeds" "$WORK/$name"
  log="$WORK/$name.log"
  # -timeout: one input may take 10 s at most; the outer timeout catches a fuzzer that hangs.
  timeout -k 10 $((SECS + 120)) "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$FINDINGS/$name-" "$WORK/$name" >"$log" 2>&1
  rc=$?
  # the store a crashed fuzz_http_request left in tmpfs (its process is gone)
  for d in /dev/shm/whisk-fuzz-http-* /tmp/whisk-fuzz-http-*; do
    [[ -d $d ]] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
  done
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  if [[ $rc == 0 ]]; then
    echo "ok   - $name: ${SECS} s, ${execs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$WORK/$name" | wc -l) inputs"
  else
    echo "FAIL - $name: exit status $rc after ${execs:-?} runs; input(s) kept in $FINDINGS/$name-*"
    grep -E 'FINDING|ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -10 | sed 's/^/       /'
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing failed: ${failed[*]}"
  echo "fuzz: $((${#TARGETS[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
  exit 1
fi
echo "fuzzing: ${#TARGETS[@]} targets, no finding"
echo "fuzz: ${#TARGETS[@]} passed, 0 failed"
