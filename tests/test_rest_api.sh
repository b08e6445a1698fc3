#!/usr/bin/env bash
# End to end through the REST API: starts whisk-node (process backend) on 127.0.0.1 with a
# fresh data dir, drives it with curl, kills and restarts it, and stops it. Bounded: every
# curl has a time limit and every wait a deadline.
set -uo pipefail
NODE_BIN=${1:?usage: test_rest_api.sh path/to/whisk-node}
DIR=$(mktemp -d /tmp/whisk-rest-test.XXXXXX)
PID=
PASS=0
FAIL=0
cleanup() {
  [[ -n "$PID" ]] && kill -KILL "$PID" 2>/dev/null
  wait 2>/dev/null
  [[ -n "${WHISK_TEST_KEEP:-}" ]] && cp "$DIR/node.log" /tmp/whisk-test-node.log
  rm -rf "$DIR"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && echo "       $2"; }

start_node() {
  rm -f "$DIR/data/wskprops"
  "$NODE_BIN" --port=0 --data-dir="$DIR/data" --pause-grace=100 --idle-timeout=4000 --max-body=1 \
    --stem-cells=nodejs:20:256:1 ${WHISK_TEST_NODE_ARGS:-} "$@" >>"$DIR/node.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    [[ -s "$DIR/data/wskprops" ]] && break
    sleep 0.05
  done
  APIHOST=$(sed -n 's/^APIHOST=//p' "$DIR/data/wskprops")
  AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
  API="$APIHOST/api/v1/namespaces/_"
  [[ -n "$APIHOST" && -n "$AUTH" ]] || { echo "whisk-node did not start"; cat "$DIR/node.log"; exit 1; }
}

# req METHOD URL [BODY] -> sets STATUS and BODY
req() {
  local out
  out=$(curl -s -m 70 -u "$AUTH" -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} -w '\n%{http_code}' "$2")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}

expect() { # expect STATUS NEEDLE NAME
  if [[ "$STATUS" == "$1" && "$BODY" == *"$2"* ]]; then ok "$3"; else bad "$3" "got $STATUS: ${BODY:0:300}"; fi
}

put_action() { # name json
  req PUT "$API/actions/$1?overwrite=true" "$2"
  [[ "$STATUS" == 200 ]] || bad "create $1" "got $STATUS: $BODY"
}

wait_activation() { # id -> BODY of the record
  for _ in $(seq 200); do
    req GET "$API/activations/$1"
    [[ "$STATUS" == 200 ]] && return 0
    sleep 0.05
  done
  return 1
}

freezer_root() { sed -n 's/.*freezer=\([^ ]*\) .*/\1/p' "$DIR/node.log" | tail -1; }
frozen_leaves() {
  local root n=0
  root=$(freezer_root)
  for d in "$root"/c[0-9]*; do
    [[ -d "$d" ]] || continue
    if grep -qs 'frozen 1' "$d/cgroup.events" || grep -qs FROZEN "$d/freezer.state"; then n=$((n + 1)); fi
  done
  echo $n
}
leaf_count() { local root; root=$(freezer_root); ls -d "$root"/c[0-9]* 2>/dev/null | wc -l; }

# --- options ---
HELP=$("$NODE_BIN" --help 2>&1); RC=$?
[[ $RC == 0 && $HELP == *"--isolate-workers"* && $HELP == *"--isolate-cache-mb"* && $HELP == *"(default: 3233)"* ]] && ok "--help lists every option with its default" || bad "--help" "rc $RC"
"$NODE_BIN" --data-dir="$DIR/bad" --isolate-workers=-1 >"$DIR/bad.log" 2>&1; RC=$?
[[ $RC == 2 ]] && grep -q "isolate-workers" "$DIR/bad.log" && ok "a bad option ends whisk-node with exit code 2 and says which" || bad "bad option" "rc $RC: $(cat "$DIR/bad.log")"

start_node

# --- basics ---
curl -s -m 5 "$APIHOST/ping" | grep -q ok && ok "GET /ping" || bad "GET /ping"
req GET "$APIHOST/api/v1/namespaces"; expect 200 '"guest"' "GET /api/v1/namespaces lists the caller's namespace"
STATUS=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$API/actions"); [[ $STATUS == 401 ]] && ok "401 without credentials" || bad "401 without credentials" "$STATUS"
STATUS=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -u "${AUTH%%:*}:wrong" "$API/actions"); [[ $STATUS == 401 ]] && ok "401 with a wrong key" || bad "401 with a wrong key" "$STATUS"
req GET "$APIHOST/api/v1/namespaces/someone-else/actions"; expect 403 'not authorized' "403 for another namespace"
req GET "$API/actions/missing"; expect 404 'does not exist' "404 for an unknown action"
req PUT "$API/actions/broken" '{"exec": '; expect 400 'malformed' "400 for malformed JSON"
req PUT "$API/actions/badkind" '{"exec":{"kind":"cobol","code":"x"}}'; expect 400 'not supported' "400 for an unknown kind"

