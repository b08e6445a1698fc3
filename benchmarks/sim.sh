#!/usr/bin/env bash
# whisk-sim's speed, and the four keep-alive policies on generated traces. Prints Markdown tables:
#  1. speed: whisk-sim (the production pool and proxies under CAF's test coordinator) on a
#     generated day of SPEED_FUNCTIONS functions, fixed:10m alone: arrivals, wall seconds,
#     activations/s, peak RSS; a run still going after WHISK_SIM_SPEED_LIMIT seconds (default
#     600) is stopped and reported with how far it got (its progress bar, drawn on a pty).
#     Then whisk-bench-sim (the pool's decisions alone, no actors) on the same trace;
#  2. results: fixed:10m, hybrid, greedy-dual and lru on a generated day of RESULT_FUNCTIONS
#     functions, with unbounded memory and with a bound where eviction matters: three
#     quarters of fixed:10m's peak memory in use with unbounded memory (as whisk-bench-sim
#     measures it: whisk-sim does not report a peak), rounded to 100 MB; the figures are
#     whisk-sim's (policies.csv). WHISK_SIM_TRACE=PATH: part 2 replays RESULT_FUNCTIONS functions
#     (0: all) of PATH instead, a directory of Azure Functions 2019 files (day WHISK_SIM_DAY,
#     default 1) or the 2021 CSV file (see benchmarks/README.md, "whisk-sim").
#   benchmarks/sim.sh [RESULT_FUNCTIONS [SPEED_FUNCTIONS]]   (default 200 and 1000: ~9 minutes
#     on 2 cores, 4.5 of them the 1,000-function day; smaller is quicker, e.g. `sim.sh 50 200`)
#   benchmarks/sim.sh profile [FUNCTIONS [SKIP SECONDS]]   (default 50: where whisk-sim's time
#     goes: perf record --call-graph dwarf of a fixed:10m replay, the whole run or SECONDS of it
#     after SKIP, grouped by what the CPU does and on whose behalf; needs perf)
#   WHISK_SKIP_BUILD=1: no build; WHISK_BUILD_DIR=DIR: binaries of another build (default build)
#   WHISK_SIM_SEED=S: the generator's seed (default 1)
set -eEuo pipefail
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
BUILD=${WHISK_BUILD_DIR:-build}
SEED=${WHISK_SIM_SEED:-1}
if [[ -z "${WHISK_SKIP_BUILD:-}" ]]; then
  cmake --build "$BUILD" -j 2 --target whisk-sim whisk-bench-sim >/tmp/whisk-bench-build.log 2>&1 ||
    { tail -30 /tmp/whisk-bench-build.log >&2; false; }
fi
SIM=$BUILD/apps/whisk-sim
DECISIONS=$BUILD/benchmarks/whisk-bench-sim
source benchmarks/common.sh
bench_scratch sim
T0=$SECONDS
say() { echo "sim: $*" >&2; }

# === profile mode ==============================================================================
if [[ ${1:-} == profile ]]; then
  FUNCTIONS=${2:-50} SKIP=${3:-0} SECS=${4:-0}
  "$SIM" generate --functions="$FUNCTIONS" --seed="$SEED" --out="$DIR/trace" >/dev/null
  say "profile: whisk-sim, $FUNCTIONS functions, fixed:10m"
  if [[ $SECS == 0 ]]; then
    perf record -q -F 499 --call-graph dwarf,16384 -o "$DIR/perf.data" -- "$SIM" --trace="$DIR/trace" --policy=fixed:10m \
      --seed="$SEED" --out="$DIR/out" --quiet >/dev/null 2>"$DIR/sim.err"
  else
    "$SIM" --trace="$DIR/trace" --policy=fixed:10m --seed="$SEED" --out="$DIR/out" --quiet >/dev/null 2>"$DIR/sim.err" &
    pid=$!
    PIDS+=("$pid")
    sleep "$SKIP"
    perf record -q -F 499 --call-graph dwarf,16384 -o "$DIR/perf.data" -p "$pid" -- sleep "$SECS"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  perf script -i "$DIR/perf.data" -F ip,sym --no-inline 2>/dev/null >"$DIR/perf.txt"
  python3 - "$DIR/perf.txt" "$FUNCTIONS" "$SKIP" "$SECS" <<'PY'
