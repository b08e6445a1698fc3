#!/usr/bin/env bash
# The cluster end to end, every role a real process on 127.0.0.1 started and stopped here:
# one whisk-scheduler, two whisk-agents (process backend), two whisk-controllers sharing a
# store. Allocation, warm reuse across controllers, no scheduler message per warm run,
# controller kill, agent kill mid-run, agent SIGSTOP/SIGCONT, scheduler restart.
set -uo pipefail
BIN=${1:?usage: $0 path/to/apps-directory}
DIR=$(mktemp -d /tmp/whisk-cluster-test.XXXXXX)
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
  for role in "${!PIDS[@]}"; do
    kill -CONT "${PIDS[$role]}" 2>/dev/null
    kill -KILL "${PIDS[$role]}" 2>/dev/null
  done
  for role in "${!PIDS[@]}"; do wait "${PIDS[$role]}" 2>/dev/null; done
  local hits
  hits=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak|Thread)' "$DIR"/*.log 2>/dev/null | head -5)
  [[ -z "$hits" ]] && ok "no sanitizer report in any role's output" || bad "sanitizer report in a role's output" "$hits"
  [[ -n "${WHISK_TEST_KEEP:-}" ]] && mkdir -p /tmp/whisk-cluster-logs && cp "$DIR"/*.log /tmp/whisk-cluster-logs/
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
  poll 20 eval '! kill -0 '"$pid"' 2>/dev/null' || { kill -KILL "$pid"; return 1; }
  wait "$pid"
  local rc=$?
  unset "PIDS[$1]"
  return $rc
}
killed() { # ROLE: SIGKILL
  kill -KILL "${PIDS[$1]}"
  wait "${PIDS[$1]}" 2>/dev/null
  unset "PIDS[$1]"
}
logged() { grep -q -- "$2" "$DIR/$1.log"; } # ROLE TEXT
log_ms() { # ROLE TEXT: the time (ms since the epoch) of the last log line with TEXT
  grep -- "$2" "$DIR/$1.log" | tail -1 | cut -d' ' -f1 |
    python3 -c "import sys, datetime; t=sys.stdin.read().strip(); print(int(datetime.datetime.strptime(t, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp()*1000) if t else '')"
}

jpy() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; } # reads JSON on stdin

# --- options and --help --------------------------------------------------------------------
for b in whisk-scheduler whisk-agent whisk-controller; do
  out=$(timeout 10 "$BIN/$b" --help 2>&1)
  rc=$?
  [[ $rc == 0 && "$out" == *"--port"* ]] && ok "$b --help exits 0 and lists its options" || bad "$b --help" "rc $rc: ${out:0:200}"
done
out=$(timeout 10 "$BIN/whisk-agent" --scheduler=nowhere 2>&1)
[[ $? == 2 && "$out" == *"--scheduler must be HOST:PORT"* ]] && ok "whisk-agent refuses a --scheduler that is not HOST:PORT (exit 2)" || bad "bad --scheduler" "$out"
out=$(timeout 10 "$BIN/whisk-agent" --scheduler=127.0.0.1:1 --http-host=0.0.0.0 2>&1)
[[ $? == 2 && "$out" == *"--http-token-file"* ]] && ok "whisk-agent refuses operator routes on a non-loopback address without a token (exit 2)" || bad "--http-host without a token" "$out"
out=$(timeout 10 "$BIN/whisk-agent" --scheduler=127.0.0.1:1 --keep-alive-policy=sometimes 2>&1)
[[ $? == 2 && "$out" == *"greedy-dual"* ]] && ok "whisk-agent refuses an unknown --keep-alive-policy, naming the known ones (exit 2)" || bad "bad --keep-alive-policy" "$out"
out=$(timeout 10 "$BIN/whisk-scheduler" --policy=random 2>&1)
[[ $? == 2 && "$out" == *"--policy"* ]] && ok "whisk-scheduler refuses an unknown --policy (exit 2)" || bad "bad --policy" "$out"

# --- the cluster -----------------------------------------------------------------------------
start scheduler "whisk-scheduler listening" whisk-scheduler --port=0 --http-port=0
SP=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$DIR/scheduler.log" | tail -1 | cut -d: -f2)
SH=$(grep -o 'http http://127.0.0.1:[0-9]*' "$DIR/scheduler.log" | tail -1 | cut -d: -f3)
SCHED="http://127.0.0.1:$SH"
# (a long pause grace: only the operator routes pause containers here)
AGENT_OPTS=(--scheduler=127.0.0.1:$SP --port=0 --http-port=0 --network=none --user-memory=1024 --pause-grace=60000)
start a1 "registered with the scheduler" whisk-agent "${AGENT_OPTS[@]}" --name=a1
start a2 "registered with the scheduler" whisk-agent "${AGENT_OPTS[@]}" --name=a2 --keep-alive-policy=greedy-dual
check "an agent says which keep-alive policy it runs" grep -q "agent a2: keep-alive greedy-dual" "$DIR/a2.log"
CTL_OPTS=(--scheduler=127.0.0.1:$SP --port=0 --data-dir="$DIR/data" --lease-idle=1000 --lease-grace=1500 --requisition-wait=5000)
start c1 "whisk-controller listening" whisk-controller "${CTL_OPTS[@]}" --name=c1
start c2 "whisk-controller listening" whisk-controller "${CTL_OPTS[@]}" --name=c2
C1=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/c1.log" | cut -d' ' -f3)
C2=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/c2.log" | cut -d' ' -f3)
AUTH=$(sed -n 's/^AUTH=//p' "$DIR/data/wskprops")

agents() { curl -s -m 5 "$SCHED/agents"; }
agent_state() { agents | jpy "print(next((a['state'] for a in d if a['name']=='$1'), 'none'))"; }
metric() { curl -s -m 5 "$SCHED/metrics" | awk -v n="$1" '$1==n {print $2}'; }
invoke() { # CONTROLLER ACTION [curl options]: the blocking invoke's whole response
  local c=$1 a=$2
  shift 2
  curl -s -m 30 -u "$AUTH" -X POST -H 'Content-Type: application/json' "$c/api/v1/namespaces/_/actions/$a?blocking=true" -d '{}' "$@"
}
put_action() { # CONTROLLER NAME CODE
  curl -s -m 10 -u "$AUTH" -X PUT -H 'Content-Type: application/json' "$1/api/v1/namespaces/_/actions/$2" \
    -d "$(python3 -c 'import json,sys; print(json.dumps({"exec": {"kind": "nodejs:20", "code": sys.argv[1]}}))' "$3")" -o /dev/null -w '%{http_code}'
}

healthy_agents() { agents | jpy "print(sum(1 for a in d if a['state']=='healthy'))" 2>/dev/null; }
# (registered agents are healthy from their first heartbeat on: under a sanitizer that may take a moment)
poll 10 eval '[[ "$(healthy_agents)" == 2 ]]' && ok "GET /agents lists both agents as healthy" || bad "GET /agents" "$(agents)"
check "scheduler /metrics counts 2 controllers" poll 2 eval '[[ "$(metric whisk_controllers)" == 2 ]]'

# A container says who it is: a random id per runtime and a count of its runs.
[[ $(put_action "$C1" who 'const id = Math.random().toString(36).slice(2); let runs = 0;
function main() { runs++; return { id, runs }; }') == 200 ]] && ok "action created through c1" || bad "action created through c1"
check "each agent starts its stem cell and the scheduler hears of both" poll 10 eval '[[ $(agents | jpy "print(sum(a[\"containers\"].get(\"stem\", 0) for a in d))") == 2 ]]'
r=$(invoke "$C1" who)
id1=$(echo "$r" | jpy "print(d['response']['result']['id'])" 2>/dev/null)
[[ -n "$id1" && $(echo "$r" | jpy "print(d['response']['status'])") == success ]] && ok "first invoke through c1 runs on an allocated container" || bad "first invoke through c1" "$r"
check "that container was an agent's stem cell" poll 2 eval '[[ "$(metric '"'"'whisk_allocations_total{kind="stem-cell"}'"'"')" == 1 ]]'
check "the agent starts a new stem cell in its place" poll 10 eval '[[ $(agents | jpy "print(sum(a[\"containers\"].get(\"stem\", 0) for a in d))") == 2 ]]'
r=$(invoke "$C1" who)
[[ $(echo "$r" | jpy "print(d['response']['result']['id'], d['response']['result']['runs'])") == "$id1 2" ]] && ok "second invoke through c1 is warm (same container, second run)" || bad "warm invoke through c1" "$r"

before=$(metric whisk_controller_messages_total)
okruns=0
for i in $(seq 1 30); do
  [[ $(invoke "$C1" who | jpy "print(d['response']['result']['id'])" 2>/dev/null) == "$id1" ]] && okruns=$((okruns + 1))
done
sleep 0.3 # the scheduler's snapshot is refreshed every 250 ms
after=$(metric whisk_controller_messages_total)
[[ $okruns == 30 ]] && ok "30 warm runs through c1 all ran on the same container" || bad "warm runs" "$okruns of 30"
[[ -n "$before" && "$before" == "$after" ]] && ok "the scheduler received no message from controllers during 30 warm runs ($before before, $after after)" || bad "scheduler messages during warm runs" "$before -> $after"

# c1 gives its idle lease back after --lease-grace; c2 then gets the same warm container.
poll 5 eval '[[ $(agents | jpy "print(sum(a[\"leased\"] for a in d))") == 0 ]]' &&
  ok "c1 gave its idle lease back after the lease grace" || bad "lease given back" "$(agents)"
warm_before=$(curl -s -m 5 "$SCHED/metrics" | awk '$1=="whisk_allocations_total{kind=\"warm\"}" {print $2}')
r=$(invoke "$C2" who)
[[ $(echo "$r" | jpy "print(d['response']['result']['id'])" 2>/dev/null) == "$id1" ]] && ok "c2's first invoke gets c1's former container, warm" || bad "warm reuse across controllers" "$r"
sleep 0.3
warm_after=$(curl -s -m 5 "$SCHED/metrics" | awk '$1=="whisk_allocations_total{kind=\"warm\"}" {print $2}')
[[ "${warm_after:-0}" -gt "${warm_before:-0}" ]] && ok "the scheduler counted a warm allocation ($warm_before -> $warm_after)" || bad "warm allocation count" "$warm_before -> $warm_after"
aid=$(invoke "$C1" who | jpy "print(d['activationId'])" 2>/dev/null)
r=$(curl -s -m 5 -u "$AUTH" "$C2/api/v1/namespaces/_/activations/$aid")
[[ $(echo "$r" | jpy "print(d['activationId'])" 2>/dev/null) == "$aid" ]] && ok "an activation run through c1 is read through c2 (shared store)" || bad "shared activation records" "$r"

# a sequence and a trigger's rule through a controller of the cluster: each component runs on an agent
put_action "$C1" inc 'function main(p) { return { n: (p.n || 0) + 1 }; }' >/dev/null
curl -s -m 10 -u "$AUTH" -X PUT -H 'Content-Type: application/json' "$C1/api/v1/namespaces/_/actions/inc3" \
  -d '{"exec":{"kind":"sequence","components":["/_/inc","/_/inc","/_/inc"]}}' -o /dev/null
r=$(curl -s -m 30 -u "$AUTH" -X POST -H 'Content-Type: application/json' "$C1/api/v1/namespaces/_/actions/inc3?blocking=true" -d '{"n":1}')
[[ $(echo "$r" | jpy "print(d['response']['result']['n'], len(d['logs']))" 2>/dev/null) == "4 3" ]] &&
  ok "a sequence of three actions runs through the cluster (result 4, three component records)" || bad "sequence through the cluster" "$r"
curl -s -m 10 -u "$AUTH" -X PUT "$C2/api/v1/namespaces/_/triggers/tick" -d '{}' -o /dev/null
curl -s -m 10 -u "$AUTH" -X PUT -H 'Content-Type: application/json' "$C2/api/v1/namespaces/_/rules/ontick" -d '{"trigger":"tick","action":"inc"}' -o /dev/null
taid=$(curl -s -m 10 -u "$AUTH" -X POST -H 'Content-Type: application/json' "$C2/api/v1/namespaces/_/triggers/tick" -d '{"n":41}' | jpy "print(d['activationId'])" 2>/dev/null)
raid=$(curl -s -m 5 -u "$AUTH" "$C1/api/v1/namespaces/_/activations/$taid" | jpy "print(json.loads(d['logs'][0])['activationId'])" 2>/dev/null)
got=""
for _ in $(seq 100); do
  got=$(curl -s -m 5 -u "$AUTH" "$C1/api/v1/namespaces/_/activations/$raid" | jpy "print(d['response']['result']['n'])" 2>/dev/null)
  [[ -n "$got" ]] && break
  sleep 0.1
done
[[ $got == 42 ]] && ok "a trigger fired through c2 runs its rule's action on an agent (n 42, read through c1)" || bad "trigger through the cluster" "$taid $raid $got"

# --- the agent's operator routes ----------------------------------------------------------
agent_http() { grep -o "whisk-agent $1 listening on [^ ]* (http http://127.0.0.1:[0-9]*" "$DIR/$1.log" | tail -1 | grep -o 'http://127.0.0.1:[0-9]*$'; }
freezer_root() { sed -n 's/.*freezer=\([^ ]*\) .*/\1/p' "$DIR/$1.log" | tail -1; }
frozen_leaves() { for l in "$(freezer_root "$1")"/c[0-9]*; do grep -qs 'frozen 1' "$l/cgroup.events" || grep -qs FROZEN "$l/freezer.state" && echo "$l"; done; }
[[ $(put_action "$C1" talk 'let n = 0; function main() { n++; console.log("talk line " + n); return { n }; }') == 200 ]] || bad "talk action created"
invoke "$C1" talk >/dev/null
invoke "$C1" talk >/dev/null
host=""; cid=""
for a in a1 a2; do
  cid=$(curl -s -m 5 "$(agent_http $a)/health" | jpy "print(next((c['id'] for c in d['containers'] if '/talk@' in c['action']), ''))")
  [[ -n "$cid" ]] && { host=$a; break; }
