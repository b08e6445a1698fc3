#!/usr/bin/python3
# A small runtime for tests/test_http_runtime.sh, written for whisk's tests: it serves
# OpenWhisk's runtime protocol on port 8080 with Python's http.server. POST /init takes
# {"value": {"code", "main", "binary", "env"}} and defines the action's function; POST /run
# takes {"value": params, "namespace", "action_name", "activation_id", "deadline", ...},
# exposes the context as __OW_* variables, calls the function, and after each activation
# ends its stdout and stderr with the sentinel line.
#   RUNTIME_INIT_FAILS=1  every /init answers 500 with a text body (not the protocol's JSON)
import base64
import json
import os
import sys
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
CONTAINER = uuid.uuid4().hex  # tells the test which container ran an activation
os.environ["RUNTIME_CONTAINER"] = CONTAINER
action = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):  # no access log: stderr belongs to the activations
        pass

    def answer(self, status, obj, text=None):
        body = (text if text is not None else json.dumps(obj)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def message(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_POST(self):
        try:
            msg = self.message()
        except Exception as e:
            return self.answer(400, {"error": "bad request: %s" % e})
        if self.path == "/init":
            return self.init(msg.get("value") or {})
        if self.path == "/run":
            return self.run(msg)
        self.answer(404, {"error": "no route %s" % self.path})

    def init(self, value):
        global action
        if os.environ.get("RUNTIME_INIT_FAILS") == "1":
            return self.answer(500, None, text="this runtime refuses every action")
        if action is not None:
            return self.answer(403, {"error": "Cannot initialize the action more than once."})
        try:
            for k, v in (value.get("env") or {}).items():
                os.environ[k] = v if isinstance(v, str) else json.dumps(v)
            code = value.get("code") or ""
            if value.get("binary"):
                code = base64.b64decode(code).decode()
            scope = {"__name__": "__main__"}
            exec(compile(code, "__main__.py", "exec"), scope)
            fn = scope.get(value.get("main") or "main")
            if not callable(fn):
                raise Exception("the action defines no function '%s'" % (value.get("main") or "main"))
            action = fn
        except Exception as e:
            print("init failed: %s" % e, file=sys.stderr, flush=True)
            return self.answer(502, {"error": "The action failed to load: %s: %s" % (type(e).__name__, e)})
        self.answer(200, {"ok": True})

    def run(self, msg):
        if action is None:
            return self.answer(403, {"error": "The action has not been initialized."})
        for k, v in msg.items():
            if k != "value":
                os.environ["__OW_" + k.upper()] = str(v)
        status, result = 200, None
        try:
            result = action(msg.get("value") or {})
            if not isinstance(result, dict):
                status, result = 502, {"error": "The action did not return a dictionary."}
        except Exception as e:
            traceback.print_exc()
            status, result = 502, {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.flush()
        sys.stderr.flush()
        print(SENTINEL, flush=True)
        print(SENTINEL, file=sys.stderr, flush=True)
        self.answer(status, result)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