import re, sys
path, functions, skip, secs = sys.argv[1:]

def stacks(path):  # perf script -F ip,sym: one stack per sample, leaf first, blank lines between
    cur = []
    for line in open(path, errors="replace"):
        line = line.strip()
        if not line:
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        cur.append(parts[1] if len(parts) > 1 else "?")
    if cur:
        yield cur

POOL = re.compile(r"pool_state|::(try_place|finished|take_running|went_idle|recount|accrue|process_queue|arm_unload|unload|"
                  r"on_unload_check|schedule_unload_check|policy_victims|spawn_proxy|drop|forget|refill_stem_cells|need_of|"
                  r"ref_of|now_ms_of|on_prewarm_due|shed_expired|container_pool)\b")
PROXY = re.compile(r"proxy_state|pending_run|::(container_proxy|on_run|on_init|on_created|drain|set_status|begin_init|"
                   r"begin_remove|begin_resume|notify|notify_flag|report|run_line|accept|became_idle|on_idle_check|"
                   r"schedule_idle_check|keep_for|keep_logs|failed_result|retry_result|answer_operator|from_owner)\b")
BACKEND = re.compile(r"sim_backend|make_actor_timer|deferred_call")
DRIVER = re.compile(r"whisk::sim::replay")

def component(st):  # the innermost frame that names an actor (or the driver)
    for f in st:
        if BACKEND.search(f): return "sim backend (virtual run timers)"
        if PROXY.search(f): return "container proxies"
        if POOL.search(f): return "container pool"
        if DRIVER.search(f): return "whisk-sim driver (replay loop, driver actor)"
    return "other"

ALLOC = re.compile(r"^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|operator new|operator delete|"
                   r"tcache|_int_realloc|realloc|__libc_calloc|__libc_malloc|__libc_free|calloc)")
STRINGS = re.compile(r"^(__mem(move|cpy|cmp)|memcpy|memcmp|__strlen|__memchr|std::__cxx11::basic_string<.*>::(basic_string|"
                     r"_M_construct|_M_assign|_M_create|_M_replace|_M_append|append|_M_mutate|compare|~basic_string|"
                     r"_M_dispose)|whisk::(run_msg|action_ref|run_result|backend_event)::(~)?(run_msg|action_ref|run_result|"
                     r"backend_event)\b)")
KERNEL = re.compile(r"^(exc_page_fault|asm_exc_page_fault|clear_page|__handle_mm_fault|handle_mm_fault|do_anonymous_page|"
                    r"_raw_spin|mas_walk|get_mem_cgroup|memcg|__alloc_frozen|__list_del)")

LIBRARY = re.compile(r"^(std::|__|_int_|malloc|cfree|free|calloc|realloc|operator new|operator delete|mem|str|tcache|"
                     r"unlink_chunk|\[unknown\])")
PLACEMENT = re.compile(r"try_place|policy::place|pool_state::(view|candidates)|policy::memory_in_use")

