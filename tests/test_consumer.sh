#!/usr/bin/env bash
# The installed package as a user meets it: install the build into a fresh prefix, then
# configure, build and run tests/consumer (find_package(whisk REQUIRED COMPONENTS actors))
# outside the tree against that prefix alone, and compile a libwhisk program with
# `pkg-config whisk`.
# usage: test_consumer.sh BUILD_DIR          install BUILD_DIR into a temporary prefix
#        test_consumer.sh --prefix PREFIX    use what is installed there (e.g. /usr after dpkg -i)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/whisk-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ ${1:-} == --prefix ]]; then
  prefix=${2:?usage: test_consumer.sh --prefix PREFIX}
else
  build=${1:?usage: test_consumer.sh BUILD_DIR | --prefix PREFIX}
  prefix=$work/prefix
  cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; exit 1; }
  # what a user must never see: the internal headers under src/
  for internal in container/proc.hpp container/spawn.hpp isolate/bounded_allocator.hpp actors/remote.hpp; do
    if [[ -e $prefix/include/whisk/$internal ]]; then echo "FAIL: internal header installed: $internal"; exit 1; fi
  done
fi
echo "== whisk installed in $prefix"

# the source is copied out of the tree, so nothing can reach whisk's sources by a relative path
cp -r "$here/consumer" "$work/src"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
found=$(sed -n 's/^whisk_DIR:PATH=//p' "$work/build/CMakeCache.txt")
echo "== find_package(whisk) found $found"
[[ $found == "$prefix"/* ]] || { echo "FAIL: whisk was not found in $prefix"; exit 1; }
cmake --build "$work/build" -j 2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }
out=$("$work/build/whisk-consumer")
echo "$out"
[[ $out == *'result {"hello":"consumer"}'* && $out == *'places by create'* ]] || { echo "FAIL: unexpected output"; exit 1; }

pc=$(find "$prefix"/lib* -name whisk.pc -path '*pkgconfig*' 2>/dev/null | head -1)
[[ -n $pc ]] || { echo "FAIL: no whisk.pc under $prefix"; exit 1; }
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs whisk)
echo "== pkg-config --cflags --libs whisk: $flags"
# shellcheck disable=SC2086 # the flags are words
g++ -O1 -o "$work/pc-consumer" "$work/src/pkgconfig_main.cpp" $flags
out=$("$work/pc-consumer")
echo "$out"
[[ $out == '{"linked":"by pkg-config"}' ]] || { echo "FAIL: unexpected output"; exit 1; }
echo "consumer test passed"
