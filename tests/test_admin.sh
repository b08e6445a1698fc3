#!/usr/bin/env bash
# Tenants and the admin tool, end to end: whisk-admin creates two namespaces in the data dir
# of a running whisk-node; each key sees only its own actions, activations and logs (403 for
# the other's paths, 404 for the other's activation ids under its own); GET /metrics needs
# a key; a rotated key stops working at once and the new one works; a deleted namespace's
# key stops working at once; no key is in the node's log or in the store files; the tool's
# exit codes. Bounded: every curl has a time limit and every wait a deadline.
# usage: test_admin.sh path/to/whisk-node path/to/whisk-admin
ADMIN_BIN=${2:?usage: test_admin.sh path/to/whisk-node path/to/whisk-admin}
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

admin() { timeout 20 "$ADMIN_BIN" --data-dir="$DIR/data" "$@"; }
as() { AUTH=$1; } # the key the next requests use
status_as() { # status_as AUTH METHOD URL -> the status code alone
  curl -s -m 10 -o /dev/null -w '%{http_code}' -u "$1" -X "$2" "$3"
}

start_node --stem-cells=none
NS="$APIHOST/api/v1/namespaces"
GUEST=$AUTH

# --- two tenants, made while the node runs ---
A=$(admin user create team-a)
check "user create prints uuid:key (team-a)" eval '[[ $A =~ ^[0-9a-f-]{36}:[0-9a-f]{64}$ ]]'
B=$(admin user create team-b)
check "user create prints uuid:key (team-b)" eval '[[ $B =~ ^[0-9a-f-]{36}:[0-9a-f]{64}$ ]]'
LIST=$(admin namespace list)
check "namespace list shows guest and both tenants" test "$LIST" == $'guest\nteam-a\nteam-b'
USERS=$(admin user list)
check "user list shows each namespace's uuid and no key" eval \
  '[[ $USERS == *"team-a	${A%%:*}"* && $USERS == *"team-b	${B%%:*}"* && $USERS != *"${A#*:}"* && $USERS != *"${B#*:}"* ]]'

# the same action name in both namespaces, each logging its own marker
as "$A"
put_action hello '{"exec":{"kind":"nodejs:20","code":"function main(p) { console.log(\"marker-of-team-a\"); return {who: \"a\"}; }"}}'
req POST "$API/actions/hello?blocking=true" '{}'
expect 200 '"who":"a"' "team-a's key runs team-a's action"
IDA=$(activation_id_of)
as "$B"
put_action hello '{"exec":{"kind":"nodejs:20","code":"function main(p) { console.log(\"marker-of-team-b\"); return {who: \"b\"}; }"}}'
put_action only-b '{"exec":{"kind":"nodejs:20","code":"function main(p) { return {}; }"}}'
req POST "$API/actions/hello?blocking=true" '{}'
expect 200 '"who":"b"' "team-b's key runs team-b's action of the same name"
IDB=$(activation_id_of)
[[ -n $IDA && -n $IDB ]] || bad "activation ids of both tenants" "a: $IDA b: $IDB"

# --- each key sees its own namespace only ---
for who in a b; do
  if [[ $who == a ]]; then ME=$A; MINE=$IDA; THEIRS=$IDB; OTHER=team-b; SELF=team-a; else ME=$B; MINE=$IDB; THEIRS=$IDA; OTHER=team-a; SELF=team-b; fi
  as "$ME"
  req GET "$NS"; expect 200 "[\"$SELF\"]" "$SELF: GET /namespaces lists its own namespace only"
  req GET "$API/actions"
  names=$(jpy "sorted(a['name'] for a in d)")
  if [[ $who == a ]]; then want="['hello']"; else want="['hello', 'only-b']"; fi
  check "$SELF: its action list holds its own actions only" test "$names" == "$want"
  req GET "$API/actions/hello"
  check "$SELF: GET of 'hello' gives its own code" eval "[[ \$BODY == *marker-of-$SELF* && \$BODY != *marker-of-$OTHER* ]]"
  req GET "$API/activations?docs=true&limit=200"
  ids=$(jpy "' '.join(a['activationId'] for a in d)")
  check "$SELF: its activation list holds its own activation only" test "$ids" == "$MINE"
  req GET "$API/activations/$MINE/logs"
  expect 200 "marker-of-$SELF" "$SELF: its own logs"
  check "$SELF: its logs hold nothing of the other tenant" eval "[[ \$BODY != *marker-of-$OTHER* ]]"
  for path in "" /logs /result; do
    req GET "$API/activations/$THEIRS$path"
    expect 404 '"code"' "$SELF: the other tenant's activation id under its own namespace ($path) is 404"
    req GET "$NS/$OTHER/activations/$THEIRS$path"
    expect 403 'not authorized' "$SELF: /namespaces/$OTHER/activations/<id>$path is 403"
  done
  for m in GET DELETE POST; do
    req $m "$NS/$OTHER/actions/hello"
    expect 403 'not authorized' "$SELF: $m /namespaces/$OTHER/actions/hello is 403"
  done
  req PUT "$NS/$OTHER/actions/planted" '{"exec":{"kind":"nodejs:20","code":"function main() { return {}; }"}}'
  expect 403 'not authorized' "$SELF: PUT into the other namespace is 403"
  req GET "$NS/$OTHER/actions"; expect 403 'not authorized' "$SELF: listing the other's actions is 403"
  req GET "$NS/$OTHER/activations"; expect 403 'not authorized' "$SELF: listing the other's activations is 403"
