#!/usr/bin/env bash
# Two controllers sharing one PostgreSQL database, every process started and stopped here:
# a PostgreSQL server of this test's own (tests/pg_lib.sh: Unix socket in a temp dir), one
# whisk-scheduler, one whisk-agent (sim backend), two whisk-controllers with the same
# --data-dir (the node-secret that key hashes need) and --store=postgresql://... An action
# created through one controller runs through the other; activations are listed from either;
# an update or a delete through one is seen by the other within a deadline (its entity cache
# is dropped on the database's notification); whisk-admin --store creates a user whose key
# works on both, and a rotated key stops working on both. Exit 77 without PostgreSQL.
set -uo pipefail
BIN=${1:?usage: $0 path/to/apps-directory}
source "$(dirname "$0")/pg_lib.sh"
pg_require
DIR=$(mktemp -d /tmp/whisk-cluster-pg-test.XXXXXX)
declare -A PIDS=()
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && echo "       ${2:0:800}"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
poll() { # SECONDS COMMAND...: every 50 ms until it succeeds or the deadline passes
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}

finish() {
  local status=$?
  for role in "${!PIDS[@]}"; do kill -KILL "${PIDS[$role]}" 2>/dev/null; done
  for role in "${!PIDS[@]}"; do wait "${PIDS[$role]}" 2>/dev/null; done
  local hits
  hits=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak|Thread)' "$DIR"/*.log 2>/dev/null | head -5)
  [[ -z "$hits" ]] && ok "no sanitizer report in any role's output" || bad "sanitizer report in a role's output" "$hits"
  ((FAIL > 0)) && { echo "--- PostgreSQL's log (tail)"; pg_log | tail -15; }
  [[ -n "${WHISK_TEST_KEEP:-}" ]] && mkdir -p /tmp/whisk-cluster-pg-logs && cp "$DIR"/*.log /tmp/whisk-cluster-pg-logs/
  pg_stop
  rm -rf "$DIR"
  if [[ $status != 0 ]]; then # an exit on the way (a server that did not start): never a pass
    FAIL=$((FAIL + 1))
    echo "FAIL - the script stopped early with exit status $status"
  fi
  echo "$PASS passed, $FAIL failed"
  [[ $FAIL == 0 ]]
}
trap 'finish; exit $?' EXIT

# start ROLE LOG-NEEDLE BINARY ARGS...: starts a role (its output appended to ROLE.log) and
# waits for the LOG-NEEDLE line of this start.
start() {
  local role=$1 needle=$2 bin=$3
  shift 3
  local before
  before=$(grep -c -- "$needle" "$DIR/$role.log" 2>/dev/null)
  "$BIN/$bin" "$@" >>"$DIR/$role.log" 2>&1 &
  PIDS[$role]=$!
  if ! poll 20 eval 'lines=$(grep -c -- "$needle" "$DIR/$role.log" 2>/dev/null); ((${lines:-0} > ${before:-0}))'; then
    echo "$role did not start"
    tail -20 "$DIR/$role.log"
    exit 1
  fi
}
stop() { # ROLE: SIGTERM and a bounded wait; true when it exited 0
  local pid=${PIDS[$1]}
  kill -TERM "$pid"
  poll 20 eval '! kill -0 '"$pid"' 2>/dev/null' || { kill -KILL "$pid"; wait "$pid" 2>/dev/null; unset "PIDS[$1]"; return 1; }
  wait "$pid"
  local rc=$?
  unset "PIDS[$1]"
  return $rc
}
jpy() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; } # reads JSON on stdin
now_ms() { echo $(($(date +%s%N) / 1000000)); }

PG_OWNER=$$ pg_start || { echo "no PostgreSQL server for the test"; exit 1; }
ok "a PostgreSQL server of this test's own on $PG_DIR"

start scheduler "whisk-scheduler listening" whisk-scheduler --port=0 --http-port=0
SP=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$DIR/scheduler.log" | tail -1 | cut -d: -f2)
start a1 "registered with the scheduler" whisk-agent --scheduler=127.0.0.1:$SP --port=0 --http-port=0 --backend=sim --user-memory=8192 --name=a1
CTL_OPTS=(--scheduler=127.0.0.1:$SP --port=0 --data-dir="$DIR/data" --store="$PG_URI")
start c1 "whisk-controller listening" whisk-controller "${CTL_OPTS[@]}" --name=c1
start c2 "whisk-controller listening" whisk-controller "${CTL_OPTS[@]}" --name=c2
C1=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/c1.log" | tail -1 | cut -d' ' -f3)
C2=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/c2.log" | tail -1 | cut -d' ' -f3)
AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")
[[ -n $C1 && -n $C2 && -n $AUTH ]] || { bad "both controllers listen and the guest's key is in wskprops" "$C1 $C2 $AUTH"; exit 1; }

check "both controllers say they use the PostgreSQL database" eval 'grep -q "store: PostgreSQL at postgresql:///whisk" "$DIR/c1.log" && grep -q "store: PostgreSQL at postgresql:///whisk" "$DIR/c2.log"'
check "and neither writes a SQLite store in the data dir" test ! -e "$DIR/data/whisk.db"
check "the guest namespace is in the database once" test "$(pg_sql whisk "SELECT count(*) FROM namespaces WHERE name = 'guest'")" == 1

api() { echo "$1/api/v1/namespaces/_"; }
# call AUTH METHOD URL [BODY] -> STATUS and BODY
call() {
  local out
  out=$(curl -s -m 30 -u "$1" -X "$2" -H 'Content-Type: application/json' ${4:+--data-binary "$4"} -w '\n%{http_code}' "$3")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
# an action whose result says which version of it ran (the sim backend echoes the parameters)
action_json() { echo "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(p) { return p; }\"},\"parameters\":[{\"key\":\"v\",\"value\":$1}]}"; }
invoke_v() { # CONTROLLER [AUTH]: the v of a blocking invoke of 'versioned', else empty
  call "${2:-$AUTH}" POST "$(api "$1")/actions/versioned?blocking=true" '{}'
  [[ $STATUS == 200 ]] && jpy "print(d['response']['result']['v'])" <<<"$BODY" 2>/dev/null
}

# --- entities: made through one controller, run and read through the other ----------------
call "$AUTH" PUT "$(api "$C1")/actions/versioned" "$(action_json 1)"
[[ $STATUS == 200 ]] && ok "an action created through c1" || bad "create through c1" "$STATUS $BODY"
call "$AUTH" GET "$(api "$C2")/actions/versioned"
[[ $STATUS == 200 && $BODY == *'"name":"versioned"'* ]] && ok "c2 reads the action c1 created" || bad "read through c2" "$STATUS $BODY"
call "$AUTH" POST "$(api "$C2")/actions/versioned?blocking=true" '{}'
ID2=$(jpy "print(d['activationId'])" <<<"$BODY" 2>/dev/null)
[[ $STATUS == 200 && $(jpy "print(d['response']['result']['v'])" <<<"$BODY" 2>/dev/null) == 1 ]] && ok "c2 invokes it" || bad "invoke through c2" "$STATUS $BODY"
check "c1 invokes it too (and caches it)" test "$(invoke_v "$C1")" == 1
ID1=$(jpy "print(d['activationId'])" <<<"$BODY" 2>/dev/null)
call "$AUTH" POST "$(api "$C1")/actions/versioned" '{}' # non-blocking: 202
ID3=$(jpy "print(d['activationId'])" <<<"$BODY" 2>/dev/null)
[[ $STATUS == 202 && -n $ID3 ]] && ok "a non-blocking invoke through c1 is accepted" || bad "non-blocking invoke through c1" "$STATUS $BODY"
listed() { # CONTROLLER: the activation ids it lists
  call "$AUTH" GET "$(api "$1")/activations?limit=50"
  jpy "print(' '.join(a['activationId'] for a in d))" <<<"$BODY" 2>/dev/null
}
lists_all() { local l; l=$(listed "$1"); [[ $l == *"$ID1"* && $l == *"$ID2"* && $l == *"$ID3"* ]]; }
check "c1 lists the activations run through c1 and c2" poll 10 lists_all "$C1"
check "c2 lists them too" poll 10 lists_all "$C2"
call "$AUTH" GET "$(api "$C2")/activations/$ID1"
[[ $STATUS == 200 && $BODY == *"\"activationId\":\"$ID1\""* ]] && ok "c2 reads the record of an activation run through c1" || bad "record through c2" "$STATUS $BODY"
call "$AUTH" GET "$(api "$C1")/activations/$ID2"
[[ $STATUS == 200 ]] && ok "c1 reads the record of an activation run through c2" || bad "record through c1" "$STATUS $BODY"

# --- an update through c2 reaches c1's cache -----------------------------------------------
call "$AUTH" PUT "$(api "$C2")/actions/versioned?overwrite=true" "$(action_json 2)"
T0=$(now_ms)
[[ $STATUS == 200 ]] && ok "the action updated through c2" || bad "update through c2" "$STATUS $BODY"
STALE=0
runs_update() { local v; v=$(invoke_v "$C1"); [[ $v == 2 ]] || { STALE=$((STALE + 1)); return 1; }; }
if poll 5 runs_update; then
  ok "an invoke through c1 runs the update within 5 s ($(($(now_ms) - T0)) ms after it was written; $STALE answer(s) of the old version before)"
else
  bad "c1 still runs the old version 5 s after the update through c2" "v=$(invoke_v "$C1")"
fi
check "c2 runs the update" test "$(invoke_v "$C2")" == 2
call "$AUTH" DELETE "$(api "$C1")/actions/versioned"
T0=$(now_ms)
[[ $STATUS == 200 ]] && ok "the action deleted through c1" || bad "delete through c1" "$STATUS $BODY"
gone() { call "$AUTH" POST "$(api "$C2")/actions/versioned?blocking=true" '{}'; [[ $STATUS == 404 ]]; }
if poll 5 gone; then
  ok "an invoke through c2 finds it deleted within 5 s ($(($(now_ms) - T0)) ms after)"
else
  bad "c2 still invokes the action 5 s after its delete through c1" "$STATUS ${BODY:0:200}"
fi

# --- whisk-admin on the database: a user whose key works on both controllers --------------
admin() { timeout 30 "$BIN/whisk-admin" --data-dir="$DIR/data" --store="$PG_URI" "$@" 2>>"$DIR/admin.err"; }
KEY=$(admin user create team-x)
rc=$?
[[ $rc == 0 && $KEY =~ ^[0-9a-f-]{36}:[0-9a-f]{64}$ ]] && ok "whisk-admin --store=$PG_URI user create prints uuid:key" || bad "whisk-admin user create" "rc $rc: $KEY $(cat "$DIR/admin.err")"
check "the namespace is in the database, not in a SQLite file" eval '[[ $(pg_sql whisk "SELECT count(*) FROM namespaces WHERE name = '"'team-x'"'") == 1 && ! -e "$DIR/data/whisk.db" ]]'
check "whisk-admin namespace list shows guest and team-x" test "$(admin namespace list)" == $'guest\nteam-x'
for c in C1 C2; do
  call "$KEY" GET "${!c}/api/v1/namespaces"
  [[ $STATUS == 200 && $BODY == '["team-x"]' ]] && ok "the new key authenticates on ${c,,}" || bad "the new key on ${c,,}" "$STATUS $BODY"
done
call "$KEY" PUT "$(api "$C1")/actions/versioned" "$(action_json 7)"
[[ $STATUS == 200 ]] && ok "team-x creates an action through c1" || bad "team-x create" "$STATUS $BODY"
check "and runs it through c2" test "$(invoke_v "$C2" "$KEY")" == 7
NEW=$(admin user key rotate team-x)
T0=$(now_ms)
[[ $NEW =~ ^[0-9a-f-]{36}:[0-9a-f]{64}$ && $NEW != "$KEY" ]] && ok "whisk-admin rotates team-x's key" || bad "rotate" "$NEW $(cat "$DIR/admin.err")"
for c in C1 C2; do
  refused() { [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' -u "$KEY" "${!c}/api/v1/namespaces") == 401 ]]; }
  if poll 5 refused; then ok "the old key is refused on ${c,,} within 5 s ($(($(now_ms) - T0)) ms after the rotation)"; else bad "the old key still works on ${c,,}"; fi
  call "$NEW" GET "${!c}/api/v1/namespaces"
  [[ $STATUS == 200 ]] && ok "the new key works on ${c,,}" || bad "the rotated key on ${c,,}" "$STATUS $BODY"
done

# --- orderly stop ----------------------------------------------------------------------------
for r in c1 c2; do check "whisk-controller $r stops on SIGTERM with exit status 0" stop "$r"; done
check "whisk-agent stops on SIGTERM with exit status 0" stop a1
check "whisk-scheduler stops on SIGTERM with exit status 0" stop scheduler
