#include "whisk/container/runtimes.hpp"

#include <cstdlib>
#include <sstream>
#include <unistd.h>

namespace whisk::container {

namespace {

// The action loop for node: readiness on fd 3, one init line, then one line per run.
// Serial (the default): runs one after another, output cut by the host's sentinels.
// Concurrent (init says "concurrent", an action with concurrency > 1): a run line is
// "<id> <json>" and its answer "<id> <json>"; runs go side by side, and every line of
// console or process.stdout/stderr output carries its activation's tag "\x1e<id>\x1f"
// (found through AsyncLocalStorage), ended by the tagged sentinel before the answer.
// Output outside any running activation (a timer left behind) goes out untagged.
constexpr const char* node_launcher = R"JS(
'use strict';
const fs = require('fs');
function reply(obj, id) {
  let s;
  try { s = JSON.stringify(obj); } catch (e) { s = JSON.stringify({error: 'The action result could not be serialized: ' + e.message}); }
  if (s === undefined) s = '{}';
  fs.writeSync(3, (id === undefined ? '' : id + ' ') + s + '\n');
}
// stdout/stderr on a full pipe queue writes: answer only once they are written, so the
// host's log cut after the answer is exact.
// ('drain' fires only after a write returned false, so poll; this path is rare.)
function flushed() {
  return new Promise(resolve => {
    const check = () => (outputPending() ? setTimeout(check, 1) : resolve());
    check();
  });
}
function outputPending() { return process.stdout.writableLength > 0 || process.stderr.writableLength > 0; }
function errorAnswer(e) {
  if (e && typeof e === 'object' && !(e instanceof Error) && 'error' in e) return e;
  return {error: e instanceof Error ? 'An error has occurred: ' + e : e};
}
let main = null;
function init(msg) {
  for (const [k, v] of Object.entries(msg.env || {})) process.env[k] = typeof v === 'string' ? v : JSON.stringify(v);
  const name = msg.main || 'main';
  let code = msg.code || '';
  if (msg.binary) code = Buffer.from(code, 'base64').toString('utf8');
  const mod = {exports: {}};
  const factory = new Function('exports', 'require', 'module', '__filename', '__dirname',
    code + '\n;return typeof ' + name + " === 'function' ? " + name + ' : undefined;');
  let fn = factory(mod.exports, require, mod, '/tmp/action.js', '/tmp');
  if (typeof fn !== 'function' && mod.exports) fn = mod.exports[name];
  if (typeof fn !== 'function' && typeof mod.exports === 'function') fn = mod.exports;
  if (typeof fn !== 'function') throw new Error("the action does not define a function '" + name + "'");
  main = fn;
  if (msg.concurrent) goConcurrent();
}
async function run(msg) {
  for (const [k, v] of Object.entries(msg)) if (k !== 'value') process.env['__OW_' + k.toUpperCase()] = String(v);
  try {
    let r = await main(msg.value === undefined ? {} : msg.value);
    if (r === undefined || r === null) r = {};
    if (outputPending()) await flushed();
    reply(r);
  } catch (e) {
    if (outputPending()) await flushed();
    reply(errorAnswer(e));
  }
}
async function handle(line) {
  let msg;
  try { msg = JSON.parse(line); } catch (e) { reply({error: 'bad message: ' + e.message}); return; }
  if (main === null) {
    try { init(msg); reply({ok: true}); } catch (e) { reply({error: String(e && e.message || e)}); }
    return;
  }
  await run(msg);
}

// ---- concurrent runs ----
let concurrent = false, als = null;
const raw = {};                            // the streams' own write functions
const outside = {tag: '', out: '', err: ''}; // output of no running activation
function active() { const a = als.getStore(); return a && !a.done ? a : undefined; }
function tagStream(stream, key) {
  const write = raw[key] = stream.write.bind(stream);
  stream.write = (chunk, encoding, cb) => {
    if (typeof encoding === 'function') { cb = encoding; encoding = undefined; }
    const a = active() || outside;
    if (typeof chunk !== 'string') chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    else if (encoding && !/^utf-?8$/i.test(encoding)) chunk = Buffer.from(chunk, encoding).toString('utf8');
    const text = a[key] + chunk;
    let end = text.lastIndexOf('\n');
    if (end < 0 && text.length < 65536) { a[key] = text; if (cb) process.nextTick(cb); return true; } // a line in the making
    if (end < 0) end = text.length; // (a line that never ends: out once past 64 KB)
    a[key] = text.slice(end + 1);
    const lines = text.slice(0, end);
    return write(a.tag === '' ? lines + '\n' : a.tag + lines.split('\n').join('\n' + a.tag) + '\n', cb);
  };
}
function finish(a, answer) {
  if (a.done) return;
  a.done = true;
  for (const key of ['out', 'err']) {
    const rest = a[key];
    a[key] = '';
    raw[key]((rest === '' ? '' : a.tag + rest + '\n') + a.tag + 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n');
  }
  (outputPending() ? flushed() : Promise.resolve()).then(() => reply(answer, a.id));
}
// An exception no code caught ends the activation it came from; with none, the runtime.
function uncaught(e) {
  const a = active();
  if (a === undefined) {
    raw.err(String(e && e.stack || e) + '\n');
    process.exit(1);
  }
  process.stderr.write(String(e && e.stack || e) + '\n');
  finish(a, errorAnswer(e));
}
function goConcurrent() {
  concurrent = true;
  als = new (require('async_hooks').AsyncLocalStorage)();
  tagStream(process.stdout, 'out');
  tagStream(process.stderr, 'err');
  // __OW_* variables of the activation reading them (the shared ones hold the latest run's)
  const env = process.env;
  process.env = new Proxy(env, {
    get(t, k) {
      const a = active();
      return a && typeof k === 'string' && Object.prototype.hasOwnProperty.call(a.env, k) ? a.env[k] : t[k];
    },
    set(t, k, v) { t[k] = v; return true; }, // (process.env takes whole data properties only)
  });
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
}
function runConcurrent(line) {
  const sp = line.indexOf(' ');
  const id = line.slice(0, sp);
  let msg;
  try { msg = JSON.parse(line.slice(sp + 1)); } catch (e) { reply({error: 'bad message: ' + e.message}, id); return; }
  const a = {id, tag: '\x1e' + id + '\x1f', out: '', err: '', env: {}, done: false};
  for (const [k, v] of Object.entries(msg)) if (k !== 'value') process.env['__OW_' + k.toUpperCase()] = a.env['__OW_' + k.toUpperCase()] = String(v);
  als.run(a, async () => {
    try {
      let r = await main(msg.value === undefined ? {} : msg.value);
      finish(a, r === undefined || r === null ? {} : r);
    } catch (e) {
      finish(a, errorAnswer(e));
    }
  });
}

// Lines of stdin split here, not by node:readline (loading it cost ~1.3 ms of every cold
// start, measured); a line's pieces are joined once its end arrives.
let chain = Promise.resolve();
let pieces = [];
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => {
  let start = 0, nl;
  while ((nl = chunk.indexOf('\n', start)) >= 0) {
    pieces.push(chunk.slice(start, nl));
    const line = pieces.join('');
    pieces = [];
    start = nl + 1;
    if (concurrent) runConcurrent(line); else chain = chain.then(() => handle(line));
  }
  if (start < chunk.length) pieces.push(chunk.slice(start));
}).on('end', () => process.exit(0));
reply({ok: true});
)JS";

// The action loop for python (and the native launcher, which execs the executable).
// base64 and traceback are imported where they are used: importing them before the ready
// line cost ~3 ms of every cold start (measured).
constexpr const char* python_launcher = R"PY(
import sys, os, json
def reply(o):
    sys.stdout.flush(); sys.stderr.flush()
    try:
        s = json.dumps(o)
    except Exception as e:
        s = json.dumps({"error": "The action result could not be serialized: %s" % e})
    os.write(3, (s + "\n").encode())
kind = sys.argv[1] if len(sys.argv) > 1 else "python"
reply({"ok": True})
main = None
while True:
    line = sys.stdin.readline()
    if not line:
        break
    try:
        msg = json.loads(line)
    except Exception as e:
        reply({"error": "bad message: %s" % e}); continue
    if main is None:
        try:
            for k, v in (msg.get("env") or {}).items():
                os.environ[k] = v if isinstance(v, str) else json.dumps(v)
            code = msg.get("code") or ""
            name = msg.get("main") or "main"
            if kind == "native":
                import base64
                data = base64.b64decode(code) if msg.get("binary") else code.encode()
                os.makedirs("/tmp/action", exist_ok=True)
                path = "/tmp/action/exec"
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, 0o755)
                os.environ["__OW_WAIT_FOR_ACK"] = "1"
                sys.stdout.flush(); sys.stderr.flush()
                os.execv(path, [path])
            if msg.get("binary"):
                import base64
                code = base64.b64decode(code).decode()
            g = {"__name__": "__main__"}
            exec(compile(code, "__main__.py", "exec"), g)
            main = g.get(name)
            if not callable(main):
                main = None
                raise Exception("the action does not define a function '%s'" % name)
            reply({"ok": True})
        except Exception as e:
            reply({"error": "%s: %s" % (type(e).__name__, e)})
        continue
    for k, v in msg.items():
        if k != "value":
            os.environ["__OW_" + k.upper()] = str(v)
    try:
        r = main(msg.get("value") or {})
        reply({} if r is None else r)
    except Exception as e:
        import traceback
        traceback.print_exc()
        reply({"error": "%s: %s" % (type(e).__name__, e)})
)PY";

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

} // namespace

std::optional<runtime_command> runtime_for(const std::string& kind) {
  if (kind.rfind("nodejs", 0) == 0) {
    static const std::string node = find_on_path("node");
    if (node.empty())
      return std::nullopt;
    return runtime_command{node, {"node", "-e", node_launcher}};
  }
  if (kind == "python:3" || kind == "native") {
    const std::string python = "/usr/bin/python3";
    if (::access(python.c_str(), X_OK) != 0)
      return std::nullopt;
    if (kind == "native") // the launcher only writes and execs the executable: skip site setup
      return runtime_command{python, {"python3", "-S", "-c", python_launcher, "native"}};
    return runtime_command{python, {"python3", "-c", python_launcher, "python"}};
  }
  return std::nullopt;
}

} // namespace whisk::container
