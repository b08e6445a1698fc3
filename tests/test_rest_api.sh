#!/usr/bin/env bash
# The REST API end to end: options, auth, actions (CRUD, update, parameters), the three
# runtime kinds and js:isolate, activations (records, logs, filters, paging), errors.
# Starts whisk-node (process backend) on 127.0.0.1 with a fresh data dir and stops it.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

# --- options (each run bounded: an option check that regresses must not leave a node serving) ---
HELP=$(timeout 10 "$NODE_BIN" --help 2>&1); RC=$?
[[ $RC == 0 && $HELP == *"--isolate-workers"* && $HELP == *"--isolate-cache-mb"* && $HELP == *"(default: 3233)"* ]] && ok "--help lists every option with its default" || bad "--help" "rc $RC"
bad_option() { # NAME OPTION NEEDLE: whisk-node refuses OPTION with exit code 2 and names NEEDLE
  timeout 10 "$NODE_BIN" --port=0 --data-dir="$DIR/bad" "$2" >"$DIR/bad.log" 2>&1
  local rc=$?
  [[ $rc == 2 ]] && grep -q -- "$3" "$DIR/bad.log" && ok "$1" || bad "$1" "rc $rc: $(head -c 300 "$DIR/bad.log")"
}
bad_option "a bad isolate option ends whisk-node with exit code 2 and says which" --isolate-workers=-1 isolate-workers
bad_option "--stem-cells without memory and count is refused" --stem-cells=nodejs:20 stem-cells
bad_option "--stem-cells with a count that is not a number is refused" --stem-cells=nodejs:20:256:x stem-cells
bad_option "--stem-cells with a memory that is not a number is refused" --stem-cells=nodejs:20:256MB:1 stem-cells
bad_option "--stem-cells with an unknown kind is refused" --stem-cells=cobol:256:1 stem-cells
bad_option "--stem-cells with memory below the minimum is refused" --stem-cells=nodejs:20:64:1 stem-cells

start_node --max-body=1 --stem-cells=none