done
if [[ -z "$host" ]]; then
  bad "GET /health of an agent lists the talk action's container" "$(curl -s "$(agent_http a1)/health") $(curl -s "$(agent_http a2)/health")"
else
  AH=$(agent_http $host)
  ok "GET /health of agent $host lists the talk action's container ($cid)"
  r=$(curl -s -m 5 "$AH/log/$cid")
  [[ $(echo "$r" | jpy "print(sum(1 for l in d['logs'] if 'talk line' in l))") == 2 ]] && ok "GET /log/$cid returns the two lines the container logged" || bad "GET /log" "$r"
  r=$(curl -s -m 5 "$AH/log/$cid")
  [[ $(echo "$r" | jpy "print(len(d['logs']))") == 0 ]] && ok "a second GET /log/$cid returns nothing new" || bad "GET /log again" "$r"
  check "GET /log/abc is 400" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$AH/log/abc")" == 400 ]
  check "GET /suspend/987654 (no such container) is 404" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$AH/suspend/987654")" == 404 ]
  check "no container of agent $host is frozen before GET /suspend" [ -z "$(frozen_leaves $host)" ]
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$AH/suspend/$cid")
  [[ $code == 204 ]] && ok "GET /suspend/$cid is 204" || bad "GET /suspend" "$code"
  check "the container's cgroup is frozen after GET /suspend" poll 2 eval '[[ $(frozen_leaves '"$host"' | wc -l) == 1 ]]'
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$AH/resume/$cid")
  [[ $code == 204 ]] && ok "GET /resume/$cid is 204" || bad "GET /resume" "$code"
  check "no container's cgroup is frozen after GET /resume" poll 2 eval '[[ -z "$(frozen_leaves '"$host"')" ]]'
  r=$(invoke "$C1" talk)
  [[ $(echo "$r" | jpy "print(d['response']['result']['n'])" 2>/dev/null) == 3 ]] && ok "the resumed container runs the next activation (third run)" || bad "run after resume" "$r"
