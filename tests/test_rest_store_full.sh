#!/usr/bin/env bash
# A store that cannot write: the data dir is a small tmpfs that the test mounts and fills.
# Entity writes get 503, invokes are still answered, the records kept meanwhile are written
# once space returns, and SIGTERM still stops the node within its drain timeout.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT
mkdir -p "$DIR/data"
if ! mount -t tmpfs -o size=4m,mode=0700 whisk-test "$DIR/data" 2>"$DIR/mount.err"; then
  echo "skipped: cannot mount a tmpfs here ($(cat "$DIR/mount.err"))"
  exit 0
fi
BEFORE_CLEANUP='umount "$DIR/data"'
fill() { dd if=/dev/zero of="$DIR/data/filler" bs=64k >/dev/null 2>&1; }
unfill() { rm -f "$DIR/data/filler"; }

start_node --stem-cells=none --drain-timeout=2000
put_action echo '{"exec":{"kind":"nodejs:20","code":"function main(p) { return {i: p.i}; }"}}'
req POST "$API/actions/echo?blocking=true&result=true" '{"i":0}'; expect 200 '{"i":0}' "an invoke before the disk fills"
fill
req PUT "$API/actions/later?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'
expect 503 'cannot write' "creating an action on a full disk is a 503 that says why"
req DELETE "$API/actions/echo"; expect 503 'cannot' "deleting one is a 503 too"
IDS=()
for i in 1 2 3; do
  req POST "$API/actions/echo?blocking=true" "{\"i\":$i}"
  [[ $STATUS == 200 && $(jpy "d['response']['result']['i']") == "$i" ]] && IDS+=("$(jpy "d['activationId']")")
  req POST "$API/actions/echo" "{\"i\":$((i + 10))}"
  [[ $STATUS == 202 ]] && IDS+=("$(activation_id_of)")
done
check "invokes are still answered on a full disk (3 blocking, 3 non-blocking)" test ${#IDS[@]} == 6
check "/metrics says the store fails and keeps records" poll 5 eval '[[ $(metric store_failing) == 1 && $(metric store_pending_writes) -ge 1 ]]'
grep -q 'cannot write activation records' "$DIR/node.log" && ok "the log says why records are not written" || bad "no log line about the failing store"
check "the failure is logged once, not per retry" test "$(grep -c 'cannot write activation records' "$DIR/node.log")" == 1
unfill
check "once space returns, the kept records are written" poll 10 eval '[[ $(metric store_failing) == 0 && $(metric store_pending_writes) == 0 ]]'
LOST=0
for id in "${IDS[@]}"; do
  req GET "$API/activations/$id"
  [[ $STATUS == 200 ]] || LOST=$((LOST + 1))
done
check "every activation answered on the full disk has its record ($LOST lost)" test $LOST == 0
req PUT "$API/actions/later?overwrite=true" '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'; expect 200 '"name":"later"' "entity writes work again"

fill
req POST "$API/actions/echo" '{"i":99}'
check "the store fails again" poll 5 eval '[[ $(metric store_failing) == 1 ]]'
T0=$SECONDS
kill -TERM "$PID"
if poll 10 eval '! kill -0 "$PID" 2>/dev/null'; then
  wait "$PID"
  RC=$?
  ok "SIGTERM stops the node within its drain timeout though the disk is full ($((SECONDS - T0)) s)"
  [[ $RC == 1 ]] && ok "the exit status (1) says records may be lost" || bad "exit status with unwritten records" "$RC"
  grep -q 'could not be written' "$DIR/node.log" && ok "the log counts the records that could not be written" || bad "no log of unwritten records"
else
  bad "whisk-node did not stop within 10 s of SIGTERM on a full disk"
  kill -KILL "$PID"
fi
PID=
unfill