# --- basics and auth ---
curl -s -m 5 "$APIHOST/ping" | grep -q ok && ok "GET /ping" || bad "GET /ping"
req GET "$APIHOST/api/v1/namespaces"; expect 200 '["guest"]' "GET /api/v1/namespaces lists the caller's namespace"
UUID=${AUTH%%:*}
KEY=${AUTH#*:}
auth_refused() { # NAME [curl options...]: the request is refused with 401
  local name=$1
  shift
  STATUS=$(raw_status "$API/actions" "$@")
  [[ $STATUS == 401 ]] && ok "401 with $name" || bad "401 with $name" "$STATUS"
}
auth_refused "no credentials"
auth_refused "a wrong key" -u "$UUID:wrong"
auth_refused "an unknown uuid" -u "00000000-0000-4000-8000-000000000000:$KEY"
auth_refused "a scheme other than Basic" -H "Authorization: Bearer $KEY"
auth_refused "credentials that are not base64" -H "Authorization: Basic !!not*base64!!"
auth_refused "credentials without a colon" -H "Authorization: Basic $(printf '%s' "$UUID$KEY" | base64 -w0)"
auth_refused "an empty Basic value" -H "Authorization: Basic "
req GET "$APIHOST/api/v1/namespaces/someone-else/actions"; expect 403 'not authorized' "403 for another namespace"
req GET "$API/actions/missing"; expect 404 'does not exist' "404 for an unknown action"
req PUT "$API/actions/broken" '{"exec": '; expect 400 'malformed' "400 for malformed JSON"
req PUT "$API/actions/badkind" '{"exec":{"kind":"cobol","code":"x"}}'; expect 400 'not supported' "400 for an unknown kind"

# --- nodejs, python, native ---
put_action hello '{"exec":{"kind":"nodejs:20","code":"function main(p) { console.log(\"hello log\", p.name); return {greeting: \"hello \" + p.name}; }"}}'
req PUT "$API/actions/hello" '{"exec":{"kind":"nodejs:20","code":"function main(){}"}}'; expect 409 'already exists' "409 when the action exists without overwrite"
req POST "$API/actions/hello?blocking=true&result=true" '{"name":"ada"}'; expect 200 '{"greeting":"hello ada"}' "nodejs blocking invoke returns the result"
req POST "$API/actions/hello?blocking=true" '{"name":"bob"}'
[[ $STATUS == 200 && $(jpy "[l.split(' ', 2)[2] for l in d['logs']]") == "['hello log bob']" ]] && ok "nodejs blocking invoke returns the record with its own log line" || bad "nodejs record logs" "$STATUS ${BODY:0:300}"
req POST "$API/actions/hello?blocking=true" 'not json'; expect 400 'malformed' "400 for a malformed invoke body"
req POST "$API/actions/hello?blocking=true" '[1,2]'; expect 400 'must be a JSON object' "400 for an invoke body that is not an object"

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

declare -A LOGLINE=([hello]='hello log async' [py]='py log' [nat]='native log')
for a in hello py nat; do
  req POST "$API/actions/$a" '{"name":"async","a":1,"b":1}'
  id=$(activation_id_of)
  if [[ $STATUS == 202 && -n $id ]]; then
    if wait_activation "$id" && [[ $(jpy "d['activationId'] == '$id' and d['name'] == '$a' and d['response']['success']") == True ]]; then
      ok "$a non-blocking invoke: its record appears"
      req GET "$API/activations/$id/logs"
      [[ $STATUS == 200 && $(jpy "[l.split(' ', 2)[2] for l in d['logs']]") == "['${LOGLINE[$a]}']" ]] && ok "$a non-blocking: its log line is readable" || bad "$a non-blocking: logs" "$BODY"
      req GET "$API/activations/$id/result"; expect 200 '"success":true' "$a non-blocking: result readable"
    else
      bad "$a non-blocking invoke: record appears" "${BODY:0:300}"
    fi
  else
    bad "$a non-blocking invoke answers 202" "$STATUS $BODY"
  fi
done
req GET "$API/activations?name=hello&limit=200"
[[ $STATUS == 200 && $(jpy "len(d) >= 3 and all(a['name'] == 'hello' for a in d)") == True ]] && ok "activations list filters by name (only hello's records)" || bad "filter by name" "${BODY:0:300}"
req GET "$API/activations?name=guest/py&limit=200"
[[ $STATUS == 200 && $(jpy "len(d) == 2 and {a['name'] for a in d} == {'py'}") == True ]] && ok "a qualified name filters too (py's two records)" || bad "filter by qualified name" "${BODY:0:300}"

# --- action GET, DELETE, update, parameters ---
req GET "$API/actions/hello"
[[ $STATUS == 200 && $(jpy "d['name'] == 'hello' and 'hello log' in d['exec']['code'] and d['limits']['timeout'] == 60000 and d['limits']['memory'] == 256") == True ]] && ok "GET an action: its code and default limits" || bad "GET action" "${BODY:0:300}"
put_action doomed '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'
req DELETE "$API/actions/doomed"; expect 200 '"name":"doomed"' "DELETE an action answers its document"
req GET "$API/actions/doomed"; expect 404 'does not exist' "a deleted action is gone"
req POST "$API/actions/doomed?blocking=true" '{}'; expect 404 'does not exist' "a deleted action cannot be invoked"
req DELETE "$API/actions/doomed"; expect 404 'does not exist' "deleting it again is a 404"

KINDS=(nodejs:20)
have_isolates && KINDS+=(js:isolate)
for kind in "${KINDS[@]}"; do
  put_action upd "{\"exec\":{\"kind\":\"$kind\",\"code\":\"function main() { return {v: 1}; }\"}}"
  req POST "$API/actions/upd?blocking=true&result=true" '{}'
  req POST "$API/actions/upd?blocking=true&result=true" '{}'; expect 200 '{"v":1}' "$kind: the first version runs (warm)"
  put_action upd "{\"exec\":{\"kind\":\"$kind\",\"code\":\"function main() { return {v: 2}; }\"}}"
  req POST "$API/actions/upd?blocking=true&result=true" '{}'; expect 200 '{"v":2}' "$kind: an update is not served by the old warm container"
done

put_action merge '{"exec":{"kind":"nodejs:20","code":"function main(p) { return p; }"},"parameters":[{"key":"a","value":1},{"key":"b","value":2}]}'
req POST "$API/actions/merge?blocking=true&result=true" '{"b":3,"c":4}'
[[ $STATUS == 200 && $(jpy "d == {'a': 1, 'b': 3, 'c': 4}") == True ]] && ok "bound parameters are merged with the invoke body (the body wins)" || bad "parameter merge" "$STATUS $BODY"

# --- activation and action paging ---
put_action pager '{"exec":{"kind":"nodejs:20","code":"function main(p) { return {i: p.i}; }"}}'
IDS=() STARTS=()
for i in 1 2 3 4 5; do
  req POST "$API/actions/pager?blocking=true" "{\"i\":$i}"
  IDS+=("$(jpy "d['activationId']")")
  STARTS+=("$(jpy "d['start']")")
  sleep 0.01 # distinct start times
done
page() { req GET "$API/activations?name=pager&$1"; jpy "' '.join(a['activationId'] for a in d)"; }
check "activations: limit=2 gives the two newest" test "$(page limit=2)" == "${IDS[4]} ${IDS[3]}"
check "activations: skip=2&limit=2 gives the next two" test "$(page 'limit=2&skip=2')" == "${IDS[2]} ${IDS[1]}"
check "activations: since keeps those that started at or after it" test "$(page "since=${STARTS[3]}")" == "${IDS[4]} ${IDS[3]}"
check "activations: upto keeps those that started at or before it" test "$(page "upto=${STARTS[1]}")" == "${IDS[1]} ${IDS[0]}"
check "activations: since and upto together" test "$(page "since=${STARTS[1]}&upto=${STARTS[2]}")" == "${IDS[2]} ${IDS[1]}"
for q in limit=201 limit=abc skip=-1 since=yesterday upto=1e3; do
  req GET "$API/activations?$q"; expect 400 "must be a number" "activations: $q is a 400"
done
req GET "$API/actions?limit=2"; FIRST=$(jpy "[a['name'] for a in d]")
req GET "$API/actions?limit=2&skip=2"; SECOND=$(jpy "[a['name'] for a in d]")
req GET "$API/actions?limit=200"; ALL=$(jpy "[a['name'] for a in d]")
[[ $(python3 -c "import sys; a, b, c = map(eval, sys.argv[1:]); print(len(a) == 2 and len(b) == 2 and a + b == c[:4])" "$FIRST" "$SECOND" "$ALL") == True ]] && ok "actions: limit and skip page through the list" || bad "actions paging" "$FIRST $SECOND $ALL"
req GET "$API/actions?limit=201"; expect 400 "must be a number" "actions: limit=201 is a 400"

# --- logs ---
put_action chatty '{"exec":{"kind":"nodejs:20","code":"function main() { for (let i = 0; i < 3000; i++) console.log(String(i).padStart(999, \"x\")); return {}; }"},"limits":{"logs":1}}'
req POST "$API/actions/chatty?blocking=true" '{}'
[[ $STATUS == 200 && $(jpy "d['logs'][-1].endswith('Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.') and 900 < len(d['logs']) < 1100 and sum(len(l) for l in d['logs']) < 1100000") == True ]] && ok "logs are cut at the action's log limit, with a line that says so" || bad "log limit" "$STATUS $(jpy "(len(d['logs']), d['logs'][-1][:200])")"

if have_isolates; then
put_action isochatty '{"exec":{"kind":"js:isolate","code":"function main() { for (let i = 0; i < 3000; i++) console.log(String(i).padStart(999, \"x\")); return {}; }"},"limits":{"logs":1}}'
req POST "$API/actions/isochatty?blocking=true" '{}'
[[ $STATUS == 200 && $(jpy "d['logs'][-1].endswith('Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.') and 900 < len(d['logs']) < 1100") == True ]] && ok "js:isolate console output is cut at the log limit too" || bad "js:isolate log limit" "$STATUS $(jpy "(len(d['logs']), d['logs'][-1][:200])")"
else
  skip "js:isolate console output is cut at the log limit"
fi

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
if have_isolates; then
put_action iso '{"exec":{"kind":"js:isolate","code":"function main({n}) { console.log(\"doubling\", n); return {n: 2 * n}; }"}}'
req POST "$API/actions/iso?blocking=true" '{"n":21}'; expect 200 '"result":{"n":42}' "js:isolate blocking invoke returns the result"
[[ $(jpy "[l.split(' ', 1)[1] for l in d['logs']]") == "['stdout: doubling 21']" ]] && ok "js:isolate console lines are in the record" || bad "js:isolate logs" "${BODY:0:300}"
[[ $(jpy "{a['key']: a['value'] for a in d['annotations']}.get('isolate-mode') == 'reuse' and any(a['key'] == 'initTime' and a['value'] >= 0 for a in d['annotations'])") == True ]] && ok "js:isolate: the first call's own record says the mode (reuse by default) and its init time" || bad "js:isolate record annotations" "${BODY:0:400}"
req POST "$API/actions/iso" '{"n":2}'
if [[ $STATUS == 202 ]] && wait_activation "$(activation_id_of)" && [[ $BODY == *'"result":{"n":4}'* ]]; then
  ok "js:isolate non-blocking invoke: record appears"
else
  bad "js:isolate non-blocking invoke" "${BODY:0:300}"
fi
put_action isospin '{"exec":{"kind":"js:isolate","code":"function main() { for (;;) {} }"},"limits":{"timeout":300}}'
req POST "$API/actions/isospin?blocking=true" '{}'; expect 502 'The action exceeded its time limits of 300 milliseconds.' "js:isolate endless loop stops at its timeout"
put_action isohog '{"exec":{"kind":"js:isolate","code":"function main() { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }"},"limits":{"memory":128}}'
req POST "$API/actions/isohog?blocking=true" '{}'; expect 502 'The action exhausted its memory and was aborted.' "js:isolate heap exhaustion is a developer error"
# about 160 MB of live arrays: more than a 128 MB isolate may hold, less than a 256 MB one
ISOMEM='function main() { const a = []; for (let i = 0; i < 200; i++) a.push(new Array(100000).fill(1.5)); return {arrays: a.length}; }'
put_action isomem256 "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$ISOMEM\"},\"limits\":{\"memory\":256}}"
put_action isomem128 "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$ISOMEM\"},\"limits\":{\"memory\":128}}"
req POST "$API/actions/isomem256?blocking=true&result=true" '{}'; expect 200 '{"arrays":200}' "js:isolate: the heap follows limits.memory (160 MB fit in 256)"
req POST "$API/actions/isomem128?blocking=true" '{}'; expect 502 'The action exhausted its memory and was aborted.' "js:isolate: the heap follows limits.memory (160 MB do not fit in 128)"
req POST "$API/actions/iso?blocking=true&result=true" '{"n":5}'; expect 200 '{"n":10}' "js:isolate works after the failures (node alive)"
put_action isofresh '{"exec":{"kind":"js:isolate","code":"let n = 0; function main() { return {n: ++n}; }"},"annotations":[{"key":"isolate-mode","value":"fresh"}]}'
req POST "$API/actions/isofresh?blocking=true" '{}'
req POST "$API/actions/isofresh?blocking=true" '{}'
[[ $STATUS == 200 && $BODY == *'"result":{"n":1}'* && $BODY == *'{"key":"isolate-mode","value":"fresh"}'* && $BODY == *'"initTime"'* ]] && ok "isolate-mode fresh: a new isolate (and init time) for every call" || bad "isolate-mode fresh" "$STATUS ${BODY:0:400}"
COUNTER='let n = 0; function main() { globalThis.calls = (globalThis.calls || 0) + 1; return {n: ++n, calls: globalThis.calls}; }'
put_action isocount "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$COUNTER\"}}"
req POST "$API/actions/isocount?blocking=true&result=true" '{}'
req POST "$API/actions/isocount?blocking=true&result=true" '{}'; expect 200 '{"n":2,"calls":2}' "js:isolate by default (reuse): globals persist between calls, as in a warm container"
put_action isocount2 "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$COUNTER\"}}"
req POST "$API/actions/isocount2?blocking=true&result=true" '{}'; expect 200 '{"n":1,"calls":1}' "a kept context is its action's alone: another action of the same code starts from its code"
req POST "$API/actions/isocount?blocking=true&result=true" '{}'; expect 200 '{"n":3,"calls":3}' "and the first action's state is untouched by it"
put_action isoctx "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$COUNTER\"},\"annotations\":[{\"key\":\"isolate-reuse-context\",\"value\":false}]}"
req POST "$API/actions/isoctx?blocking=true&result=true" '{}'
req POST "$API/actions/isoctx?blocking=true&result=true" '{}'; expect 200 '{"n":1,"calls":1}' "isolate-reuse-context: false gives every call a new context (no state carried)"
put_action isokeep '{"exec":{"kind":"js:isolate","code":"let n = 0; function main() { return {n: ++n}; }"},"annotations":[{"key":"isolate-reuse-context","value":true}]}'
req POST "$API/actions/isokeep?blocking=true&result=true" '{}'
req POST "$API/actions/isokeep?blocking=true&result=true" '{}'; expect 200 '{"n":2}' "isolate-reuse-context: true (the opt-in of before) is still accepted and keeps the context"
req PUT "$API/actions/isobad?overwrite=true" '{"exec":{"kind":"js:isolate","code":"function main() {}"},"annotations":[{"key":"isolate-reuse-context","value":"no"}]}'
expect 400 "isolate-reuse-context" "an isolate-reuse-context that is not true or false is a 400"
req PUT "$API/actions/isobad?overwrite=true" '{"exec":{"kind":"js:isolate","code":"function main() {}"},"annotations":[{"key":"isolate-mode","value":"turbo"}]}'
expect 400 "isolate-mode" "an unknown isolate-mode is a 400"
req PUT "$API/actions/isobad?overwrite=true" '{"exec":{"kind":"js:isolate","code":"function main() {}"},"annotations":[{"key":"isolate-mode","value":"unsafe"}]}'
expect 400 "does not allow" "isolate-mode unsafe is refused unless the node allows it"
req GET "$APIHOST/metrics"
[[ $STATUS == 200 && $BODY == *'whisk_isolate_cached '* && $BODY =~ whisk_isolate_calls_total\ [1-9] && $BODY == *'whisk_isolate_fresh_total 2'* && $BODY == *'whisk_containers '* ]] && ok "GET /metrics: pool and isolate cache figures in Prometheus text" || bad "GET /metrics" "$STATUS ${BODY:0:600}"
blank_isolates() { curl -s -m 5 -u "$AUTH" "$APIHOST/metrics" | awk '$1=="whisk_isolate_blank" {print $2}'; }
check "GET /metrics: after fresh-mode calls an idle worker makes isolates ahead (whisk_isolate_blank >= 1)" poll 5 eval 'b=$(blank_isolates); (( ${b:-0} >= 1 ))'
req GET "$APIHOST/metrics"
[[ $BODY =~ whisk_isolate_fresh_made_ahead_total\ [0-9]+ && $BODY =~ whisk_isolate_waiting\ 0 ]] && ok "GET /metrics: the count of fresh calls in isolates made ahead, and of calls parked on timers" || bad "GET /metrics made-ahead figures" "${BODY:0:300}"
else
  skip "the containerless js:isolate checks"
fi

BIG=$(head -c 1100000 /dev/zero | tr '\0' 'a')
STATUS=$(printf '{"x":"%s"}' "$BIG" | curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$AUTH" -X POST --data-binary @- "$API/actions/hello?blocking=true"); [[ $STATUS == 413 ]] && ok "413 for a body over --max-body" || bad "413 for a body over --max-body" "$STATUS"

# The store's I/O happens on the REST worker's thread, never the controller's: while another
# process holds the database's write lock for 3 s, an action update waits for it, and the
# controller answers GET /metrics (pool figures; the key was checked less than a second
# before, so its check needs no store read either) at once meanwhile.
mkfifo "$DIR/lock.in"
python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
sys.stdin.readline()
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(3)
db.execute("ROLLBACK")' "$DIR/data/whisk.db" <"$DIR/lock.in" >"$DIR/lock.out" 2>&1 &
LOCKER=$!
exec 7>"$DIR/lock.in"
curl -s -m 5 -o /dev/null -u "$AUTH" "$APIHOST/metrics" # the key is checked (and remembered) now
echo go >&7
poll 5 grep -q locked "$DIR/lock.out"
req PUT "$API/actions/waiter?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}' &
PUTTER=$!
sleep 0.2 # the update is waiting for the lock now
t0=$(date +%s%N)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$AUTH" "$APIHOST/metrics")
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $code == 200 ]] && ((ms < 1000)) && ok "GET /metrics answers in ${ms} ms while an update waits for the store's lock" || bad "the controller waited on the store" "$code after $ms ms"
exec 7>&-
wait $PUTTER
wait $LOCKER
req GET "$API/actions/waiter"; expect 200 '"name":"waiter"' "the update that waited for the lock is stored"

stop_node