fi

# --- controller kill: the scheduler reclaims its leases ---------------------------------------
invoke "$C2" who >/dev/null # c2 holds a lease now (or again)
leased_by_c2=$(agents | jpy "print(sum(a['leased'] for a in d))")
killed c2
if poll 3 logged scheduler "controller c2 is gone"; then
  ok "the scheduler sees the killed controller c2 at once"
  check "its lease was reclaimed ($leased_by_c2 leased before)" poll 2 eval '[[ "$(metric whisk_leases_reclaimed_total)" -ge 1 ]]'
else
  bad "the scheduler did not notice the killed controller" "$(tail -3 "$DIR/scheduler.log")"
fi

# --- agent kill mid-run: the run ends with a whisk error naming the agent; failover ----------
[[ $(put_action "$C1" slow 'function main() { return new Promise(r => setTimeout(() => r({ done: true }), 4000)); }') == 200 ]] || bad "slow action created"
invoke "$C1" slow >"$DIR/slow.json" &
CURL=$!
# the agent whose /health lists a container of the slow action
victim_agent() {
  for a in a1 a2; do
    local h
    h=$(grep -o "whisk-agent $a listening on [^ ]* (http http://127.0.0.1:[0-9]*" "$DIR/$a.log" | tail -1 | grep -o '[0-9]*$')
    [[ -n "$h" ]] && curl -s -m 2 "http://127.0.0.1:$h/health" | jpy "import sys; sys.exit(0 if any('/slow@' in c['action'] for c in d['containers']) else 1)" 2>/dev/null && { echo "$a"; return; }
  done
}
poll 10 eval '[[ -n "$(victim_agent)" ]]'
victim=$(victim_agent)
sleep 0.5 # the run is in the runtime now
if [[ -z "$victim" ]]; then
  bad "no agent hosts the slow action's container" "$(agents)"