# --- nodejs, python, native ---
put_action hello '{"exec":{"kind":"nodejs:20","code":"function main(p) { console.log(\"hello log\", p.name); return {greeting: \"hello \" + p.name}; }"}}'
req PUT "$API/actions/hello" '{"exec":{"kind":"nodejs:20","code":"function main(){}"}}'; expect 409 'already exists' "409 when the action exists without overwrite"
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"ada"}'; expect 200 '{"greeting":"hello ada"}' "nodejs blocking invoke returns the result"
req POST "$API/actions/hello?blocking=true" '{"name":"bob"}'; expect 200 '"logs":["' "nodejs blocking invoke returns the record with logs"
req POST "$API/actions/hello?blocking=true" 'not json'; expect 400 'malformed' "400 for a malformed invoke body"

put_action py '{"exec":{"kind":"python:3","code":"def main(args):\n    print(\"py log\")\n    return {\"sum\": args.get(\"a\", 0) + args.get(\"b\", 0)}\n"}}'
req POST "$API/actions/py?blocking=true&result=true" '{"a":2,"b":3}'; expect 200 '{"sum":5}' "python blocking invoke returns the result"

NATIVE='#!/bin/sh
[ -n "$__OW_WAIT_FOR_ACK" ] && echo "{\"ok\":true}" >&3
while read -r line; do echo "native log"; echo "{\"native\":true}" >&3; done'
NATIVE_JSON=$(printf '%s' "$NATIVE" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
put_action nat "{\"exec\":{\"kind\":\"native\",\"code\":$NATIVE_JSON}}"
req POST "$API/actions/nat?blocking=true&result=true" '{}'; expect 200 '{"native":true}' "native blocking invoke returns the result"
NATIVE_B64=$(printf '%s' "$NATIVE" | base64 -w0)
put_action nat64 "{\"exec\":{\"kind\":\"native\",\"binary\":true,\"code\":\"$NATIVE_B64\"}}"
req POST "$API/actions/nat64?blocking=true&result=true" '{}'; expect 200 '{"native":true}' "native base64 executable runs"

for a in hello py nat; do
  req POST "$API/actions/$a" '{"name":"async","a":1,"b":1}'
  if [[ $STATUS == 202 && $BODY =~ \"activationId\":\"([0-9a-f]{32})\" ]]; then
    id=${BASH_REMATCH[1]}
    if wait_activation "$id" && [[ $BODY == *'"success":true'* ]]; then
      ok "$a non-blocking invoke: record appears"
      req GET "$API/activations/$id/logs"
      [[ $STATUS == 200 && $BODY == *'log'* ]] && ok "$a non-blocking: logs readable" || bad "$a non-blocking: logs" "$BODY"
      req GET "$API/activations/$id/result"; expect 200 '"success":true' "$a non-blocking: result readable"
    else
      bad "$a non-blocking invoke: record appears" "${BODY:0:300}"
    fi
  else
    bad "$a non-blocking invoke answers 202" "$STATUS $BODY"
  fi
done
req GET "$API/activations?name=hello&limit=50"; expect 200 '"name":"hello"' "activations list filters by name"
req GET "$API/actions"; expect 200 '"name":"nat"' "actions list"

# --- errors ---
put_action apperr '{"exec":{"kind":"nodejs:20","code":"function main() { return {error: \"app says no\"}; }"}}'
req POST "$API/actions/apperr?blocking=true" '{}'; expect 502 'application error' "502 for an application error"
put_action sleepy '{"exec":{"kind":"nodejs:20","code":"function main() { while (true) {} }"},"limits":{"timeout":500}}'
req POST "$API/actions/sleepy?blocking=true" '{}'; expect 502 'The action exceeded its time limits of 500 milliseconds.' "timeout is a developer error"
put_action hog '{"exec":{"kind":"nodejs:20","code":"function main() { const a = []; for (;;) a.push(Buffer.alloc(16 << 20, 1)); }"},"limits":{"memory":128}}'
req POST "$API/actions/hog?blocking=true" '{}'; expect 502 'The action exhausted its memory and was aborted.' "memory exhaustion is a developer error"
put_action quitter '{"exec":{"kind":"nodejs:20","code":"function main() { process.exit(1); }"}}'
req POST "$API/actions/quitter?blocking=true" '{}'; expect 502 'action developer error' "exit mid-run is a developer error"
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"again"}'; expect 200 'hello again' "a good action still works after the failures"
# --- containerless: js:isolate ---
put_action iso '{"exec":{"kind":"js:isolate","code":"function main({n}) { console.log(\"doubling\", n); return {n: 2 * n}; }"}}'
req POST "$API/actions/iso?blocking=true" '{"n":21}'; expect 200 '"result":{"n":42}' "js:isolate blocking invoke returns the result"
[[ $BODY == *'stdout: doubling 21'* ]] && ok "js:isolate console lines are in the record" || bad "js:isolate logs" "${BODY:0:300}"
req POST "$API/actions/iso" '{"n":2}'
if [[ $STATUS == 202 && $BODY =~ \"activationId\":\"([0-9a-f]{32})\" ]] && wait_activation "${BASH_REMATCH[1]}" && [[ $BODY == *'"result":{"n":4}'* ]]; then
  ok "js:isolate non-blocking invoke: record appears"
else
  bad "js:isolate non-blocking invoke" "${BODY:0:300}"
fi
put_action isospin '{"exec":{"kind":"js:isolate","code":"function main() { for (;;) {} }"},"limits":{"timeout":300}}'
req POST "$API/actions/isospin?blocking=true" '{}'; expect 502 'The action exceeded its time limits of 300 milliseconds.' "js:isolate endless loop stops at its timeout"
put_action isohog '{"exec":{"kind":"js:isolate","code":"function main() { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }"},"limits":{"memory":128}}'
req POST "$API/actions/isohog?blocking=true" '{}'; expect 502 'The action exhausted its memory and was aborted.' "js:isolate heap exhaustion is a developer error"
req POST "$API/actions/iso?blocking=true&result=true" '{"n":5}'; expect 200 '{"n":10}' "js:isolate works after the failures (node alive)"
req GET "$API/activations?limit=50&docs=true"
[[ $BODY == *'{"key":"isolate-mode","value":"reuse"}'* && $BODY == *'"initTime"'* ]] && ok "js:isolate records say the mode (reuse by default) and the init time of a cold isolate" || bad "js:isolate record annotations" "${BODY:0:400}"
put_action isofresh '{"exec":{"kind":"js:isolate","code":"let n = 0; function main() { return {n: ++n}; }"},"annotations":[{"key":"isolate-mode","value":"fresh"}]}'
req POST "$API/actions/isofresh?blocking=true" '{}'
req POST "$API/actions/isofresh?blocking=true" '{}'
[[ $STATUS == 200 && $BODY == *'"result":{"n":1}'* && $BODY == *'{"key":"isolate-mode","value":"fresh"}'* && $BODY == *'"initTime"'* ]] && ok "isolate-mode fresh: a new isolate (and init time) for every call" || bad "isolate-mode fresh" "$STATUS ${BODY:0:400}"
put_action isokeep '{"exec":{"kind":"js:isolate","code":"let n = 0; function main() { return {n: ++n}; }"},"annotations":[{"key":"isolate-reuse-context","value":true}]}'
req POST "$API/actions/isokeep?blocking=true&result=true" '{}'
req POST "$API/actions/isokeep?blocking=true&result=true" '{}'; expect 200 '{"n":2}' "isolate-reuse-context: state carries across calls, as in a warm container"
req PUT "$API/actions/isobad?overwrite=true" '{"exec":{"kind":"js:isolate","code":"function main() {}"},"annotations":[{"key":"isolate-mode","value":"turbo"}]}'
expect 400 "isolate-mode" "an unknown isolate-mode is a 400"
req PUT "$API/actions/isobad?overwrite=true" '{"exec":{"kind":"js:isolate","code":"function main() {}"},"annotations":[{"key":"isolate-mode","value":"unsafe"}]}'
expect 400 "does not allow" "isolate-mode unsafe is refused unless the node allows it"
req GET "$APIHOST/metrics"
[[ $STATUS == 200 && $BODY == *'whisk_isolate_cached '* && $BODY =~ whisk_isolate_calls_total\ [1-9] && $BODY == *'whisk_isolate_fresh_total 2'* && $BODY == *'whisk_containers '* ]] && ok "GET /metrics: pool and isolate cache figures in Prometheus text" || bad "GET /metrics" "$STATUS ${BODY:0:600}"

BIG=$(head -c 1100000 /dev/zero | tr '\0' 'a')
STATUS=$(printf '{"x":"%s"}' "$BIG" | curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$AUTH" -X POST --data-binary @- "$API/actions/hello?blocking=true"); [[ $STATUS == 413 ]] && ok "413 for a body over --max-body" || bad "413 for a body over --max-body" "$STATUS"

# --- pause, resume, idle removal ---
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"p"}'
sleep 0.5
FROZEN=$(frozen_leaves)
[[ $FROZEN -ge 1 ]] && ok "idle containers are frozen after the pause grace ($FROZEN frozen)" || bad "paused container is frozen" "root $(freezer_root): $(grep -H frozen "$(freezer_root)"/c[0-9]*/cgroup.events 2>/dev/null | tr '\n' ' ') $(tail -5 "$DIR/node.log")"
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"resumed"}'; expect 200 'hello resumed' "the next invoke resumes the paused container"
BEFORE=$(leaf_count)
sleep 5
AFTER=$(leaf_count)
[[ $AFTER -lt $BEFORE ]] && ok "idle containers are removed after the idle timeout ($BEFORE -> $AFTER)" || bad "idle removal" "$BEFORE -> $AFTER"

# --- SIGKILL and restart ---
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"before kill"}'
req GET "$API/activations?limit=200"
COUNT_BEFORE=$(grep -o '"activationId"' <<<"$BODY" | wc -l)
ROOT=$(freezer_root)
PIDS=$(cat "$ROOT"/c[0-9]*/cgroup.procs 2>/dev/null | sort -u)
kill -KILL "$PID"; wait "$PID" 2>/dev/null
LEFT=0
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [[ -n "$s" && "$s" != Z* ]]; } # a zombie is dead
for _ in $(seq 100); do
  LEFT=0
  for p in $PIDS; do alive "$p" && LEFT=$((LEFT + 1)); done
  [[ $LEFT == 0 ]] && break
  sleep 0.05
done
[[ -n "$PIDS" && $LEFT == 0 ]] && ok "no runtime process outlives a SIGKILLed whisk-node ($(wc -w <<<"$PIDS") were running)" || bad "runtime processes left after SIGKILL" "pids: $PIDS left: $LEFT"
start_node
req GET "$API/activations?limit=200"
COUNT_AFTER=$(grep -o '"activationId"' <<<"$BODY" | wc -l)
[[ $COUNT_BEFORE -gt 0 && $COUNT_AFTER -eq $COUNT_BEFORE ]] && ok "every finished activation survives SIGKILL ($COUNT_AFTER)" || bad "activations after restart" "$COUNT_BEFORE -> $COUNT_AFTER"
req POST "$API/actions/py?blocking=true&result=true" '{"a":1,"b":1}'; expect 200 '{"sum":2}' "invokes work after the restart"

# --- graceful stop ---
kill -TERM "$PID"
for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$PID" 2>/dev/null; then bad "SIGTERM stops whisk-node"; else ok "SIGTERM stops whisk-node"; fi
PID=
[[ $(leaf_count) == 0 ]] && ok "no container cgroup is left after SIGTERM" || bad "cgroups left after SIGTERM" "$(ls "$(freezer_root)")"

# --- a full queue answers 429; SIGTERM lets the running activation finish ---
start_node --user-memory=256 --max-queue=0 --stem-cells=none
put_action slow '{"exec":{"kind":"nodejs:20","code":"function main() { return new Promise(r => setTimeout(() => r({slow: true}), 1500)); }"}}'
curl -s -m 30 -u "$AUTH" -X POST -o "$DIR/slow.out" -w '%{http_code}' "$API/actions/slow?blocking=true&result=true" >"$DIR/slow.status" &
SLOW=$!
sleep 0.4
req POST "$API/actions/slow?blocking=true" '{}'; expect 429 'Too many requests' "429 when the node's queue is full"
kill -TERM "$PID"
wait "$SLOW"
[[ $(cat "$DIR/slow.status") == 200 && $(cat "$DIR/slow.out") == *'"slow":true'* ]] && ok "an activation running at SIGTERM finishes and answers" || bad "in-flight activation at SIGTERM" "$(cat "$DIR/slow.status") $(cat "$DIR/slow.out")"
for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
PID=

echo "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
