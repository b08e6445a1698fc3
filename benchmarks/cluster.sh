#!/usr/bin/env bash
# The cluster (whisk-scheduler, whisk-agent, whisk-controller) against whisk-node, every
# process on 127.0.0.1, started and stopped here. Prints Markdown tables:
#  1. warm invoke through whisk-controller + whisk-agent vs whisk-node (process backend,
#     --network=none, noop nodejs:20, blocking, result=true; 1 and 4 connections, closed
#     loop, best of 2 alternating runs) and the p50/p99 the remote hop adds;
#  2. starts: the first invoke of a new action on the cluster (a requisition, then a new
#     container on an agent with --stem-cells=none, or the stem cell of an agent with the
#     default stem cells) vs whisk-node's cold start (--stem-cells=none) and its stem-cell
#     start (default stem cells), 5 fresh actions each;
#  3. control-plane throughput with --backend=sim agents (runs answer at once: sim:sleep=0):
#     1 scheduler, 1/2/4 agents, 1/2 controllers, 8 actions of concurrency 16, warm leases:
#     the REST path (whisk-load, 128 connections) and the control plane without HTTP
#     (whisk-bench-cluster: spawn_balancer, run_msg, 256 runs in flight); activations/s,
#     the scheduler's CPU time and the messages controllers sent it during the window.
#   benchmarks/cluster.sh [SECONDS_PER_RUN]   (default 5; about 3 minutes at 5, so not in suite.sh)
#   WHISK_SKIP_BUILD=1: no build; WHISK_BUILD_DIR=DIR: binaries of another build (default build)
set -eEuo pipefail
# a failing step says which, on stderr (its output may be going into the table)
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
SECS=${1:-5}
BUILD=${WHISK_BUILD_DIR:-build}
if [[ -z "${WHISK_SKIP_BUILD:-}" ]]; then
  cmake --build "$BUILD" -j 2 --target whisk-node whisk-scheduler whisk-agent whisk-controller whisk-load \
    whisk-bench-cluster >/tmp/whisk-bench-build.log 2>&1 || { tail -30 /tmp/whisk-bench-build.log >&2; false; }
fi
APPS=$BUILD/apps
LOAD=$BUILD/benchmarks/whisk-load
DRIVER=$BUILD/benchmarks/whisk-bench-cluster
source benchmarks/common.sh
bench_scratch cluster
T0=$SECONDS
TICK=$(getconf CLK_TCK)
say() { echo "cluster: $*" >&2; }