else
  t0=$(date +%s%N)
  killed "$victim"
  wait $CURL
  t1=$(date +%s%N)
  r=$(cat "$DIR/slow.json")
  ms=$(((t1 - t0) / 1000000))
  [[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == "whisk internal error" ]] && ok "the run on the killed agent $victim ended as a whisk error" || bad "run on a killed agent" "$r"
  [[ "$r" == *"$victim"* ]] && ok "its error names the lost agent $victim" || bad "error names the agent" "$r"
  ((ms < 1500)) && ok "the controller answered ${ms} ms after the kill (under 1.5 s)" || bad "answer after the agent kill" "$ms ms"
  check "the scheduler shows $victim offline" poll 3 eval '[[ $(agent_state '"$victim"') == offline ]]'
  seen=$(log_ms scheduler "agent $victim is offline")
  [[ -n "$seen" ]] && (( seen - t0 / 1000000 < 1000 )) && ok "the scheduler saw $victim go offline $((seen - t0 / 1000000)) ms after the kill (under 1 s)" ||
    bad "the scheduler saw the killed agent late" "$seen vs $((t0 / 1000000))"
  r=$(invoke "$C1" who)
  [[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == success ]] && ok "new invokes run on the surviving agent" || bad "failover invoke" "$r"
  # the killed agent comes back under its name: it registers again, with nothing left running
  start "$victim" "registered with the scheduler" whisk-agent "${AGENT_OPTS[@]}" --name="$victim"
  check "the restarted agent $victim is healthy again" poll 3 eval '[[ $(agent_state '"$victim"') == healthy ]]'
