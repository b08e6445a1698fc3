#!/usr/bin/env bash
# The benchmark suite: builds Release, starts whisk-node on a temporary data dir and the
# peers on 127.0.0.1, runs every scenario with whisk-load, stops all it started, and
# writes a Markdown table (benchmarks/results/suite-<date>.md). Needs root and wrk.
#   benchmarks/suite.sh [SECONDS_PER_RUN]     (default 8; the whole suite stays under 10 min)
#   ./setup.sh bench [SECONDS_PER_RUN]        (on a fresh machine: installs what it needs first)
set -eEuo pipefail
# a failing step says which, on stderr (its output may be going into the table)
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${1:-8}
WARM=2
command -v wrk >/dev/null || { echo "suite: needs wrk (./setup.sh bench installs it and whatever else is missing)" >&2; exit 2; }
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/whisk-bench-build.log 2>&1 &&
  cmake --build build -j 2 >>/tmp/whisk-bench-build.log 2>&1 || { tail -30 /tmp/whisk-bench-build.log >&2; false; }
LOAD=build/benchmarks/whisk-load

source benchmarks/common.sh
bench_scratch suite

row() { # label json-file peer-json-file: the row with its req/s against the peer's of the same run
  printf '| %s | %.0f | %.3f | %.3f | %.3f | %.1f | %s |\n' "$1" "$(json_get "$2" rps)" "$(json_get "$2" latency.p50_ms)" \
    "$(json_get "$2" latency.p99_ms)" "$(json_get "$2" latency.p999_ms)" \
    "$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$(json_get "$2" latency.p99_ms)" "$(json_get "$2" latency.p50_ms)")" \
    "$(ratio "$(json_get "$2" rps)" "$(json_get "$3" rps)")x"
}
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
# measure URL BODY JSON_OUT [AUTH]: a POST scenario, closed loop, 4 connections, warm-up excluded
# (CONNS, default 4)
measure() {
  $LOAD "$1" -m POST -b "$2" ${4:+-a "$4"} -c "${CONNS:-4}" -d "$SECS" -w "$WARM" --quiet --json "$3" >/dev/null
}
table_head() { # title
  printf '\n## %s\n\n| server | req/s | p50 ms | p99 ms | p99.9 ms | p99 / p50 | req/s vs node:http |\n|---|---:|---:|---:|---:|---:|---:|\n' "$1"
}

OUT="$DIR/table.md"
{
  echo "# whisk benchmark suite, $(date -u +'%F %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB,"
  echo "kernel $(uname -r), node $(node --version). Load generator and servers share the machine."
} >"$OUT"

# --- peers ---
start_peer

