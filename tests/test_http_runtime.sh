#!/usr/bin/env bash
# The http backend end to end: a runtime manifest written here adds kinds served by a small
# OpenWhisk-protocol runtime (tests/data/http_runtime/runtime.py, POST /init and /run on port
# 8080 in each container's own network namespace); a real whisk-node started with --runtimes
# validates, creates and invokes actions of those kinds: result, parameters, the __OW_*
# context, exactly the activation's log lines, two containers at once on the same port, the
# family default, a stem cell, time, memory, log and response limits, and /init failures.
source "$(dirname "$0")/rest_lib.sh"
# The runtime's files are bound into its sandbox from a copy outside /tmp (which the sandbox
# covers; the checkout itself may lie there).
RUNTIME_DIR=$(mktemp -d /var/tmp/whisk-http-runtime.XXXXXX)
cp "$(dirname "$0")/data/http_runtime/runtime.py" "$RUNTIME_DIR/"
chmod 755 "$RUNTIME_DIR"
trap 'finish; rc=$?; rm -rf "$RUNTIME_DIR"; exit $rc' EXIT

runtimes_json() { # the manifest: a default kind with a stem cell, a kind on another port, a kind whose /init always fails
  cat <<EOF
{"runtimes": {"pyhttp": [
  {"kind": "pyhttp:1", "default": true, "protocol": "http",
   "command": ["/usr/bin/python3", "-u", "/runtime/runtime.py"],
   "mounts": [{"source": "$RUNTIME_DIR", "target": "/runtime"}],
   "workdir": "/runtime", "env": {"PYTHONDONTWRITEBYTECODE": "1", "RUNTIME_GREETING": "hello"},
   "stemCells": [{"initialCount": 1, "memory": "128 MB"}]},
  {"kind": "pyhttp:9090", "port": 9090,
   "command": ["/usr/bin/python3", "-u", "/runtime/runtime.py"],
   "mounts": [{"source": "$RUNTIME_DIR", "target": "/runtime"}], "env": {"PORT": "9090"}},
  {"kind": "pyhttp:broken",
   "command": ["/usr/bin/python3", "/runtime/runtime.py"],
   "mounts": [{"source": "$RUNTIME_DIR", "target": "/runtime"}], "env": {"RUNTIME_INIT_FAILS": "1"}}
]}}
EOF
}
runtimes_json >"$DIR/runtimes.json"

action() { # kind code [limits-json] -> an action body
  python3 -c 'import json, sys
body = {"exec": {"kind": sys.argv[1], "code": sys.argv[2]}}
if len(sys.argv) > 3: body["limits"] = json.loads(sys.argv[3])
print(json.dumps(body))' "$@"
}
runtime_procs() { pgrep -f -- '/runtime/runtime.py' | wc -l; }

# --- a manifest with a mistake stops the node at start, saying what is wrong ---
echo '{"runtimes": {"pyhttp": [{"kind": "pyhttp:1", "command": ["python3"]}]}}' >"$DIR/bad.json"
OUT=$(timeout 20 "$NODE_BIN" --port=0 --data-dir="$DIR/bad-data" --runtimes="$DIR/bad.json" 2>&1)
RC=$?
[[ $RC == 2 && $OUT == *"command[0] must be an absolute path"* ]] && ok "a bad manifest stops whisk-node with exit 2 and the reason" || bad "bad manifest" "rc $RC: ${OUT: -300}"
echo '{"runtimes": {"python": [{"kind": "python:3", "command": ["/usr/bin/python3"]}]}}' >"$DIR/clash.json"
OUT=$(timeout 20 "$NODE_BIN" --port=0 --data-dir="$DIR/bad-data" --runtimes="$DIR/clash.json" 2>&1)
RC=$?
[[ $RC == 2 && $OUT == *"already known"* ]] && ok "a manifest cannot replace a built-in kind" || bad "built-in kind clash" "rc $RC: ${OUT: -300}"

# (a queueing budget for slow sanitizer builds: an invoke fired beside another must not be shed)
start_node --runtimes="$DIR/runtimes.json" --queue-budget=5000
check "the manifest's stem cell is started at boot (a pyhttp:1 runtime runs before any invoke)" poll 15 eval '(( $(runtime_procs) >= 1 ))'