fi

# --- agent frozen: offline within 3 s, its run ends with a whisk error; back after SIGCONT ----
invoke "$C1" slow >"$DIR/slow2.json" &
CURL=$!
poll 10 eval '[[ -n "$(victim_agent)" ]]'
frozen=$(victim_agent)
sleep 0.5
if [[ -z "$frozen" ]]; then
  bad "no agent hosts the second slow run" "$(agents)"
else
  t0=$(date +%s%N)
  kill -STOP "${PIDS[$frozen]}"
  check "the frozen agent $frozen goes offline" poll 5 eval '[[ $(agent_state '"$frozen"') == offline ]]'
  seen=$(log_ms scheduler "agent $frozen is offline")
  [[ -n "$seen" ]] && (( seen - t0 / 1000000 < 3000 )) && ok "the scheduler saw the frozen $frozen offline $((seen - t0 / 1000000)) ms after SIGSTOP (under 3 s)" ||
    bad "the scheduler saw the frozen agent late" "$seen vs $((t0 / 1000000))"
  wait $CURL
  r=$(cat "$DIR/slow2.json")
  [[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == "whisk internal error" ]] && ok "the frozen agent's run ended as a whisk error" || bad "run on a frozen agent" "$r"
  kill -CONT "${PIDS[$frozen]}"
  check "after SIGCONT $frozen registers again and is healthy" poll 5 eval '[[ $(agent_state '"$frozen"') == healthy ]]'
