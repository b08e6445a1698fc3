#!/usr/bin/env bash
# The whisk command-line client end to end: it drives a real whisk-node (process backend,
# 127.0.0.1, a fresh data dir, stopped by the script) as a user and a script would — the
# properties file, every action and activation verb, wsk's output, exit codes and the
# API's error messages; packages, triggers, rules, sequences and web actions.
source "$(dirname "$0")/rest_lib.sh"
CLI=${2:?usage: $0 path/to/whisk-node path/to/whisk}
trap 'finish; exit $?' EXIT

# cli ARGS...: runs whisk (each run bounded) -> RC, OUT, ERR
cli() {
  timeout 60 "$CLI" "$@" >"$DIR/cli.out" 2>"$DIR/cli.err"
  RC=$?
  OUT=$(cat "$DIR/cli.out")
  ERR=$(cat "$DIR/cli.err")
  cat "$DIR/cli.err" >>"$DIR/cli-all.err"
}
# expect_cli NAME RC STDOUT_NEEDLE [STDERR_NEEDLE]
expect_cli() {
  if [[ $RC == "$2" && $OUT == *"$3"* && $ERR == *"${4:-}"* ]]; then ok "$1"; else bad "$1" "rc $RC; out: ${OUT:0:300}; err: ${ERR:0:300}"; fi
}
# opy EXPR: a Python expression over OUT parsed as JSON (bound to d), printed
opy() {
  python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$1" <<<"$OUT" 2>/dev/null
}
# OUT without its first line (wsk's "ok: ..." line above a JSON document)
body_of() { OUT=${OUT#*$'\n'}; }

# --- help and usage, no node needed ---
export WSK_CONFIG_FILE="$DIR/none.props"
cli --help; expect_cli "--help names every entity and the exit codes" 0 "property"
[[ $OUT == *action* && $OUT == *activation* && $OUT == *trigger* && $OUT == *rule* && $OUT == *package* && $OUT == *namespace* && $OUT == *"modulo 256"* ]] && ok "--help lists the entities" || bad "--help lists the entities" "$OUT"
cli action --help; expect_cli "action --help lists the verbs" 0 "invoke"
cli action invoke --help; expect_cli "action invoke --help lists its flags" 0 "--blocking"
[[ $OUT == *"--result"* && $OUT == *"--param"* ]] && ok "action invoke --help lists -p and -r" || bad "action invoke --help" "$OUT"
cli activation poll --help; expect_cli "activation poll --help" 0 "--exit"
cli frobnicate list; expect_cli "an unknown entity is a usage error (exit 2)" 2 "" "unknown entity 'frobnicate'"
cli action frob; expect_cli "an unknown verb is a usage error (exit 2)" 2 "" "unknown verb 'frob'"
cli action list --frob; expect_cli "an unknown flag is a usage error (exit 2)" 2 "" "unknown flag '--frob'"
cli action invoke; expect_cli "a missing argument is a usage error (exit 2)" 2 "" "needs ACTION_NAME"
cli action invoke a b; expect_cli "an extra argument is a usage error (exit 2)" 2 "" "too many arguments"
cli action invoke a -p onlykey; expect_cli "-p without a value is a usage error" 2 "" "KEY VALUE"
cli action list; expect_cli "no API host configured: exit 1 and what to do" 1 "" "whisk property set --apihost"

# --blocking-wait: a blocking invoke of a slow action ends in 202 within the test's time
start_node --stem-cells=none --blocking-wait=4000

# --- properties ---
PROPS="$DIR/props"
printf '# my settings\nEXTRA=kept\nAPIHOST=http://127.0.0.1:1\n' >"$PROPS"
export WSK_CONFIG_FILE="$PROPS"
cli property set --apihost "$APIHOST" --auth "$AUTH"
expect_cli "property set writes the API host and key" 0 "ok: whisk API host set to $APIHOST"
[[ $OUT == *"ok: whisk auth set"* && $OUT != *"$AUTH"* ]] && ok "property set does not print the key" || bad "property set --auth" "$OUT"
[[ $(grep -c '^APIHOST=' "$PROPS") == 1 && $(grep -c "^AUTH=$AUTH\$" "$PROPS") == 1 && $(grep -c '^EXTRA=kept$' "$PROPS") == 1 && $(grep -c '^# my settings$' "$PROPS") == 1 ]] \
  && ok "the properties file keeps its other lines and holds each key once" || bad "the properties file" "$(cat "$PROPS")"
[[ $(stat -c %a "$PROPS") == 600 ]] && ok "the properties file is readable by its owner only" || bad "properties file mode" "$(stat -c %a "$PROPS")"
cli property get; expect_cli "property get prints the API host" 0 "whisk API host"$'\t\t'"$APIHOST"
[[ $OUT == *"whisk auth"$'\t\t'"$AUTH"* && $OUT == *"whisk namespace"$'\t\t'"_"* ]] && ok "property get prints the key and the namespace" || bad "property get" "$OUT"
cli property get --apihost; expect_cli "property get --apihost prints only the host" 0 "$APIHOST"
[[ $OUT != *auth* ]] && ok "property get --apihost leaves out the key" || bad "property get --apihost" "$OUT"
cli property set; expect_cli "property set without a property is a usage error" 2 "" "at least one"
cli property set --apihost 'ftp://x'; expect_cli "property set refuses a host that is not http" 2 "" "not an http:// URL"

# the file whisk-node writes to its data dir works as is
WSK_CONFIG_FILE="$DIR/data/wskprops" cli namespace list
expect_cli "whisk-node's own wskprops file is a working configuration" 0 $'namespaces\nguest'
cli namespace list; expect_cli "namespace list" 0 $'namespaces\nguest'

# --- actions ---
cat >"$DIR/hello.js" <<'JS'
function main(p) { console.log("hello log", p.name); return {greeting: "hello " + p.name, n: p.n, s: p.s}; }
JS
cli action create hello "$DIR/hello.js"; expect_cli "action create (.js: nodejs)" 0 "ok: created action hello"
cli action create hello "$DIR/hello.js"
expect_cli "creating an existing action: exit 153 (409) and the API's message" 153 "" "error: Unable to create action 'hello': resource already exists (code "
cli action update hello "$DIR/hello.js"; expect_cli "action update" 0 "ok: updated action hello"
cli action get hello; expect_cli "action get" 0 "ok: got action hello"
body_of
[[ $(opy "d['name'], d['namespace'], d['exec']['kind'].startswith('nodejs'), 'hello log' in d['exec']['code']") == "('hello', 'guest', True, True)" ]] \
  && ok "action get prints the action as JSON" || bad "action get JSON" "${OUT:0:300}"
[[ $OUT == *$'\n    "name": "hello",'* ]] && ok "action get indents JSON by four spaces" || bad "JSON indentation" "${OUT:0:200}"
cli action get hello exec.kind; expect_cli "action get with a field" 0 "ok: got action hello, displaying field exec.kind"
cli action list; expect_cli "action list" 0 "actions"
[[ $OUT =~ /guest/hello\ +private\ nodejs ]] && ok "action list shows the name, private and the kind" || bad "action list line" "$OUT"

cli action invoke hello -p name ada -p n 3 -p s '"3"' -r
expect_cli "action invoke -r prints the result only" 0 '"greeting": "hello ada"'
[[ $(opy "d['n'], d['s']") == "(3, '3')" ]] && ok "-p values that are JSON travel as JSON, others as strings" || bad "-p values" "$OUT"
cli action invoke hello -p name bob --blocking
expect_cli "action invoke --blocking says ok with the id" 0 "ok: invoked /_/hello with id "
[[ $OUT =~ ^ok:\ invoked\ /_/hello\ with\ id\ ([0-9a-f]{32})$'\n' ]] && BID=${BASH_REMATCH[1]}
body_of
[[ $(opy "d['activationId'] == '$BID', d['response']['result']['greeting'], d['logs'][0].split(' ', 2)[2]") == "(True, 'hello bob', 'hello log bob')" ]] \
  && ok "action invoke --blocking prints the record" || bad "blocking record" "${OUT:0:300}"
cli action invoke hello -br -p name short; expect_cli "-br: blocking and result in one flag group" 0 '"greeting": "hello short"'

cli action invoke hello -p name later
expect_cli "action invoke (non-blocking) says ok with the id" 0 "ok: invoked /_/hello with id "
ID=
[[ $OUT =~ with\ id\ ([0-9a-f]{32})$ ]] && ID=${BASH_REMATCH[1]}
has_activation() { cli activation get "$ID"; [[ $RC == 0 ]]; }
if [[ -n $ID ]] && poll 15 has_activation; then
  expect_cli "activation get" 0 "ok: got activation $ID"
  body_of
  [[ $(opy "d['activationId'] == '$ID' and d['response']['result']['greeting'] == 'hello later'") == True ]] && ok "activation get prints the record" || bad "activation get JSON" "${OUT:0:300}"
  cli activation logs "$ID"; expect_cli "activation logs prints the log lines with time and stream" 0 " stdout: hello log later"
  cli activation logs "$ID" --strip; expect_cli "activation logs --strip prints the message only" 0 "hello log later"
  [[ $OUT == "hello log later" ]] && ok "--strip leaves nothing but the message" || bad "--strip" "$OUT"
  cli activation result "$ID"; expect_cli "activation result prints the result" 0 '"greeting": "hello later"'
  [[ $(opy "d['greeting']") == "hello later" ]] && ok "activation result is the result object" || bad "activation result JSON" "$OUT"
  cli activation list; expect_cli "activation list" 0 "Activation ID"
  [[ $OUT =~ $ID\ +nodejs:[0-9a-z]+\ +(cold|warm)\ +[0-9]+ms\ +success\ +guest/hello:0.0. ]] && ok "activation list shows id, kind, start, duration, status and entity" || bad "activation list line" "$OUT"
  cli activation list hello --limit 1
  [[ $RC == 0 && $(grep -c 'guest/hello' <<<"$OUT") == 1 ]] && ok "activation list NAME --limit 1" || bad "activation list --limit" "rc $RC $OUT"
  cli activation list --full --limit 2; expect_cli "activation list --full prints JSON" 0 '"activationId"'
  cli activation get --last; expect_cli "activation get --last" 0 "ok: got activation "
  cli activation logs --last --strip; expect_cli "activation logs --last" 0 "hello log"
else
  bad "the non-blocking activation's record appears" "id '$ID': $OUT $ERR"
fi
cli activation poll --exit 2 --since-seconds 300
expect_cli "activation poll prints the logs of recent activations and stops at --exit" 0 "Activation: 'hello' ("
[[ $OUT == *'stdout: hello log ada"'* ]] && ok "activation poll shows each record's log lines" || bad "activation poll logs" "${OUT:0:300}"

# python from a .py file, default parameters from -P, overridden by -p
printf 'def main(args):\n    print("py log")\n    return {"sum": args.get("a", 0) + args.get("b", 0)}\n' >"$DIR/sum.py"
echo '{"a": 2, "b": 40}' >"$DIR/params.json"
cli action create sum "$DIR/sum.py" -P "$DIR/params.json"; expect_cli "action create (.py) with -P" 0 "ok: created action sum"
cli action get sum exec.kind; expect_cli "a .py file makes a python:3 action" 0 '"python:3"'
cli action get sum parameters; body_of
[[ $(opy "[(p['key'], p['value']) for p in d]") == "[('a', 2), ('b', 40)]" ]] && ok "-P sets the action's parameters" || bad "-P parameters" "$OUT"
cli action invoke sum -r; expect_cli "default parameters reach the action" 0 '"sum": 42'
cli action invoke sum -r -P "$DIR/params.json" -p b 1; expect_cli "-p overrides -P on invoke" 0 '"sum": 3'
echo '[1, 2]' >"$DIR/notobject.json"
cli action invoke sum -P "$DIR/notobject.json"; expect_cli "-P with a file that is not an object fails (exit 1)" 1 "" "does not hold a JSON object"
cli action invoke sum -P "$DIR/absent.json"; expect_cli "-P with a missing file fails (exit 1)" 1 "" "Cannot read the file"
cli action create other "$DIR/params.json"; expect_cli "a file of unknown kind needs --kind (exit 2)" 2 "" "give --kind"

# native executables: text, and bytes that are not UTF-8 (sent as base64 with binary=true)
printf '#!/bin/sh\n[ -n "$__OW_WAIT_FOR_ACK" ] && echo "{\\"ok\\":true}" >&3\nwhile read -r line; do echo "native log"; echo "{\\"native\\":true}" >&3; done\n' >"$DIR/nat.sh"
cli action create nat "$DIR/nat.sh" --kind native; expect_cli "action create --kind native" 0 "ok: created action nat"
cli action get nat exec.binary; expect_cli "a text file is sent as text" 0 "false"
cli action invoke nat -r; expect_cli "the native action runs" 0 '"native": true'
{ cat "$DIR/nat.sh"; printf '# \xff\xfe\x80 not utf-8\n'; } >"$DIR/natbin"
cli action create natbin "$DIR/natbin" --kind native; expect_cli "action create with a file that is not text" 0 "ok: created action natbin"
cli action get natbin exec.binary; expect_cli "bytes that are not UTF-8 are sent with binary=true" 0 "true"
cli action invoke natbin -r; expect_cli "the base64-sent executable runs" 0 '"native": true'

# limits and web annotations on update; the other annotations stay
cli action update hello --timeout 5000 --memory 128 -a owner ada; expect_cli "action update with limits and an annotation" 0 "ok: updated action hello"
cli action get hello limits; body_of
[[ $(opy "d['timeout'], d['memory']") == "(5000, 128)" ]] && ok "--timeout and --memory set the limits" || bad "limits" "$OUT"
cli action update hello --web true; expect_cli "action update --web true" 0 "ok: updated action hello"
cli action get hello annotations; body_of
[[ $(opy "sorted((a['key'], a['value']) for a in d if a['key'] in ('web-export', 'final', 'raw-http', 'owner'))") == "[('final', True), ('owner', 'ada'), ('raw-http', False), ('web-export', True)]" ]] \
  && ok "--web true annotates web-export and final, and the update keeps the other annotations" || bad "web annotations" "$OUT"
cli action get hello --url; expect_cli "action get --url prints the web URL" 0 "$APIHOST/api/v1/web/guest/default/hello"
WEB_URL=${OUT##*$'\n'}
WEB=$(curl -s -m 30 -w '\n%{http_code}' "$WEB_URL.json?name=web")
[[ ${WEB##*$'\n'} == 200 && $WEB == *'"hello web"'* ]] && ok "the URL of action get --url calls the web action" || bad "web URL call" "${WEB:0:300}"
cli action update hello --web-secure s3cret; expect_cli "action update --web-secure SECRET" 0 "ok: updated action hello"
[[ $(raw_status "$WEB_URL.json") == 401 && $(raw_status "$WEB_URL.json" -H 'X-Require-Whisk-Auth: s3cret') == 200 ]] \
  && ok "--web-secure: the web action wants its secret" || bad "--web-secure" "$(raw_status "$WEB_URL.json")"
cli action update hello --web-secure false; expect_cli "action update --web-secure false" 0 "ok: updated action hello"
[[ $(raw_status "$WEB_URL.json") == 200 ]] && ok "--web-secure false: no secret needed again" || bad "--web-secure false" "$(raw_status "$WEB_URL.json")"
cli action update hello --web raw; cli action get hello annotations; body_of
[[ $(opy "sorted((a['key'], a['value']) for a in d if a['key'] in ('web-export', 'raw-http'))") == "[('raw-http', True), ('web-export', True)]" ]] \
  && ok "--web raw annotates raw-http" || bad "--web raw" "$OUT"
cli action update hello --web false; cli action get hello annotations; body_of
[[ $(opy "sorted((a['key'], a['value']) for a in d if a['key'] in ('web-export', 'raw-http'))") == "[('raw-http', False), ('web-export', False)]" ]] \
  && ok "--web false turns it off" || bad "--web false" "$OUT"
cli action update hello --web maybe; expect_cli "--web with another value is a usage error" 2 "" "--web takes true, false or raw"
cli action update hello --timeout abc; expect_cli "a limit that is not a number is a usage error" 2 "" "--timeout needs a positive whole number"

# errors: the action's own, unknown entities, bad credentials, no server
cat >"$DIR/fail.js" <<'JS'
function main() { throw new Error("boom"); }
JS
cli action create fail "$DIR/fail.js"
cli action invoke fail -r
expect_cli "a failing action: exit 246 (502), its error result on stdout, the error on stderr" 246 '"error"' "error: The action 'fail' failed: "
[[ $ERR == *boom* ]] && ok "the failure names the action's error" || bad "failure message" "$ERR"
cli action invoke fail -b; expect_cli "a failing action with --blocking prints its record" 246 '"success": false'
cat >"$DIR/slow.js" <<'JS'
function main() { return new Promise(r => setTimeout(() => r({slept: true}), 6000)); }
JS
cli action create slow "$DIR/slow.js"
cli action invoke slow -r
expect_cli "a blocking invoke that outlives the node's wait: exit 202 and the id to look up later" 202 "ok: invoked /_/slow, but the request has not yet finished, with id "
cli action get missing
expect_cli "action get of a missing action: exit 148 (404) and the API's message" 148 "" "error: Unable to get action 'missing': The requested resource does not exist. (code "
cli action invoke missing; expect_cli "invoking a missing action: exit 148" 148 "" "error: Unable to invoke action 'missing': The requested resource does not exist."
cli action delete missing; expect_cli "deleting a missing action: exit 148" 148 "" "error: Unable to delete action 'missing'"
cli activation get 0123456789abcdef0123456789abcdef; expect_cli "activation get of an unknown id: exit 148" 148 "" "error: Unable to get activation"
cli action list --auth "${AUTH%%:*}:wrong"
expect_cli "a wrong key: exit 145 (401) and the API's message" 145 "" "error: Unable to list actions: The supplied authentication is invalid."
cli action list --apihost http://127.0.0.1:1; expect_cli "no server at the API host: exit 3" 3 "" "Cannot reach the API host 127.0.0.1:1"
cli action list --apihost https://127.0.0.1:1; expect_cli "an https API host is refused plainly" 1 "" "https"
cli action create 'bad name!' "$DIR/hello.js"; expect_cli "an invalid name: the API's 400 (exit 144)" 144 "" "is not valid"

cli -d action get 'we ird?x=1#y'
[[ $ERR == *"REQUEST: GET $APIHOST/api/v1/namespaces/_/actions/we%20ird%3Fx=1%23y"$'\n'* && $RC == 144 ]] \
  && ok "a name is one percent-encoded path segment (-d shows the request)" || bad "name encoding" "rc $RC: $ERR"
cli -d activation list 'a&b=c' --limit 1
[[ $ERR == *"/activations?limit=1&name=a%26b=c"* && $RC == 0 ]] && ok "query values are percent-encoded (an & in a value cannot start a parameter)" || bad "query encoding" "rc $RC: $ERR"
cli action delete sum; expect_cli "action delete" 0 "ok: deleted action sum"
cli action get sum; expect_cli "a deleted action is gone" 148 ""

# --- packages, sequences, triggers and rules ---
cli package create utils -p greeting hi --shared no; expect_cli "package create" 0 "ok: created package utils"
cli package update utils -p greeting hey -p extra 1; expect_cli "package update" 0 "ok: updated package utils"
cli action create utils/echo "$DIR/hello.js"; expect_cli "action create in a package" 0 "ok: created action utils/echo"
cli package get utils; expect_cli "package get" 0 "ok: got package utils"
body_of
[[ $(opy "sorted((p['key'], p['value']) for p in d['parameters'])") == "[('extra', 1), ('greeting', 'hey')]" ]] && ok "package parameters" || bad "package parameters" "$OUT"
cli package bind utils mine -p name bound; expect_cli "package bind" 0 "ok: created binding mine"
cli package get mine; body_of
[[ $(opy "d['binding']['name']") == "utils" ]] && ok "the binding names its package" || bad "binding" "$OUT"
cli action invoke mine/echo -r; expect_cli "an action invoked through a binding gets the binding's parameters" 0 '"greeting": "hello bound"'
cli package list; expect_cli "package list" 0 "packages"
[[ $OUT =~ /guest/utils\ +private && $OUT =~ /guest/mine ]] && ok "package list shows both" || bad "package list" "$OUT"
cli action list utils; expect_cli "action list PACKAGE lists the package's actions" 0 "/guest/utils/echo"
cli package delete mine; expect_cli "package delete (binding)" 0 "ok: deleted package mine"
cli action delete utils/echo; expect_cli "action delete in a package" 0 "ok: deleted action utils/echo"
cli package delete utils; expect_cli "package delete" 0 "ok: deleted package utils"
cli package get utils; expect_cli "a deleted package is gone" 148 "" "Unable to get package 'utils'"

cat >"$DIR/upper.js" <<'JS'
function main(p) { return {greeting: p.greeting.toUpperCase()}; }
JS
cli action create upper "$DIR/upper.js"
cli action create shout --sequence hello,upper; expect_cli "action create --sequence" 0 "ok: created action shout"
cli action get shout exec; body_of
[[ $(opy "d['kind'], d['components']") == "('sequence', ['/guest/hello', '/guest/upper'])" ]] && ok "--sequence stores fully qualified components" || bad "sequence exec" "$OUT"
cli action invoke shout -r -p name seq; expect_cli "a sequence runs its components in order" 0 '"greeting": "HELLO SEQ"'
cli action create shout2 --sequence hello "$DIR/hello.js"; expect_cli "a sequence with a code file is a usage error" 2 "" "takes no code file"

cli trigger create tick -p name trig; expect_cli "trigger create" 0 "ok: created trigger tick"
cli trigger fire tick; expect_cli "firing a trigger without rules" 0 "ok: triggered /_/tick"
cli rule create everytick tick hello; expect_cli "rule create" 0 "ok: created rule everytick"
cli rule get everytick; body_of
[[ $(opy "d['status']") == active ]] && ok "a new rule is active" || bad "rule status" "$OUT"
cli rule list; expect_cli "rule list shows the status" 0 "active"
cli trigger fire tick -p extra 1; expect_cli "trigger fire gives an activation id" 0 "ok: triggered /_/tick with id "
TID=
[[ $OUT =~ with\ id\ ([0-9a-f]{32})$ ]] && TID=${BASH_REMATCH[1]}
has_trigger_record() { cli activation get "$TID"; [[ $RC == 0 ]]; }
if [[ -n $TID ]] && poll 15 has_trigger_record; then
  body_of
  [[ $(opy "d['name']") == tick ]] && ok "activation get shows the trigger's record" || bad "trigger record" "${OUT:0:300}"
else
  bad "the trigger's record appears" "id '$TID': $OUT $ERR"
fi
rule_ran() { cli activation list hello --limit 1 --full; [[ $RC == 0 && $(opy "d[0]['response']['result']['greeting']") == "hello trig" ]]; }
poll 15 rule_ran && ok "the active rule invoked its action with the trigger's parameters" || bad "rule invocation" "${OUT:0:300}"
cli rule disable everytick; expect_cli "rule disable" 0 "ok: disabled rule everytick"
cli rule get everytick; body_of
[[ $(opy "d['status']") == inactive ]] && ok "a disabled rule is inactive" || bad "disabled rule" "$OUT"
cli rule enable everytick; expect_cli "rule enable" 0 "ok: enabled rule everytick"
cli trigger list; expect_cli "trigger list" 0 "/guest/tick"
cli trigger get tick; expect_cli "trigger get" 0 "ok: got trigger tick"
cli rule delete everytick --disable; expect_cli "rule delete --disable" 0 "ok: deleted rule everytick"
cli trigger delete tick; expect_cli "trigger delete" 0 "ok: deleted trigger tick"
cli trigger fire tick; expect_cli "firing a deleted trigger: exit 148" 148 "" "Unable to fire trigger 'tick'"

# a throttled invoke: the API's 429 and its message, exit 173 as wsk's
(( $(date +%-S) > 50 )) && sleep $((61 - $(date +%-S))) # both invokes in one minute
"$(dirname "$NODE_BIN")/whisk-admin" --data-dir="$DIR/data" limits set guest invocationsPerMinute=1 >/dev/null
cli action invoke hello -r -p name once; expect_cli "the first invoke within the limit" 0 '"greeting": "hello once"'
cli action invoke hello -r -p name twice; expect_cli "an invoke over invocationsPerMinute exits 173 with the API's message" 173 "" "Too many requests in the last minute (count: 1, allowed: 1)."
"$(dirname "$NODE_BIN")/whisk-admin" --data-dir="$DIR/data" limits unset guest >/dev/null

cli action delete hello; expect_cli "action delete hello" 0 "ok: deleted action hello"
HITS=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak|Thread)' "$DIR/cli-all.err" | head -5)
[[ -z $HITS ]] && ok "no sanitizer report in the output of any whisk run" || bad "sanitizer report in whisk's output" "$HITS"
stop_node
