#!/usr/bin/env bash
# tests/pg_lib.sh, the PostgreSQL server the store tests run against, does what its header
# says: a cluster on a Unix socket in its own dir and no TCP port, databases and SQL through
# psql, a restart that keeps the data, a stop that leaves nothing behind, and a watchdog that
# stops a server whose owner died. Exit 77 without PostgreSQL.
set -uo pipefail
LIB="$(cd "$(dirname "$0")" && pwd)/pg_lib.sh"
source "$LIB"
pg_require
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && echo "       ${2:0:600}"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
poll() { # SECONDS COMMAND...
  local deadline=$((SECONDS + $1))
  shift
  while :; do
    "$@" && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}
ORPHAN_DIR=
ORPHAN_DIR2=
finish() {
  local status=$?
  pg_stop
  for d in "$ORPHAN_DIR" "$ORPHAN_DIR2"; do [[ -n $d && -d $d ]] && PG_DIR=$d pg_stop; done
  if [[ $status != 0 ]]; then # an exit on the way (a server that did not start): never a pass
    FAIL=$((FAIL + 1))
    echo "FAIL - the script stopped early with exit status $status"
  fi
  echo "$PASS passed, $FAIL failed"
  [[ $FAIL == 0 ]]
}
trap 'finish; exit $?' EXIT
postmaster_of() { head -1 "$1/data/postmaster.pid" 2>/dev/null; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

echo "# server programs in $PG_BIN"
T0=$SECONDS
if ! pg_start; then
  bad "pg_start starts a cluster"
  exit 1
fi
ok "pg_start starts a cluster in $PG_DIR ($((SECONDS - T0)) s)"
check "PG_URI names the database whisk on the socket dir" test "$PG_URI" == "postgresql:///whisk?host=$PG_DIR&user=postgres"
check "the socket is in PG_DIR" test -S "$PG_DIR/.s.PGSQL.$PG_PORT"
check "the server listens on no TCP address" test "$(pg_sql whisk "SHOW listen_addresses")" == ""
PM=$(postmaster_of "$PG_DIR")
check "the server runs as postgres (as root) or as this user" test "$(ps -o user= -p "$PM" | tr -d ' ')" == "$([[ $(id -u) == 0 ]] && echo postgres || id -un)"
check "pg_sql runs SQL in the database" pg_sql whisk "CREATE TABLE t(v integer); INSERT INTO t VALUES (41), (1)"
check "pg_sql prints the rows" test "$(pg_sql whisk "SELECT sum(v) FROM t")" == 42
pg_sql whisk "SELECT nothing FROM t" >/dev/null 2>&1 && bad "pg_sql fails on an error" || ok "pg_sql fails on an error"
URI2=$(pg_createdb second)
check "pg_createdb makes a database and prints its URI" test "$URI2" == "$(pg_uri second)"
check "the new database is empty" test "$(pg_sql second "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" == 0

pg_down
check "pg_down stops the server" poll 5 eval '! alive "$PM"'
"$PG_ISREADY" -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -t 1 && bad "pg_isready says no server after pg_down" || ok "pg_isready says no server after pg_down"
check "pg_up starts it again" pg_up
check "the data survived" test "$(pg_sql whisk "SELECT sum(v) FROM t")" == 42

T0=$(date +%s%N)
pg_sql whisk "INSERT INTO t VALUES (1)" >/dev/null
( sleep 0.5; pg_sql whisk "SELECT 1" >/dev/null 2>&1 && echo up || echo down ) >"$PG_DIR/during" &
pg_restart_after 2
MS=$((($(date +%s%N) - T0) / 1000000))
wait
check "pg_restart_after 2 has the server down meanwhile" test "$(cat "$PG_DIR/during")" == down
check "and back after about 2 s ($MS ms)" test $MS -ge 2000 -a $MS -lt 15000
check "with the data of before" test "$(pg_sql whisk "SELECT sum(v) FROM t")" == 43

DIR=$PG_DIR
PM=$(postmaster_of "$DIR")
pg_stop
check "pg_stop stops the server" poll 10 eval '! alive "$PM"'
check "and removes its dir" test ! -e "$DIR"
check "pg_stop twice is harmless" pg_stop

# The owner dies without pg_stop: the watchdog stops the server and removes the dir. The
# command substitution also shows that no server process holds the caller's output.
OUT=$(timeout 60 bash -c 'source "$1" && pg_start && echo "$PG_DIR"' _ "$LIB")
ORPHAN_DIR=$(tail -1 <<<"$OUT")
PM=$(postmaster_of "$ORPHAN_DIR")
if [[ -n $ORPHAN_DIR && -n $PM ]]; then
  ok "a cluster started by a shell that then exits ($ORPHAN_DIR), without holding its output"
  check "its watchdog stops the server once the owner is gone" poll 15 eval '! alive "$PM"'
  check "and removes the dir" poll 5 test ! -e "$ORPHAN_DIR"
else
  bad "a cluster started by a shell that then exits" "$OUT"
fi

# The owner killed with its whole process group (as timeout(1) and ctest kill): the watchdog,
# in a session of its own, still stops the server.
setsid bash -c 'source "$1" && pg_start && echo "$PG_DIR" && exec sleep 60' _ "$LIB" >"$ORPHAN_DIR.out" 2>/dev/null &
OWNER=$!
poll 30 test -s "$ORPHAN_DIR.out"
ORPHAN_DIR2=$(tail -1 "$ORPHAN_DIR.out")
rm -f "$ORPHAN_DIR.out"
PM=$(postmaster_of "$ORPHAN_DIR2")
if [[ -n $ORPHAN_DIR2 && -n $PM ]] && alive "$PM"; then
  kill -KILL -- -"$OWNER"
  wait "$OWNER" 2>/dev/null
  check "once the owner's process group is killed the watchdog stops the server" poll 15 eval '! alive "$PM"'
  check "and removes the dir" poll 5 test ! -e "$ORPHAN_DIR2"
else
  bad "a cluster started by a process that is then killed with its group" "$ORPHAN_DIR2"
  kill -KILL -- -"$OWNER" 2>/dev/null
fi
