#!/usr/bin/env bash
# Start-up times on this machine, each next to its peer or goal measured in the same run:
# whisk-node from exec to answering GET /ping (fresh data dir each time, default options),
# `node -e 0`, the first invoke of a new nodejs action through the REST API with no stem
# cell (cold) and with one (stem cell), and python cold next to `python3 -c pass`.
# Prints Markdown rows; suite.sh includes them. Everything runs on 127.0.0.1 and is
# stopped at the end.
#   benchmarks/starts.sh [N]   (default 7 of each; medians)
# Set WHISK_SKIP_BUILD=1 when the Release build is fresh.
set -eEuo pipefail
# a failing step says which, on stderr (its output may be going into a table)
trap 'echo "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
N=${1:-7}
[[ $N -ge 1 ]] || { echo "starts: N must be at least 1" >&2; exit 2; }
if [[ -z "${WHISK_SKIP_BUILD:-}" ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/whisk-bench-build.log 2>&1 &&
    cmake --build build -j 2 --target whisk-node >>/tmp/whisk-bench-build.log 2>&1 || { tail -30 /tmp/whisk-bench-build.log >&2; false; }
fi
NODE_BIN=build/apps/whisk-node
PY=/usr/bin/python3 # the python3 on PATH may be a slow shim (see ISOLATION.md)
[[ -x $NODE_BIN ]] || { echo "starts: $NODE_BIN is missing (build it first)" >&2; exit 1; }

source benchmarks/common.sh
bench_scratch starts

# exec_to_ping: ms from exec of whisk-node (fresh data dir, default options) to the first
# 200 of GET /ping, polled every 0.5 ms; the node is stopped by pid afterwards.
exec_to_ping() {
  $PY - "$NODE_BIN" "$DIR/ping" <<'PY'
import os, shutil, subprocess, sys, time, urllib.request
node, base = sys.argv[1], sys.argv[2]
shutil.rmtree(base, ignore_errors=True)
os.makedirs(base)
log = open(base + "/node.log", "w")
t0 = time.monotonic()
p = subprocess.Popen([node, "--port=0", "--data-dir=" + base + "/data", "--log-level=warn"],
                     stdout=log, stderr=log)
try:
    host = None
    while True:
        if p.poll() is not None:
            sys.exit("whisk-node exited with %d before answering /ping: %s" % (p.returncode, open(base + "/node.log").read()))
        if time.monotonic() - t0 > 10:
            sys.exit("whisk-node did not answer /ping within 10 s")
        if host is None:
            try:
                host = next((l[8:].strip() for l in open(base + "/data/wskprops") if l.startswith("APIHOST=")), None)
            except OSError:
                pass
        if host:
            try:
                if urllib.request.urlopen(host + "/ping", timeout=1).status == 200:
                    break
            except Exception:
                pass
        time.sleep(0.0005)
    print("%.2f" % ((time.monotonic() - t0) * 1000))
finally:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
PY
}
# exec_ms CMD...: ms of one run of CMD (which must succeed)
exec_ms() {
  $PY -c 'import subprocess, sys, time
t = time.monotonic(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.2f" % ((time.monotonic() - t) * 1000))' "$@"
}
# The environment a runtime gets (spawn.cpp): this shell's may slow node down (e.g.
# NODE_EXTRA_CA_CERTS makes node parse a CA bundle before running anything).
RUNTIME_ENV=(env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8)
# first_invoke NAME: ms of the first blocking invoke of action NAME (must answer 200)
first_invoke() {
  local out
  out=$(curl -s -o "$DIR/invoke.out" -w '%{http_code} %{time_total}' -u "$WHISK_AUTH" -X POST "$API/actions/$1?blocking=true&result=true")
  [[ ${out% *} == 200 ]] || { echo "starts: invoke of $1 answered ${out% *}: $(cat "$DIR/invoke.out")" >&2; return 1; }
  $PY -c 'import sys; print("%.2f" % (float(sys.argv[1]) * 1000))' "${out#* }"
}
# wait_stem_cell: until the node has a stem cell ready (its only kind), 5 s at most
wait_stem_cell() {
  for _ in $(seq 500); do
    curl -sf -u "$WHISK_AUTH" "$WHISK_APIHOST/metrics" | grep -q "^whisk_stem_cells [1-9]" && return 0
    sleep 0.01
  done
  return 1
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { $PY -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

echo "starts: exec to /ping, node -e 0, python3 -c pass ($N each)" >&2
ping=() nodee=() nodeclean=() pye=()
for _ in $(seq "$N"); do
  ping+=("$(exec_to_ping)")
  nodee+=("$(exec_ms node -e 0)")
  nodeclean+=("$(exec_ms "${RUNTIME_ENV[@]}" node -e 0)")
  pye+=("$(exec_ms "${RUNTIME_ENV[@]}" "$PY" -c pass)")
done

echo "starts: first invokes, cold and stem cell ($N each)" >&2
NOOP='function main(params) { return {}; }'
start_node --stem-cells=none
for i in $(seq "$N"); do
  put "cold$i" "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$NOOP\"}}"
  put "pycold$i" '{"exec":{"kind":"python:3","code":"def main(args):\n    return {}\n"}}'
done
cold=() pycold=()
for i in $(seq "$N"); do
  cold+=("$(first_invoke "cold$i")")
  pycold+=("$(first_invoke "pycold$i")")
done
kill -TERM "$NODE_PID" && wait "$NODE_PID" || true
rm -rf "$DIR/data"

start_node --stem-cells=nodejs:20:256:1
stem=()
for i in $(seq "$N"); do
  put "stem$i" "{\"exec\":{\"kind\":\"nodejs:20\",\"code\":\"$NOOP\"}}"
  wait_stem_cell || { echo "starts: no nodejs:20 stem cell became ready in 5 s" >&2; exit 1; }
  stem+=("$(first_invoke "stem$i")")
done

P=$(median "${ping[@]}") NE=$(median "${nodee[@]}") NC=$(median "${nodeclean[@]}") PE=$(median "${pye[@]}")
C=$(median "${cold[@]}") S=$(median "${stem[@]}") PC=$(median "${pycold[@]}")
echo "| start (median of $N) | ms | peer or goal | ms | ratio |"
echo "|---|---:|---|---:|---:|"
echo "| whisk-node exec to answering /ping | $P | goal | 100 | $(ratio "$P" 100) |"
echo "| cold first invoke, nodejs:20 (new container to first result) | $C | \`node -e 0\` | $NE | $(ratio "$C" "$NE") |"
echo "| (the same) | $C | \`node -e 0\`, the runtime's environment | $NC | $(ratio "$C" "$NC") |"
echo "| stem-cell first invoke, nodejs:20 (prewarmed container to first result) | $S | goal | 5 | $(ratio "$S" 5) |"
echo "| cold first invoke, python:3 | $PC | \`python3 -c pass\`, the runtime's environment | $PE | $(ratio "$PC" "$PE") |"
