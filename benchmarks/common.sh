# Shared by the benchmark scripts (sourced): a scratch directory that is removed, with every
# process started through it, when the script exits; whisk-node and the node:http peer on
# 127.0.0.1; small helpers.

# bench_scratch NAME: DIR=/tmp/whisk-NAME.XXXXXX, cleaned up with PIDS on exit
bench_scratch() {
  DIR=$(mktemp -d "/tmp/whisk-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}

# start_node [ARGS...]: whisk-node on a free port with its data in $DIR/data; sets NODE_PID,
# exports WHISK_APIHOST and WHISK_AUTH, sets API (the guest namespace's base URL)
start_node() {
  build/apps/whisk-node --port=0 --data-dir="$DIR/data" --log-level=warn "$@" >"$DIR/node.log" 2>&1 &
  NODE_PID=$!
  PIDS+=($NODE_PID)
  for _ in $(seq 100); do [[ -s "$DIR/data/wskprops" ]] && break; sleep 0.05; done
  export WHISK_APIHOST=$(sed -n 's/^APIHOST=//p' "$DIR/data/wskprops")
  export WHISK_AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
  [[ -n $WHISK_APIHOST ]] || { echo "whisk-node did not start:"; cat "$DIR/node.log"; exit 1; } >&2
  API="$WHISK_APIHOST/api/v1/namespaces/_"
}

# start_peer: the bare node:http server (peer_node_http.js); sets PEER
start_peer() {
  node benchmarks/peer_node_http.js 0 >"$DIR/peer.port" &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$DIR/peer.port" ]] && break; sleep 0.05; done
  PEER="http://127.0.0.1:$(cat "$DIR/peer.port")/"
}

# put NAME JSON: creates or replaces an action
put() { curl -sf -u "$WHISK_AUTH" -X PUT "$API/actions/$1?overwrite=true" -d "$2" >/dev/null; }

# json_get FILE dotted.path
json_get() {
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"
}
