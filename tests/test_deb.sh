#!/usr/bin/env bash
# The Debian package on this machine (root; it installs into the system, so .ci/run calls it
# and ctest does not): dpkg -i, then what the package promises: the files, the whisk user,
# /var/lib/whisk, the conffile, the service unit; the installed whisk-node answers --help
# and serves as the whisk user with the installed configuration (sim backend: no
# capabilities needed); the consumer test against /usr.
# usage: test_deb.sh path/to/whisk_VERSION_amd64.deb
set -euo pipefail
deb=${1:?usage: test_deb.sh path/to/whisk_VERSION_amd64.deb}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

echo "== dpkg -i $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
dpkg -s whisk | grep -q '^Status: install ok installed' || fail "whisk is not installed"

for f in /usr/bin/whisk-node /usr/bin/whisk-agent /usr/bin/whisk-scheduler /usr/bin/whisk-controller \
         /usr/bin/whisk-admin /usr/bin/whisk-sim /usr/bin/whisk /lib/systemd/system/whisk-node.service /etc/whisk/whisk-node.ini; do
  [[ -e $f ]] || fail "$f is missing"
done
dpkg-query -W -f='${Conffiles}\n' whisk | grep -q /etc/whisk/whisk-node.ini || fail "whisk-node.ini is not a conffile"
getent passwd whisk >/dev/null || fail "no whisk user"
[[ $(stat -c %U:%a /var/lib/whisk) == whisk:750 ]] || fail "/var/lib/whisk is $(stat -c %U:%a /var/lib/whisk)"
[[ $(stat -c %U:%G:%a /etc/whisk/whisk-node.ini) == root:whisk:640 ]] || fail "whisk-node.ini is $(stat -c %U:%G:%a /etc/whisk/whisk-node.ini)"
systemd-analyze verify /lib/systemd/system/whisk-node.service || fail "the unit does not verify"

echo "== whisk-node --help"
/usr/bin/whisk-node --help 2>&1 | grep -q -- '--config-file' || fail "whisk-node --help"

echo "== whisk-node as whisk with /etc/whisk/whisk-node.ini (sim backend, a free port)"
log=$(mktemp)
cd /var/lib/whisk
setpriv --reuid=whisk --regid=whisk --init-groups /usr/bin/whisk-node --config-file=/etc/whisk/whisk-node.ini --backend=sim --port=0 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'credentials for namespace' "$log" && break; sleep 0.1; done
grep -q 'credentials for namespace' "$log" || { cat "$log"; kill "$pid" 2>/dev/null; fail "whisk-node did not start"; }
[[ -s /var/lib/whisk/wskprops ]] || { cat "$log"; kill "$pid"; fail "no /var/lib/whisk/wskprops"; }
kill -TERM "$pid"
wait "$pid" || { cat "$log"; fail "whisk-node did not stop cleanly"; }
cd - >/dev/null
rm -f "$log"

echo "== the consumer test against /usr"
"$here/test_consumer.sh" --prefix /usr
echo "deb test passed"
