#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine; every step is idempotent.
#   ./setup.sh node      install what is missing, build Release, start whisk-node on 127.0.0.1:3233
#   ./setup.sh test      install what is missing, build Release, run every test (ctest)
#   ./setup.sh sanitize  the same tests in an ASan+UBSan build (build-asan/)
#   ./setup.sh tsan      the same tests (but V8's) in a ThreadSanitizer build (build-tsan/)
#   ./setup.sh package   the Debian package (build-deb/whisk_<version>_amd64.deb)
#   ./setup.sh fuzz [S]  the libFuzzer targets (clang, build-fuzz/), each for S seconds (default 60)
#   ./setup.sh bench [S] install what is missing (and wrk), run benchmarks/suite.sh, S seconds per run
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

PACKAGES=(cmake g++ ninja-build libcaf-dev libboost1.81-dev libssl-dev libsimdjson-dev libfmt-dev catch2 libsqlite3-dev postgresql libpq-dev prometheus-cpp-dev libsodium-dev libseccomp-dev slirp4netns clang-14 libfuzzer-14-dev curl procps)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [[ -x /usr/bin/python3 ]] || missing+=(python3)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    local sudo=
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  fetch_libnode
}

# V8 for the isolate work comes from Debian's libnode. It is unpacked into a project-local
# prefix rather than installed: installing libnode next to a nodejs from another source
# conflicts (apt would offer to remove that nodejs).
fetch_libnode() {
  local prefix="$ROOT/third_party/libnode"
  [[ -f "$prefix/usr/include/node/v8.h" && -f "$prefix/usr/lib/x86_64-linux-gnu/libnode.so.108" ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  echo "setup: fetching libnode (V8) into third_party/libnode"
  if ! (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null 2>&1); then
    local sudo=
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    (cd "$tmp" && apt-get download libnode108 libnode-dev >/dev/null 2>&1)
  fi
  mkdir -p "$prefix"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$prefix"; done
  rm -rf "$tmp"
}

build() { # dir [cmake args...]
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$ROOT/$dir" -G Ninja "$@"
  # Each Beast/CAF translation unit needs ~1.5 GB: two jobs fit every machine we target.
  cmake --build "$ROOT/$dir" -j 2
}

run_tests() { # dir timeout: every ctest entry, then a check that each Catch2 test case ran
  local dir=$1 log
  log=$(mktemp)
  if ! (cd "$ROOT/$dir" && ctest --output-on-failure --no-tests=error --timeout "$2" | tee "$log"); then
    # A long run's output is often cut in the middle: say again at the end what failed.
    echo "--- what failed in $dir (each script's FAIL lines, each Catch2 failure's place):"
    grep -E -A1 '^(FAIL - |.*FAILED:$)' "$log" | grep -v '^--$' | head -60
    rm -f "$log"
    return 1
  fi
  python3 "$ROOT/tests/check_test_count.py" "$ROOT/$dir" "$log"
  rm -f "$log"
}

case "${1:-}" in
  node)
    shift
    install_packages
    build build -DCMAKE_BUILD_TYPE=Release
    exec "$ROOT/build/apps/whisk-node" --host=127.0.0.1 --port=3233 --data-dir="$ROOT/whisk-data" "$@"
    ;;
  test)
    install_packages
    build build -DCMAKE_BUILD_TYPE=Release
    run_tests build 600
    ;;
  sanitize)
    install_packages
    build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHISK_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp" \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_tests build-asan 900
    ;;
  tsan)
    # ThreadSanitizer: every test but the V8 ones (libnode is not built for TSan: its threads
    # and allocator are invisible to it), so this build has no js:isolate.
    install_packages
    build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHISK_SANITIZE=thread -DWHISK_ISOLATES=OFF
    TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp second_deadlock_stack=1 history_size=4" run_tests build-tsan 1200
    ;;
  package)
    # The Debian package: build-deb/whisk_<version>_amd64.deb (CPack), Release, without
    # js:isolate (libnode108 cannot be installed beside the nodejs these machines carry).
    # tests/test_deb.sh installs it into this machine and checks it (CI only).
    install_packages
    cmake -S "$ROOT" -B "$ROOT/build-deb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
      -DWHISK_DEB=ON -DWHISK_TESTS=OFF -DWHISK_ISOLATES=OFF
    cmake --build "$ROOT/build-deb" -j 2 --target whisk-node whisk-agent whisk-scheduler whisk-controller whisk-admin whisk-sim whisk-cli
    (cd "$ROOT/build-deb" && cpack -G DEB)
    ;;
  fuzz)
    install_packages
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$ROOT/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DWHISK_FUZZ=ON -DWHISK_TESTS=OFF -DWHISK_ISOLATES=OFF
    cmake --build "$ROOT/build-fuzz" -j 2 --target whisk_fuzz
    "$ROOT/tests/fuzz/run.sh" "$ROOT/build-fuzz" "${2:-60}"
    ;;
  bench)
    PACKAGES+=(wrk)
    install_packages
    exec "$ROOT/benchmarks/suite.sh" "${2:-8}"
    ;;
  *)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