# --- roles ---------------------------------------------------------------------------------
# start_role LOG NEEDLE BINARY ARGS...: starts BINARY (output in $DIR/LOG.log), waits for the
# NEEDLE line; sets ROLE_PID
start_role() {
  local log=$1 needle=$2 bin=$3
  shift 3
  "$APPS/$bin" "$@" >"$DIR/$log.log" 2>&1 &
  ROLE_PID=$!
  PIDS+=("$ROLE_PID")
  for _ in $(seq 400); do
    grep -q -- "$needle" "$DIR/$log.log" && return 0
    kill -0 "$ROLE_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "cluster: $bin ($log) did not start:" >&2
  tail -20 "$DIR/$log.log" >&2
  return 1
}
# stop_roles PID...: SIGTERM, then wait for each (its containers are destroyed)
stop_roles() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  forget_pids "$@"
}
# forget_pids PID...: ended and waited for: no longer stopped at exit
forget_pids() {
  local p keep=()
  for p in "${PIDS[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
# start_scheduler LOG: sets SCHED_PID, SCHED (host:port), SCHED_HTTP (URL)
start_scheduler() {
  start_role "$1" "whisk-scheduler listening" whisk-scheduler --port=0 --http-port=0
  SCHED_PID=$ROLE_PID
  SCHED=127.0.0.1:$(grep -o 'listening on 127.0.0.1:[0-9]*' "$DIR/$1.log" | cut -d: -f2)
  SCHED_HTTP=http://127.0.0.1:$(grep -o 'http http://127.0.0.1:[0-9]*' "$DIR/$1.log" | cut -d: -f3)
}
# start_agent NAME ARGS...
start_agent() {
  local name=$1
  shift
  start_role "$name" "registered with the scheduler" whisk-agent --scheduler="$SCHED" --name="$name" --port=0 --http-port=0 "$@"
}
# start_front LOG BINARY ARGS...: whisk-controller or whisk-node; sets FRONT (its URL)
start_front() {
  local log=$1 bin=$2
  shift 2
  start_role "$log" "$bin listening" "$bin" --port=0 "$@"
  FRONT=http://127.0.0.1:$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$DIR/$log.log" | cut -d: -f3)
}
auth_of() { sed -n 's/^AUTH=//p' "$1/wskprops"; } # DATA-DIR
# put_action URL AUTH NAME JSON
put_action() { curl -sf -m 10 -u "$2" -X PUT "$1/api/v1/namespaces/_/actions/$3?overwrite=true" -d "$4" >/dev/null; }
# first_invoke URL AUTH NAME: seconds to the blocking result (fails unless 200)
first_invoke() {
  local out
  out=$(curl -s -m 60 -o "$DIR/invoke.out" -w '%{http_code} %{time_total}' -u "$2" -X POST \
    "$1/api/v1/namespaces/_/actions/$3?blocking=true&result=true")
  [[ ${out%% *} == 200 ]] || { echo "cluster: invoke $3 at $1 answered ${out%% *}: $(head -c 300 "$DIR/invoke.out")" >&2; return 1; }
  echo "${out#* }"
}
sched_cpu() { awk '{print $14 + $15}' "/proc/$SCHED_PID/stat"; } # clock ticks
sched_msgs() { curl -s -m 5 "$SCHED_HTTP/metrics" | awk '$1 == "whisk_controller_messages_total" {print $2}' || true; }
sched_fleet() { # "LEASED ALL": leased containers and all containers, over all agents
  curl -s -m 5 "$SCHED_HTTP/agents" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(a["leased"] for a in d), sum(sum(a["containers"].values()) for a in d))'
}

NOOP='function main(){return {}}'
NOOP_ACTION="{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$NOOP\"},\"limits\":{\"memory\":256}}"

# === 1 and 2: process backend ===============================================================
say "process backend: scheduler, agent, controller, whisk-node"
start_scheduler sched
# 4096 MB on the agents and the nodes: the warm runs at 4 connections leave 4 noop containers,
# and the starts below must not wait for room (see benchmarks/README.md, "a full agent")
start_agent agent --backend=process --network=none --user-memory=4096 # default stem cells (nodejs:20:256:1)
AGENT_PID=$ROLE_PID
start_front ctl whisk-controller --scheduler="$SCHED" --name=bench --data-dir="$DIR/ctl"
CTL=$FRONT CTL_PID=$ROLE_PID CTL_AUTH=$(auth_of "$DIR/ctl")
SCHED1_PID=$SCHED_PID
# a second cluster whose agent keeps no stem cell: its first invokes are cold
start_scheduler schedcold
SCHEDCOLD_PID=$SCHED_PID
start_agent agentcold --backend=process --network=none --user-memory=4096 --stem-cells=none
AGENTCOLD_PID=$ROLE_PID
start_front ctlcold whisk-controller --scheduler="$SCHED" --name=bench --data-dir="$DIR/ctlcold"
CTLCOLD=$FRONT CTLCOLD_PID=$ROLE_PID CTLCOLD_AUTH=$(auth_of "$DIR/ctlcold")
start_front node whisk-node --network=none --user-memory=4096 --data-dir="$DIR/node" # default stem cells (nodejs:20:256:1)
NODE=$FRONT NODE_PID=$ROLE_PID NODE_AUTH=$(auth_of "$DIR/node")
start_front nodecold whisk-node --network=none --user-memory=4096 --stem-cells=none --data-dir="$DIR/nodecold"
NODECOLD=$FRONT NODECOLD_PID=$ROLE_PID NODECOLD_AUTH=$(auth_of "$DIR/nodecold")

put_action "$CTL" "$CTL_AUTH" noop "$NOOP_ACTION"
put_action "$NODE" "$NODE_AUTH" noop "$NOOP_ACTION"
first_invoke "$CTL" "$CTL_AUTH" noop >/dev/null
first_invoke "$NODE" "$NODE_AUTH" noop >/dev/null