def activity(st):
    n = next((k for k, f in enumerate(st) if not LIBRARY.match(f)), len(st))  # the first frame of whisk's or CAF's
    caller = st[n] if n < len(st) else ""
    if any("basic_string" in f for f in st[:n]) or re.match(r"whisk::(run_msg|action_ref|run_result)::", caller):
        return "strings and messages: strings, run_msg, action_ref copied, compared, destroyed (with their allocations)"
    if PLACEMENT.search(caller):
        return "placement: try_place gathering the action's containers, policy::place"
    if any("simple_actor_clock" in f or "actor_clock" in f for f in st[:8]):
        return "CAF clock: virtual timers and request timeouts (with their allocations)"
    i = 0
    while i + 1 < len(st) and st[i] == "[unknown]":
        i += 1  # no symbol: its caller says what it is
    leaf = st[i]
    if ALLOC.search(leaf): return "allocation (malloc/free) of everything else: mailbox elements, messages, maps"
    if STRINGS.search(leaf):
        return "strings and messages: strings, run_msg, action_ref copied, compared, destroyed (with their allocations)"
    if "clock_gettime" in leaf or "system_clock::now" in leaf: return "real-time clock reads (whisk::now_ms)"
    if KERNEL.search(leaf): return "kernel: page faults (the process grows)"
    if leaf.startswith("whisk::json") or leaf.startswith("simdjson"): return "JSON: run results written and parsed"
    if leaf.startswith("fmt::"): return "fmt formatting"
    if leaf.startswith("std::_Rb_tree") or leaf.startswith("std::_Hash") or "_Hashtable" in leaf:
        return "std::map / hash table lookups"
    if leaf.startswith("caf::") or leaf.startswith("_ZN3caf"):
        return "CAF mailbox, dispatch, messages, ref counts"
    if leaf.startswith("whisk::"): return "whisk code (pool, proxy, backend, policy logic)"
    return "other"

total, acts, comps, leaves = 0, {}, {}, {}
for st in stacks(path):
    if not any(DRIVER.search(f) for f in st) or any("summarize" in f or "write_report" in f for f in st):
        continue  # only the replay: not loading the trace, not the report
    total += 1
    a, c = activity(st), component(st)
    acts[a] = acts.get(a, 0) + 1
    comps[c] = comps.get(c, 0) + 1
    leaf = next((f for f in st if f != "[unknown]"), "?").replace("(anonymous namespace)", "{anon}")
    leaf = re.sub(r"\(.*", "", leaf)[:90]
    leaves[leaf] = leaves.get(leaf, 0) + 1
what = "the whole replay" if secs == "0" else "%s s of the replay after %s s" % (secs, skip)
print("### Where whisk-sim's time goes (%s-function generated day, fixed:10m, %s; %d samples)\n" % (functions, what, total))
print("| what the CPU does (grouped by the sampled function) | share |")
print("|---|---:|")
for k, v in sorted(acts.items(), key=lambda kv: -kv[1]):
    print("| %s | %.1f%% |" % (k, 100 * v / max(total, 1)))
print("\n| on whose behalf (the innermost actor on the stack) | share |")
print("|---|---:|")
for k, v in sorted(comps.items(), key=lambda kv: -kv[1]):
    print("| %s | %.1f%% |" % (k, 100 * v / max(total, 1)))
print("\n| the functions sampled most (self time, first 12) | share |")
print("|---|---:|")
for k, v in sorted(leaves.items(), key=lambda kv: -kv[1])[:12]:
    print("| `%s` | %.1f%% |" % (k.replace("|", "\\|"), 100 * v / max(total, 1)))
PY
  exit 0
fi

RESULT_FUNCTIONS=${1:-200}
SPEED_FUNCTIONS=${2:-1000}
LIMIT=${WHISK_SIM_SPEED_LIMIT:-600}
TIME=()
if /usr/bin/time -v true >/dev/null 2>&1; then TIME=(/usr/bin/time -v -o "$DIR/speed.time"); fi

say "generating a $SPEED_FUNCTIONS-function and a $RESULT_FUNCTIONS-function day (seed $SEED)"
"$SIM" generate --functions="$SPEED_FUNCTIONS" --seed="$SEED" --out="$DIR/speed" >/dev/null
TRACE=$DIR/results PICK=() TRACE_NAME="generated day, seed $SEED"
if [[ -n ${WHISK_SIM_TRACE:-} ]]; then
  TRACE=$WHISK_SIM_TRACE TRACE_NAME=$WHISK_SIM_TRACE
  if [[ -d $TRACE ]]; then TRACE_NAME+=", day ${WHISK_SIM_DAY:-1}, seed $SEED"; fi
  PICK=(--functions="$RESULT_FUNCTIONS" --day="${WHISK_SIM_DAY:-1}")
else
  "$SIM" generate --functions="$RESULT_FUNCTIONS" --seed="$SEED" --out="$TRACE" >/dev/null
fi

