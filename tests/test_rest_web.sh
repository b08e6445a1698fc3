#!/usr/bin/env bash
# Web actions end to end through a real whisk-node: each extension (.json .http .html .text
# .svg, none), the __ow_ parameters, raw-http, final, require-whisk-auth (a secret and a
# key), binary bodies both ways, errors; and the x-openwhisk-activation-id header.
# Starts whisk-node (process backend) on 127.0.0.1 with a fresh data dir and stops it.
source "$(dirname "$0")/rest_lib.sh"
trap 'finish; exit $?' EXIT

start_node --stem-cells=none
WEB="$APIHOST/api/v1/web/guest"

py_action() { # NAME CODE ANNOTATIONS_JSON [PARAMETERS_JSON]
  local body
  body=$(python3 -c 'import json, sys
print(json.dumps({"exec": {"kind": "python:3", "code": sys.argv[1]}, "annotations": json.loads(sys.argv[2]),
                  "parameters": json.loads(sys.argv[3])}))' "$2" "$3" "${4:-[]}")
  req PUT "$API/actions/$1?overwrite=true" "$body"
  [[ $STATUS == 200 ]] || bad "create $1" "$STATUS $BODY"
}
WEB_ON='[{"key":"web-export","value":true}]'

# web GET|POST URL [curl options...] -> STATUS, BODY, HEADERS (no credentials unless given)
web() {
  local method=$1 url=$2
  shift 2
  local out
  out=$(curl -s -m 30 -X "$method" -D "$DIR/headers" -o "$DIR/body" -w '%{http_code}' "$@" "$url")
  STATUS=$out
  BODY=$(tr -d '\000' <"$DIR/body") # (bash drops NUL bytes anyway; binary bodies are read from the file)
  HEADERS=$(tr -d '\r' <"$DIR/headers")
}
header() { grep -i "^$1:" <<<"$HEADERS" | head -1 | cut -d' ' -f2-; }

py_action echo 'def main(a): return a' "$WEB_ON" '[{"key":"fixed","value":"from-action"}]'
web GET "$WEB/default/echo.json?name=ada&n=1"
[[ $STATUS == 200 && $(jpy 'd["name"], d["n"], d["fixed"], d["__ow_method"], d["__ow_path"]') == "('ada', '1', 'from-action', 'get', '')" ]] &&
  ok ".json: query parameters merged over the action's, with __ow_method and __ow_path" || bad ".json GET" "$STATUS $BODY"
web POST "$WEB/default/echo.json" -H 'Content-Type: application/json' -H 'X-Test: yes' --data '{"name":"bob"}'
[[ $STATUS == 200 && $(jpy 'd["name"], d["__ow_method"], d["__ow_headers"]["x-test"]') == "('bob', 'post', 'yes')" ]] &&
  ok ".json: a JSON body merged, headers in __ow_headers (lower case)" || bad ".json POST" "$STATUS $BODY"
[[ $(jpy '"authorization" in d["__ow_headers"]') == False ]] && ok "no authorization header reaches the action" || bad "authorization header" "$BODY"
AID=$(header x-openwhisk-activation-id)
[[ ${#AID} == 32 ]] && ok "the answer carries x-openwhisk-activation-id" || bad "activation id header" "$HEADERS"
web POST "$WEB/default/echo.json" -H 'Content-Type: application/x-www-form-urlencoded' --data 'name=carol&city=x+y'
[[ $(jpy 'd["name"], d["city"]') == "('carol', 'x y')" ]] && ok ".json: a form body merged" || bad "form body" "$BODY"
web GET "$WEB/default/echo.json/__ow_headers/host"
[[ $STATUS == 200 && $BODY == "\"127.0.0.1:"* ]] && ok ".json with a path projects the result (__ow_headers/host)" || bad "projection" "$STATUS $BODY"
web GET "$WEB/default/echo.json/nothing"
[[ $STATUS == 404 ]] && ok "a projection of a missing property is 404" || bad "missing projection" "$STATUS $BODY"
web POST "$WEB/default/echo.json" -H 'Content-Type: text/plain' --data 'plain words'
[[ $(jpy 'd["__ow_body"]') == "plain words" ]] && ok "a text body arrives as __ow_body" || bad "text body" "$BODY"
printf '\x00\x01\x02\xff' >"$DIR/bin"
web POST "$WEB/default/echo.json" -H 'Content-Type: application/octet-stream' --data-binary "@$DIR/bin"
[[ $(jpy 'd["__ow_body"]') == "AAEC/w==" ]] && ok "a binary body arrives base64 in __ow_body" || bad "binary body" "$BODY"

# .http
py_action page 'def main(a): return {"statusCode": 201, "headers": {"content-type": "text/plain", "X-Custom": "yes"}, "body": "made " + a.get("__ow_path", "")}' "$WEB_ON"
web GET "$WEB/default/page.http/sub/dir"
[[ $STATUS == 201 && $BODY == "made /sub/dir" && $(header x-custom) == yes && $(header content-type) == text/plain* ]] &&
  ok ".http: statusCode, headers and body as the action says, __ow_path is the rest of the path" || bad ".http" "$STATUS $BODY $HEADERS"
web GET "$WEB/default/page"
[[ $STATUS == 201 && $BODY == "made " ]] && ok "no extension is .http" || bad "no extension" "$STATUS $BODY"
py_action png 'import base64
def main(a): return {"headers": {"Content-Type": "image/png"}, "body": base64.b64encode(bytes([137, 80, 78, 71, 0, 255])).decode()}' "$WEB_ON"
web GET "$WEB/default/png.http"
[[ $STATUS == 200 && $(od -An -tu1 "$DIR/body" | tr -s ' ') == " 137 80 78 71 0 255" && $(header content-type) == image/png ]] &&
  ok ".http: a base64 body of a binary type is sent as bytes" || bad "binary answer" "$STATUS $(od -An -tu1 "$DIR/body")"
py_action jsonbody 'def main(a): return {"body": {"k": [1, 2]}}' "$WEB_ON"
web GET "$WEB/default/jsonbody.http"
[[ $STATUS == 200 && $BODY == '{"k":[1,2]}' && $(header content-type) == application/json* ]] && ok ".http: an object body is JSON" || bad "json body" "$STATUS $BODY"
py_action badstatus 'def main(a): return {"statusCode": "teapot"}' "$WEB_ON"
web GET "$WEB/default/badstatus.http"
[[ $STATUS == 400 && $BODY == *statusCode* ]] && ok ".http: a bad statusCode is a 400 that says so" || bad "bad statusCode" "$STATUS $BODY"

# .html .text .svg
py_action doc 'def main(a): return {"html": "<p>hi</p>", "text": "just text", "svg": "<svg/>"}' "$WEB_ON"
web GET "$WEB/default/doc.html"
[[ $STATUS == 200 && $BODY == "<p>hi</p>" && $(header content-type) == text/html* ]] && ok ".html serves result.html" || bad ".html" "$STATUS $BODY"
web GET "$WEB/default/doc.text"
[[ $STATUS == 200 && $BODY == "just text" && $(header content-type) == text/plain* ]] && ok ".text serves result.text" || bad ".text" "$STATUS $BODY"
web GET "$WEB/default/doc.svg"
[[ $STATUS == 200 && $BODY == "<svg/>" && $(header content-type) == image/svg+xml* ]] && ok ".svg serves result.svg" || bad ".svg" "$STATUS $BODY"
web GET "$WEB/default/echo.html"
[[ $STATUS == 404 ]] && ok ".html of a result without html is refused" || bad ".html without html" "$STATUS $BODY"

# errors and what is not exported
py_action hidden 'def main(a): return {}' '[]'
web GET "$WEB/default/hidden.json"
[[ $STATUS == 404 ]] && ok "an action without web-export is not served" || bad "not exported" "$STATUS $BODY"
web GET "$WEB/default/nope.json"
[[ $STATUS == 404 ]] && ok "a missing action is 404" || bad "missing" "$STATUS"
py_action failing 'def main(a): return {"error": "no way"}' "$WEB_ON"
web GET "$WEB/default/failing.json"
[[ $STATUS == 400 && $(jpy 'd["error"]') == "no way" ]] && ok "an application error is a 400 with its error" || bad "application error" "$STATUS $BODY"
py_action crashing 'def main(a): raise Exception("boom")' "$WEB_ON"
web GET "$WEB/default/crashing.json"
[[ $STATUS == 400 || $STATUS == 502 ]] && ok "an action that raises is an error answer ($STATUS)" || bad "raising action" "$STATUS $BODY"

# raw-http
py_action raw 'def main(a): return {"q": a.get("__ow_query"), "b": a.get("__ow_body"), "name": a.get("name")}' \
  '[{"key":"web-export","value":true},{"key":"raw-http","value":true}]'
web POST "$WEB/default/raw.json?name=ada&x=1" -H 'Content-Type: application/json' --data '{"name":"bob"}'
[[ $(jpy 'd["q"], d["b"], d["name"]') == "('name=ada&x=1', '{\"name\":\"bob\"}', None)" ]] &&
  ok "raw-http: the query and body arrive as they were sent, not merged" || bad "raw-http" "$BODY"

# final
py_action fixed 'def main(a): return {"v": a["v"]}' '[{"key":"web-export","value":true},{"key":"final","value":true}]' '[{"key":"v","value":"kept"}]'
web GET "$WEB/default/fixed.json"
[[ $STATUS == 200 && $(jpy 'd["v"]') == kept ]] && ok "final: the action's parameter is used" || bad "final" "$STATUS $BODY"
web GET "$WEB/default/fixed.json?v=override"
[[ $STATUS == 400 && $BODY == *"not allowed"* ]] && ok "final: a request that overrides it is refused" || bad "final override" "$STATUS $BODY"

# require-whisk-auth
py_action secret 'def main(a): return {"ok": True}' '[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":"s3cret"}]'
web GET "$WEB/default/secret.json"
[[ $STATUS == 401 ]] && ok "require-whisk-auth: no secret is 401" || bad "no secret" "$STATUS"
web GET "$WEB/default/secret.json" -H 'X-Require-Whisk-Auth: wrong'
[[ $STATUS == 401 ]] && ok "require-whisk-auth: a wrong secret is 401" || bad "wrong secret" "$STATUS"
web GET "$WEB/default/secret.json" -H 'X-Require-Whisk-Auth: s3cret'
[[ $STATUS == 200 ]] && ok "require-whisk-auth: the secret opens it" || bad "secret" "$STATUS $BODY"
py_action keyed 'def main(a): return {"user": a.get("__ow_user")}' '[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":true}]'
web GET "$WEB/default/keyed.json"
[[ $STATUS == 401 ]] && ok "require-whisk-auth true: no key is 401" || bad "no key" "$STATUS"
web GET "$WEB/default/keyed.json" -u "$AUTH"
[[ $STATUS == 200 && $(jpy 'd["user"]') == guest ]] && ok "require-whisk-auth true: a valid key opens it, __ow_user names it" || bad "key" "$STATUS $BODY"

# a web action in a package, and the CORS-free basics
req PUT "$API/packages/site" '{"parameters":[{"key":"from","value":"package"}]}'
py_action site/hello 'def main(a): return {"from": a.get("from")}' "$WEB_ON"
web GET "$WEB/site/hello.json"
[[ $STATUS == 200 && $(jpy 'd["from"]') == package ]] && ok "a web action in a package gets the package's parameters" || bad "package web action" "$STATUS $BODY"

# the header on ordinary invokes too
req POST "$API/actions/hidden?blocking=true" '{}'
H=$(curl -s -m 30 -D - -o /dev/null -u "$AUTH" -X POST "$API/actions/hidden?blocking=true" | tr -d '\r' | grep -i '^x-openwhisk-activation-id:')
[[ -n "$H" ]] && ok "a blocking invoke's answer carries x-openwhisk-activation-id" || bad "invoke header"
H=$(curl -s -m 30 -D - -o /dev/null -u "$AUTH" -X POST "$API/actions/hidden" | tr -d '\r' | grep -i '^x-openwhisk-activation-id:')
[[ -n "$H" ]] && ok "a non-blocking invoke's 202 carries x-openwhisk-activation-id" || bad "202 header"
stop_node
