#!/usr/bin/env bash
# Packages (bindings, parameter precedence), sequences (results, component records, the
# first error stops the chain, nesting, bounds) and triggers with rules (fire, active and
# inactive rules, the trigger's record), end to end through a real whisk-node.
# Starts whisk-node (process backend) on 127.0.0.1 with a fresh data dir and stops it.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

start_node --stem-cells=none

py_action() { # NAME CODE [extra JSON fields] -> PUT
  local body
  body=$(python3 -c 'import json, sys
d = {"exec": {"kind": "python:3", "code": sys.argv[1]}}
d.update(json.loads(sys.argv[2]))
print(json.dumps(d))' "$2" "${3:-{\}}")
  req PUT "$API/actions/$1?overwrite=true" "$body"
}

# --- packages ---
req PUT "$API/packages/utils" '{"parameters":[{"key":"who","value":"package"},{"key":"pkg_only","value":1}],"publish":true}'
expect 200 '"name":"utils"' "a package is created"
req PUT "$API/packages/utils" '{}'
expect 409 'resource already exists' "creating it again without overwrite is a conflict"
py_action utils/echo 'def main(a): return a' '{"parameters":[{"key":"who","value":"action"},{"key":"act_only","value":2}]}'
expect 200 '"namespace":"guest/utils"' "an action is created inside the package, with the package in its namespace"
req GET "$API/packages/utils"
[[ $STATUS == 200 && $(jpy '[a["name"] for a in d["actions"]]') == "['echo']" ]] && ok "GET package lists its actions" || bad "GET package" "$STATUS $BODY"
req GET "$API/packages"
[[ $(jpy '[p["name"] for p in d]') == "['utils']" ]] && ok "GET packages lists it" || bad "GET packages" "$BODY"
req GET "$API/packages?limit=1&skip=1"
[[ $STATUS == 200 && $BODY == "[]" ]] && ok "GET packages pages with limit and skip" || bad "packages paging" "$STATUS $BODY"
req GET "$API/packages?limit=x"
expect 400 "limit" "a limit that is not a number is 400"
req GET "$API/actions/utils/"
[[ $(jpy '[a["name"] for a in d]') == "['echo']" ]] && ok "GET actions/utils/ lists the package's actions" || bad "GET actions/utils/" "$BODY"
req POST "$API/actions/utils/echo?blocking=true&result=true" '{"inv_only":3}'
[[ $STATUS == 200 && $(jpy 'd["who"], d["pkg_only"], d["act_only"], d["inv_only"]') == "('action', 1, 2, 3)" ]] &&
  ok "package < action < invoke parameters" || bad "package parameters" "$STATUS $BODY"
req POST "$API/actions/utils/echo?blocking=true&result=true" '{"who":"invoke"}'
[[ $(jpy 'd["who"]') == invoke ]] && ok "invoke parameters win over the action's" || bad "invoke parameters" "$BODY"
req POST "$API/actions/utils/echo?blocking=true"
AID=$(jpy 'd["activationId"]')
req GET "$APIHOST/api/v1/namespaces/_/activations/$AID"
[[ $(jpy '[a["value"] for a in d["annotations"] if a["key"] == "path"][0]') == guest/utils/echo && $(jpy 'd["namespace"]') == guest ]] &&
  ok "the record of a package action is the caller's with the path guest/utils/echo" || bad "package action record" "$BODY"
req GET "$APIHOST/api/v1/namespaces/_/activations?name=utils/echo&limit=200"
N_PKG=$(jpy 'len(d)')
[[ $N_PKG == 3 && $(jpy '{a["name"] for a in d}') == "{'echo'}" ]] && ok "activations filter by pkg/action (3 records)" || bad "filter by pkg/action" "$BODY"
req GET "$APIHOST/api/v1/namespaces/_/activations?name=/guest/utils/echo&count=true"
[[ $BODY == '{"activations":3}' ]] && ok "count=true counts them, a fully qualified name filters too" || bad "count" "$BODY"
req GET "$APIHOST/api/v1/namespaces/_/activations?name=echo&count=true"
[[ $BODY == '{"activations":0}' ]] && ok "the bare name does not match the package's action" || bad "bare name" "$BODY"
req GET "$API/actions/utils/echo?code=false"
[[ $STATUS == 200 && $(jpy '"code" in d["exec"]') == False ]] && ok "GET action?code=false leaves the code out" || bad "code=false" "$BODY"

# bindings: package < binding < action < invoke
req PUT "$API/packages/mine" '{"binding":{"namespace":"_","name":"utils"},"parameters":[{"key":"who","value":"binding"},{"key":"pkg_only","value":10},{"key":"bind_only","value":4}]}'
expect 200 '"binding":{"namespace":"guest","name":"utils"}' "a binding of the package is created"
req POST "$API/actions/mine/echo?blocking=true&result=true" '{}'
[[ $STATUS == 200 && $(jpy 'd["who"], d["pkg_only"], d["bind_only"], d["act_only"]') == "('action', 10, 4, 2)" ]] &&
  ok "package < binding < action parameters through the binding" || bad "binding parameters" "$STATUS $BODY"
py_action mine/other 'def main(a): return a'
expect 400 'binding' "no action can be created in a binding"
req PUT "$API/packages/bad" '{"binding":{"namespace":"_","name":"nope"}}'
expect 400 'does not exist' "a binding to a package that does not exist is refused"
req PUT "$API/packages/bad2" '{"binding":{"namespace":"_","name":"mine"}}'
expect 400 'another binding' "a binding to a binding is refused"
req POST "$API/actions/nope/echo?blocking=true" '{}'
expect 404 'does not exist' "an action in a package that does not exist is 404"
req DELETE "$API/packages/utils"
expect 409 'not empty' "a package that holds actions is not deleted"

# published packages of another namespace: readable, runnable and bindable; unpublished ones are not
ADMIN="$(dirname "$NODE_BIN")/whisk-admin"
OTHER_AUTH=$("$ADMIN" --data-dir="$DIR/data" user create other)
oreq() { # as namespace 'other'
  local out
  out=$(curl -s -m 70 -u "$OTHER_AUTH" -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} -w '\n%{http_code}' "$2")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
OTHER="$APIHOST/api/v1/namespaces/other"
oreq PUT "$OTHER/packages/shared" '{"publish":true,"parameters":[{"key":"owner","value":"other"}]}'
oreq PUT "$OTHER/packages/private" '{}'
for p in shared private; do
  oreq PUT "$OTHER/actions/$p/hi" '{"exec":{"kind":"python:3","code":"def main(a): return {\"owner\": a.get(\"owner\"), \"x\": a.get(\"x\")}"}}'
done
req GET "$OTHER/packages/shared"
[[ $STATUS == 200 && $(jpy '[a["name"] for a in d["actions"]]') == "['hi']" ]] && ok "another namespace's published package is readable" || bad "read published" "$STATUS $BODY"
req GET "$OTHER/packages/private"
[[ $STATUS == 403 ]] && ok "another namespace's unpublished package is not (403)" || bad "read unpublished" "$STATUS $BODY"
req POST "$OTHER/actions/shared/hi?blocking=true&result=true" '{"x":1}'
[[ $STATUS == 200 && $(jpy 'd["owner"], d["x"]') == "('other', 1)" ]] && ok "an action of a published package runs for another namespace" || bad "run published" "$STATUS $BODY"
req POST "$OTHER/actions/private/hi?blocking=true" '{}'
[[ $STATUS == 403 ]] && ok "an action of an unpublished package does not (403)" || bad "run unpublished" "$STATUS $BODY"
req PUT "$OTHER/actions/shared/mine" '{"exec":{"kind":"python:3","code":"def main(a): return a"}}'
[[ $STATUS == 403 ]] && ok "no one writes into another namespace's package" || bad "write foreign" "$STATUS $BODY"
req PUT "$API/packages/theirs" '{"binding":{"namespace":"other","name":"shared"},"parameters":[{"key":"x","value":"bound"}]}'
req POST "$API/actions/theirs/hi?blocking=true&result=true" '{}'
[[ $STATUS == 200 && $(jpy 'd["owner"], d["x"]') == "('other', 'bound')" ]] && ok "a binding of another namespace's published package" || bad "foreign binding" "$STATUS $BODY"
req PUT "$API/packages/theirs2" '{"binding":{"namespace":"other","name":"private"}}'
[[ $STATUS == 403 ]] && ok "a binding of an unpublished package is refused" || bad "foreign private binding" "$STATUS $BODY"
req GET "$APIHOST/api/v1/namespaces/_/activations?name=hi&limit=5"
oreq GET "$OTHER/activations?limit=50"
[[ $(jpy 'len(d)') == 0 ]] && ok "the runs are the caller's activations, not the owner's" || bad "foreign records" "$BODY"
if have_isolates; then # a js:isolate action's kept context (the default) is never shared between namespaces
  oreq PUT "$OTHER/actions/shared/count" '{"exec":{"kind":"js:isolate","code":"let n = 0; function main(p) { if (p.note) globalThis.note = p.note; return {n: ++n, note: globalThis.note || null}; }"}}'
  oreq POST "$OTHER/actions/shared/count?blocking=true&result=true" '{"note":"other'"'"'s"}'
  oreq POST "$OTHER/actions/shared/count?blocking=true&result=true" '{}'
  [[ $STATUS == 200 && $BODY == '{"n":2,"note":"other'"'"'s"}' ]] && ok "js:isolate: the owner's calls share their kept context" || bad "owner's kept context" "$STATUS $BODY"
  req POST "$OTHER/actions/shared/count?blocking=true&result=true" '{}'
  [[ $STATUS == 200 && $BODY == '{"n":1,"note":null}' ]] && ok "js:isolate: another namespace calling the published action gets a context of its own, not the owner's globals" || bad "kept context across namespaces" "$STATUS $BODY"
  oreq POST "$OTHER/actions/shared/count?blocking=true&result=true" '{}'
  [[ $STATUS == 200 && $BODY == '{"n":3,"note":"other'"'"'s"}' ]] && ok "js:isolate: and the owner's state is untouched by it" || bad "owner's state after a foreign call" "$STATUS $BODY"
else
  skip "js:isolate kept contexts across namespaces"
fi

# --- sequences ---
py_action inc 'def main(a): return {"n": a.get("n", 0) + 1}'
py_action double 'def main(a): return {"n": a["n"] * 2}'
py_action fail 'def main(a): return {"error": "stop here"}'
req PUT "$API/actions/seq1?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/inc","/guest/double","/_/inc"]}}'
expect 200 '"components":["/guest/inc","/guest/double","/guest/inc"]' "a sequence is created, its components qualified with the caller's namespace"
req POST "$API/actions/seq1?blocking=true&result=true" '{"n":1}'
[[ $STATUS == 200 && $(jpy 'd["n"]') == 5 ]] && ok "a sequence passes each result to the next: (1+1)*2+1 = 5" || bad "sequence result" "$STATUS $BODY"
req POST "$API/actions/seq1?blocking=true" '{"n":1}'
SEQ_AID=$(jpy 'd["activationId"]')
COMPONENTS=$(jpy '" ".join(d["logs"])')
SEQ_DURATION=$(jpy 'd["duration"]')
[[ $(wc -w <<<"$COMPONENTS") == 3 && $(jpy '[a["value"] for a in d["annotations"] if a["key"] == "topmost"][0]') == True ]] &&
  ok "the sequence's record lists its 3 component activations" || bad "sequence record" "$BODY"