say "warm invoke (2 rounds x 1 and 4 connections x 2 servers, $SECS s each)"
warm_run() { # URL AUTH CONNECTIONS OUT
  $LOAD "$1/api/v1/namespaces/_/actions/noop?blocking=true&result=true" -m POST -b '{}' -a "$2" -c "$3" \
    -d $((SECS + 1)) -w 1 --quiet --json "$4" >/dev/null
}
for round in 1 2; do
  for c in 1 4; do
    warm_run "$NODE" "$NODE_AUTH" "$c" "$DIR/warm-node-c$c-r$round.json"
    warm_run "$CTL" "$CTL_AUTH" "$c" "$DIR/warm-ctl-c$c-r$round.json"
  done
done

say "starts (5 fresh actions each)"
: >"$DIR/starts.txt"
for i in 1 2 3 4 5; do
  put_action "$CTLCOLD" "$CTLCOLD_AUTH" "cold$i" "$NOOP_ACTION"
  t=$(first_invoke "$CTLCOLD" "$CTLCOLD_AUTH" "cold$i")
  echo "clustercold $t" >>"$DIR/starts.txt"
  put_action "$NODECOLD" "$NODECOLD_AUTH" "cold$i" "$NOOP_ACTION"
  t=$(first_invoke "$NODECOLD" "$NODECOLD_AUTH" "cold$i")
  echo "nodecold $t" >>"$DIR/starts.txt"
  put_action "$CTL" "$CTL_AUTH" "stem$i" "$NOOP_ACTION"
  put_action "$NODE" "$NODE_AUTH" "stem$i" "$NOOP_ACTION"
  sleep 0.3 # the stem cells are refilled
  t=$(first_invoke "$CTL" "$CTL_AUTH" "stem$i")
  echo "clusterstem $t" >>"$DIR/starts.txt"
  t=$(first_invoke "$NODE" "$NODE_AUTH" "stem$i")
  echo "nodestem $t" >>"$DIR/starts.txt"
done
stop_roles "$CTL_PID" "$CTLCOLD_PID" "$NODE_PID" "$NODECOLD_PID" "$AGENT_PID" "$AGENTCOLD_PID" "$SCHED1_PID" "$SCHEDCOLD_PID"

# === 3: control-plane throughput, sim agents ==================================================
CONNS=128   # REST: two whisk-load processes of 64 connections each
INFLIGHT=256 # without HTTP: runs in flight over all balancers
ACTIONS=8
CONC=16
WARM=3      # > --lease-grace (2 s): leases taken in excess at the start are given back
SIM_CODE='// sim:sleep=0\nfunction main(){return {}}'
sim_action="{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$SIM_CODE\"},\"limits\":{\"memory\":256,\"concurrency\":$CONC}}"
load_config() { # URL AUTH OUT: the 8 actions, equal weights
  python3 - "$1" "$2" "$ACTIONS" >"$3" <<'PY'
import json, sys
url, auth, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps({"targets": [{"name": "sim%d" % i, "method": "POST", "auth": auth, "body": {},
                               "url": "%s/api/v1/namespaces/_/actions/sim%d?blocking=true&result=true" % (url, i)}
                              for i in range(n)]}))
