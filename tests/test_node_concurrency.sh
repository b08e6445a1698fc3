#!/usr/bin/env bash
# Concurrent nodejs activations end to end: an action with limits.concurrency 10 takes ten
# blocking invokes fired at once in one container, side by side, and each activation record
# holds exactly its own log lines; a run past its time limit among others ends that
# container, every activation of it still gets its record with its own logs.
# Starts whisk-node (process backend) on 127.0.0.1 with a fresh data dir and stops it.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

start_node --stem-cells=none --queue-budget=5000 # (slow sanitizer builds must not shed ten invokes at once)

# Every line says which invoke (i) and which activation it belongs to.
code='const sleep = ms => new Promise(r => setTimeout(r, ms)); async function main(p) { console.log(\"before\", p.i, process.env.__OW_ACTIVATION_ID); process.stdout.write(\"half of \" + p.i); console.error(\"stderr\", p.i); await sleep(p.ms || 500); console.log(\", after\", p.i, process.env.__OW_ACTIVATION_ID); return {i: p.i}; }'
put_action conc "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$code\"},\"limits\":{\"concurrency\":10,\"timeout\":20000}}"

req POST "$API/actions/conc?blocking=true&result=true" '{"i":0,"ms":1}'
expect 200 '{"i":0}' "the first invoke starts the action's container"
CREATED0=$(metric containers_created_total)
WARM0=$(metric starts_total 'start="warm"')

# fire(N, params prefix, name): N blocking invokes at once (each curl bounded), records in $DIR/NAME.i
fire() {
  local n=$1 extra=$2 name=$3 pids=() i
  for ((i = 1; i <= n; i++)); do
    curl -s -m 60 -u "$AUTH" -X POST -H 'Content-Type: application/json' -d "{\"i\":$i$extra}" \
      "$API/actions/conc?blocking=true" >"$DIR/$name.$i" &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare wait: the node is a child too
}

T0=$(date +%s%N)
fire 10 "" run
MS=$((($(date +%s%N) - T0) / 1000000))
# one after another they would take 10 x 500 ms
check "ten invokes of 500 ms each answered together in ${MS} ms (< 3000)" test "$MS" -lt 3000
check "one container ran them: none created, ten warm starts" \
  test "$(metric containers_created_total) $(metric starts_total 'start="warm"')" == "$CREATED0 $((WARM0 + 10))"

# each record: its own result and exactly its own lines, in order per stream
own_logs() { # FILE I: the record in FILE is invoke I's, with I's lines only
  python3 - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text) if text.startswith("{") else {}
if "activationId" not in d:
    print(text[:300])
    sys.exit(1)
i, aid = int(sys.argv[2]), d["activationId"]
texts = [l.split(" ", 1)[1] for l in d["logs"]]  # without the time stamp
want = [f"stdout: before {i} {aid}", f"stderr: stderr {i}", f"stdout: half of {i}, after {i} {aid}"]
ok = d["response"]["result"] == {"i": i} and d["response"]["status"] == "success" \
    and [t for t in texts if t.startswith("stdout")] == [w for w in want if w.startswith("stdout")] \
    and [t for t in texts if t.startswith("stderr")] == [w for w in want if w.startswith("stderr")]
if not ok:
    print(json.dumps(d)[:600])
sys.exit(0 if ok else 1)
PY
}
BAD=0
for i in $(seq 1 10); do
  OUT=$(own_logs "$DIR/run.$i" "$i") || { BAD=$((BAD + 1)); echo "       invoke $i: $OUT"; }
done
check "each of the ten records holds its own result and exactly its own log lines" test "$BAD" == 0
# the stored records too (not only the blocking answers)
ID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["activationId"])' "$DIR/run.7")
wait_activation "$ID"
echo "$BODY" >"$DIR/stored.7"
check "the stored record of one of them holds its own lines" own_logs "$DIR/stored.7" 7
req GET "$API/activations/$ID/logs"
[[ $STATUS == 200 && $(jpy "len(d['logs'])") == 3 ]] && ok "GET .../logs of that activation: its three lines" || bad "activation logs" "$STATUS ${BODY:0:300}"

# --- a run past its time limit among others ---
put_action conc "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$code\"},\"limits\":{\"concurrency\":10,\"timeout\":1000}}"
T0=$(date +%s%N)
fire 3 ',"ms":5000' late
MS=$((($(date +%s%N) - T0) / 1000000))
check "three invokes past their 1 s limit answered in ${MS} ms (< 4000)" test "$MS" -lt 4000
LATE=$(python3 - "$DIR"/late.? <<'PY'
import json, sys
out = []
for path in sys.argv[1:]:
    d = json.load(open(path))
    i, aid = int(path.rsplit(".", 1)[1]), d["activationId"]
    texts = [l.split(" ", 1)[1] for l in d["logs"]]
    err = d["response"]["result"].get("error", "")
    # the one that hit the limit first, or the others stopped with it; each with its own lines
    why = "timeout" if "exceeded its time limits of 1000 milliseconds" in err else \
          "stopped" if "another activation running in the same container exceeded its time limit" in err else "?"
    mine = texts == [f"stdout: before {i} {aid}", f"stderr: stderr {i}"] or \
           sorted(texts) == sorted([f"stdout: before {i} {aid}", f"stderr: stderr {i}"])
    out.append(f"{why}:{d['response']['status']}:{mine}")
print(" ".join(sorted(out)))
PY
)
[[ $LATE == *"timeout:action developer error:True"* && $LATE != *"?"* && $LATE != *"False"* ]] \
  && ok "each has its record: a timeout, or stopped with it, with its own log lines ($LATE)" || bad "timeout among concurrent runs" "$LATE"
req POST "$API/actions/conc?blocking=true&result=true" '{"i":4,"ms":1}'
expect 200 '{"i":4}' "the next invoke runs (in a new container)"
grep -q "a line written outside any activation" "$DIR/node.log" && bad "no line was written outside an activation here" "$(grep 'outside any activation' "$DIR/node.log" | head -2)" || ok "no line was dropped as written outside any activation"

stop_node