# --- 1. the load generator itself: whisk-load vs wrk on the same trivial server ---
echo "suite: whisk-load vs wrk" >&2
# Alternate the two tools twice and keep each one's best run (the machine is noisy). Both
# usually saturate the same one-process server, so req/s mostly measures the server; CPU
# time per request (user + system) measures the generators themselves.
WRK_RPS=0 WL_RPS=0 WRK_CPU=1e9 WL_CPU=1e9
TIMEFORMAT='%U %S'
for _ in 1 2; do
  { time wrk -t1 -c16 -d"${SECS}s" "$PEER" >"$DIR/wrk.out"; } 2>"$DIR/wrk.time"
  r=$(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk.out")
  n=$(awk '/requests in/ {print $1}' "$DIR/wrk.out")
  WRK_RPS=$(python3 -c "print(max($WRK_RPS, $r))")
  WRK_CPU=$(python3 -c "u, s = open('$DIR/wrk.time').read().split(); print(min($WRK_CPU, (float(u) + float(s)) * 1e6 / $n))")
  { time $LOAD "$PEER" -c 16 -t 1 -d "$SECS" --quiet --json "$DIR/wl.json" >/dev/null; } 2>"$DIR/wl.time"
  WL_RPS=$(python3 -c "print(max($WL_RPS, $(json_get "$DIR/wl.json" rps)))")
  WL_CPU=$(python3 -c "u, s = open('$DIR/wl.time').read().split(); print(min($WL_CPU, (float(u) + float(s)) * 1e6 / $(json_get "$DIR/wl.json" requests)))")
done
{
  echo
  echo "## Load generator: whisk-load vs wrk (GET, 16 connections, 1 thread, bare node:http, best of 2 alternating runs)"
  echo
  echo "| tool | req/s | CPU us per request |"
  echo "|---|---:|---:|"
  printf '| wrk | %.0f | %.1f |\n| whisk-load | %.0f | %.1f |\n' "$WRK_RPS" "$WRK_CPU" "$WL_RPS" "$WL_CPU"
  echo
  echo "Ratio whisk-load / wrk: **$(ratio "$WL_RPS" "$WRK_RPS")** in req/s; wrk needs **$(ratio "$WRK_CPU" "$WL_CPU")x** the CPU per request."
} >>"$OUT"

# --- 2. starts: exec to /ping, cold and stem-cell first invokes (benchmarks/starts.sh runs
# its own nodes on fresh data dirs, before the suite's node is up) ---
echo "suite: starts (benchmarks/starts.sh)" >&2
{
  echo
  echo "## Starts (medians of 7, ms; each next to its peer or goal)"
  echo
  WHISK_SKIP_BUILD=1 benchmarks/starts.sh
  echo
  echo "Process backend alone (whisk-bench-container, no HTTP):"
  echo
  echo '```'
  build/benchmarks/whisk-bench-container 10
  echo '```'
} >>"$OUT"

# --- whisk-node ---
start_node --stem-cells=nodejs:20:256:1 --max-queue=200
NOOP='function main(params) { return {}; }'
put noop "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$NOOP\"}}"
for i in $(seq 0 9); do put "noop$i" "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$NOOP\"},\"limits\":{\"memory\":128}}"; done
put noop_py '{"exec":{"kind":"python:3","code":"def main(args):\n    return {}\n"},"limits":{"memory":128}}'
NATIVE=$(printf '#!/bin/sh\n[ -n "$__OW_WAIT_FOR_ACK" ] && echo "{\\"ok\\":true}" >&3\nwhile read -r line; do echo "{}" >&3; done\n' | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
put noop_native "{\"exec\":{\"kind\":\"native\",\"code\":$NATIVE},\"limits\":{\"memory\":128}}"
put noop_iso "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$NOOP\"},\"limits\":{\"memory\":128}}"

# --- 3. warm container invoke vs bare node:http ---
echo "suite: warm invoke" >&2
measure "$API/actions/noop?blocking=true&result=true" '{}' "$DIR/warm.json" "$WHISK_AUTH"
measure "$PEER" '{}' "$DIR/peer.json"
# saturation: the tail (goal: p99 within 5x p50)
CONNS=32 measure "$API/actions/noop?blocking=true&result=true" '{}' "$DIR/warm32.json" "$WHISK_AUTH"
CONNS=32 measure "$PEER" '{}' "$DIR/peer32.json"
{
  table_head "Warm invoke: noop nodejs, blocking, closed loop"
  row "whisk-node (process backend), 4 connections" "$DIR/warm.json" "$DIR/peer.json"
  row "bare node:http, same function, 4 connections" "$DIR/peer.json" "$DIR/peer.json"
  row "whisk-node (process backend), 32 connections" "$DIR/warm32.json" "$DIR/peer32.json"
  row "bare node:http, same function, 32 connections" "$DIR/peer32.json" "$DIR/peer32.json"
  echo
  echo "Ratio whisk-node / node:http at 4 connections: **$(ratio "$(json_get "$DIR/warm.json" rps)" "$(json_get "$DIR/peer.json" rps)")** (goal >= 0.7);" \
    "at 32: **$(ratio "$(json_get "$DIR/warm32.json" rps)" "$(json_get "$DIR/peer32.json" rps)")**." \
    "Tail at 32 connections: p99 / p50 **$(ratio "$(json_get "$DIR/warm32.json" latency.p99_ms)" "$(json_get "$DIR/warm32.json" latency.p50_ms)")** (goal <= 5)."
} >>"$OUT"

# --- 3b. containerless: js:isolate in each mode vs workerd vs a container vs node:http ---
echo "suite: js:isolate (benchmarks/isolates.sh)" >&2
{
  echo
  WHISK_SKIP_BUILD=1 benchmarks/isolates.sh "$SECS"
  echo
  echo "The isolate layer alone (whisk-bench-isolate, one thread, no HTTP or actors):"
  echo
  build/benchmarks/whisk-bench-isolate
} >>"$OUT"

# --- 4. ten actions, random, blocking ---
echo "suite: ten-action mix" >&2
$LOAD --config benchmarks/load/examples/noop10.json -d "$SECS" -w "$WARM" --quiet --json "$DIR/mix.json" >/dev/null
CONNS=8 measure "$PEER" '{}' "$DIR/peer8.json"
{
  table_head "Multi-action mix: 10 noop nodejs actions (128 MB), drawn at random, 8 connections"
  row "10-action mix" "$DIR/mix.json" "$DIR/peer8.json"
  row "bare node:http, one function, 8 connections" "$DIR/peer8.json" "$DIR/peer8.json"
} >>"$OUT"

echo "suite: mixed kinds" >&2
$LOAD --config benchmarks/load/examples/mixed_kinds.json -d "$SECS" -w "$WARM" --quiet --json "$DIR/kinds.json" >/dev/null
python3 - "$DIR/kinds.json" "$DIR/peer8.json" >>"$OUT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))["rps"]
print()
print("## Mixed kinds: nodejs 6 : python 3 : native 1 : js:isolate 4, 8 connections")
print()
print("| target | req/s | p50 ms | p99 ms | statuses | req/s vs node:http (8 connections, all of its req/s) |")
print("|---|---:|---:|---:|---|---:|")
for t in d["targets"] + [dict(name="all", rps=d["rps"], latency=d["latency"], status=d["status"])]:
    print("| %s | %.0f | %.3f | %.3f | %s | %.2fx |" % (t["name"], t["rps"], t["latency"]["p50_ms"], t["latency"]["p99_ms"],
          " ".join("%s=%s" % kv for kv in t["status"].items()), t["rps"] / peer))
PY

# --- 5. durable answers and overload, on a node with the default options ---
echo "suite: durable answers and overload (benchmarks/overload.sh)" >&2
{
  echo
  WHISK_SKIP_BUILD=1 benchmarks/overload.sh "$SECS"
} >>"$OUT"

# --- 6. pause / resume is in the process backend figures above ---
{
  echo
  echo "Pause/resume: see the process backend figures (freeze/thaw)."
} >>"$OUT"

mkdir -p benchmarks/results
cp "$OUT" "benchmarks/results/suite-$(date -u +%F).md"
cat "$OUT"
