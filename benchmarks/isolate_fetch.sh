#!/usr/bin/env bash
# The cost of `await fetch` to a local server (the bare node:http peer on 127.0.0.1), from a
# js:isolate action, from a nodejs:20 container and from workerd, same run, same load
# generator: each server once without the fetch and once with it; the difference of the
# p50 latencies at one connection is the round trip's cost. Prints a Markdown table.
#   benchmarks/isolate_fetch.sh [SECONDS_PER_RUN]   (default 5; needs a Release build)
# whisk-node runs with --isolate-fetch-allow=127.0.0.1/32 (fetch may reach the peer) and
# --network=host (so may the container); workerd with its outbound network opened to loopback.
set -eEuo pipefail
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
SECS=${1:-5}
LOAD=build/benchmarks/whisk-load
WORKERD=benchmarks/peers/node_modules/.bin/workerd
source benchmarks/common.sh
bench_scratch isolate-fetch
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null -X POST -d '{"n":1}' "$1" && return 0; sleep 0.05; done; return 1; }

start_peer
start_node --stem-cells=none --network=host --isolate-fetch-allow=127.0.0.1/32

PLAIN='async function main({n}) { return {n: 2 * n}; }'
FETCH="async function main({n}) { const r = await fetch('$PEER', {method: 'POST', body: JSON.stringify({n})}); return await r.json(); }"
keep='"annotations":[{"key":"isolate-reuse-context","value":true}]'
put i_plain "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$PLAIN\"},$keep}"
put i_fetch "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$FETCH\"},$keep}"
put i_fetch_ctx "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$FETCH\"},\"annotations\":[{\"key\":\"isolate-reuse-context\",\"value\":false}]}"
put n_plain "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$PLAIN\"}}"
put n_fetch "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$FETCH\"}}"
for a in i_plain i_fetch i_fetch_ctx n_plain n_fetch; do
  out=$(curl -s -u "$WHISK_AUTH" -X POST "$API/actions/$a?blocking=true&result=true" -d '{"n":21}')
  [[ $out == '{"n":42}' ]] || { echo "isolate_fetch: $a answered $out" >&2; exit 1; }
done

HAVE_WORKERD=
if [[ -x $WORKERD ]]; then
  WD_PORT=$(free_port)
  cat >"$DIR/worker.js" <<JS
export default {
  async fetch(request) {
    const {n} = await request.json();
    if (new URL(request.url).pathname === '/plain') return Response.json({n: 2 * n});
    const r = await fetch('$PEER', {method: 'POST', body: JSON.stringify({n})});
    return Response.json(await r.json());
  },
};
JS
  cat >"$DIR/config.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .w), (name = "internet", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:$WD_PORT", http = (), service = "main")],
);
const w :Workerd.Worker = (modules = [(name = "worker", esModule = embed "worker.js")], compatibilityDate = "2024-09-01");
CAPNP
  $WORKERD serve "$DIR/config.capnp" >"$DIR/workerd.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$WD_PORT/plain" && HAVE_WORKERD=1 || { echo "workerd did not start:" >&2; cat "$DIR/workerd.log" >&2; }
  if [[ -n $HAVE_WORKERD ]]; then
    out=$(curl -s -X POST -d '{"n":21}' "http://127.0.0.1:$WD_PORT/fetch")
    [[ $out == '{"n":42}' ]] || { echo "isolate_fetch: workerd's fetch answered $out" >&2; cat "$DIR/workerd.log" >&2; HAVE_WORKERD=; }
  fi
else
  echo "isolate_fetch: no workerd (run benchmarks/isolates.sh once, or npm ci in benchmarks/peers): its rows are left out" >&2
fi

measure() { # NAME URL CONNS [AUTH]
  echo "isolate_fetch: $1 ($3 connections)" >&2
  $LOAD "$2" -m POST -b '{"n":21}' ${4:+-a "$4"} -c "$3" -d "$SECS" -w 1 --quiet --json "$DIR/$1-$3.json" >/dev/null
}
for c in 1 4; do
  measure peer "$PEER" $c
  for a in i_plain i_fetch i_fetch_ctx n_plain n_fetch; do
    measure $a "$API/actions/$a?blocking=true&result=true" $c "$WHISK_AUTH"
  done
  if [[ -n $HAVE_WORKERD ]]; then
    measure w_plain "http://127.0.0.1:$WD_PORT/plain" $c
    measure w_fetch "http://127.0.0.1:$WD_PORT/fetch" $c
  fi
done

python3 - "$DIR" "$SECS" "$HAVE_WORKERD" <<'PY'
import json, os, sys
d, secs, wd = sys.argv[1], sys.argv[2], sys.argv[3]
def get(n, c):
    p = "%s/%s-%d.json" % (d, n, c)
    if not os.path.exists(p): return None
    r = json.load(open(p))
    bad = sum(v for k, v in r["status"].items() if k != "200") + sum(r["errors"].values())
    return r["rps"], r["latency"]["p50_ms"], r["latency"]["p99_ms"], bad
rows = [("the fetched server itself (bare node:http), no whisk", "peer", None),
        ("js:isolate kept context, no fetch", "i_plain", None),
        ("js:isolate kept context, `await fetch` to the server", "i_fetch", "i_plain"),
        ("js:isolate new context per call (isolate-reuse-context: false), `await fetch`", "i_fetch_ctx", "i_plain"),
        ("nodejs:20 container, no fetch", "n_plain", None),
        ("nodejs:20 container, `await fetch` to the server", "n_fetch", "n_plain")]
if wd:
    rows += [("workerd, no fetch", "w_plain", None), ("workerd, `await fetch` to the server", "w_fetch", "w_plain")]
print("## `await fetch` to a local server: %s s per row, closed loop" % secs)
print()
print("| server | 1 conn: p50 ms | p99 ms | fetch adds (p50) | 4 conns: req/s | failed |")
print("|---|---:|---:|---:|---:|---:|")
for label, k, base in rows:
    one, four = get(k, 1), get(k, 4)
    add = "%.3f ms" % (one[1] - get(base, 1)[1]) if base else ""
    print("| %s | %.3f | %.3f | %s | %.0f | %d |" % (label, one[1], one[2], add, four[0], one[3] + four[3]))
PY
