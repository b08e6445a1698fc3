# PostgreSQL for the tests (sourced, not run): a throwaway cluster in a temp dir that
# listens on a Unix socket in that dir only (no TCP), trust auth for local connections.
# initdb and postgres refuse to run as root, so as root the cluster belongs to the postgres
# user. Every step has a deadline; the server never outlives the process that owns it.
#
#   pg_require            exits 77 (ctest's skip code) with a message when PostgreSQL is not
#                         installed; call it before setting traps that would change the status
#   pg_start              a new cluster, started, with a database "whisk"; exports PG_DIR and
#                         PG_URI (postgresql:///whisk?host=$PG_DIR&user=postgres)
#   pg_stop               fast shutdown and the dir removed; idempotent (for EXIT traps)
#   pg_down / pg_up       stop (fast shutdown) / start the same cluster again
#   pg_restart_after S    pg_down, S seconds, pg_up
#   pg_createdb NAME      a new database; prints its URI
#   pg_sql DB SQL         runs SQL in database DB; prints the rows unaligned (| between
#                         columns), fails at the first error
#   pg_uri DB             the URI of database DB
#   pg_log                the server's log (for a failure report)
#
# PG_OWNER (default: the sourcing shell) is the process whose end stops the server: a
# watchdog started by pg_start stops it and removes the dir if the owner dies without
# pg_stop (a test killed at its ctest timeout, a crashed test binary).

unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE
PG_LIB=$(realpath "${BASH_SOURCE[0]}")
PG_PORT=5432 # names the socket file only: every cluster has its own socket dir
PG_DIR=${PG_DIR:-}
PG_URI=${PG_URI:-}

# The directory holding initdb, pg_ctl and postgres (pg_config's when it has them: libpq-dev's
# pg_config names /usr/bin, which has only the clients).
pg_find_bin() {
  local d
  for d in "${PG_BIN:-}" "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && { echo "$d"; return 0; }
  done
  return 1
}
PG_BIN=$(pg_find_bin)
PG_PSQL=$PG_BIN/psql
[[ -x $PG_PSQL ]] || PG_PSQL=$(command -v psql)
PG_ISREADY=$PG_BIN/pg_isready
[[ -x $PG_ISREADY ]] || PG_ISREADY=$(command -v pg_isready)

pg_installed() { [[ -n $PG_BIN && -n $PG_PSQL && -n $PG_ISREADY ]]; }

pg_require() {
  pg_installed && return 0
  echo "skipped: PostgreSQL is not installed (initdb, pg_ctl, postgres, psql, pg_isready; Debian: apt-get install postgresql)"
  exit 77
}

# Runs a server program as the cluster's owner (postgres when we are root, else ourselves),
# for 60 s at most. (From /: the postgres user may not enter the caller's working directory.)
pg_as() {
  if [[ $(id -u) == 0 ]]; then
    (cd / && timeout 60 runuser -u postgres -- "$@")
  else
    (cd / && timeout 60 "$@")
  fi
}

pg_uri() { echo "postgresql:///$1?host=$PG_DIR&user=postgres"; }
pg_log() { cat "$PG_DIR/server.log" 2>/dev/null; }

pg_sql() { # DB SQL
  timeout 30 "$PG_PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}

pg_createdb() { # NAME
  pg_sql postgres "CREATE DATABASE \"$1\"" >/dev/null || return 1
  pg_uri "$1"
}

# Waits until the server accepts connections (30 s at most).
pg_wait_ready() {
  local deadline=$((SECONDS + 30))
  until "$PG_ISREADY" -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -t 1; do
    if ((SECONDS >= deadline)); then
      echo "pg: the server does not accept connections after 30 s" >&2
      tail -20 "$PG_DIR/server.log" >&2
      return 1
    fi
    sleep 0.05
  done
}

pg_up() {
  if ! pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start >/dev/null; then
    echo "pg: the server did not start" >&2
    tail -20 "$PG_DIR/server.log" >&2
    return 1
  fi
  pg_wait_ready
}

pg_down() {
  [[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null && return 0
  echo "pg: fast shutdown failed; immediate shutdown" >&2
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null
}

pg_restart_after() { # SECONDS
  pg_down || return 1
  sleep "$1"
  pg_up
}

# Stops the server of DIR and removes DIR once OWNER is gone (polls every second). In a
# session of its own (a signal to the caller's process group, as timeout(1) and ctest send,
# must not end it with its owner), not a child of the caller (a script's bare `wait` would
# wait for it), and holding none of the caller's output (ctest waits until every holder of a
# test's output has closed it).
pg_watchdog() { # OWNER DIR
  setsid -f bash -c '
    source "$1"
    owner=$2 PG_DIR=$3
    while kill -0 "$owner" 2>/dev/null && [[ -d $PG_DIR/data ]]; do sleep 1; done
    if [[ -f $PG_DIR/data/postmaster.pid ]]; then
      pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop
    fi
    rm -rf "$PG_DIR"' pg-watchdog "$PG_LIB" "$1" "$2" </dev/null >/dev/null 2>&1
}

pg_start() {
  pg_installed || { pg_require; }
  PG_DIR=$(mktemp -d /tmp/whisk-pg.XXXXXX) || return 1
  [[ $(id -u) == 0 ]] && chown postgres: "$PG_DIR"
  if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
    echo "pg: initdb failed" >&2
    tail -20 "$PG_DIR/initdb.log" >&2
    rm -rf "$PG_DIR"
    return 1
  fi
  # (a small server: several may run at once, one per test process)
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
port = $PG_PORT
shared_buffers = 16MB
max_connections = 50
EOF
  pg_watchdog "${PG_OWNER:-$$}" "$PG_DIR"
  pg_up || { pg_stop; return 1; }
  PG_URI=$(pg_createdb whisk) || { echo "pg: cannot create the database whisk" >&2; pg_stop; return 1; }
  export PG_DIR PG_URI
}

pg_stop() {
  [[ -n $PG_DIR && -d $PG_DIR ]] || return 0
  pg_down
  rm -rf "$PG_DIR"
  PG_DIR=
  PG_URI=
}
