#!/usr/bin/env bash
# Containers and the node's life through the REST API: stem cells used and refilled, pause,
# resume and idle removal of one identified container, concurrent runs in one container,
# blocking waits that run out (in any order), records that survive SIGKILL, the drain
# timeout, memory shared by containers and isolates, and a graceful SIGTERM.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

token_action='{"exec":{"kind":"nodejs:20","code":"const token = Math.random().toString(36).slice(2); function main(p) { return {token, i: p.i}; }"}}'
slow_action() { # ms -> an action that answers after ms
  echo "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"function main(p) { return new Promise(r => setTimeout(() => r({slow: true, i: p.i}), $1)); }\"},\"limits\":{\"timeout\":20000}}"
}

# --- requests while the node starts and stops: answered 200 or 503, or refused, never dropped ---
mkdir -p "$DIR/data"
hammer() { # FILE: GETs as fast as curl goes until STOP exists (at most 20 s)
  local end=$((SECONDS + 20)) props auth port
  while [[ ! -e "$DIR/stop" ]] && ((SECONDS < end)); do
    props=$(cat "$DIR/data/wskprops" 2>/dev/null) # one read: the file appears whole (rename)
    auth=$(sed -n 's/^AUTH=//p' <<<"$props")
    port=$(sed -n 's/^APIHOST=.*://p' <<<"$props")
    [[ -n $port && -n $auth ]] || { sleep 0.01; continue; }
    curl -s -m 5 -o /dev/null -w '%{http_code}\n' -u "$auth" "http://127.0.0.1:$port/api/v1/namespaces/_/actions" >>"$1"
  done
}
hammer "$DIR/codes.1" &
H1=$!
start_node --stem-cells=none
poll 5 eval '[[ $(grep -c 200 "$DIR/codes.1" 2>/dev/null) -ge 5 ]]'
kill -TERM "$PID"
await_exit 20
touch "$DIR/stop"
wait $H1
rm -f "$DIR/stop"
CODES=$(sort "$DIR/codes.1" | uniq -c | tr -s ' ' | tr '\n' ',')
check "requests while the node starts and stops get 200, 503 or a refused connection ($CODES)" \
  eval '[[ $(grep -c 200 "$DIR/codes.1") -ge 5 ]] && ! grep -qvE "^(200|503|000)$" "$DIR/codes.1"'

# --- stem cells ---
start_node --stem-cells=nodejs:20:256:1 --pause-grace=100 --idle-timeout=1500
check "a stem cell is started at boot" poll 15 eval '[[ $(metric stem_cells) == 1 ]]'
STEM0=$(metric starts_total 'start="stem_cell"')
put_action first "$token_action"
req POST "$API/actions/first?blocking=true&result=true" '{"i":1}'; expect 200 '"i":1' "the first invoke of a nodejs action answers"
check "the first invoke took the stem cell" test "$(metric starts_total 'start="stem_cell"')" == $((STEM0 + 1))
check "the stem cell is refilled" poll 15 eval '[[ $(metric stem_cells) == 1 ]]'
stop_node

# --- pause, resume and idle removal of one container (no stem cells: one leaf to watch) ---
start_node --stem-cells=none --pause-grace=100 --idle-timeout=1500 --queue-budget=2000 # (slow sanitizer builds must not shed here)
put_action pr "$token_action"
req POST "$API/actions/pr?blocking=true&result=true" '{"i":1}'
TOKEN=$(jpy "d['token']")
LEAF=$(leaves)
[[ -n "$TOKEN" && $(wc -w <<<"$LEAF") == 1 ]] && ok "one container for the action (cgroup leaf $(basename "$LEAF"))" || bad "one container" "token $TOKEN, leaves: $LEAF"
check "that container is frozen after the pause grace" poll 5 is_frozen "$LEAF"
RESUMED0=$(metric starts_total 'start="resumed"')
CREATED0=$(metric containers_created_total)
req POST "$API/actions/pr?blocking=true&result=true" '{"i":2}'
[[ $STATUS == 200 && $(jpy "d['token']") == "$TOKEN" ]] && ok "the next invoke runs in that same container (same token)" || bad "resume: same container" "$STATUS $BODY vs $TOKEN"
check "the pool counted a resume, and created no container" test "$(metric starts_total 'start="resumed"') $(metric containers_created_total)" == "$((RESUMED0 + 1)) $CREATED0"
check "the container is frozen again after the pause grace" poll 5 is_frozen "$LEAF"
check "the container is removed after the idle timeout" poll 10 eval '[[ ! -d "$LEAF" ]]'
check "the pool counted its removal" test "$(metric containers_removed_total)" == 1
check "as the keep-alive policy's expiry (--idle-timeout is fixed keep-alive)" test "$(metric containers_expired_total)" == 1
check "its idle memory over time is counted (256 MB for about 1.5 s)" eval \
  'python3 -c "import sys; v = float(sys.argv[1]); sys.exit(0 if 256 * 1.4 <= v <= 256 * 4 else 1)" "$(metric containers_idle_mb_seconds_total)"'