# === 1: speed ================================================================================
say "speed: whisk-sim, $SPEED_FUNCTIONS functions, fixed:10m (at most $LIMIT s)"
# on a pty (script) so that whisk-sim draws its progress bar: how far a stopped run got
cmd=$(printf '%q ' "${TIME[@]}" timeout "$LIMIT" "$SIM" --trace="$DIR/speed" --policy=fixed:10m --seed="$SEED" \
  --out="$DIR/speed-out")
s0=$(date +%s.%N)
rc=0
script -qefc "$cmd" /dev/null </dev/null >"$DIR/speed.tty" 2>&1 || rc=$?
s1=$(date +%s.%N)
echo "$s0 $s1 $rc $LIMIT" >"$DIR/speed.wall"
say "speed: whisk-bench-sim, the same trace, fixed:10m"
"$DECISIONS" "$DIR/speed" --policy=fixed:10m --seed="$SEED" >"$DIR/speed.decisions" 2>"$DIR/speed.decisions.err"

# === 2: results ==============================================================================
POLICIES=fixed:10m,hybrid,greedy-dual,lru
say "results: whisk-bench-sim, $RESULT_FUNCTIONS functions, unbounded (for the peak)"
"$DECISIONS" "$TRACE" "${PICK[@]}" --policy=$POLICIES --seed="$SEED" >"$DIR/results.decisions" 2>/dev/null
read -r PEAK BUSY < <(awk '$1 == "fixed:10m" {print $11, $12}' "$DIR/results.decisions")
BOUND=$(python3 -c "import sys; print(max(round(int(sys.argv[1]) * 0.75 / 100) * 100, 100))" "$PEAK")
say "results: whisk-sim, $RESULT_FUNCTIONS functions, unbounded memory"
"$SIM" --trace="$TRACE" "${PICK[@]}" --policy=$POLICIES --seed="$SEED" --out="$DIR/unbounded" --quiet >/dev/null \
  2>"$DIR/unbounded.err"
say "results: whisk-sim, $RESULT_FUNCTIONS functions, --memory=$BOUND (fixed:10m's unbounded peak: $PEAK MB)"
"$SIM" --trace="$TRACE" "${PICK[@]}" --policy=$POLICIES --seed="$SEED" --memory="$BOUND" --out="$DIR/bounded" --quiet \
  >/dev/null 2>"$DIR/bounded.err"

# === the tables ===============================================================================
python3 - "$DIR" "$SPEED_FUNCTIONS" "$RESULT_FUNCTIONS" "$PEAK" "$BUSY" "$BOUND" "$SEED" "$((SECONDS - T0))" "$TRACE_NAME" <<'PY'
import csv, json, os, re, sys
d, speed_fn, result_fn, peak, busy, bound, seed, took, trace_name = sys.argv[1:]

def replayed(text):  # whisk-sim's per-policy lines on stderr
    out = {}
    for m in re.finditer(r"whisk-sim: (\S+): (\d+) activations replayed in ([\d.]+) s \((\d+) per second\)", text):
        out[m.group(1)] = (int(m.group(2)), float(m.group(3)), float(m.group(4)))
    return out

def decisions(path):  # whisk-bench-sim's table
    lines = [l for l in open(path).read().split("\n") if l.strip()]
    head = lines[0].split()
    return {l.split()[0]: dict(zip(head, l.split())) for l in lines[1:]}

tty = open(d + "/speed.tty", errors="replace").read()
s0, s1, rc, limit = open(d + "/speed.wall").read().split()
wall = float(s1) - float(s0)
total = int(re.search(r"(\d+) arrivals over", tty).group(1))
meta = re.search(r"(\d+) functions of (\d+) apps", tty)
rss = None
if os.path.exists(d + "/speed.time"):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(d + "/speed.time").read())
    rss = int(m.group(1)) / 1024 if m else None
done = replayed(tty).get("fixed:10m")
dec = decisions(d + "/speed.decisions")["fixed:10m"]
print("## whisk-sim: speed (%s-function generated day, seed %s, fixed:10m)\n" % (speed_fn, seed))
print("%s functions of %s apps, %d arrivals over 24 h. One core: the test coordinator runs every actor on the "
      "caller's thread.\n" % (meta.group(1), meta.group(2), total))