# --- validation knows the manifest's kinds; the family default resolves ---
req PUT "$API/actions/nope?overwrite=true" "$(action pyhttp:2 'def main(a): return {}')"
expect 400 'pyhttp:1' "an unknown kind is refused and the manifest's kinds are listed"
HELLO='import os, sys
def main(args):
    print("hello " + args.get("name", "?"))
    print("a warning", file=sys.stderr)
    return {"greeting": os.environ["RUNTIME_GREETING"] + " " + args.get("name", "?"),
            "activation_id": os.environ.get("__OW_ACTIVATION_ID"), "namespace": os.environ.get("__OW_NAMESPACE"),
            "action_name": os.environ.get("__OW_ACTION_NAME"), "deadline": os.environ.get("__OW_DEADLINE"),
            "container": os.environ["RUNTIME_CONTAINER"], "cwd": os.getcwd()}'
put_action hello "$(action pyhttp:default "$HELLO")"
req GET "$API/actions/hello"
[[ $(jpy "d['exec']['kind']") == pyhttp:1 ]] && ok "pyhttp:default is stored as the family's default kind pyhttp:1" || bad "family default" "$BODY"

# --- result, parameters, context and exactly the activation's logs ---
req POST "$API/actions/hello?blocking=true" '{"name":"whisk"}'
AID=$(jpy "d['activationId']")
[[ $STATUS == 200 && $(jpy "d['response']['result']['greeting']") == "hello whisk" ]] && ok "an invoke answers the runtime's result with the parameters" || bad "invoke" "$STATUS ${BODY:0:400}"
[[ -n $AID && $(jpy "d['response']['result']['activation_id']") == "$AID" ]] && ok "__OW_ACTIVATION_ID is the activation's id" || bad "__OW_ACTIVATION_ID" "${BODY:0:400}"
[[ $(jpy "d['response']['result']['namespace']") == guest && $(jpy "d['response']['result']['action_name']") == /guest/hello ]] && ok "__OW_NAMESPACE and __OW_ACTION_NAME" || bad "context" "${BODY:0:400}"
[[ $(jpy "int(d['response']['result']['deadline']) > d['start']") == True ]] && ok "__OW_DEADLINE lies after the start" || bad "deadline" "${BODY:0:400}"
[[ $(jpy "d['response']['result']['cwd']") == /runtime ]] && ok "the runtime runs in the manifest's workdir" || bad "workdir" "${BODY:0:400}"
LOGS1=$(jpy "sorted(l.split(' ', 1)[1] for l in d['logs'])")
[[ $LOGS1 == "['stderr: a warning', 'stdout: hello whisk']" ]] && ok "the record holds exactly the activation's two log lines" || bad "logs" "$LOGS1 / $(jpy "d['logs']")"
C1=$(jpy "d['response']['result']['container']")
req POST "$API/actions/hello?blocking=true" '{"name":"again"}'
LOGS2=$(jpy "sorted(l.split(' ', 1)[1] for l in d['logs'])")
[[ $(jpy "d['response']['result']['container']") == "$C1" && $LOGS2 == "['stderr: a warning', 'stdout: hello again']" ]] && ok "a warm invoke reuses the container and gets only its own lines" || bad "warm logs" "$LOGS2 ${BODY:0:300}"
req GET "$API/activations/$AID/logs"
[[ $(jpy "len(d['logs'])") == 2 ]] && ok "GET .../logs of the first activation still has its two lines" || bad "logs by id" "$BODY"

# --- two containers of the kind at once, both on port 8080 in their own namespaces ---
SLOW='import os, time
def main(args):
    time.sleep(1.5)
    return {"container": os.environ["RUNTIME_CONTAINER"], "i": args["i"]}'
put_action slow "$(action pyhttp:1 "$SLOW" '{"timeout": 20000}')"
T0=$SECONDS
CURLS=()
for i in 1 2; do
  curl -s -m 30 -u "$AUTH" -X POST -H 'Content-Type: application/json' --data-binary "{\"i\":$i}" \
    "$API/actions/slow?blocking=true&result=true" >"$DIR/slow.$i" &
  CURLS+=($!)
