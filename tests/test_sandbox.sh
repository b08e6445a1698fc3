#!/usr/bin/env bash
# The runtime sandbox end to end (process backend, default network): a nodejs and a python
# action try to reach the host — the store files and wskprops, /root, /home, the checkout,
# the host's /proc and /sys, another container's /tmp, whisk-node's port on 127.0.0.1 and
# through slirp's gateway, raw and packet sockets, mount, ptrace, unshare, module loading
# and the other refused system calls — and every attempt is asserted to fail, one by one,
# with its errno. Then what the runtime sees (root, devices, capabilities, seccomp, its
# network) and that each container's slirp4netns is gone after the node stopped or was killed.
source "$(dirname "$0")/rest_lib.sh"
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
# The data dir lies outside /tmp: a runtime's own /tmp would hide a data dir under /tmp anyway.
DATA=$(mktemp -d /var/tmp/whisk-sandbox-data.XXXXXX)
ln -s "$DATA" "$DIR/data"
trap 'finish; rc=$?; rm -rf "$DATA"; exit $rc' EXIT

action_body() { # kind file
  python3 -c 'import json, sys; print(json.dumps({"exec": {"kind": sys.argv[1], "code": open(sys.argv[2]).read()}, "limits": {"timeout": 30000}}))' "$1" "$2"
}

start_node --stem-cells=none
PORT=${APIHOST##*:}
PARAMS=$(printf '{"data":"%s","checkout":"%s","port":%s,"host_pid":%s}' "$DATA" "$CHECKOUT" "$PORT" "$PID")
check "the store and wskprops exist on the host (so a refusal means they are hidden)" \
  test -s "$DATA/whisk.db" -a -s "$DATA/wskprops"
check "whisk-node listens on 127.0.0.1:$PORT" eval 'curl -s -m 5 "$APIHOST/ping" | grep -q ok'

put_action probe-js "$(action_body nodejs:20 "$(dirname "$0")/sandbox/probe.js")"
put_action probe-py "$(action_body python:3 "$(dirname "$0")/sandbox/probe.py")"
req POST "$API/actions/probe-js?blocking=true&result=true" "$PARAMS"
expect 200 '"attempts"' "the nodejs probe ran"
JS_BODY=$BODY
check "the store file exists on the host while the probes run" test -s "$DATA/whisk.db-wal"
req POST "$API/actions/probe-py?blocking=true&result=true" "$PARAMS"
expect 200 '"attempts"' "the python probe ran"
PY_BODY=$BODY
SLIRPS=$(pgrep -P "$PID" -x slirp4netns | tr '\n' ' ')
[[ $(wc -w <<<"$SLIRPS") == 2 ]] && ok "one slirp4netns per container, children of whisk-node ($SLIRPS)" || bad "slirp4netns children" "$SLIRPS"

# check_probe LABEL BODY EXPECTATIONS(python dict literal: key -> list of accepted values)
# prints one "verdict<TAB>text" line per expectation, in order
check_probe() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
label, body, expected = sys.argv[1], json.loads(sys.argv[2]), eval(sys.argv[3])
attempts = body.get("attempts", {})
for key, accepted in expected.items():
    got = attempts.get(key, "<missing>")
    print("%s\t%s: %s -> %s" % ("ok" if got in accepted else "bad", label, key, got))
extra = sorted(set(attempts) - set(expected))
print("%s\t%s: every attempt is asserted (unasserted: %s)" % ("bad" if extra else "ok", label, extra))
PY
}
report() { # not in a pipeline: ok and bad must count in this shell
  while IFS=$'\t' read -r verdict text; do
    [[ $verdict == ok ]] && ok "$text" || bad "$text"
  done
}

HIDDEN="['refused: ENOENT']"
NO_LOOPBACK="['refused: ECONNREFUSED']"
# slirp4netns --disable-host-loopback answers a connection to 10.0.2.2 (the host) with a reset
NO_GATEWAY="['refused: ECONNREFUSED', 'refused: ENETUNREACH', 'refused: EHOSTUNREACH', 'refused: timeout']"
FILES="'read whisk.db': $HIDDEN, 'read whisk.db-wal': $HIDDEN, 'read wskprops': $HIDDEN, 'list /root': $HIDDEN,
  'list /home': $HIDDEN, 'list the checkout': $HIDDEN, \"read the host's /sys\": $HIDDEN,
  \"read whisk-node's environ\": $HIDDEN, 'connect to whisk-node on 127.0.0.1': $NO_LOOPBACK,
  'connect to whisk-node through the gateway': $NO_GATEWAY"