done
as "$A"
req GET "$API/actions/only-b"; expect 404 '"code"' "team-a: team-b's action name under its own namespace is 404"
req POST "$API/actions/only-b?blocking=true" '{}'; expect 404 '"code"' "team-a: invoking team-b's action name is 404"
req GET "$API/activations?name=hello"
check "team-a: filtering by the shared action name lists its own activation only" test "$(jpy "' '.join(a['activationId'] for a in d)")" == "$IDA"

# --- /metrics needs a key, any namespace's ---
check "GET /metrics without a key is 401" test "$(raw_status "$APIHOST/metrics")" == 401
check "GET /metrics with a wrong key is 401" test "$(raw_status "$APIHOST/metrics" -u "${A%%:*}:$(printf '0%.0s' {1..64})")" == 401
check "GET /metrics with team-a's key is 200" test "$(raw_status "$APIHOST/metrics" -u "$A")" == 200
check "GET /metrics with guest's key is 200" test "$(raw_status "$APIHOST/metrics" -u "$GUEST")" == 200
AUTH=$A
check "GET /metrics lists the pool's figures" eval '[[ -n $(metric containers_created_total) ]]'

# --- a rotated key stops working at once; the new one works ---
check "team-a's key works before the rotation" test "$(status_as "$A" GET "$API/actions")" == 200
NEWA=$(admin user key rotate team-a)
check "user key rotate prints the same uuid with a new key" eval '[[ ${NEWA%%:*} == "${A%%:*}" && ${NEWA#*:} =~ ^[0-9a-f]{64}$ && $NEWA != "$A" ]]'
check "the old key is refused at once after the rotation (401)" test "$(status_as "$A" GET "$API/actions")" == 401
check "the new key works at once" test "$(status_as "$NEWA" GET "$API/actions")" == 200
check "the old key is refused on /metrics too" test "$(raw_status "$APIHOST/metrics" -u "$A")" == 401
as "$NEWA"
req GET "$API/activations/$IDA/logs"; expect 200 "marker-of-team-a" "the new key sees team-a's activations"
# rotations in a row, each checked right away: none leaves an old key working
rotated_ok=1
for i in 1 2 3 4 5; do
  prev=$NEWA
  NEWA=$(admin user key rotate team-a)
  [[ $(status_as "$prev" GET "$API/actions") == 401 && $(status_as "$NEWA" GET "$API/actions") == 200 ]] || rotated_ok=0
done
check "five rotations in a row: each old key refused, each new key accepted, at once" test $rotated_ok == 1

# --- a deleted namespace's key stops working at once ---
check "team-b's key works before the deletion" test "$(status_as "$B" GET "$API/actions")" == 200
check "user delete team-b succeeds" eval 'admin user delete team-b >/dev/null'
check "team-b's key is refused at once after the deletion (401)" test "$(status_as "$B" GET "$API/actions")" == 401
check "team-b's key is refused on /metrics" test "$(raw_status "$APIHOST/metrics" -u "$B")" == 401
check "namespace list no longer shows team-b" test "$(admin namespace list)" == $'guest\nteam-a'
check "team-a still works" test "$(status_as "$NEWA" GET "$API/actions")" == 200

# --- exit codes ---
admin user create team-a >/dev/null 2>&1; check "user create of an existing namespace exits 4" test $? == 4
admin user delete team-b >/dev/null 2>&1; check "user delete of a missing namespace exits 5" test $? == 5
admin user key rotate nobody >/dev/null 2>&1; check "user key rotate of a missing namespace exits 5" test $? == 5
admin user create 'bad/name' >/dev/null 2>&1; check "an invalid namespace name exits 3" test $? == 3
admin user create _ >/dev/null 2>&1; check "the reserved name '_' exits 3" test $? == 3
admin user frobnicate >/dev/null 2>&1; check "an unknown verb exits 2" test $? == 2
"$ADMIN_BIN" --help | grep -q 'user key rotate'; check "--help lists the verbs" test $? == 0
timeout 20 "$ADMIN_BIN" --data-dir="$DIR/missing" user list >/dev/null 2>&1; check "a data dir without a store exits 1" test $? == 1

# --- no key in the log or the store files (while the node runs: the WAL holds recent writes) ---
no_key_in() { # label files...
  local label=$1 k found=
  shift
  for k in "${A#*:}" "${NEWA#*:}" "${B#*:}" "${GUEST#*:}"; do
    grep -rqsF -e "$k" "$@" && found+=" ${k:0:6}..."
  done
  [[ -z $found ]] && ok "no key in $label" || bad "a key in $label" "$found"
}
no_key_in "the store files of the running node" "$DIR"/data/whisk.db*
stop_node
no_key_in "the node's log" "$DIR/node.log"
no_key_in "the store files of the stopped node" "$DIR"/data/whisk.db*
no_key_in "the data dir (wskprops aside)" --exclude=wskprops "$DIR/data"

# --- a restart keeps the tenants and their current keys ---
start_node --stem-cells=none
check "after a restart team-a's current key works" test "$(status_as "$NEWA" GET "$API/actions")" == 200
check "after a restart team-b's deleted key is still refused" test "$(status_as "$B" GET "$API/actions")" == 401
stop_node