PY
}
: >"$DIR/cp.jsonl"
# rest_run LABEL CONTROLLERS AGENTS CONFIG1 CONFIG2: warm-up on both configs, then two
# whisk-load processes of CONNS/2 connections, one per config, at once
rest_run() {
  local label=$1 nc=$2 na=$3 c1=$4 c2=$5 cpu0 cpu1 m0= m1= t0 t1 p fleet="- -"
  $LOAD --config "$c1" -c $((CONNS / 2)) -d "$WARM" --quiet >/dev/null &
  p=$!
  $LOAD --config "$c2" -c $((CONNS / 2)) -d "$WARM" --quiet >/dev/null
  wait "$p"
  sleep 0.3 # the scheduler's snapshot is refreshed every 250 ms
  [[ $label == node ]] || m0=$(sched_msgs)
  cpu0=$(sched_cpu) t0=$(date +%s.%N)
  $LOAD --config "$c1" -c $((CONNS / 2)) -d $((SECS + 1)) -w 1 --quiet --json "$DIR/r1.json" >/dev/null &
  p=$!
  $LOAD --config "$c2" -c $((CONNS / 2)) -d $((SECS + 1)) -w 1 --quiet --json "$DIR/r2.json" >/dev/null
  wait "$p"
  cpu1=$(sched_cpu) t1=$(date +%s.%N)
  if [[ $label != node ]]; then
    fleet=$(sched_fleet)
    sleep 0.3
    m1=$(sched_msgs)
  fi
  python3 - "$DIR/r1.json" "$DIR/r2.json" "$label" "$nc" "$na" "$cpu0" "$cpu1" "$t0" "$t1" "$TICK" "$m0" "$m1" "$fleet" \
    "$CONNS connections" >>"$DIR/cp.jsonl" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
label, nc, na, c0, c1, t0, t1, tick, m0, m1, fleet, load = sys.argv[3:]
bad = sum(v for r in (a, b) for k, v in r["status"].items() if not k.startswith("2"))
err = sum(v for r in (a, b) for v in r["errors"].values())
print(json.dumps(dict(path=label, controllers=int(nc), agents=int(na), load=load, rps=a["rps"] + b["rps"],
    p50=max(a["latency"]["p50_ms"], b["latency"]["p50_ms"]), p99=max(a["latency"]["p99_ms"], b["latency"]["p99_ms"]),
    failed=bad + err, cpu=(float(c1) - float(c0)) / int(tick), secs=float(t1) - float(t0),
    msgs=(float(m1) - float(m0)) if m0 and m1 else None, leases=fleet.split()[0], fleet=fleet.split()[1])))
PY
}
# direct_run CONTROLLERS AGENTS: CONTROLLERS whisk-bench-cluster processes at once, INFLIGHT over all
direct_run() {
  local nc=$1 na=$2 i p=() fleet probe_opt
  local probe="awk '{print \$14 + \$15}' /proc/$SCHED_PID/stat; curl -s -m 5 $SCHED_HTTP/metrics | awk '\$1 == \"whisk_controller_messages_total\" {print \$2}'"
  for i in $(seq 1 "$nc"); do
    probe_opt=() # the first one reads the scheduler's CPU time and messages
    if [[ $i == 1 ]]; then probe_opt=(--probe="$probe"); fi
    $DRIVER --scheduler="$SCHED" --name="bench$i" --actions=$ACTIONS --concurrency=$CONC --inflight=$((INFLIGHT / nc)) \
      --warmup=$WARM --seconds="$SECS" "${probe_opt[@]}" >"$DIR/d$i.json" &
    p+=($!)
    PIDS+=($!)
  done
  sleep "$WARM"
  sleep "$(python3 -c "print($SECS / 2)")"
  fleet=$(sched_fleet) # mid-window
  for i in "${p[@]}"; do wait "$i"; done
  forget_pids "${p[@]}"
  python3 - "$nc" "$na" "$TICK" "$fleet" "$INFLIGHT runs in flight" "$DIR"/d[0-9]*.json >>"$DIR/cp.jsonl" <<'PY'
import json, sys
nc, na, tick, fleet, load = sys.argv[1:6]
runs = [json.load(open(f)) for f in sys.argv[6:]]
first = runs[0]
before, after = first["probe_before"].split(), first["probe_after"].split()
print(json.dumps(dict(path="direct", controllers=int(nc), agents=int(na), load=load,
    rps=sum(r["rps"] for r in runs), p50=max(r["p50_us"] for r in runs) / 1000, p99=max(r["p99_us"] for r in runs) / 1000,
    failed=sum(r["errors"] for r in runs), cpu=(float(after[0]) - float(before[0])) / int(tick), secs=first["seconds"],
    msgs=float(after[1]) - float(before[1]) if len(before) > 1 and len(after) > 1 else None,
    leases=fleet.split()[0], fleet=fleet.split()[1])))
PY
  rm -f "$DIR"/d[0-9]*.json
}

