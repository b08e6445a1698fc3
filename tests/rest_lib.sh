# Shared by the end-to-end scripts that drive a real whisk-node over HTTP (sourced, not run).
# Every node is started on 127.0.0.1 with a fresh data dir and stopped by the script; every
# curl has a time limit and every wait a deadline; at exit the node's output is scanned for
# sanitizer reports, and any report fails the script.
set -uo pipefail
NODE_BIN=${1:?usage: $0 path/to/whisk-node}
DIR=$(mktemp -d /tmp/whisk-rest-test.XXXXXX)
PID=
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && echo "       ${2:0:600}"; }
check() { # check NAME COMMAND...: ok when the command succeeds
  local name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

# Sanitizer reports of every node this script started (all of them write to node.log).
scan_sanitizers() {
  local hits
  hits=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak|Thread)' "$DIR/node.log" 2>/dev/null | head -5)
  [[ -z "$hits" ]] && ok "no sanitizer report in whisk-node's output" || bad "sanitizer report in whisk-node's output" "$hits"
}

# The EXIT trap's first call: $? is the script's exit status then.
finish() {
  local status=$?
  [[ -n "$PID" ]] && kill -KILL "$PID" 2>/dev/null
  wait 2>/dev/null
  scan_sanitizers
  [[ -n "${BEFORE_CLEANUP:-}" ]] && eval "$BEFORE_CLEANUP"
  [[ -n "${WHISK_TEST_KEEP:-}" ]] && cp "$DIR/node.log" "/tmp/whisk-test-node-$(basename "$0" .sh).log"
  rm -rf "$DIR"
  if [[ $status != 0 ]]; then # an exit on the way (a server that did not start): never a pass
    FAIL=$((FAIL + 1))
    echo "FAIL - the script stopped early with exit status $status"
  fi
  echo "$PASS passed, $FAIL failed"
  [[ $FAIL == 0 ]]
}

# The build has js:isolate unless ctest says otherwise (the TSan build has no V8).
have_isolates() { [[ ${WHISK_HAS_ISOLATES:-1} == 1 ]]; }
skip() { echo "skip - $1 (this build has no js:isolate)"; }

# poll SECONDS COMMAND...: runs COMMAND every 50 ms until it succeeds or the deadline passes
poll() {
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}

# Waits for this run's "listening" line (wskprops, written before it, may be left from the last run).
start_node() { # [extra options...]
  local runs
  runs=$(grep -c 'whisk-node listening on' "$DIR/node.log" 2>/dev/null)
  echo "--- start: $* ---" >>"$DIR/node.log"
  "$NODE_BIN" --port=0 --data-dir="$DIR/data" "$@" >>"$DIR/node.log" 2>&1 &
  PID=$!
  if ! poll 20 eval '(($(grep -c "whisk-node listening on" "$DIR/node.log") > ${runs:-0}))'; then
    echo "whisk-node did not start"
    tail -20 "$DIR/node.log"
    exit 1
  fi
  APIHOST=$(sed -n 's/^APIHOST=//p' "$DIR/data/wskprops")
  AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
  API="$APIHOST/api/v1/namespaces/_"
  [[ -n "$APIHOST" && -n "$AUTH" ]] || { echo "whisk-node wrote no credentials"; tail -20 "$DIR/node.log"; exit 1; }
}

# SIGTERM, then wait (bounded) for the exit; the exit status must be 0.
stop_node() { # [seconds to wait, default 20]
  kill -TERM "$PID"
  await_exit "${1:-20}"
}
await_exit() { # seconds: after a SIGTERM sent by the caller
  local rc
  if poll "$1" eval '! kill -0 "$PID" 2>/dev/null'; then
    wait "$PID"
    rc=$?
    [[ $rc == 0 ]] && ok "whisk-node stopped on SIGTERM with exit status 0" || bad "whisk-node's exit status after SIGTERM" "$rc: $(tail -5 "$DIR/node.log")"
  else
    bad "whisk-node did not stop within $1 s of SIGTERM"
    kill -KILL "$PID"
    wait "$PID" 2>/dev/null
  fi
  PID=
}

kill_node() {
  kill -KILL "$PID"
  wait "$PID" 2>/dev/null
  PID=
}

# req METHOD URL [BODY] -> STATUS and BODY
req() {
  local out
  out=$(curl -s -m 70 -u "$AUTH" -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} -w '\n%{http_code}' "$2")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}

# raw_status URL [curl options...] -> the status code alone
raw_status() {
  local url=$1
  shift
  curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "$url"
}

expect() { # expect STATUS NEEDLE NAME
  if [[ "$STATUS" == "$1" && "$BODY" == *"$2"* ]]; then ok "$3"; else bad "$3" "got $STATUS: ${BODY:0:300}"; fi
}

# jq-like: evaluates a Python expression over the parsed BODY (bound to d) and prints it
jpy() {
  python3 -c 'import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1" <<<"$BODY" 2>/dev/null
}

put_action() { # name json
  req PUT "$API/actions/$1?overwrite=true" "$2"
  [[ "$STATUS" == 200 ]] || bad "create $1" "got $STATUS: $BODY"
}

activation_id_of() { # the id in a 202 answer (or a record), else empty
  [[ $BODY =~ \"activationId\":\"([0-9a-f]{32})\" ]] && echo "${BASH_REMATCH[1]}"
}

wait_activation() { # id -> BODY of the record (deadline 15 s)
  _has_record() { req GET "$API/activations/$1"; [[ "$STATUS" == 200 ]]; }
  poll 15 _has_record "$1"
}

# metric NAME [LABELS] -> the value of one sample of GET /metrics (empty if absent)
metric() {
  local name="whisk_$1"
  [[ -n "${2:-}" ]] && name+="{$2}"
  curl -s -m 5 -u "$AUTH" "$APIHOST/metrics" | awk -v n="$name" '$1 == n { print $2 }'
}

freezer_root() { sed -n 's/.*freezer=\([^ ]*\) .*/\1/p' "$DIR/node.log" | tail -1; }
leaves() { local root; root=$(freezer_root); ls -d "$root"/c[0-9]* 2>/dev/null; }
is_frozen() { grep -qs 'frozen 1' "$1/cgroup.events" || grep -qs FROZEN "$1/freezer.state"; }
