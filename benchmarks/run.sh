#!/usr/bin/env bash
# Warm blocking invokes of a noop nodejs action through whisk-node vs the same function
# in a bare node:http server, under the same wrk load, plus the process backend's cold
# start, stem-cell start and pause/resume latencies. Everything runs on 127.0.0.1 and is
# stopped at the end.
#   benchmarks/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_RUN=${1:-10}
CONNS=${2:-4}
command -v wrk >/dev/null || { echo "benchmarks need wrk (apt-get install wrk)"; exit 2; }
if [[ ! -x build/apps/whisk-node || ! -x build/benchmarks/whisk-bench-container ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j 2 >/dev/null
fi

DIR=$(mktemp -d /tmp/whisk-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

# wrk output -> "req/s p50_ms p99_ms"
parse_wrk() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ *50%/ { p50 = ms($2) } /^ *99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%s %.3f %.3f %s\n", rps, p50, p99, bad + 0 }'
}

load() { # url auth -> parsed figures
  local auth_line=""
  [[ -n "$2" ]] && auth_line="wrk.headers[\"Authorization\"] = \"Basic $(printf '%s' "$2" | base64 -w0)\""
  cat >"$DIR/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
$auth_line
LUA
  wrk -t1 -c"$CONNS" -d2s -s "$DIR/post.lua" "$1" >/dev/null # warm-up
  wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency -s "$DIR/post.lua" "$1" | tee "$DIR/wrk.out" | parse_wrk
}

# --- whisk-node ---
build/apps/whisk-node --port=0 --data-dir="$DIR/data" --log-level=warn --stem-cells=none >"$DIR/node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$DIR/data/wskprops" ]] && break; sleep 0.05; done
APIHOST=$(sed -n 's/^APIHOST=//p' "$DIR/data/wskprops")
AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
curl -sf -u "$AUTH" -X PUT "$APIHOST/api/v1/namespaces/_/actions/noop" \
  -d '{"exec":{"kind":"nodejs:20","code":"function main(params) { return {}; }"}}' >/dev/null
WHISK=$(load "$APIHOST/api/v1/namespaces/_/actions/noop?blocking=true&result=true" "$AUTH")
RSS_KB=$(ps -o rss= -p "${PIDS[0]}" | tr -d ' ')

# --- bare node:http ---
node benchmarks/peer_node_http.js 0 >"$DIR/peer.port" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$DIR/peer.port" ]] && break; sleep 0.05; done
PEER=$(load "http://127.0.0.1:$(cat "$DIR/peer.port")/" "")

read -r W_RPS W_P50 W_P99 W_BAD <<<"$WHISK"
read -r P_RPS P_P50 P_P99 P_BAD <<<"$PEER"
echo
echo "## warm blocking invoke, noop nodejs, wrk -t1 -c$CONNS -d${SECONDS_PER_RUN}s ($(nproc) cores, $(date -u +%F))"
echo
printf '| %-34s | %10s | %9s | %9s | %7s |\n' "server" "req/s" "p50 ms" "p99 ms" "non-2xx"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------" "------------" "-----------" "-----------" "---------"
printf '| %-34s | %10.0f | %9.3f | %9.3f | %7s |\n' "whisk-node (process backend)" "$W_RPS" "$W_P50" "$W_P99" "$W_BAD"
printf '| %-34s | %10.0f | %9.3f | %9.3f | %7s |\n' "bare node:http, same function" "$P_RPS" "$P_P50" "$P_P99" "$P_BAD"
echo
awk -v w="$W_RPS" -v p="$P_RPS" 'BEGIN { printf "ratio whisk-node / node:http req/s: %.2f (goal >= 0.7)\n", w / p }'
echo "whisk-node resident memory after the run: $((RSS_KB / 1024)) MB"
echo
echo "## container latencies (process backend, no HTTP)"
echo
build/benchmarks/whisk-bench-container 10 | sed 's/^/    /'