print("| what | arrivals | wall s | activations/s | peak RSS MB |")
print("|---|---:|---:|---:|---:|")
if done:
    n, secs, rate = done
    print("| whisk-sim replay: pool + proxies + sim backend as actors | %d | %.1f | %.0f | %s |" % (
        n, secs, rate, "%.0f" % rss if rss else "-"))
    print("| whisk-sim, whole process (load, replay, report) | %d | %.1f | %.0f | |" % (n, wall, n / wall))
else:  # stopped at the limit: the progress bar's last state
    bars = re.findall(r"(\d+)/(\d+) ", tty)
    got = int(bars[-1][0]) if bars else 0
    rate = got / wall
    print("| whisk-sim replay, **stopped after %s s** (%.0f%% of the day) | %d of %d | %.0f | %.0f | %s |" % (
        limit, 100 * got / total, got, total, wall, rate, "%.0f" % rss if rss else "-"))
print("| whisk-bench-sim: the pool's decisions alone, no actors | %s | %s | %s | |" % (
    dec["arrivals"], dec["seconds"], dec["decisions/s"]))
day = "%.0f s" % wall if done else "more than %s s (at the rate so far, about %.0f s)" % (limit, total / rate)
print("\nGoals: >= 1M activations/s of pool decisions on one core: the actor path **%.0f/s** (%.2f of it), the "
      "decisions alone **%s/s** (%.2f of it); one day of a %s-function trace in <= 60 s: **%s** (%s)." % (
          rate, rate / 1e6, dec["decisions/s"], float(dec["decisions/s"]) / 1e6, speed_fn, day,
          "met" if done and wall <= 60 else "NOT met"))
print("The decision replay's pool peaked at %s containers (%s MB)." % (dec["peak_ctrs"], dec["peak_mb"]))

def results(tag, label):
    rows = list(csv.DictReader(open("%s/%s/policies.csv" % (d, tag))))
    speed = replayed(open("%s/%s.err" % (d, tag)).read())
    print("\n### %s\n" % label)
    print("| policy | cold starts | cold-start % | apps' cold-start % Q3 | wasted MB-s | wasted vs fixed:10m "
          "| added latency p50 / p99 ms | evictions | expirations | pre-warms | rejected | replay s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %s | %.2f | %.2f | %.0f | %s | %.1f / %.1f | %s | %s | %s | %s | %.1f |" % (
            r["policy"], r["cold_starts"], float(r["cold_start_pct"]), float(r["app_cold_start_pct_q3"]),
            float(r["wasted_mb_s"]), "%.3f" % float(r["wasted_normalized"]) if r["wasted_normalized"] else "-",
            float(r["added_latency_p50_ms"]), float(r["added_latency_p99_ms"]), r["evictions"], r["expirations"],
            r["prewarms"], r["rejected"], speed[r["policy"]][1]))
    return json.load(open("%s/%s/report.json" % (d, tag)))

print("\n## whisk-sim: the four policies (%s functions, %s)" % (result_fn if result_fn != "0" else "all", trace_name))
rep = results("unbounded", "Unbounded memory")
print("\n%d functions of %d apps, %d arrivals; a cold start costs 450 ms (create) + 50 ms (init); containers are "
      "never paused. Wasted: memory of idle warm containers over the day (MB-s)." % (
          rep["functions"], rep["apps"], rep["arrivals"]))
results("bounded", "Memory bounded at %s MB" % bound)
print("\n%s MB is three quarters of fixed:10m's peak memory in use with unbounded memory, %s MB (as whisk-bench-sim "
      "replays the same decisions: whisk-sim reports no peak); containers with a run in them peaked at %s MB. Added "
      "latency: the answer's time minus the run's own duration (cold starts, waiting for memory); a run still waiting "
      "after the 10-minute queueing budget is rejected." % (bound, peak, busy))
print("\n(sim.sh took %s s)" % took)
PY
