#!/usr/bin/env bash
# The cluster across network namespaces: each whisk-agent in a namespace of its own, joined
# to the scheduler and controller by veth pairs on a bridge this script creates (addresses
# of a 10.213.N.0/24 that no interface uses). Runs travel over the veths; cutting one agent's
# link makes it offline and ends its run with a whisk error; restoring the link brings it
# back. Skipped (exit 77, with the reason) where namespaces or bridges cannot be made.
set -uo pipefail
BIN=${1:?usage: $0 path/to/apps-directory}
DIR=$(mktemp -d /tmp/whisk-netns-test.XXXXXX)
TAG=$$
BR=wbr$TAG
declare -A PIDS=()
NSS=()
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && echo "       ${2:0:800}"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
poll() {
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}
jpy() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

cleanup() {
  for role in "${!PIDS[@]}"; do kill -KILL "${PIDS[$role]}" 2>/dev/null; done
  for role in "${!PIDS[@]}"; do wait "${PIDS[$role]}" 2>/dev/null; done
  local hits
  hits=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak|Thread)' "$DIR"/*.log 2>/dev/null | head -5)
  [[ -z "$hits" ]] || bad "sanitizer report in a role's output" "$hits"
  for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "$BR" 2>/dev/null
  [[ -n "${WHISK_TEST_KEEP:-}" ]] && mkdir -p /tmp/whisk-netns-logs && cp "$DIR"/*.log /tmp/whisk-netns-logs/ 2>/dev/null
  rm -rf "$DIR"
}
skip() { echo "skipped: $1"; cleanup; exit 77; }

# --- the network: a bridge on the host, one namespace per agent -------------------------------
NET=""
for n in $(seq 7 250); do
  ip -4 addr show | grep -q "inet 10\.213\.$n\." || ip -4 route show | grep -q "^10\.213\.$n\." || { NET=10.213.$n; break; }
done
[[ -n "$NET" ]] || skip "no free 10.213.N.0/24 for the test's bridge"
ip link add "$BR" type bridge 2>/dev/null || skip "cannot create a bridge (needs root and the bridge module)"
ip addr add "$NET.1/24" dev "$BR" && ip link set "$BR" up || skip "cannot configure the bridge"
for i in 1 2; do
  ns=wna$i-$TAG
  ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
  NSS+=("$ns")
  ip link add "wv$i-$TAG" type veth peer name "wp$i-$TAG" || skip "cannot create veth pairs"
  ip link set "wp$i-$TAG" netns "$ns" &&
    ip -n "$ns" addr add "$NET.1$i/24" dev "wp$i-$TAG" && ip -n "$ns" link set "wp$i-$TAG" up && ip -n "$ns" link set lo up &&
    ip link set "wv$i-$TAG" master "$BR" && ip link set "wv$i-$TAG" up || skip "cannot wire namespace $ns"
done
# can a namespace open a TCP connection to the bridge? (a firewall could forbid it)
python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); s.listen(1); print(s.getsockname()[1], flush=True); s.settimeout(5); s.accept()' "$NET.1" >"$DIR/probe.port" 2>/dev/null &
PROBE=$!
poll 3 test -s "$DIR/probe.port"
ip netns exec "wna1-$TAG" python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)' "$NET.1" "$(cat "$DIR/probe.port")" 2>/dev/null ||
  { kill $PROBE 2>/dev/null; skip "a namespace cannot connect to the bridge's address (a firewall?)"; }
wait $PROBE
trap 'status=$?; cleanup; [[ $status == 0 ]] || bad "the script stopped early with exit status $status"; echo "$PASS passed, $FAIL failed"; [[ $FAIL == 0 ]]; exit $?' EXIT

start() { # ROLE NEEDLE COMMAND...
  local role=$1 needle=$2
  shift 2
  "$@" >>"$DIR/$role.log" 2>&1 &
  PIDS[$role]=$!
  poll 20 grep -q -- "$needle" "$DIR/$role.log" || { echo "$role did not start"; tail -20 "$DIR/$role.log"; exit 1; }
}

start scheduler "whisk-scheduler listening" "$BIN/whisk-scheduler" --host="$NET.1" --port=0 --http-port=0
SP=$(grep -o "listening on $NET.1:[0-9]*" "$DIR/scheduler.log" | cut -d: -f2)
SCHED=http://127.0.0.1:$(grep -o 'http http://127.0.0.1:[0-9]*' "$DIR/scheduler.log" | cut -d: -f3)
for i in 1 2; do
  start "n$i" "registered with the scheduler" ip netns exec "wna$i-$TAG" "$BIN/whisk-agent" --scheduler="$NET.1:$SP" \
    --host="$NET.1$i" --port=0 --http-port=0 --name="n$i" --network=none --stem-cells=none --pause-grace=60000
done
start c1 "whisk-controller listening" "$BIN/whisk-controller" --scheduler="$NET.1:$SP" --name=c1 --port=0 --data-dir="$DIR/data"
C1=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/c1.log" | cut -d' ' -f3)
AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
agent_state() { curl -s -m 5 "$SCHED/agents" | jpy "print(next((a['state'] for a in d if a['name']=='$1'), 'none'))"; }
invoke() { curl -s -m 30 -u "$AUTH" -X POST -H 'Content-Type: application/json' "$C1/api/v1/namespaces/_/actions/$1?blocking=true" -d '{}'; }
put_action() {
  curl -s -m 10 -u "$AUTH" -X PUT -H 'Content-Type: application/json' "$C1/api/v1/namespaces/_/actions/$1" \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"exec": {"kind": "nodejs:20", "code": sys.argv[1]}}))' "$2")" -o /dev/null -w '%{http_code}'
}

check "both agents in their namespaces register and are healthy" poll 5 eval '[[ $(agent_state n1) == healthy && $(agent_state n2) == healthy ]]'
check "the controller connects to the scheduler over the bridge" grep -q "c1: connected to the scheduler at $NET.1" "$DIR/c1.log"
[[ $(put_action slow 'function main() { return new Promise(r => setTimeout(() => r({ done: true }), 4000)); }') == 200 ]] || bad "slow action created"
[[ $(put_action hi 'function main() { return { hi: 1 }; }') == 200 ]] || bad "hi action created"
r=$(invoke hi)
[[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == success ]] && ok "an invoke runs on an agent in a namespace" || bad "invoke across namespaces" "$r"
check "the controller connected to that agent at its namespace address" grep -q "c1: connected to agent n[12] at $NET.1[12]" "$DIR/c1.log"

# cut the link of the agent that runs the slow action
invoke slow >"$DIR/slow.json" &
CURL=$!
host=""
for t in $(seq 100); do
  for i in 1 2; do
    h=$(grep -o 'http http://127.0.0.1:[0-9]*' "$DIR/n$i.log" | tail -1 | grep -o '[0-9]*$')
    ip netns exec "wna$i-$TAG" curl -s -m 2 "http://127.0.0.1:$h/health" |
      jpy "import sys; sys.exit(0 if any('/slow@' in c['action'] for c in d['containers']) else 1)" 2>/dev/null && host=$i
  done
  [[ -n "$host" ]] && break
  sleep 0.1
done
if [[ -z "$host" ]]; then
  bad "no agent hosts the slow action"
else
  sleep 0.5
  ip link set "wv$host-$TAG" down
  check "the cut-off agent n$host is offline within 3 s" poll 3 eval '[[ $(agent_state n'"$host"') == offline ]]'
  wait $CURL
  r=$(cat "$DIR/slow.json")
  [[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == "whisk internal error" && "$r" == *"n$host"* ]] &&
    ok "its run ended with a whisk error naming n$host" || bad "run on a cut-off agent" "$r"
  r=$(invoke hi)
  [[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == success ]] && ok "invokes go on over the other agent" || bad "invoke while n$host is cut off" "$r"
  ip link set "wv$host-$TAG" up
  check "after the link is back, n$host registers again and is healthy" poll 10 eval '[[ $(agent_state n'"$host"') == healthy ]]'
fi