SUM=0
ALL_OK=1
for c in $COMPONENTS; do
  req GET "$APIHOST/api/v1/namespaces/_/activations/$c"
  [[ $STATUS == 200 && $(jpy 'd["cause"]') == "$SEQ_AID" ]] || ALL_OK=0
  SUM=$((SUM + $(jpy 'd["duration"]')))
done
[[ $ALL_OK == 1 ]] && ok "each component has its own record, caused by the sequence" || bad "component records" "$BODY"
[[ $SUM == "$SEQ_DURATION" ]] && ok "the sequence's duration is its components' durations summed ($SUM ms)" || bad "sequence duration" "$SUM vs $SEQ_DURATION"

req PUT "$API/actions/seq2?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/inc","/_/fail","/_/double"]}}'
req POST "$API/actions/seq2?blocking=true" '{"n":1}'
[[ $STATUS == 502 && $(jpy 'd["response"]["result"]["error"]') == "stop here" && $(jpy 'len(d["logs"])') == 2 ]] &&
  ok "the first error stops the sequence and is its result (2 components ran)" || bad "sequence error" "$STATUS $BODY"

req PUT "$API/actions/nested?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/seq1","/_/double","/_/utils/echo"]}}'
req POST "$API/actions/nested?blocking=true&result=true" '{"n":1}'
[[ $STATUS == 200 && $(jpy 'd["n"]') == 10 && $(jpy 'd["who"]') == action ]] && ok "a sequence may hold a sequence and a package action" || bad "nested sequence" "$STATUS $BODY"
req PUT "$API/actions/selfref?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/selfref"]}}'
expect 400 'itself' "a sequence may not name itself"
req PUT "$API/actions/ghost?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/nope"]}}'
expect 400 'does not exist' "a sequence of an action that does not exist is refused"
LONG=$(python3 -c 'import json; print(json.dumps({"exec": {"kind": "sequence", "components": ["/_/inc"] * 51}}))')
req PUT "$API/actions/long?overwrite=true" "$LONG"
expect 400 'Too many actions' "a sequence of 51 actions is refused"
FORTY=$(python3 -c 'import json; print(json.dumps({"exec": {"kind": "sequence", "components": ["/_/inc"] * 40}}))')
req PUT "$API/actions/forty?overwrite=true" "$FORTY"
req PUT "$API/actions/eighty?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/forty","/_/forty"]}}'
req POST "$API/actions/eighty?blocking=true" '{}'
expect 400 'Too many actions' "nested sequences of 80 actions in all are refused at invoke"
# a cycle through an update: a -> b, then b -> a
req PUT "$API/actions/cyc_a?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/inc"]}}'
req PUT "$API/actions/cyc_b?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/cyc_a"]}}'
req PUT "$API/actions/cyc_a?overwrite=true" '{"exec":{"kind":"sequence","components":["/_/cyc_b"]}}'
req POST "$API/actions/cyc_a?blocking=true" '{}'
expect 400 'Too many actions' "sequences naming each other end with an error, not an endless run"
req POST "$API/actions/seq1" '{"n":2}'
[[ $STATUS == 202 ]] && AID=$(jpy 'd["activationId"]')
poll 20 eval 'req GET "$APIHOST/api/v1/namespaces/_/activations/$AID" && [[ $STATUS == 200 && $(jpy "d[\"response\"][\"success\"]") == True ]]' &&
  [[ $(jpy 'd["response"]["result"]["n"]') == 7 ]] && ok "a non-blocking sequence invoke answers 202 and records its result" || bad "non-blocking sequence" "$BODY"

