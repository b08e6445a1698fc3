#pragma once
// The JS half of the host API (host_api.cpp has the native half): the Web API built on the
// trampolines. Private to the isolate layer; run once in every new context, from V8's code
// cache after the first time in a process.

namespace whisk::isolate {

// `native` holds the trampolines of host_api.cpp, `global` is the context's global.
inline constexpr const char* prelude_source = R"js(
(function (native, global) {
'use strict';
const U8 = Uint8Array;
const def = (name, value) => Object.defineProperty(global, name, {value, writable: true, configurable: true, enumerable: false});

// ---- timers and microtasks ----
def('setTimeout', function setTimeout(callback, ms, ...args) { return native.timer(callback, ms, false, args); });
def('setInterval', function setInterval(callback, ms, ...args) { return native.timer(callback, ms, true, args); });
def('clearTimeout', function clearTimeout(id) { native.clearTimer(id); });
def('clearInterval', function clearInterval(id) { native.clearTimer(id); });
def('queueMicrotask', function queueMicrotask(callback) {
  if (typeof callback !== 'function') throw new TypeError('queueMicrotask: the callback must be a function');
  Promise.resolve().then(() => callback());
});

class DOMException extends Error {
  constructor(message = '', name = 'Error') { super(message); this.name = name; }
}
def('DOMException', DOMException);

// ---- encoding ----
class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return native.utf8Encode(String(input)); }
}
class TextDecoder {
  #fatal; #ignoreBOM;
  constructor(label = 'utf-8', options = {}) {
    const l = String(label).trim().toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8')
      throw new RangeError(`TextDecoder: the encoding '${label}' is not supported (UTF-8 only)`);
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input = undefined) {
    if (input === undefined) return '';
    const bytes = input instanceof ArrayBuffer ? new U8(input) : input;
    if (!ArrayBuffer.isView(bytes)) throw new TypeError('TextDecoder: the input must be an ArrayBuffer or a view of one');
    const s = native.utf8Decode(bytes, this.#fatal);
    return !this.#ignoreBOM && s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }
}
def('TextEncoder', TextEncoder);
def('TextDecoder', TextDecoder);

const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const b64index = new Map([...b64].map((c, i) => [c, i]));
def('btoa', function btoa(data) {
  const s = String(data);
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = i + 1 < s.length ? s.charCodeAt(i + 1) : -1, c = i + 2 < s.length ? s.charCodeAt(i + 2) : -1;
    if (a > 255 || b > 255 || c > 255) throw new DOMException('btoa: the string has characters outside Latin1', 'InvalidCharacterError');
    const n = (a << 16) | (Math.max(b, 0) << 8) | Math.max(c, 0);
    out += b64[n >> 18] + b64[(n >> 12) & 63] + (b < 0 ? '=' : b64[(n >> 6) & 63]) + (c < 0 ? '=' : b64[n & 63]);
  }
  return out;
});
def('atob', function atob(data) {
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new DOMException('atob: the string is not valid base64', 'InvalidCharacterError');
  let out = '', bits = 0, n = 0;
  for (let i = 0; i < s.length; i++) {
    n = ((n << 6) | b64index.get(s[i])) & 0xffffff;
    bits += 6;
    if (bits >= 8) { bits -= 8; out += String.fromCharCode((n >> bits) & 255); }
  }
  return out;
});

// ---- crypto and cloning ----
const crypto = Object.freeze({
  getRandomValues(array) { return native.randomFill(array); },
  randomUUID() {
    const b = native.randomFill(new U8(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
});
def('crypto', crypto);
def('structuredClone', function structuredClone(value) {
  try { return native.clone(value); } catch (e) { throw new DOMException(String(e && e.message || e), 'DataCloneError'); }
});

// ---- URL and URLSearchParams (special schemes have a host; others keep an opaque path) ----
const specialPorts = {'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21', 'file:': ''};
const escapeSet = (s, re) => s.replace(re, c => { try { return encodeURIComponent(c); } catch { return '%EF%BF%BD'; } });
const encodePath = s => escapeSet(s, /[^\x21-\x7e]|["<>`{}#?]/gu);
const encodeQuery = s => escapeSet(s, /[^\x21-\x7e]|["<>#]/gu);
const encodeHash = s => escapeSet(s, /[^\x21-\x7e]|["<>`]/gu);
const formEncode = s => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const formDecode = s => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s.replace(/\+/g, ' '); } };
function normalizePath(path) {
  const out = [];
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i], last = i === parts.length - 1;
    if (p === '.' || p.toLowerCase() === '%2e') { if (last) out.push(''); }
    else if (p === '..' || /^(\.|%2e)(\.|%2e)$/i.test(p)) { out.pop(); if (last) out.push(''); }
    else out.push(p);
  }
  return '/' + out.map(encodePath).join('/');
}
let attachParams, setSearchOf;
class URLSearchParams {
  #list = []; #url = null;
  constructor(init = '') {
    if (init instanceof URLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
    else if (typeof init === 'object' && init !== null) {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError('URLSearchParams: each pair needs a name and a value');
          this.#list.push([String(p[0]), String(p[1])]);
        }
      } else for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
    } else this.#parse(String(init));
  }
  #parse(s) {
    if (s[0] === '?') s = s.slice(1);
    this.#list = [];
    for (const part of s.split('&')) {
      if (!part) continue;
      const i = part.indexOf('=');
      this.#list.push(i < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
    }
  }
  #update() { if (this.#url) setSearchOf(this.#url, this.toString()); }
  static { attachParams = (p, url, search) => { p.#url = url; p.#parse(search); }; }
  get size() { return this.#list.length; }
  append(k, v) { this.#list.push([String(k), String(v)]); this.#update(); }
  delete(k) { k = String(k); this.#list = this.#list.filter(([n]) => n !== k); this.#update(); }
  get(k) { k = String(k); const e = this.#list.find(([n]) => n === k); return e ? e[1] : null; }
  getAll(k) { k = String(k); return this.#list.filter(([n]) => n === k).map(([, v]) => v); }
  has(k) { k = String(k); return this.#list.some(([n]) => n === k); }
  set(k, v) {
    k = String(k); v = String(v);
    const i = this.#list.findIndex(([n]) => n === k);
    if (i < 0) this.#list.push([k, v]);
    else { this.#list[i] = [k, v]; this.#list = this.#list.filter(([n], j) => n !== k || j <= i); }
    this.#update();
  }
  sort() { this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this.#update(); }
  forEach(f, self) { for (const [k, v] of this.#list) f.call(self, v, k, this); }
  keys() { return this.#list.map(([k]) => k)[Symbol.iterator](); }
  values() { return this.#list.map(([, v]) => v)[Symbol.iterator](); }
  entries() { return this.#list.map(([k, v]) => [k, v])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.#list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
}
class URL {
  #protocol = ''; #username = ''; #password = ''; #hostname = ''; #port = ''; #pathname = ''; #search = ''; #hash = '';
  #authority = false; #params;
  constructor(url, base = undefined) {
    const s = String(url).replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(s);
    if (m && !(base !== undefined && m[1].toLowerCase() + ':' in specialPorts && !/^[\\/]/.test(m[2]) && new URL(base).protocol === m[1].toLowerCase() + ':'))
      this.#absolute(m[1].toLowerCase() + ':', m[2], s);
    else if (base === undefined) throw new TypeError(`Invalid URL: '${s}'`);
    else this.#relative(base instanceof URL ? base : new URL(base), m ? m[2] : s);
    this.#params = new URLSearchParams();
    attachParams(this.#params, this, this.#search);
  }
  static { setSearchOf = (u, s) => { u.#search = s ? '?' + s : ''; }; }
  static canParse(url, base = undefined) { try { new URL(url, base); return true; } catch { return false; } }
  #split(rest) {
    const h = rest.indexOf('#');
    this.#hash = h >= 0 && h < rest.length - 1 ? encodeHash(rest.slice(h)) : '';
    if (h >= 0) rest = rest.slice(0, h);
    const q = rest.indexOf('?');
    const hasQuery = q >= 0;
    this.#search = hasQuery && q < rest.length - 1 ? encodeQuery(rest.slice(q)) : '';
    return [hasQuery ? rest.slice(0, q) : rest, hasQuery];
  }
  #absolute(protocol, rest, whole) {
    const special = protocol in specialPorts;
    this.#protocol = protocol;
    if (special) rest = rest.replace(/\\/g, '/');
    let path;
    [path] = this.#split(rest);
    if (path.startsWith('//')) {
      this.#authority = true;
      path = path.slice(2);
      const slash = path.indexOf('/');
      let auth = slash < 0 ? path : path.slice(0, slash);
      path = slash < 0 ? '' : path.slice(slash);
      const at = auth.lastIndexOf('@');
      if (at >= 0) {
        const cred = auth.slice(0, at), c = cred.indexOf(':');
        this.#username = encodeQuery(c < 0 ? cred : cred.slice(0, c));
        this.#password = c < 0 ? '' : encodeQuery(cred.slice(c + 1));
        auth = auth.slice(at + 1);
      }
      const hm = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]*)(?::([0-9]*))?$/.exec(auth);
      if (!hm || /[\x00-\x20#%/<>?@\\^|\x7f-\uffff]/.test(hm[1]) || (special && protocol !== 'file:' && !hm[1]))
        throw new TypeError(`Invalid URL: '${whole}'`);
      this.#hostname = hm[1].toLowerCase();
      if (hm[2]) {
        const port = Number(hm[2]);
        if (port > 65535) throw new TypeError(`Invalid URL: '${whole}' (port out of range)`);
        this.#port = String(port) === specialPorts[protocol] ? '' : String(port);
      }
      this.#pathname = special ? normalizePath(path || '/') : encodePath(path);
    } else if (special) {
      throw new TypeError(`Invalid URL: '${whole}'`);
    } else {
      this.#pathname = path; // an opaque path: mailto:, data:, urn:...
    }
  }
  #relative(base, ref) {
    if (!base.#authority && !ref.startsWith('#')) throw new TypeError(`Invalid URL: '${ref}' against '${base.href}'`);
    const special = base.#protocol in specialPorts;
    if (special) ref = ref.replace(/\\/g, '/');
    if (ref.startsWith('//')) return this.#absolute(base.#protocol, ref, ref);
    this.#protocol = base.#protocol; this.#authority = base.#authority;
    this.#username = base.#username; this.#password = base.#password;
    this.#hostname = base.#hostname; this.#port = base.#port;
    const [path, hasQuery] = this.#split(ref);
    if (path === '') {
      this.#pathname = base.#pathname;
      if (!hasQuery) this.#search = base.#search;
    } else if (path[0] === '/') this.#pathname = normalizePath(path);
    else this.#pathname = normalizePath(base.#pathname.slice(0, base.#pathname.lastIndexOf('/') + 1) + path);
  }
  get protocol() { return this.#protocol; }
  get username() { return this.#username; }
  get password() { return this.#password; }
  get hostname() { return this.#hostname; }
  get port() { return this.#port; }
  get host() { return this.#hostname + (this.#port ? ':' + this.#port : ''); }
  get origin() { return this.#protocol in specialPorts && this.#protocol !== 'file:' ? this.#protocol + '//' + this.host : 'null'; }
  get pathname() { return this.#pathname; }
  set pathname(v) { if (this.#authority) this.#pathname = normalizePath('/' + String(v).replace(/^\//, '')); }
  get search() { return this.#search; }
  set search(v) { v = String(v).replace(/^\?/, ''); this.#search = v ? '?' + encodeQuery(v) : ''; attachParams(this.#params, this, this.#search); }
  get hash() { return this.#hash; }
  set hash(v) { v = String(v).replace(/^#/, ''); this.#hash = v ? '#' + encodeHash(v) : ''; }
  get searchParams() { return this.#params; }
  get href() {
    const cred = this.#username || this.#password ? this.#username + (this.#password ? ':' + this.#password : '') + '@' : '';
    return this.#protocol + (this.#authority ? '//' + cred + this.host : '') + this.#pathname + this.#search + this.#hash;
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
}
def('URL', URL);
def('URLSearchParams', URLSearchParams);

// ---- fetch: Headers, Request, Response ----
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerName = n => { n = String(n); if (!tokenRe.test(n)) throw new TypeError(`Headers: '${n}' is not a valid header name`); return n.toLowerCase(); };
const headerValue = v => {
  v = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(v)) throw new TypeError('Headers: a header value may not contain NUL, CR or LF');
  return v;
};
class Headers {
  #map = new Map();
  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (typeof init !== 'object') throw new TypeError('Headers: init must be an object, an array of pairs or Headers');
    if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const p = [...pair];
        if (p.length !== 2) throw new TypeError('Headers: each pair needs a name and a value');
        this.append(p[0], p[1]);
      }
    } else for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(k, v) { k = headerName(k); v = headerValue(v); const l = this.#map.get(k); if (l) l.push(v); else this.#map.set(k, [v]); }
  delete(k) { this.#map.delete(headerName(k)); }
  get(k) { const l = this.#map.get(headerName(k)); return l ? l.join(', ') : null; }
  getSetCookie() { return [...(this.#map.get('set-cookie') || [])]; }
  has(k) { return this.#map.has(headerName(k)); }
  set(k, v) { this.#map.set(headerName(k), [headerValue(v)]); }
  forEach(f, self) { for (const [k, v] of this) f.call(self, v, k, this); }
  *entries() {
    for (const k of [...this.#map.keys()].sort()) {
      if (k === 'set-cookie') for (const v of this.#map.get(k)) yield [k, v];
      else yield [k, this.#map.get(k).join(', ')];
    }
  }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
}

function bodyBytes(body) { // -> [bytes or null, default content type or null]
  if (body === undefined || body === null) return [null, null];
  if (typeof body === 'string') return [native.utf8Encode(body), 'text/plain;charset=UTF-8'];
  if (body instanceof ArrayBuffer) return [new U8(body.slice(0)), null];
  if (ArrayBuffer.isView(body)) return [new U8(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), null];
  if (body instanceof URLSearchParams) return [native.utf8Encode(body.toString()), 'application/x-www-form-urlencoded;charset=UTF-8'];
  return [native.utf8Encode(String(body)), 'text/plain;charset=UTF-8'];
}
let bytesOf;
class Body {
  #bytes; #used = false;
  constructor(bytes) { this.#bytes = bytes; }
  static { bytesOf = b => { if (b.#used) throw new TypeError('the body has already been read'); return b.#bytes ? new U8(b.#bytes) : null; }; }
  #take() {
    if (this.#used) throw new TypeError('the body has already been read');
    this.#used = true;
    return this.#bytes || new U8(0);
  }
  get bodyUsed() { return this.#used; }
  async arrayBuffer() { const b = this.#take(); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }
  async bytes() { return new U8(await this.arrayBuffer()); }
  async text() { const s = native.utf8Decode(this.#take(), false); return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s; }
  async json() { return JSON.parse(await this.text()); }
}
const methods = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);
class Request extends Body {
  #method; #url; #headers; #redirect;
  constructor(input, init = {}) {
    init = init || {};
    const src = input instanceof Request ? input : null;
    const url = src ? src.url : new URL(String(input)).href;
    let method = String(init.method ?? (src ? src.method : 'GET'));
    if (methods.has(method.toUpperCase())) method = method.toUpperCase();
    if (!tokenRe.test(method)) throw new TypeError(`Request: '${method}' is not a valid method`);
    const headers = new Headers(init.headers ?? (src ? src.headers : undefined));
    let bytes = src && init.body === undefined ? bytesOf(src) : null;
    if (init.body !== undefined && init.body !== null) {
      if (method === 'GET' || method === 'HEAD') throw new TypeError('Request: a GET or HEAD request cannot have a body');
      let type;
      [bytes, type] = bodyBytes(init.body);
      if (type && !headers.has('content-type')) headers.set('content-type', type);
    }
    const redirect = String(init.redirect ?? (src ? src.redirect : 'follow'));
    if (!['follow', 'manual', 'error'].includes(redirect)) throw new TypeError(`Request: redirect must be follow, manual or error`);
    super(bytes);
    this.#method = method; this.#url = url; this.#headers = headers; this.#redirect = redirect;
  }
  get method() { return this.#method; }
  get url() { return this.#url; }
  get headers() { return this.#headers; }
  get redirect() { return this.#redirect; }
  clone() { return new Request(this); }
}
const fromNetwork = Symbol('network');
class Response extends Body {
  #status; #statusText; #headers; #url = ''; #redirected = false;
  constructor(body = null, init = {}) {
    init = init || {};
    const status = init.status ?? 200;
    if (init[fromNetwork] !== fromNetwork && (!Number.isInteger(status) || status < 200 || status > 599))
      throw new RangeError(`Response: status ${status} is not in 200-599`);
    const headers = new Headers(init.headers);
    const [bytes, type] = init[fromNetwork] === fromNetwork ? [body, null] : bodyBytes(body);
    if (type && !headers.has('content-type')) headers.set('content-type', type);
    super(bytes);
    this.#status = status; this.#statusText = String(init.statusText ?? ''); this.#headers = headers;
    if (init[fromNetwork] === fromNetwork) { this.#url = init.url; this.#redirected = init.redirected; }
  }
  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status < 300; }
  get headers() { return this.#headers; }
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  get type() { return this.#url ? 'basic' : 'default'; }
  clone() {
    return new Response(bytesOf(this), {status: this.#status, statusText: this.#statusText, headers: this.#headers,
                                        url: this.#url, redirected: this.#redirected, [fromNetwork]: fromNetwork});
  }
  static json(data, init = {}) {
    const headers = new Headers(init && init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(data), {...init, headers});
  }
  static redirect(url, status = 302) {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError('Response.redirect: not a redirect status');
    return new Response(null, {status, headers: {location: new URL(url).href}});
  }
}
def('Headers', Headers);
def('Request', Request);
def('Response', Response);
def('fetch', async function fetch(input, init = undefined) {
  const req = new Request(input, init);
  const raw = await native.fetch(req.method, req.url, [...req.headers], bytesOf(req), req.redirect);
  return new Response(raw.body, {status: raw.status, statusText: raw.statusText, headers: raw.headers, url: raw.url,
                                 redirected: raw.redirected, [fromNetwork]: fromNetwork});
});
})
)js";

} // namespace whisk::isolate