say "reference: whisk-node --backend=sim, REST, $CONNS connections"
start_front simnode whisk-node --backend=sim --user-memory=65536 --data-dir="$DIR/simnode"
SIMNODE_PID=$ROLE_PID
for i in $(seq 0 $((ACTIONS - 1))); do put_action "$FRONT" "$(auth_of "$DIR/simnode")" "sim$i" "$sim_action"; done
load_config "$FRONT" "$(auth_of "$DIR/simnode")" "$DIR/simnode.json"
SCHED_PID=$SIMNODE_PID # no scheduler: the CPU column shows the node's
rest_run node 0 0 "$DIR/simnode.json" "$DIR/simnode.json"
stop_roles "$SIMNODE_PID"

IDLE_CPU=
for na in 1 2 4; do
  say "sim agents: $na; REST with 1 and 2 controllers, then without HTTP with 1 and 2 balancers"
  start_scheduler "sched$na"
  if [[ -z $IDLE_CPU ]]; then # the scheduler's own cost with nothing to do (a baseline for the CPU column)
    c0=$(sched_cpu)
    sleep 2
    IDLE_CPU=$(python3 -c "print('%.1f' % (($(sched_cpu) - $c0) / $TICK / 2 * 100))")
  fi
  roles=("$SCHED_PID")
  for a in $(seq 1 "$na"); do
    start_agent "sim$na-a$a" --backend=sim --user-memory=65536
    roles+=("$ROLE_PID")
  done
  for c in 1 2; do
    start_front "sim$na-c$c" whisk-controller --scheduler="$SCHED" --name="c$c" --data-dir="$DIR/sim$na"
    roles+=("$ROLE_PID")
    eval "C$c=\$FRONT"
  done
  AUTH=$(auth_of "$DIR/sim$na")
  for i in $(seq 0 $((ACTIONS - 1))); do put_action "$C1" "$AUTH" "sim$i" "$sim_action"; done
  load_config "$C1" "$AUTH" "$DIR/l1.json"
  load_config "$C2" "$AUTH" "$DIR/l2.json"
  rest_run rest 1 "$na" "$DIR/l1.json" "$DIR/l1.json"
  rest_run rest 2 "$na" "$DIR/l1.json" "$DIR/l2.json"
  direct_run 1 "$na"
  direct_run 2 "$na"
  stop_roles "${roles[@]}"
done

# === the tables ===============================================================================
python3 - "$DIR" "$SECS" "$IDLE_CPU" "$((SECONDS - T0))" <<'PY'
import glob, json, os, statistics, sys
d, secs, idle_cpu, took = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def best(server, c):  # the run with more req/s of the two rounds
    runs = [json.load(open(f)) for f in sorted(glob.glob("%s/warm-%s-c%d-r*.json" % (d, server, c)))]
    return max(runs, key=lambda r: r["rps"])
print("## Cluster: warm invoke, whisk-controller + whisk-agent vs whisk-node\n")
print("noop nodejs:20 (`function main(){return {}}`), process backend, `--network=none`, blocking with "
      "result=true, closed loop, %s s per run, best of 2 alternating runs (by req/s).\n" % secs)
print("| server | connections | req/s | p50 ms | p99 ms | p99.9 ms |")
print("|---|---:|---:|---:|---:|---:|")
rows = {}
for c in (1, 4):
    for server, name in (("node", "whisk-node"), ("ctl", "whisk-controller -> whisk-agent")):
        r = rows[server, c] = best(server, c)
        l = r["latency"]
        print("| %s | %d | %.0f | %.3f | %.3f | %.3f |" % (name, c, r["rps"], l["p50_ms"], l["p99_ms"], l["p999_ms"]))
print("\nWhat the remote hop adds (controller minus node; goal: p50 added <= 100 us):\n")
print("| connections | p50 added us | p99 added us | req/s controller / node |")
print("|---:|---:|---:|---:|")
for c in (1, 4):
    n, k = rows["node", c], rows["ctl", c]
    print("| %d | %+.0f | %+.0f | %.2f |" % (c, (k["latency"]["p50_ms"] - n["latency"]["p50_ms"]) * 1000,
          (k["latency"]["p99_ms"] - n["latency"]["p99_ms"]) * 1000, k["rps"] / n["rps"]))