# --- triggers and rules ---
py_action greet 'def main(a): print("hello " + str(a.get("name"))); return {"greeting": "hello " + str(a.get("name")), "place": a.get("place")}'
req PUT "$API/triggers/t1" '{"parameters":[{"key":"place","value":"trigger"},{"key":"name","value":"nobody"}]}'
expect 200 '"name":"t1"' "a trigger is created"
req POST "$API/triggers/t1" '{}'
[[ $STATUS == 204 ]] && ok "firing a trigger without rules answers 204" || bad "fire without rules" "$STATUS $BODY"
req PUT "$API/rules/r1" '{"trigger":"/_/t1","action":"/_/greet"}'
expect 200 '"status":"active"' "a rule is created, active"
req PUT "$API/rules/r2" '{"trigger":"t1","action":"utils/echo"}'
expect 200 '"action":{"path":"guest/utils","name":"echo"}' "a rule naming a package action"
req PUT "$API/rules/r3" '{"trigger":"/_/nope","action":"/_/greet"}'
expect 404 'does not exist' "a rule of a trigger that does not exist is refused"
req GET "$API/triggers/t1"
[[ $(jpy 'sorted(d["rules"].keys())') == "['guest/r1', 'guest/r2']" ]] && ok "GET trigger shows its rules" || bad "trigger rules" "$BODY"
req POST "$API/triggers/t1" '{"name":"ada"}'
[[ $STATUS == 202 ]] && TAID=$(jpy 'd["activationId"]')
[[ -n "${TAID:-}" ]] && ok "firing answers 202 with the trigger's activation id" || bad "fire" "$STATUS $BODY"
poll 10 eval 'req GET "$APIHOST/api/v1/namespaces/_/activations/$TAID" && [[ $STATUS == 200 ]]'
[[ $(jpy 'd["response"]["result"]["name"]') == ada && $(jpy 'len(d["logs"])') == 2 ]] && ok "the trigger's record holds the payload and one log line per rule" || bad "trigger record" "$BODY"
R1_AID=$(jpy '[json.loads(l)["activationId"] for l in d["logs"] if json.loads(l)["rule"] == "guest/r1"][0]' 2>/dev/null ||
  python3 -c 'import json,sys; d=json.load(sys.stdin); print([json.loads(l)["activationId"] for l in d["logs"] if json.loads(l)["rule"] == "guest/r1"][0])' <<<"$BODY")