done
wait "${CURLS[@]}" # (not the node)
ELAPSED=$((SECONDS - T0))
PAIR=$(python3 -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); print(a["i"] + b["i"] == 3 and a["container"] != b["container"])' "$DIR/slow.1" "$DIR/slow.2" 2>&1)
[[ $PAIR == True ]] && ok "two invokes at once run in two containers of the kind (no port clash)" || bad "two at once" "$PAIR $(cat "$DIR/slow.1" "$DIR/slow.2")"
((ELAPSED < 3 + 3)) && ok "side by side (${ELAPSED} s for two 1.5 s runs and their cold starts)" || bad "two at once took ${ELAPSED} s"
put_action other-port "$(action pyhttp:9090 'def main(a): return {"port": 9090}')"
req POST "$API/actions/other-port?blocking=true&result=true" '{}'
expect 200 '"port":9090' "a kind whose runtime listens on the manifest's port 9090"

# --- time limit: the timeout outcome, the container is not used again ---
SLEEPY='import os, time
def main(args):
    print("going to sleep")
    time.sleep(args.get("sleep", 0))
    return {"container": os.environ["RUNTIME_CONTAINER"]}'
put_action sleepy "$(action pyhttp:1 "$SLEEPY" '{"timeout": 700}')"
req POST "$API/actions/sleepy?blocking=true" '{"sleep":0}'
C_BEFORE=$(jpy "d['response']['result']['container']")
req POST "$API/actions/sleepy?blocking=true" '{"sleep":10}'
[[ $(jpy "d['response']['status']") == "action developer error" && $(jpy "d['response']['result']['error']") == *"exceeded its time limits of 700 milliseconds"* && $(jpy "[a['value'] for a in d['annotations'] if a['key'] == 'timeout']") == "[True]" ]] && ok "a run past its time limit ends as a timeout" || bad "timeout" "${BODY:0:400}"
[[ $(jpy "[l.split(' ', 1)[1] for l in d['logs']]") == "['stdout: going to sleep']" ]] && ok "the timed-out activation keeps the lines it wrote" || bad "timeout logs" "$(jpy "d['logs']")"
req POST "$API/actions/sleepy?blocking=true" '{"sleep":0}'
C_AFTER=$(jpy "d['response']['result']['container']")
[[ $STATUS == 200 && -n $C_AFTER && $C_AFTER != "$C_BEFORE" ]] && ok "the next run gets a new container" || bad "after timeout" "$C_BEFORE -> $C_AFTER ${BODY:0:300}"

# --- memory limit (cgroup), log limit, response size ---
put_action hog "$(action pyhttp:1 'def main(a):
    b = b"x" * (400 << 20)
    return {"n": len(b)}' '{"memory": 128}')"
req POST "$API/actions/hog?blocking=true" '{}'
[[ $(jpy "d['response']['status']") == "action developer error" && $(jpy "d['response']['result']['error']") == *memory* ]] && ok "a run over its memory limit is killed and reported as such" || bad "oom" "${BODY:0:400}"
put_action chatty "$(action pyhttp:1 'def main(a):
    for i in range(3000): print(str(i).rjust(999, "x"))
    return {}' '{"logs": 1}')"
req POST "$API/actions/chatty?blocking=true" '{}'
[[ $STATUS == 200 && $(jpy "d['logs'][-1].endswith('Logs were truncated because the total bytes size exceeds the limit of 1048576 bytes.') and 900 < len(d['logs']) < 1100") == True ]] && ok "logs are cut at the action's log limit" || bad "log limit" "$STATUS $(jpy "(len(d['logs']), d['logs'][-1][:200])")"
req POST "$API/actions/hello?blocking=true" '{"name":"after"}'
[[ $(jpy "sorted(l.split(' ', 1)[1] for l in d['logs'])") == "['stderr: a warning', 'stdout: hello after']" ]] && ok "after all that, hello still gets exactly its lines" || bad "logs after" "$(jpy "d['logs']")"
put_action big "$(action pyhttp:1 'def main(a): return {"s": "x" * (17 << 20)}' '{"timeout": 30000}')"
req POST "$API/actions/big?blocking=true" '{}'
[[ $(jpy "d['response']['status']") == "action developer error" && $(jpy "d['response']['result']['error']") == *"larger than 16777216 bytes"* ]] && ok "a response over 16 MB is refused" || bad "response size" "${BODY:0:400}"

