#!/usr/bin/env bash
# whisk-sim as a user runs it: --help, option and trace errors (exit 2 for options, 1 for
# files, with the file, line and column of a broken trace), 'generate' writing the three 2019
# files, a replay of two policies writing the four report files, and the same seed giving
# the same report bytes twice. Everything in a temporary directory; each run has a time limit.
# usage: test_whisk_sim.sh path/to/whisk-sim path/to/tests/data
SIM=${1:?usage: test_whisk_sim.sh path/to/whisk-sim path/to/tests/data}
DATA=${2:?usage: test_whisk_sim.sh path/to/whisk-sim path/to/tests/data}
DIR=$(mktemp -d /tmp/whisk-sim-test.XXXXXX)
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && printf '%s\n' "$2" | head -20; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "$(tail -5 "$DIR/out" 2>/dev/null)"; fi; }
trap 'rm -rf "$DIR"; echo "$PASS passed, $FAIL failed"; [[ $FAIL == 0 ]]' EXIT

sim() { timeout 120 "$SIM" "$@" >"$DIR/out" 2>&1; }
status_of() { sim "$@"; echo $?; }

check "--help exits 0 and names the options" eval 'sim --help && grep -q -- "--policy" "$DIR/out" && grep -q -- "--cold-start" "$DIR/out"'
check "generate --help exits 0" eval 'sim generate --help && grep -q -- "--functions" "$DIR/out"'
check "no --trace: exit 2" test "$(status_of --out="$DIR/r")" == 2
check "an unknown policy: exit 2 naming the known ones" eval \
  '[[ $(status_of --trace="$DATA/sim/tiny2021.csv" --policy=bogus --out="$DIR/r") == 2 ]] && grep -q "never-unload" "$DIR/out"'
check "a bad cold-start model: exit 2" test "$(status_of --trace="$DATA/sim/tiny2021.csv" --cold-start=fast --out="$DIR/r")" == 2
check "more than one agent: exit 2, said plainly" eval \
  '[[ $(status_of --trace="$DATA/sim/tiny2021.csv" --agents=3 --out="$DIR/r") == 2 ]] && grep -q "only one machine" "$DIR/out"'
check "a missing trace: exit 1 naming it" eval \
  '[[ $(status_of --trace="$DIR/nothing.csv" --out="$DIR/r") == 1 ]] && grep -q "nothing.csv" "$DIR/out"'
check "a broken trace: exit 1 with file:line:column" eval \
  '[[ $(status_of --trace="$DATA/azure2021/broken_number.txt" --out="$DIR/r") == 1 ]] && grep -Eq "broken_number.txt:[0-9]+:[0-9]+: " "$DIR/out"'
check "generate --functions=0: exit 2" test "$(status_of generate --functions=0 --out="$DIR/t")" == 2

check "generate writes the three 2019 files" eval \
  'sim generate --functions=5 --seed=9 --out="$DIR/t" && [[ $(ls "$DIR/t" | wc -l) == 3 ]] && ls "$DIR/t" | grep -q invocations_per_function_md.anon.d01.csv'
check "a replay of the hand-made trace writes the report" eval \
  'sim --trace="$DATA/sim/tiny2021.csv" --policy=fixed:10m,never-unload --out="$DIR/r1" --quiet &&
   for f in report.json policies.csv apps.csv tradeoff.svg; do [[ -s $DIR/r1/$f ]] || exit 1; done'
check "the table and the report hold the cold starts worked out by hand (6 of 10 under fixed:10m)" eval \
  'grep -Eq "^fixed:10m +10 +60\.00" "$DIR/out" && grep -q "\"name\": \"fixed:10m\", \"arrivals\": 10, \"completed\": 10, \"cold_starts\": 6" "$DIR/r1/report.json"'
check "the SVG plot has a point per policy" eval '[[ $(grep -c "<circle" "$DIR/r1/tradeoff.svg") == 2 ]]'
check "the same seed gives the same report bytes" eval \
  'sim --trace="$DATA/azure2019/sample" --seed=4 --spread=poisson --policy=hybrid,greedy-dual --out="$DIR/a" --quiet &&
   sim --trace="$DATA/azure2019/sample" --seed=4 --spread=poisson --policy=hybrid,greedy-dual --out="$DIR/b" --quiet &&
   cmp -s "$DIR/a/report.json" "$DIR/b/report.json" && cmp -s "$DIR/a/apps.csv" "$DIR/b/apps.csv" && cmp -s "$DIR/a/tradeoff.svg" "$DIR/b/tradeoff.svg"'
check "a replay of a generated trace completes every arrival" eval \
  'sim --trace="$DIR/t" --functions=3 --policy=fixed:1m --out="$DIR/g" --quiet &&
   python3 -c "import json,sys; p=json.load(open(sys.argv[1]))[\"policies\"][0]; sys.exit(0 if p[\"arrivals\"] > 0 and p[\"completed\"] == p[\"arrivals\"] else 1)" "$DIR/g/report.json"'
