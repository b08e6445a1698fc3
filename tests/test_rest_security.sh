#!/usr/bin/env bash
# Hostile input and credentials, end to end: starts whisk-node (process backend) on
# 127.0.0.1 with a fresh data dir and checks that deeply nested JSON and bad base64 are
# 400s the node survives, that the key is in no log and no store file, and the modes of
# the data dir and its files. Bounded: every curl has a time limit and every wait a deadline.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT
start() { start_node --max-body=1 --stem-cells=none "$@"; KEY=${AUTH#*:}; }

# req_file METHOD URL [BODY_FILE] -> sets STATUS and BODY (bodies from files: they are large)
req_file() {
  local out
  out=$(curl -s -m 30 -u "$AUTH" -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary @"$3"} -w '\n%{http_code}' "$2")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
body() { printf '%s' "$1" >"$DIR/body.json"; echo "$DIR/body.json"; }

error_body() { [[ "$BODY" == *'"error":'* && "$BODY" == *'"code":'* ]]; }
repeat() { yes "$1" | head -n "$2" | tr -d '\n'; } # repeat TEXT COUNT

mode() { stat -c %a "$1" 2>/dev/null; }

start

# --- a normal action, to show the node serves before and after hostile input ---
req_file PUT "$API/actions/echo?overwrite=true" "$(body '{"exec":{"kind":"nodejs:20","code":"function main(p) { return {n: p.n}; }"}}')"
expect 200 '"name":"echo"' "create a nodejs action"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":1}')"; expect 200 '{"n":1}' "a normal invoke"

# --- 200,000 nested brackets ---
OPEN=$(repeat '[' 200000); CLOSE=$(repeat ']' 200000)
printf '{"exec":{"kind":"nodejs:20","code":"function main() {}"},"parameters":[{"key":"p","value":%s%s}]}' "$OPEN" "$CLOSE" >"$DIR/deep-put.json"
req_file PUT "$API/actions/deep?overwrite=true" "$DIR/deep-put.json"
expect 400 'nested deeper than 128' "PUT with 200,000 nested [ in parameters answers 400"
error_body && ok "the 400 is {\"error\": ..., \"code\": ...}" || bad "error body" "${BODY:0:300}"
curl -s -m 5 "$APIHOST/ping" | grep -q ok && ok "the node still answers /ping" || bad "/ping after the deep PUT"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":2}')"; expect 200 '{"n":2}' "a normal invoke after the deep PUT"

printf '{"p":%s%s}' "$OPEN" "$CLOSE" >"$DIR/deep-invoke.json"
req_file POST "$API/actions/echo?blocking=true&result=true" "$DIR/deep-invoke.json"
expect 400 'nested deeper than 128' "invoke with 200,000 nested [ in params answers 400"
printf '{"p":%s' "$(repeat '{"a":' 200000)" >"$DIR/deep-objects.json" # cut short, as an attacker may send it
req_file POST "$API/actions/echo?blocking=true&result=true" "$DIR/deep-objects.json"
expect 400 'nested deeper than 128' "invoke with 200,000 nested objects answers 400"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":3}')"; expect 200 '{"n":3}' "a normal invoke after the deep invokes"

# nesting up to the bound is accepted: 128 levels in all, the body's object included
printf '{"n":%s1%s}' "$(repeat '[' 127)" "$(repeat ']' 127)" >"$DIR/at-limit.json"
req_file POST "$API/actions/echo?blocking=true&result=true" "$DIR/at-limit.json"; expect 200 '{"n":[[[' "params nested 128 levels deep are accepted"
printf '{"n":%s1%s}' "$(repeat '[' 128)" "$(repeat ']' 128)" >"$DIR/over-limit.json"
req_file POST "$API/actions/echo?blocking=true&result=true" "$DIR/over-limit.json"; expect 400 'nested deeper than 128' "params nested 129 levels deep answer 400"

# --- base64 of binary code ---
req_file PUT "$API/actions/bin?overwrite=true" "$(body '{"exec":{"kind":"native","binary":true,"code":"not base64!"}}')"
expect 400 'base64' "invalid base64 in binary code answers 400 at PUT"
error_body && ok "the 400 is {\"error\": ..., \"code\": ...}" || bad "error body" "${BODY:0:300}"
req_file PUT "$API/actions/bin?overwrite=true" "$(body '{"exec":{"kind":"native","binary":true,"code":"IyEvYmluL3No"}}')"
expect 200 '"binary":true' "valid base64 binary code is accepted"
req_file PUT "$API/actions/bin?overwrite=true" "$(body '{"exec":{"kind":"nodejs:20","binary":true,"code":"ZnVuY3Rpb24gbWFpbigpIHt9"}}')"
expect 200 '"binary":true' "valid base64 nodejs code is accepted"

# --- credentials ---
[[ ${#KEY} == 64 && $KEY =~ ^[0-9a-f]+$ ]] && ok "the key is 64 hex digits" || bad "key format" "${#KEY} characters"
UUID=${AUTH%%:*}
[[ $UUID =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] && ok "the uuid is a random (v4) uuid" || bad "uuid format" "$UUID"
NEAR=${KEY%?}0
[[ $NEAR == "$KEY" ]] && NEAR=${KEY%?}1 # the key may end in 0 itself (1 in 16)
STATUS=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -u "$UUID:$NEAR" "$API/actions"); [[ $STATUS == 401 ]] && ok "401 for a key that differs in its last digit" || bad "near key" "$STATUS"
grep -q "$DIR/data/wskprops" "$DIR/node.log" && ok "the log names the wskprops file" || bad "the log does not name wskprops"

stop_node

check_secrets() { # after a run: the key in no log and no store file; modes
  if grep -rqF "$KEY" "$DIR/node.log"; then bad "the key is not in the node's log ($1)"; else ok "the key is not in the node's log ($1)"; fi
  local found
  found=$(grep -rlF "$KEY" "$DIR/data" --exclude=wskprops)
  [[ -z "$found" ]] && ok "the key is in no file of the data dir but wskprops ($1)" || bad "the key is in store files ($1)" "$found"
  ls "$DIR/data"/whisk.db* >/dev/null 2>&1 && ok "the store files exist ($1)" || bad "no store files ($1)"
  [[ $(mode "$DIR/data") == 700 ]] && ok "data dir is 0700 ($1)" || bad "data dir mode ($1)" "$(mode "$DIR/data")"
  local f
  for f in whisk.db whisk.db-wal whisk.db-shm wskprops node-secret; do
    [[ -e "$DIR/data/$f" ]] || continue # -wal and -shm go away on a clean close
    [[ $(mode "$DIR/data/$f") == 600 ]] && ok "$f is 0600 ($1)" || bad "$f mode ($1)" "$(mode "$DIR/data/$f")"
  done
}
check_secrets "after a clean stop"

# --- a restart keeps the key that wskprops holds; the store files are 0600 while open ---
OLD_AUTH=$AUTH
start
[[ $AUTH == "$OLD_AUTH" ]] && ok "a restart keeps the key in wskprops" || bad "key changed on restart"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":4}')"; expect 200 '{"n":4}' "invoke after the restart"
for f in whisk.db whisk.db-wal whisk.db-shm; do
  [[ $(mode "$DIR/data/$f") == 600 ]] && ok "$f is 0600 while the node runs" || bad "$f mode while running" "$(mode "$DIR/data/$f")"
done
if grep -rqF "$KEY" "$DIR/data" --exclude=wskprops; then bad "the key is in a store file while the node runs"; else ok "the key is in no store file while the node runs"; fi

# --- invokes the HTTP thread takes from the REST caches: the same keys and actions count ---
for n in 5 6 7; do req_file POST "$API/actions/echo?blocking=true&result=true" "$(body "{\"n\":$n}")"; done
expect 200 '{"n":7}' "warm invokes answer"
BODY=$(curl -s -m 10 -u "$AUTH" "$APIHOST/metrics")
[[ $BODY =~ whisk_rest_on_http_thread_total\ ([0-9]+) && ${BASH_REMATCH[1]} -ge 1 ]] &&
  ok "warm invokes are taken on the HTTP thread (rest_on_http_thread_total ${BASH_REMATCH[1]})" ||
  bad "no invoke taken on the HTTP thread" "$(grep rest_on_http <<<"$BODY")"
UUID=${AUTH%%:*}
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$UUID:not-the-key" -X POST "$API/actions/echo?blocking=true" -d '{}')
[[ $code == 401 ]] && ok "the cached namespace with another key gets 401" || bad "a wrong key of a cached namespace" "$code"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -u "00000000-0000-0000-0000-000000000000:$KEY" -X POST "$API/actions/echo?blocking=true" -d '{}')
[[ $code == 401 ]] && ok "the key under an unknown uuid gets 401" || bad "a key under an unknown uuid" "$code"
req_file PUT "$API/actions/echo?overwrite=true" "$(body '{"exec":{"kind":"nodejs:20","code":"function main(p) { return {m: p.n}; }"}}')"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":8}')"; expect 200 '{"m":8}' "the invoke right after an update runs the new code"
req_file DELETE "$API/actions/echo"
req_file POST "$API/actions/echo?blocking=true&result=true" "$(body '{"n":9}')"; expect 404 'does not exist' "the invoke right after a delete gets 404"
stop_node
check_secrets "after a restart"