poll 20 eval 'req GET "$APIHOST/api/v1/namespaces/_/activations/$R1_AID" && [[ $STATUS == 200 && $(jpy "d[\"response\"][\"success\"]") == True ]]'
[[ $(jpy 'd["response"]["result"]["greeting"]') == "hello ada" && $(jpy 'd["response"]["result"]["place"]') == trigger && $(jpy 'd["cause"]') == "$TAID" ]] &&
  ok "the rule's action ran with the trigger's parameters and the fire's merged" || bad "rule activation" "$BODY"
req POST "$API/rules/r1" '{"status":"inactive"}'
expect 200 '{}' "a rule is disabled"
req POST "$API/rules/r1" '{"status":"sleeping"}'
expect 400 'status' "a rule status other than active or inactive is refused"
req POST "$API/rules/r2" '{"status":"inactive"}'
req POST "$API/triggers/t1" '{}'
[[ $STATUS == 204 ]] && ok "a trigger whose rules are all inactive answers 204" || bad "fire inactive" "$STATUS $BODY"
req POST "$API/rules/r1" '{"status":"active"}'
req GET "$API/rules/r1"
expect 200 '"status":"active"' "a rule is enabled again"
req POST "$API/triggers/t1" '{}'
[[ $STATUS == 202 ]] && TAID=$(jpy 'd["activationId"]')
poll 10 eval 'req GET "$APIHOST/api/v1/namespaces/_/activations/$TAID" && [[ $STATUS == 200 ]]'
[[ $(jpy 'len(d["logs"])') == 1 ]] && ok "only the active rule runs" || bad "one active rule" "$BODY"
req GET "$API/rules"
[[ $(jpy 'sorted(r["name"] for r in d)') == "['r1', 'r2']" ]] && ok "GET rules lists them" || bad "GET rules" "$BODY"
req DELETE "$API/rules/r2"
expect 200 '"name":"r2"' "a rule is deleted"
req DELETE "$API/triggers/t1"
expect 200 '"name":"t1"' "a trigger is deleted"
req POST "$API/triggers/t1" '{}'
expect 404 'does not exist' "a deleted trigger cannot be fired"