stop_node

# --- a keep-alive policy by name ---
timeout 20 "$NODE_BIN" --port=0 --data-dir="$DIR/data" --keep-alive-policy=sometimes >"$DIR/bad.out" 2>&1
RC=$?
check "an unknown --keep-alive-policy: exit 2, naming the known ones" eval '[[ $RC == 2 ]] && grep -q "hybrid" "$DIR/bad.out"'
start_node --stem-cells=none --pause-grace=100 --keep-alive-policy=fixed:1s --queue-budget=2000
check "the node says which policy it runs" grep -q "keep-alive fixed:1s" "$DIR/node.log"
put_action ka "$token_action"
req POST "$API/actions/ka?blocking=true&result=true" '{"i":1}'; expect 200 '"i":1' "an invoke under fixed:1s answers"
check "its container is unloaded after 1 s idle" poll 10 eval '[[ $(metric containers_expired_total) == 1 && $(metric containers_removed_total) == 1 ]]'

# --- concurrency > 1: one container takes several runs at once ---
put_action conc '{"exec":{"kind":"nodejs:20","code":"const token = Math.random().toString(36).slice(2); function main(p) { return new Promise(r => setTimeout(() => r({token, i: p.i}), 300)); }"},"limits":{"concurrency":4}}'
CURLS=()
for i in 1 2 3 4; do
  curl -s -m 30 -u "$AUTH" -X POST -H 'Content-Type: application/json' -d "{\"i\":$i}" "$API/actions/conc?blocking=true&result=true" >"$DIR/conc.$i" &
  CURLS+=($!)
