// Run as a nodejs:20 action by tests/test_sandbox.sh: the file and network attempts of
// probe.py from node ("refused: <code>" or "ALLOWED: ..."), and a file in its own /tmp.
const fs = require('fs');
const net = require('net');
const os = require('os');

function attempt(fn) {
  try { return 'ALLOWED: ' + JSON.stringify(fn()).slice(0, 80); } catch (e) { return 'refused: ' + (e.code || e.message); }
}
function connect(host, port) {
  return new Promise(resolve => {
    const s = net.connect({host, port});
    const done = what => { s.destroy(); clearTimeout(t); resolve(what); };
    const t = setTimeout(() => done('refused: timeout'), 2000);
    s.on('connect', () => done('ALLOWED: connected'));
    s.on('error', e => done('refused: ' + e.code));
  });
}

async function main({data, checkout, port, host_pid}) {
  fs.writeFileSync('/tmp/written-by-node', 'node was here');
  const r = {
    'read whisk.db': attempt(() => fs.readFileSync(data + '/whisk.db').length),
    'read whisk.db-wal': attempt(() => fs.readFileSync(data + '/whisk.db-wal').length),
    'read wskprops': attempt(() => fs.readFileSync(data + '/wskprops', 'utf8')),
    'list /root': attempt(() => fs.readdirSync('/root')),
    'list /home': attempt(() => fs.readdirSync('/home')),
    'list the checkout': attempt(() => fs.readdirSync(checkout)),
    "read the host's /sys": attempt(() => fs.readdirSync('/sys/kernel')),
    "read whisk-node's environ": attempt(() => fs.readFileSync(`/proc/${host_pid}/environ`).length),
    'write the root': attempt(() => fs.writeFileSync('/etc/probe', 'x')),
    'connect to whisk-node on 127.0.0.1': await connect('127.0.0.1', port),
    'connect to whisk-node through the gateway': await connect('10.0.2.2', port),
  };
  const facts = {
    pid: process.pid,
    'pid 1': fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0')[0],
    root: fs.readdirSync('/').sort(),
    interfaces: Object.entries(os.networkInterfaces()).map(([n, as]) => n + ' ' + as.filter(a => a.family === 'IPv4').map(a => a.address).join(',')).sort(),
    'own /tmp': fs.readFileSync('/tmp/written-by-node', 'utf8'),
  };
  return {attempts: r, facts};
}