EPERM="['refused: EPERM']"
SYSCALLS="'raw socket': $EPERM, 'packet socket': $EPERM"
for call in mount umount2 pivot_root ptrace process_vm_readv unshare setns init_module finit_module delete_module \
  kexec_load bpf perf_event_open keyctl swapon reboot open_by_handle_at userfaultfd clock_settime settimeofday; do
  SYSCALLS+=", '$call': $EPERM"
done
report < <(check_probe nodejs "$JS_BODY" "{$FILES, 'write the root': ['refused: EROFS']}")
report < <(check_probe python "$PY_BODY" "{$FILES, 'read the other runtime\\'s /tmp file': $HIDDEN, $SYSCALLS}")

# What the runtimes see
BODY=$PY_BODY
check "python: it is pid 1 of its own pid namespace, and /proc/1 is itself" test "$(jpy "(d['facts']['pid'], d['facts']['pid 1'], d['facts']['pid 1 environ has PATH'])")" == "(1, 'python3', True)"
ROOT_OK="set(d['facts']['root']) <= {'bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr'} and {'usr', 'etc', 'tmp', 'proc', 'dev'} <= set(d['facts']['root'])"
DETAIL="root: $(jpy "d['facts']['root']")"
check "python: its root holds only usr, the lib/bin links, etc, dev, proc and tmp" test "$(jpy "$ROOT_OK")" == True
DETAIL="devices: $(jpy "d['facts']['devices']")"
check "python: /dev holds null, zero, full, random, urandom and the fd links only" test "$(jpy "d['facts']['devices'] == ['fd', 'full', 'null', 'random', 'stderr', 'stdin', 'stdout', 'urandom', 'zero'] and d['facts']['urandom'] == 16")" == True
check "python: runs as nobody (65534)" test "$(jpy "d['facts']['uid']")" == 65534
check "python: seccomp filter mode (Seccomp: 2) and no_new_privs" test "$(jpy "(d['facts']['Seccomp'], d['facts']['NoNewPrivs'])")" == "('2', '1')"
DETAIL="caps: $(jpy "d['facts']['caps']")"
check "python: no capabilities in any set (inheritable, permitted, effective, bounding, ambient)" test "$(jpy "set(d['facts']['caps'])")" == "{'0000000000000000'}"
check "python: its own network: a default route through tap0 (slirp4netns), never used here" test "$(jpy "d['facts']['default route']")" == "['tap0']"
check "python: resolv.conf names slirp's resolver" test "$(jpy "d['facts']['dns']")" == "nameserver 10.0.2.3"
BODY=$JS_BODY
check "nodejs: pid 1 of its own pid namespace, /proc/1 is node" test "$(jpy "(d['facts']['pid'], d['facts']['pid 1'])")" == "(1, 'node')"
DETAIL="interfaces: $(jpy "d['facts']['interfaces']")"
check "nodejs: interfaces lo and tap0 (10.0.2.100) only" test "$(jpy "d['facts']['interfaces']")" == "['lo 127.0.0.1', 'tap0 10.0.2.100']"
check "nodejs: its own /tmp is writable" test "$(jpy "d['facts']['own /tmp']")" == "node was here"

stop_node
gone() { for p in $SLIRPS; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
check "every slirp4netns ended with whisk-node" poll 5 gone

# A node killed outright: its containers' network stacks end by themselves (--exit-fd).
start_node --stem-cells=python:3:128:2
check "two stem cells started" poll 15 eval '[[ $(metric stem_cells) == 2 ]]'
SLIRPS=$(pgrep -P "$PID" -x slirp4netns | tr '\n' ' ')
[[ $(wc -w <<<"$SLIRPS") == 2 ]] && ok "a slirp4netns per stem cell ($SLIRPS)" || bad "slirp4netns per stem cell" "$SLIRPS"
kill_node
check "after SIGKILL of whisk-node every slirp4netns ended" poll 5 gone
start_node --stem-cells=none # removes the cgroups the killed node left behind
stop_node