starts = {}
for line in open(d + "/starts.txt"):
    who, t = line.split()
    starts.setdefault(who, []).append(float(t) * 1000)
print("\n## Cluster: starts (first invoke of a new action, through the REST API, 5 fresh actions each)\n")
print("| start | p50 ms | max ms | each, in order |")
print("|---|---:|---:|---|")
for who, name in (("clustercold", "cluster, cold: requisition + new container (agent `--stem-cells=none`)"),
                  ("nodecold", "whisk-node, cold (`--stem-cells=none`)"),
                  ("clusterstem", "cluster, stem cell: requisition + the agent's stem cell (agent default `--stem-cells=nodejs:20:256:1`)"),
                  ("nodestem", "whisk-node, stem cell (default `--stem-cells=nodejs:20:256:1`)")):
    v = starts[who]
    print("| %s | %.1f | %.1f | %s |" % (name, statistics.median(v), max(v), " ".join("%.0f" % x for x in v)))
med = {k: statistics.median(v) for k, v in starts.items()}
print("\nRatios at p50, cluster / whisk-node: cold **%.2f**, stem cell **%.2f** (the cluster adds %+.1f ms to a stem-cell "
      "start); the cluster's cold start is **%.1fx** its stem-cell start"
      % (med["clustercold"] / med["nodecold"], med["clusterstem"] / med["nodestem"], med["clusterstem"] - med["nodestem"],
         med["clustercold"] / med["clusterstem"]))

rows = [json.loads(l) for l in open(d + "/cp.jsonl")]
print("\n## Cluster: control-plane throughput (sim agents, warm leases)\n")
print("8 actions of concurrency 16 (`limits.concurrency`), sim runs answer at once (`sim:sleep=0`), runs spread "
      "evenly; 3 s of warm-up before each window (leases taken, the ones in excess given back); %s s measured. "
      "REST: two whisk-load processes (64 connections each, on one controller or one per controller), blocking with "
      "result=true. Without HTTP: whisk-bench-cluster (a balancer as whisk-controller runs it, `run_msg` requests "
      "straight to the balancer), one process per controller. p50/p99: the worse of the two generators. Scheduler "
      "CPU: utime+stime over the window, in %% of one core (idle, with nothing connected: %s%%). Messages: "
      "`whisk_controller_messages_total` during the window.\n" % (secs, idle_cpu))
print("| path | controllers | agents | load | activations/s | vs 50K goal | p50 ms | p99 ms | failed | scheduler CPU | controller msgs to scheduler | leases / fleet containers |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    path = {"node": "whisk-node --backend=sim (one process, reference)", "rest": "REST: whisk-controller",
            "direct": "no HTTP: balancer (whisk-bench-cluster)"}[r["path"]]
    sched = r["path"] != "node"
    print("| %s | %s | %s | %s | %.0f | %.2f | %.3f | %.3f | %d | %s | %s | %s |" % (
        path, r["controllers"] if sched else "-", r["agents"] if sched else "-", r["load"], r["rps"], r["rps"] / 50000,
        r["p50"], r["p99"], r["failed"],
        "%.1f%%" % (100 * r["cpu"] / r["secs"]) if sched else "(node: %.0f%%)" % (100 * r["cpu"] / r["secs"]),
        ("%+.0f" % r["msgs"]) if sched and r["msgs"] is not None else "-",
        "%s / %s" % (r["leases"], r["fleet"]) if sched else "-"))
best_rest = max((r for r in rows if r["path"] == "rest"), key=lambda r: r["rps"])
best_direct = max((r for r in rows if r["path"] == "direct"), key=lambda r: r["rps"])
print("\nGoal >= 50K activations/s on this %s-core machine: REST reaches **%.0f/s** at best (%.2f of the goal); "
      "the control plane without HTTP **%.0f/s** (%.2f of the goal)." % (
          os.cpu_count(), best_rest["rps"], best_rest["rps"] / 50000, best_direct["rps"],
          best_direct["rps"] / 50000))
print("\n(cluster.sh took %s s)" % took)
PY
