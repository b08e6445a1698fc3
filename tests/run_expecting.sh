#!/usr/bin/env bash
# run_expecting.sh REGEX COMMAND [ARGS...]: passes only when COMMAND exits 0 AND its output
# (stdout and stderr) matches the extended REGEX ('.' also matches newlines).
set -uo pipefail
re=${1:?usage: run_expecting.sh REGEX COMMAND [ARGS...]}
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [[ $rc != 0 ]]; then
  echo "run_expecting: exit code $rc" >&2
  exit 1
fi
if ! [[ $out =~ $re ]]; then
  echo "run_expecting: the output does not match: $re" >&2
  exit 1
fi
