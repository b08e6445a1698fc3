#!/usr/bin/env bash
# The stores side by side (issue: a PostgreSQL store): activation records written per second
# through the store interface (group commits, 4 writer threads) and the newest-30 listing
# GET /activations makes, with N records in the store, for SQLite (a file in a temp dir) and
# PostgreSQL (a throwaway cluster on a Unix socket, started and stopped here). Prints a
# Markdown table.
#   benchmarks/store.sh [RECORDS]   (default 1000000; about 2 minutes at that)
#   WHISK_SKIP_BUILD=1: no build; WHISK_BUILD_DIR=DIR: binaries of another build (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BUILD=${WHISK_BUILD_DIR:-build}
if [[ -z "${WHISK_SKIP_BUILD:-}" ]]; then
  cmake --build "$BUILD" -j 2 --target whisk-bench-store >/tmp/whisk-bench-build.log 2>&1 || { tail -30 /tmp/whisk-bench-build.log >&2; false; }
fi
BENCH=$BUILD/benchmarks/whisk-bench-store
source tests/pg_lib.sh
pg_require
SQLITE_DIR=$(mktemp -d /tmp/whisk-store-bench.XXXXXX)
trap 'pg_stop; rm -rf "$SQLITE_DIR"' EXIT
pg_start >/dev/null

OUT_S=$("$BENCH" "$SQLITE_DIR/db" "$N" 4)
# PostgreSQL: the listing once right after the writes (the planner's statistics still say
# the table is empty) and once after ANALYZE, which autovacuum runs within a minute or so
OUT_P=$("$BENCH" "$PG_URI" "$N" 4 write)
LIST_COLD=$("$BENCH" "$PG_URI" "$N" 4 list)
pg_sql whisk "ANALYZE activations" >/dev/null
OUT_P+=$'\n'$("$BENCH" "$PG_URI" "$N" 4 list)
echo "| store | records/s written (4 writers) | records per commit | list newest 30 of the namespace p50 / p99 | of one action p50 / p99 |"
echo "|---|---|---|---|---|"
for pair in "SQLite:$OUT_S" "PostgreSQL:$OUT_P"; do
  name=${pair%%:*}
  out=${pair#*:}
  rate=$(grep -oE '[0-9]+ records/s' <<<"$out" | head -1 | cut -d' ' -f1)
  per=$(grep -oE '[0-9.]+ records per commit' <<<"$out" | cut -d' ' -f1)
  ns=$(grep 'of the namespace' <<<"$out" | grep -oE 'p50 [0-9.]+ ms, p99 [0-9.]+ ms' | sed 's/p50 //; s/, p99 / \/ /')
  one=$(grep 'of one action' <<<"$out" | grep -oE 'p50 [0-9.]+ ms, p99 [0-9.]+ ms' | sed 's/p50 //; s/, p99 / \/ /')
  echo "| $name | $rate | $per | $ns | $one |"
done
one_cold=$(grep 'of one action' <<<"$LIST_COLD" | grep -oE 'p50 [0-9.]+ ms, p99 [0-9.]+ ms' | sed 's/p50 //; s/, p99 / \/ /')
echo
echo "PostgreSQL lists above are after ANALYZE; right after the writes, before any statistics, one action's newest 30: $one_cold."
echo "($N records; PostgreSQL $("$PG_PSQL" --version | grep -oE '[0-9]+\.[0-9]+' | head -1) on a Unix socket with fsync on, SQLite WAL with synchronous=NORMAL, both on this machine's disk)"
