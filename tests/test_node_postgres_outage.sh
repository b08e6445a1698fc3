#!/usr/bin/env bash
# A whisk-node on PostgreSQL (--store=postgresql://..., a server of this test's own on a Unix
# socket, tests/pg_lib.sh) under a load of blocking and non-blocking invokes while the
# server is stopped for about 3 s and started again: invokes are still answered meanwhile
# (the records are kept in memory) and entity writes get 503; afterwards every activation
# answered 200 or 202 has its record, the node serves invokes, and its log says once that
# records cannot be written and once that they are written again (not per retry).
# Exit 77 without PostgreSQL.
# usage: test_node_postgres_outage.sh path/to/whisk-node
source "$(dirname "$0")/pg_lib.sh"
pg_require
source "$(dirname "$0")/rest_lib.sh"
finish_all() {
  local rc status=$?
  ((FAIL > 0 || status != 0)) && { echo "--- PostgreSQL's log (tail)"; pg_log | tail -15; }
  (exit $status) # finish reads the script's exit status from $?
  finish # stops the node first
  rc=$?
  pg_stop
  return $rc
}
trap 'finish_all; exit $?' EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }

PG_OWNER=$$ pg_start || { echo "no PostgreSQL server for the test"; exit 1; }
start_node --store="$PG_URI" --backend=sim
check "the node says it uses the PostgreSQL database" grep -q "store: PostgreSQL at postgresql:///whisk" "$DIR/node.log"
put_action quick '{"exec":{"kind":"nodejs:20","code":"function main(p) { return p; }"}}'
put_action slowish '{"exec":{"kind":"nodejs:20","code":"sim:sleep=30"}}'
req POST "$API/actions/quick?blocking=true" '{"n":1}'
expect 200 '"n":1' "an invoke before the outage"
# (a scraper reads /metrics all along: its key is verified before the outage and stays good)
check "/metrics says the store works before the outage" test "$(metric store_failing)" == 0