fi

# --- scheduler restart: leases keep serving; requisitions resume when it is back --------------
invoke "$C1" who >/dev/null
killed scheduler
r=$(invoke "$C1" who)
[[ $(echo "$r" | jpy "print(d['response']['status'])" 2>/dev/null) == success ]] && ok "a warm invoke succeeds while the scheduler is down" || bad "warm invoke without the scheduler" "$r"
start scheduler "whisk-scheduler listening" whisk-scheduler --port="$SP" --http-port="$SH"
check "both agents register with the restarted scheduler" poll 5 eval '[[ $(agents | jpy "print(sum(1 for a in d if a[\"state\"]==\"healthy\"))") == 2 ]]'
check "c1 connects to the restarted scheduler" poll 5 eval '[[ $(grep -c "c1: connected to the scheduler" "$DIR/c1.log") -ge 2 ]]'
[[ $(put_action "$C1" fresh 'function main() { return { fresh: true }; }') == 200 ]] || bad "fresh action created"
r=$(invoke "$C1" fresh)
[[ $(echo "$r" | jpy "print(d['response']['result']['fresh'])" 2>/dev/null) == True ]] && ok "a cold invoke after the restart gets a new container" || bad "cold invoke after the scheduler restart" "$r"

# --- an agent made unhealthy by injected system errors, brought back by the health test ------
# a3 simulates its containers and has the most free memory: new containers go there
start a3 "registered with the scheduler" whisk-agent --scheduler=127.0.0.1:$SP --port=0 --http-port=0 --backend=sim --user-memory=65536 --name=a3
[[ $(put_action "$C1" broken 'sim:system-error') == 200 ]] || bad "broken action created"
errors=0
for i in 1 2 3 4 5; do
  [[ $(invoke "$C1" broken | jpy "print(d['response']['status'])" 2>/dev/null) == "whisk internal error" ]] && errors=$((errors + 1))
  logged scheduler "agent a3 is unhealthy" && break
done
check "runs of the broken action on a3 end as whisk errors ($errors)" [ "$errors" -ge 4 ]
check "the scheduler marks a3 unhealthy after more than 3 system errors in its last 10 runs" poll 3 logged scheduler "agent a3 is unhealthy"
check "the health test action brings a3 back to healthy" poll 5 eval 'logged scheduler "agent a3 is healthy (was unhealthy): the health test action passed" && [[ $(agent_state a3) == healthy ]]'
check "a3 ran the health test action" logged a3 "health test action passed"

# --- operator routes behind a shared token ------------------------------------------------
printf 'a-token-of-the-test-%s\n' "$RANDOM$RANDOM" >"$DIR/token"
chmod 600 "$DIR/token"
start a4 "registered with the scheduler" whisk-agent --scheduler=127.0.0.1:$SP --port=0 --http-port=0 --backend=sim \
  --stem-cells=none --name=a4 --http-token-file="$DIR/token"
A4=$(grep -o 'http http://127.0.0.1:[0-9]*' "$DIR/a4.log" | tail -1 | grep -o 'http://127.0.0.1:[0-9]*$')
check "without the token GET /health is 401" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$A4/health")" == 401 ]
check "with a wrong token GET /health is 401" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer not-the-token-at-all' "$A4/health")" == 401 ]
check "with the token GET /health is 200" [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$DIR/token")" "$A4/health")" == 200 ]

# --- orderly stop ----------------------------------------------------------------------------
check "whisk-controller stops on SIGTERM with exit status 0" stop c1
for a in a1 a2 a3 a4; do check "whisk-agent $a stops on SIGTERM with exit status 0" stop "$a"; done
check "whisk-scheduler stops on SIGTERM with exit status 0" stop scheduler
