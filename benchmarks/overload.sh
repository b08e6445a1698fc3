#!/usr/bin/env bash
# Durable answers and overload, on whisk-node with its DEFAULT options (noop nodejs action):
# the unloaded warm invoke (closed loop, 4 connections) with the cost of the group commits
# that answers wait for, then an open loop at 5x that capacity over 256 connections: the
# share shed (429/503), the latency of the accepted requests against the unloaded p99, and
# whisk-node's peak RSS. Prints a Markdown table.
#   benchmarks/overload.sh [SECONDS_PER_RUN]   (default 8; WHISK_SKIP_BUILD=1 to skip the build)
set -eEuo pipefail
# a failing step says which, on stderr (its output may be going into the table)
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
SECS=${1:-8}
if [[ -z "${WHISK_SKIP_BUILD:-}" ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/whisk-bench-build.log 2>&1 &&
    cmake --build build -j 2 >>/tmp/whisk-bench-build.log 2>&1 || { tail -30 /tmp/whisk-bench-build.log >&2; false; }
fi
LOAD=build/benchmarks/whisk-load
source benchmarks/common.sh
bench_scratch overload

start_node ${WHISK_NODE_ARGS:-} # the defaults unless asked: the goal is about them
put noop '{"exec":{"kind":"nodejs:20","code":"function main(params) { return {}; }"}}'
curl -sf -u "$WHISK_AUTH" -X POST "$API/actions/noop?blocking=true" >/dev/null
store_metrics() { curl -s -u "$WHISK_AUTH" "$WHISK_APIHOST/metrics" | awk '/^whisk_store_(commits_total|records_written_total|commit_seconds_total) / {printf "%s ", $2}'; }

BEFORE=$(store_metrics)
$LOAD "$API/actions/noop?blocking=true&result=true" -m POST -b '{}' -a "$WHISK_AUTH" -c 4 -d "$SECS" -w 2 --quiet --json "$DIR/warm.json" >/dev/null
AFTER=$(store_metrics)
RATE=$(python3 -c "print(int(5 * $(json_get "$DIR/warm.json" rps)))")
$LOAD "$API/actions/noop?blocking=true&result=true" -m POST -b '{}' -a "$WHISK_AUTH" -c 256 -r "$RATE" -d "$SECS" -w 2 \
  --timeout 5 --quiet --json "$DIR/over.json" >/dev/null || true
PEAK_KB=$(awk '/VmHWM/ {print $2}' /proc/$NODE_PID/status)
python3 - "$DIR/warm.json" "$DIR/over.json" "$RATE" "$PEAK_KB" "$BEFORE" "$AFTER" <<'PY'
import json, sys
warm, over = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
b, a = [list(map(float, s.split())) for s in sys.argv[5:7]]
commits, records, secs = (a[i] - b[i] for i in range(3))
st = {int(k): v for k, v in over["status"].items()}
total = sum(st.values()) or 1
shed = st.get(429, 0) + st.get(503, 0)
acc = over["accepted_latency"]
p99 = warm["latency"]["p99_ms"]
print("## Durable answers and overload (whisk-node defaults, noop nodejs, blocking)\n")
print("| measure | value |")
print("|---|---:|")
print("| unloaded: 4 connections, closed loop | %.0f req/s, p50 %.2f ms, p99 %.2f ms |" % (warm["rps"], warm["latency"]["p50_ms"], p99))
if commits > 0:
    print("| group commits while unloaded | %.1f records per commit, %.0f us per commit (%.1f us per record) |"
          % (records / commits, secs * 1e6 / commits, secs * 1e6 / records))
print("| overload: open loop at %s req/s (5x), 256 connections | %d responses |" % (sys.argv[3], total))
print("| answered 429/503 (shed) | %.1f%% |" % (100.0 * shed / total))
print("| accepted (2xx) p50 / p99 | %.2f / %.2f ms |" % (acc["p50_ms"], acc["p99_ms"]))
print("| accepted p99 / unloaded p99 | %.1fx (goal <= 10x) |" % (acc["p99_ms"] / p99 if p99 else float("nan")))
print("| errors (connect/read/timeout) | %d / %d / %d |" % (over["errors"]["connect"], over["errors"]["read"], over["errors"]["timeouts"]))
print("| whisk-node peak RSS | %.1f MB |" % (int(sys.argv[4]) / 1024))
PY