# Each client invokes until $DIR/stop appears (30 s at most) and writes one line per answer:
# the time (ms), the status and the activation id (when the answer has one).
load_client() { # FILE MODE ACTION
  local query=blocking=true out status id
  [[ $2 == async ]] && query=blocking=false
  local end=$((SECONDS + 30))
  while [[ ! -e $DIR/stop ]] && ((SECONDS < end)); do
    out=$(curl -s -m 10 -u "$AUTH" -X POST -H 'Content-Type: application/json' -d '{}' -w '\n%{http_code}' "$API/actions/$3?$query")
    status=${out##*$'\n'}
    id=
    [[ $out =~ \"activationId\":\"([0-9a-f]{32})\" ]] && id=${BASH_REMATCH[1]}
    echo "$(now_ms) $status $id" >>"$1"
    [[ $status == 200 || $status == 202 ]] || echo "$status ${out%$'\n'*}" >>"$1.other"
  done
}
CLIENTS=()
c=0
for mode in blocking async blocking async; do
  c=$((c + 1))
  load_client "$DIR/answers.$c" "$mode" "$( ((c <= 2)) && echo quick || echo slowish)" &
  CLIENTS+=($!)
done
sleep 1.5

# --- the outage ---
DOWN=$(now_ms)
pg_down || bad "PostgreSQL stopped"
if poll 3 eval '[[ $(metric store_failing) == 1 && $(metric store_pending_writes) -ge 1 ]]'; then
  ok "/metrics says the store fails and keeps records ($(metric store_pending_writes) kept)"
else
  bad "/metrics while PostgreSQL is down" "$(curl -s -m 5 -u "$AUTH" -w ' (%{http_code})' "$APIHOST/metrics" | grep -E 'store_|^[^#]|\(' | head -5)"
fi
req PUT "$API/actions/later?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'
expect 503 'cannot write' "creating an action while PostgreSQL is down is a 503 that says why"
sleep $(python3 -c "print(max(0, 3 - ($(now_ms) - $DOWN) / 1000))")
UP=$(now_ms)
pg_up || bad "PostgreSQL started again"
sleep 1.5
touch "$DIR/stop"
wait "${CLIENTS[@]}"

ANSWERED=$(cat "$DIR"/answers.* | awk '($2 == 200 || $2 == 202) && $3 != "" { print $3 }' | sort -u)
N=$(wc -w <<<"$ANSWERED")
DURING=$(cat "$DIR"/answers.* | awk -v d="$DOWN" -v u="$UP" '$1 > d && $1 < u && ($2 == 200 || $2 == 202) && $3 != ""' | wc -l)
BEFORE=$(cat "$DIR"/answers.* | awk -v d="$DOWN" '$1 > d - 1500 && $1 <= d' | wc -l)
OTHER=$(cat "$DIR"/answers.* | awk '$2 != 200 && $2 != 202 { print $2 }' | sort | uniq -c | tr '\n' ' ')
echo "     ($N activations answered 200 or 202, $DURING of them in the $((UP - DOWN)) ms PostgreSQL was down ($BEFORE answers in the 1500 ms before); other answers: ${OTHER:-none})"
cat "$DIR"/answers.*.other 2>/dev/null | cut -c1-200 | sort | uniq -c | sort -rn | head -5 | sed 's/^/     /'
check "invokes were answered while PostgreSQL was down ($DURING)" test "$DURING" -ge 1
check "the node is up" kill -0 "$PID"
check "once PostgreSQL is back the kept records are written" poll 30 eval '[[ $(metric store_failing) == 0 && $(metric store_pending_writes) == 0 ]]'

# every answered id has its record (the listing, 200 at a time)
recorded() {
  local skip=0 page
  : >"$DIR/recorded"
  while :; do
    req GET "$API/activations?limit=200&skip=$skip"
    [[ $STATUS == 200 ]] || return 1
    page=$(jpy "'\n'.join(a['activationId'] for a in d)")
    [[ -z $page ]] && break
    echo "$page" >>"$DIR/recorded"
    skip=$((skip + 200))
  done
  sort -u -o "$DIR/recorded" "$DIR/recorded"
}
all_recorded() { recorded && [[ -z $(comm -23 <(echo "$ANSWERED") "$DIR/recorded") ]]; }
if poll 30 all_recorded; then
  ok "every activation answered 200 or 202 has its record ($N answered, 0 lost)"
else
  LOST=$(comm -23 <(echo "$ANSWERED") "$DIR/recorded")
  bad "records after the outage" "$N answered, $(wc -w <<<"$LOST") lost, e.g. $(head -3 <<<"$LOST" | tr '\n' ' ')"
fi
check "at least 50 activations were answered under the load ($N)" test "$N" -ge 50
# a sample through GET /activations/ID as well (answered during the outage when there are such)
SAMPLE=$(cat "$DIR"/answers.* | awk -v d="$DOWN" -v u="$UP" '$1 > d && $1 < u && $3 != "" { print $3 }' | head -20)
[[ -z $SAMPLE ]] && SAMPLE=$(head -20 <<<"$ANSWERED")
MISSING=0
for id in $SAMPLE; do
  req GET "$API/activations/$id"
  [[ $STATUS == 200 && $BODY == *"\"activationId\":\"$id\""* ]] || MISSING=$((MISSING + 1))
done
check "GET /activations/ID reads them ($(wc -w <<<"$SAMPLE") sampled, $MISSING missing)" test $MISSING == 0

req POST "$API/actions/quick?blocking=true" '{"n":2}'
expect 200 '"n":2' "the node serves a blocking invoke after the outage"
check "entity writes work again" poll 10 eval 'req PUT "$API/actions/later?overwrite=true" '"'"'{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'"'"'; [[ $STATUS == 200 ]]'
check "the log says once that records cannot be written" test "$(grep -c 'cannot write activation records' "$DIR/node.log")" == 1
check "and once that they are written again" test "$(grep -c 'activation records are written again' "$DIR/node.log")" == 1
stop_node