# --- limits and throttles (whisk-admin sets them on the running node's store) ---
req GET "$API/limits"
expect 200 '{}' "GET limits of a namespace without limits is {}"
# a per-minute count must not straddle a minute boundary: start early in a minute
(( $(date +%-S) > 45 )) && sleep $((61 - $(date +%-S)))
"$ADMIN" --data-dir="$DIR/data" limits set guest invocationsPerMinute=3 firesPerMinute=1 >/dev/null &&
  ok "whisk-admin limits set" || bad "whisk-admin limits set"
req GET "$API/limits"
[[ $(jpy 'd["invocationsPerMinute"], d["firesPerMinute"]') == "(3, 1)" ]] && ok "GET limits shows them" || bad "GET limits" "$BODY"
CODES=""
for i in 1 2 3 4; do
  req POST "$API/actions/inc?blocking=true&result=true" '{}'
  CODES="$CODES $STATUS"
done
[[ $CODES == " 200 200 200 429" && $BODY == *"Too many requests in the last minute (count: 3, allowed: 3)."* ]] &&
  ok "invocationsPerMinute: the 4th invoke in a minute is 429 with OpenWhisk's message" || bad "invocationsPerMinute" "$CODES $BODY"
req PUT "$API/triggers/t2" '{}'
req PUT "$API/rules/r5" '{"trigger":"t2","action":"inc"}'
req POST "$API/triggers/t2" '{}'
FIRST=$STATUS
req POST "$API/triggers/t2" '{}'
[[ $FIRST == 202 && $STATUS == 429 && $BODY == *"Too many triggers fired in the last minute (count: 1, allowed: 1)."* ]] &&
  ok "firesPerMinute: the 2nd fire in a minute is 429" || bad "firesPerMinute" "$FIRST $STATUS $BODY"