done
wait "${CURLS[@]}" # not a bare wait: the node is a child too
CONC=$(cat "$DIR"/conc.? | python3 -c 'import json, sys
rs = [json.loads(l) for l in sys.stdin.read().replace("}{", "}\n{").splitlines()]
print(sorted(r["i"] for r in rs) == [1, 2, 3, 4] and len({r["token"] for r in rs}) == 1)')
[[ $CONC == True ]] && ok "concurrency 4: four concurrent invokes get their own results from one container" || bad "concurrency" "$(cat "$DIR"/conc.?)"

# --- blocking waits that run out ---
put_action slow "$(slow_action 2500)"
req POST "$API/actions/slow?blocking=true&timeout=300" '{"i":1}'
ID=$(activation_id_of)
[[ $STATUS == 202 && -n $ID && $BODY != *'"response"'* ]] && ok "a blocking wait that runs out (?timeout=300) answers 202 with the id" || bad "blocking wait runs out" "$STATUS $BODY"
wait_activation "$ID" && [[ $(jpy "d['response']['result']") == "{'slow': True, 'i': 1}" ]] && ok "its record appears once it finished" || bad "record after 202" "$STATUS $BODY"
# a long wait first, then a short one: the short one must not wait for the long one's timer
curl -s -m 30 -u "$AUTH" -X POST "$API/actions/slow?blocking=true&timeout=20000" -o "$DIR/long.out" &
LONG=$!
poll 5 eval '[[ $(metric activations_in_flight) == 1 ]]'
T0=$(date +%s%N)
req POST "$API/actions/slow?blocking=true&timeout=300" '{"i":2}'
MS=$((($(date +%s%N) - T0) / 1000000))
[[ $STATUS == 202 && $MS -lt 1500 ]] && ok "a short wait set after a long one runs out at its own time (${MS} ms)" || bad "deadline order" "$STATUS after $MS ms"
wait $LONG
[[ $(cat "$DIR/long.out") == *'"slow":true'* ]] && ok "the long wait gets its result" || bad "long wait" "$(cat "$DIR/long.out")"

# --- nothing answered is lost: mixed load, SIGKILL, restart; three times ---
put_action quick "$token_action"
load_client() { # FILE MODE: invokes until the node is gone (at most 15 s); answered ids go to FILE
  local query=blocking=true out status
  [[ $2 == async ]] && query=blocking=false
  local end=$((SECONDS + 15))
  while ((SECONDS < end)); do
    out=$(curl -s -m 10 -u "$AUTH" -X POST -H 'Content-Type: application/json' -d '{}' -w '\n%{http_code}' "$API/actions/quick?$query") || break
    status=${out##*$'\n'}
    [[ ($status == 200 || $status == 202) && $out =~ \"activationId\":\"([0-9a-f]{32})\" ]] && echo "${BASH_REMATCH[1]}" >>"$1"
  done
}
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [[ -n "$s" && "$s" != Z* ]]; } # a zombie is dead
none_alive() { local p; for p in $1; do alive "$p" && return 1; done; return 0; }
for round in 1 2 3; do
  rm -f "$DIR"/ids.*
  CLIENTS=()
  for c in 1 2 3 4; do
    load_client "$DIR/ids.$c" "$( ((c % 2)) && echo blocking || echo async)" &
    CLIENTS+=($!)
  done
  sleep 1.5
  RUNTIMES=$(cat "$(freezer_root)"/c[0-9]*/cgroup.procs 2>/dev/null | sort -u)
  kill_node
  wait "${CLIENTS[@]}"
  if ((round == 1)); then
    check "no runtime process outlives a SIGKILLed whisk-node ($(wc -w <<<"$RUNTIMES") were running)" eval '[[ -n "$RUNTIMES" ]] && poll 5 none_alive "$RUNTIMES"'
  fi
  start_node --stem-cells=none
  ANSWERED=$(cat "$DIR"/ids.* | sort -u)
  LOST=0
  for id in $ANSWERED; do
    req GET "$API/activations/$id"
    [[ $STATUS == 200 ]] || LOST=$((LOST + 1))
  done
  N=$(wc -w <<<"$ANSWERED")
  [[ $N -ge 20 && $LOST == 0 ]] && ok "round $round: every activation answered 200 or 202 has its record after SIGKILL ($N answered, $LOST lost)" || bad "round $round: records after SIGKILL" "$N answered, $LOST lost"
done
echo "     (runs cut by the kills and recorded as whisk errors at restart: $(grep -o '[0-9]* activation(s) accepted before the last stop never ended' "$DIR/node.log" | awk '{s += $1} END {print s + 0}'))"

# --- the drain timeout ends what still runs with a whisk error ---
stop_node
start_node --stem-cells=none --drain-timeout=500
put_action slower "$(slow_action 8000)"
req POST "$API/actions/slower" '{}'
ID=$(activation_id_of)
poll 10 eval '[[ $(metric containers_busy) == 1 ]]'
T0=$SECONDS
stop_node 8
check "SIGTERM with a 500 ms drain timeout stops the node before the 8 s run ends" test $((SECONDS - T0)) -le 4
start_node --stem-cells=none
req GET "$API/activations/$ID"
[[ $STATUS == 200 && $(jpy "d['response']['status'] + ': ' + d['response']['result']['error']") == "whisk internal error: whisk-node shut down before the activation completed." ]] && ok "the run cut by the drain timeout has a whisk-error record" || bad "drain record" "$STATUS ${BODY:0:300}"
stop_node

# --- bounds: connections, activations in flight, the queueing budget ---
start_node --stem-cells=none --max-connections=2 --max-in-flight=1 --user-memory=256 --queue-budget=300
put_action slow "$(slow_action 1500)"
put_action other "$token_action"
exec 7<>/dev/tcp/127.0.0.1/"${APIHOST##*:}" 8<>/dev/tcp/127.0.0.1/"${APIHOST##*:}" # two idle connections
poll 5 eval '[[ $(curl -s -m 5 -o /dev/null -w "%{http_code}" "$APIHOST/ping") == 503 ]]'
STATUS=$(raw_status "$APIHOST/ping"); [[ $STATUS == 503 ]] && ok "a connection over --max-connections=2 is answered 503" || bad "connection bound" "$STATUS"
exec 7>&- 8>&-
check "once one closes, requests are served again" poll 5 eval '[[ $(raw_status "$APIHOST/ping") == 200 ]]'
check "/metrics counts the refused connections" poll 5 eval '[[ $(metric http_connections_refused_total) -ge 1 ]]'
req POST "$API/actions/slow" '{}'
check "the slow run is in flight" poll 10 eval '[[ $(metric activations_in_flight) == 1 ]]'
req POST "$API/actions/other?blocking=true" '{}'; expect 429 'activations are in flight' "an invoke over --max-in-flight=1 gets 429"
stop_node
start_node --stem-cells=none --user-memory=256 --queue-budget=300
curl -s -m 30 -u "$AUTH" -X POST -o /dev/null "$API/actions/slow?blocking=true" &
SLOW=$!
check "the slow run holds the only memory" poll 10 eval '[[ $(metric containers_busy) == 1 ]]'
T0=$(date +%s%N)
req POST "$API/actions/other?blocking=true" '{}'
MS=$((($(date +%s%N) - T0) / 1000000))
[[ $STATUS == 429 && $BODY == *'queueing budget of 300 ms'* && $MS -ge 250 && $MS -lt 1200 ]] && ok "a run that cannot start within --queue-budget=300 gets 429 after about 300 ms (${MS} ms)" || bad "queueing budget" "$STATUS after $MS ms: ${BODY:0:200}"
check "/metrics counts it as shed" test "$(metric runs_shed_total)" == 1
wait $SLOW
stop_node

# --- memory: isolates and containers share --user-memory; a full queue answers 429 ---
if have_isolates; then
start_node --user-memory=256 --max-queue=0 --stem-cells=none
put_action isobusy '{"exec":{"kind":"js:isolate","code":"function main() { const t = Date.now(); while (Date.now() - t < 1500) {} return {busy: true}; }"},"limits":{"memory":256,"timeout":10000}}'
put_action slow "$(slow_action 1500)"
curl -s -m 30 -u "$AUTH" -X POST -o "$DIR/iso.out" "$API/actions/isobusy?blocking=true&result=true" &
ISO=$!
check "a running 256 MB isolate holds all of --user-memory=256" poll 5 eval '[[ $(metric memory_in_use_mb) == 256 && $(metric containers_busy) == 1 ]]'
req POST "$API/actions/slow?blocking=true" '{}'; expect 429 'Too many requests' "so a nodejs run finds no memory and, with no queue, gets 429"
wait $ISO
[[ $(cat "$DIR/iso.out") == '{"busy":true}' ]] && ok "the isolate run answers" || bad "isolate run" "$(cat "$DIR/iso.out")"
else
  skip "isolates and containers share --user-memory"
  start_node --user-memory=256 --max-queue=0 --stem-cells=none
  put_action slow "$(slow_action 1500)"
fi

# --- SIGTERM lets the running activation finish; new invokes get 503 meanwhile ---
curl -s -m 30 -u "$AUTH" -X POST -o "$DIR/slow.out" -w '%{http_code}' "$API/actions/slow?blocking=true&result=true" >"$DIR/slow.status" &
SLOW=$!
check "the slow run holds the only memory" poll 10 eval '[[ $(metric containers_busy) == 1 && $(metric activations_in_flight) == 1 ]]'
req POST "$API/actions/slow?blocking=true" '{}'; expect 429 "the node's run queue is full" "429 when the node's queue is full"
kill -TERM "$PID"
poll 5 grep -q 'draining 1 in-flight' "$DIR/node.log"
req POST "$API/actions/slow?blocking=true" '{}'; expect 503 'shutting down' "an invoke while the node drains gets 503"
await_exit 20
wait "$SLOW"
[[ $(cat "$DIR/slow.status") == 200 && $(cat "$DIR/slow.out") == *'"slow":true'* ]] && ok "an activation running at SIGTERM finishes and answers" || bad "in-flight activation at SIGTERM" "$(cat "$DIR/slow.status") $(cat "$DIR/slow.out")"
check "no container cgroup is left after SIGTERM" test -z "$(leaves)"
