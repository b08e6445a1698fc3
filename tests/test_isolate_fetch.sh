#!/usr/bin/env bash
# js:isolate end to end: an action that awaits a timer and fetches a test server's JSON
# through whisk-node, with the node told to let fetch reach 127.0.0.1
# (--isolate-fetch-allow), then the same action refused under the default network policy.
source "$(dirname "$0")/rest_lib.sh"
SERVER_PID=
# the server goes first: finish waits for every background job, the server's 120 s included
trap '[[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null; finish; exit $?' EXIT

# the test server: one JSON document on 127.0.0.1, a port of its own choosing, 120 s at most
timeout 120 python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"{\"from\":\"test server\",\"path\":\"" + self.path.encode() + b"\"}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()' "$DIR/port" &
SERVER_PID=$!
poll 10 test -s "$DIR/port" || { bad "the test server did not start"; exit 1; }
URL="http://127.0.0.1:$(cat "$DIR/port")/data.json"
curl -s -m 5 "$URL" | grep -q 'test server' && ok "the test server answers" || bad "the test server answers"

OUT=$(timeout 10 "$NODE_BIN" --port=0 --data-dir="$DIR/bad" --isolate-fetch-allow=127.0.0.1/99 2>&1)
RC=$?
[[ $RC == 2 && $OUT == *"--isolate-fetch-allow"*"no valid prefix length"* ]] && ok "a bad --isolate-fetch-allow stops whisk-node with exit 2 and the reason" || bad "bad --isolate-fetch-allow" "rc $RC: ${OUT: -300}"
HELP=$(timeout 10 "$NODE_BIN" --help 2>&1)
[[ $HELP == *"--isolate-fetch-allow"* ]] && ok "--help lists --isolate-fetch-allow" || bad "--help lists --isolate-fetch-allow"

start_node --stem-cells=none --isolate-fetch-allow=127.0.0.1/32
CODE='async function main(p) { await new Promise(r => setTimeout(r, 20)); const r = await fetch(p.url + \"?q=\" + encodeURIComponent(new URL(p.url).host)); return {status: r.status, body: await r.json()}; }'
put_action isofetch "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$CODE\"},\"limits\":{\"timeout\":5000}}"
req POST "$API/actions/isofetch?blocking=true" "{\"url\":\"$URL\"}"
expect 200 '"body":{"from":"test server","path":"/data.json?q=127.0.0.1%3A' "a js:isolate action awaits a timer and fetch of a test server (allowed) and returns its JSON"
[[ $(jpy "d['response']['result']['status']") == 200 ]] && ok "the fetched status is in the result" || bad "fetched status" "${BODY:0:300}"
stop_node

start_node --stem-cells=none
put_action isofetch "{\"exec\":{\"kind\":\"js:isolate\",\"code\":\"$CODE\"},\"limits\":{\"timeout\":5000}}"
req POST "$API/actions/isofetch?blocking=true" "{\"url\":\"$URL\"}"
expect 502 'refused by the network policy' "under the default policy the same fetch of 127.0.0.1 is refused (an application error)"
put_action isowait '{"exec":{"kind":"js:isolate","code":"async function main() { await new Promise(r => setTimeout(r, 10000)); return {}; }"},"limits":{"timeout":300}}'
req POST "$API/actions/isowait?blocking=true" '{}'
expect 502 'The action exceeded its time limits of 300 milliseconds.' "a js:isolate action waiting past its time limit ends with the timeout error"
stop_node