"$ADMIN" --data-dir="$DIR/data" limits unset guest >/dev/null
"$ADMIN" --data-dir="$DIR/data" limits set guest concurrentInvocations=2 >/dev/null
py_action slow 'import time
def main(a): time.sleep(3); return {}'
CODES=""
for i in 1 2 3; do
  req POST "$API/actions/slow" '{}'
  CODES="$CODES $STATUS"
done
[[ $CODES == " 202 202 429" && $BODY == *"Too many concurrent requests in flight (count: 2, allowed: 2)."* ]] &&
  ok "concurrentInvocations: a 3rd invoke while 2 run is 429" || bad "concurrentInvocations" "$CODES $BODY"
poll 20 eval 'req POST "$API/actions/inc?blocking=true" "{}"; [[ $STATUS == 200 ]]' &&
  ok "concurrentInvocations: invokes are taken again once the runs end" || bad "after concurrent runs" "$STATUS $BODY"
"$ADMIN" --data-dir="$DIR/data" limits set guest speed=3 >/dev/null 2>"$DIR/admin.err"
RC=$?
[[ $RC == 2 ]] && grep -q "unknown limit" "$DIR/admin.err" && ok "whisk-admin refuses an unknown limit" || bad "unknown limit" "$RC $(cat "$DIR/admin.err")"
"$ADMIN" --data-dir="$DIR/data" limits unset guest >/dev/null

# --- entities survive a restart (they are in the store) ---
stop_node
start_node --stem-cells=none
req POST "$API/actions/mine/echo?blocking=true&result=true" '{}'
[[ $STATUS == 200 && $(jpy 'd["bind_only"]') == 4 ]] && ok "packages and bindings survive a restart" || bad "restart" "$STATUS $BODY"
req GET "$API/rules/r1"
expect 200 '"status":"active"' "rules survive a restart"
stop_node
# the node's default throttle applies to namespaces without limits of their own
start_node --stem-cells=none --limit-per-minute=1
(( $(date +%-S) > 50 )) && sleep $((61 - $(date +%-S)))
req POST "$API/actions/inc?blocking=true" '{}'
FIRST=$STATUS
req POST "$API/actions/inc?blocking=true" '{}'
[[ $FIRST == 200 && $STATUS == 429 ]] && ok "--limit-per-minute is the default for namespaces without limits" || bad "--limit-per-minute" "$FIRST $STATUS"
stop_node