# --- /init failures, answered as OpenWhisk does ---
put_action syntax "$(action pyhttp:1 'def main(a) return {}')"
req POST "$API/actions/syntax?blocking=true" '{}'
[[ $(jpy "d['response']['status']") == "action developer error" && $(jpy "d['response']['result']['error']") == *"Initialization has failed due to: The action failed to load: SyntaxError"* ]] && ok "code that does not load: the runtime's /init error is the result" || bad "init error" "${BODY:0:400}"
[[ $(jpy "any('init failed' in l for l in d['logs'])") == True ]] && ok "the failed init's log line is in the record" || bad "init logs" "$(jpy "d['logs']")"
put_action refused "$(action pyhttp:broken 'def main(a): return {}')"
req POST "$API/actions/refused?blocking=true" '{}'
[[ $(jpy "d['response']['status']") == "action developer error" && $(jpy "d['response']['result']['error']") == *"the runtime answered 500 to /init: this runtime refuses every action"* ]] && ok "a runtime answering /init with 500 and text: the init fails with both" || bad "init 500" "${BODY:0:400}"

# --- optional: OpenWhisk's own nodejs runtime (the action proxy of apache/openwhisk-runtime-nodejs,
# core/nodejsActionBase with its npm dependencies installed, outside /tmp), when
# WHISK_OW_NODEJS_RUNTIME names its directory. It is not packaged in Debian or npm. ---
if [[ -n ${WHISK_OW_NODEJS_RUNTIME:-} ]]; then
  stop_node
  python3 - "$DIR/runtimes.json" "$WHISK_OW_NODEJS_RUNTIME" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["runtimes"]["ownode"] = [{"kind": "ownode:20", "command": ["/usr/bin/node", "/runtime/app.js"],
    "mounts": [{"source": sys.argv[2], "target": "/runtime"}], "workdir": "/runtime"}]
json.dump(m, open(sys.argv[1], "w"))
PY
  start_node --runtimes="$DIR/runtimes.json" --stem-cells=none --queue-budget=5000
  put_action owhello "$(action ownode:20 'function main(p) { console.log("hi " + p.name); console.error("a warning"); return {greeting: "hello " + p.name, aid: process.env.__OW_ACTIVATION_ID}; }')"
  req POST "$API/actions/owhello?blocking=true" '{"name":"ow"}'
  [[ $(jpy "d['response']['result']['greeting']") == "hello ow" && $(jpy "d['response']['result']['aid'] == d['activationId']") == True &&
     $(jpy "sorted(l.split(' ', 1)[1] for l in d['logs'])") == "['stderr: a warning', 'stdout: hi ow']" ]] &&
    ok "OpenWhisk's nodejs runtime: result, __OW_ACTIVATION_ID and exactly the activation's lines" || bad "OpenWhisk nodejs runtime" "${BODY:0:400}"
  put_action owbad "$(action ownode:20 'function main(p) { return {x: 1 }')"
  req POST "$API/actions/owbad?blocking=true" '{}'
  [[ $(jpy "d['response']['result']['error'].startswith('Initialization has failed due to: SyntaxError')") == True ]] &&
    ok "OpenWhisk's nodejs runtime: its /init error is the result, prefixed once" || bad "OpenWhisk nodejs init error" "${BODY:0:400}"
  put_action owapp "$(action ownode:20 'function main() { return {error: "app says no"}; }')"
  req POST "$API/actions/owapp?blocking=true" '{}'
  [[ $(jpy "d['response']['status']") == "application error" && $(jpy "d['response']['result']['error']") == "app says no" ]] &&
    ok "OpenWhisk's nodejs runtime: an {error} result is an application error" || bad "OpenWhisk nodejs application error" "${BODY:0:400}"
else
  echo "skip - OpenWhisk's own nodejs runtime (set WHISK_OW_NODEJS_RUNTIME to its core/nodejsActionBase directory)"
fi

stop_node
check "no runtime process is left after whisk-node stopped" poll 5 eval '(( $(runtime_procs) == 0 ))'
