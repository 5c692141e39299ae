// Web-standard globals from the contract. URL parsing is delegated to the host's WHATWG parser
// over the synchronous crossing (exact behaviour, ~µs); text codecs and structuredClone are plain JS.

// console: formatted here, sent to the host log, which escapes control characters.
function formatArg(v) {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object") {
    try {
      if (v instanceof ErrorCtor) return pluginStack(v) || `${safeString(v.name)}: ${safeString(v.message)}`;
      const s = JSONStringify(v);
      if (s !== undefined) return s.length > 10000 ? `${call(StringPrototypeSlice, s, 0, 10000)}…` : s;
    } catch {}
  }
  return safeString(v);
}
function makeLogger(level) {
  return function (...args) {
    host("log", { level, text: call(ArrayPrototypeJoin, call(ArrayPrototypeMap, args, formatArg), " ") });
  };
}
const consoleObject = ObjectFreeze({
  log: makeLogger("info"),
  info: makeLogger("info"),
  debug: makeLogger("debug"),
  warn: makeLogger("warn"),
  error: makeLogger("error"),
  trace: makeLogger("debug"),
});

// Timers: the host owns the clock; this side keeps the callbacks.
const timers = new MapCtor();
let nextTimerId = 1;
// An interval is one timer id the host re-arms each time it fires (`every` ms, at least 1, as in
// Node), so it counts once against the plugin's timers and clearTimeout/clearInterval share ids.
function startTimer(api, fn, ms, args, repeat) {
  if (typeof fn !== "function") throw new TypeErrorCtor(`${api}: the callback must be a function (strings are not evaluated)`);
  const id = nextTimerId++;
  const asked = NumberIsFinite(+ms) && +ms > 0 ? +ms : 0;
  const delay = repeat && asked < 1 ? 1 : asked;
  if (host("timer.set", { id, ms: delay }) === "full") {
    throw new RangeErrorCtor(`${api}: this plugin already has ${preludeCaps.maxTimers} timers pending; clear some before setting more`);
  }
  call(MapPrototypeSet, timers, id, { fn, args, every: repeat ? delay : -1 });
  return id;
}
function setTimeoutImpl(fn, ms, ...args) {
  return startTimer("setTimeout", fn, ms, args, false);
}
function setIntervalImpl(fn, ms, ...args) {
  return startTimer("setInterval", fn, ms, args, true);
}
function clearTimeoutImpl(id) {
  if (call(MapPrototypeDelete, timers, id)) host("timer.clear", { id });
}
function fireTimer(id) {
  const t = call(MapPrototypeGet, timers, id);
  if (t === undefined) return;
  // The next turn of an interval is set before its callback runs, which may clear it.
  if (t.every < 0 || host("timer.set", { id, ms: t.every }) === "full") call(MapPrototypeDelete, timers, id);
  try {
    ReflectApply(t.fn, undefined, t.args);
  } catch (e) {
    host("log", { level: "error", text: `uncaught exception in a timer callback: ${describeError(e).message}` });
  }
}

// URL and URLSearchParams.
function parseUrl(input, base) {
  const r = JSONParse(host("url.parse", base === undefined ? { input: StringCtor(input) } : { input: StringCtor(input), base: StringCtor(base) }));
  if (!r.ok) throw new TypeErrorCtor(`Invalid URL: ${JSONStringify(StringCtor(input))}`);
  return r.parts;
}
const paramsOwner = new WeakMap();

class URLSearchParams {
  #list = [];
  constructor(init) {
    if (init === undefined || init === null) return;
    if (typeof init === "string") {
      this.#parse(init);
      return;
    }
    if (typeof init === "object") {
      if (init instanceof URLSearchParams) {
        for (const [k, v] of init) this.#list.push([k, v]);
        return;
      }
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) this.#list.push([StringCtor(pair[0]), StringCtor(pair[1])]);
        return;
      }
      for (const k of ObjectKeys(init)) this.#list.push([k, StringCtor(init[k])]);
      return;
    }
    this.#parse(StringCtor(init));
  }
  #parse(s) {
    this.#list = [];
    if (s.startsWith("?")) s = s.slice(1);
    for (const part of s.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const dec = (x) => {
        try {
          return decodeURIComponent(x.replace(/\+/g, " "));
        } catch {
          return x;
        }
      };
      this.#list.push(eq < 0 ? [dec(part), ""] : [dec(part.slice(0, eq)), dec(part.slice(eq + 1))]);
    }
  }
  #update() {
    const owner = paramsOwner.get(this);
    if (owner !== undefined) owner._setSearchFromParams(this.toString());
  }
  static _reset(params, search) {
    params.#parse(search);
  }
  append(k, v) {
    this.#list.push([StringCtor(k), StringCtor(v)]);
    this.#update();
  }
  delete(k) {
    k = StringCtor(k);
    this.#list = this.#list.filter(([n]) => n !== k);
    this.#update();
  }
  get(k) {
    k = StringCtor(k);
    const e = this.#list.find(([n]) => n === k);
    return e === undefined ? null : e[1];
  }
  getAll(k) {
    k = StringCtor(k);
    return this.#list.filter(([n]) => n === k).map(([, v]) => v);
  }
  has(k) {
    k = StringCtor(k);
    return this.#list.some(([n]) => n === k);
  }
  set(k, v) {
    k = StringCtor(k);
    v = StringCtor(v);
    const i = this.#list.findIndex(([n]) => n === k);
    if (i < 0) this.#list.push([k, v]);
    else {
      this.#list[i] = [k, v];
      this.#list = this.#list.filter(([n], j) => j <= i || n !== k);
    }
    this.#update();
  }
  sort() {
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#update();
  }
  forEach(fn, thisArg) {
    for (const [k, v] of this.#list) ReflectApply(fn, thisArg, [v, k, this]);
  }
  keys() {
    return this.#list.map(([k]) => k)[Symbol.iterator]();
  }
  values() {
    return this.#list.map(([, v]) => v)[Symbol.iterator]();
  }
  entries() {
    return this.#list.map(([k, v]) => [k, v])[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get size() {
    return this.#list.length;
  }
  toString() {
    const enc = (s) =>
      encodeURIComponent(s)
        .replace(/%20/g, "+")
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    return this.#list.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
  }
}

class URL {
  #parts;
  #params;
  constructor(input, base) {
    this.#parts = parseUrl(input, base);
    this.#params = new URLSearchParams(this.#parts.search);
    paramsOwner.set(this.#params, this);
  }
  static canParse(input, base) {
    try {
      parseUrl(input, base);
      return true;
    } catch {
      return false;
    }
  }
  #set(prop, value) {
    const r = JSONParse(host("url.set", { href: this.#parts.href, prop, value: StringCtor(value) }));
    if (r.ok) {
      this.#parts = r.parts;
      URLSearchParams._reset(this.#params, this.#parts.search);
    }
  }
  _setSearchFromParams(query) {
    const r = JSONParse(host("url.set", { href: this.#parts.href, prop: "search", value: query }));
    if (r.ok) this.#parts = r.parts;
  }
  get href() {
    return this.#parts.href;
  }
  set href(v) {
    this.#parts = parseUrl(v);
    URLSearchParams._reset(this.#params, this.#parts.search);
  }
  get origin() {
    return this.#parts.origin;
  }
  get protocol() {
    return this.#parts.protocol;
  }
  set protocol(v) {
    this.#set("protocol", v);
  }
  get username() {
    return this.#parts.username;
  }
  set username(v) {
    this.#set("username", v);
  }
  get password() {
    return this.#parts.password;
  }
  set password(v) {
    this.#set("password", v);
  }
  get host() {
    return this.#parts.host;
  }
  set host(v) {
    this.#set("host", v);
  }
  get hostname() {
    return this.#parts.hostname;
  }
  set hostname(v) {
    this.#set("hostname", v);
  }
  get port() {
    return this.#parts.port;
  }
  set port(v) {
    this.#set("port", v);
  }
  get pathname() {
    return this.#parts.pathname;
  }
  set pathname(v) {
    this.#set("pathname", v);
  }
  get search() {
    return this.#parts.search;
  }
  set search(v) {
    this.#set("search", v);
  }
  get searchParams() {
    return this.#params;
  }
  get hash() {
    return this.#parts.hash;
  }
  set hash(v) {
    this.#set("hash", v);
  }
  toString() {
    return this.#parts.href;
  }
  toJSON() {
    return this.#parts.href;
  }
}

// TextEncoder / TextDecoder (UTF-8), written out because a bare V8 isolate has neither.
class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    const s = StringCtor(input);
    const out = [];
    for (let i = 0; i < s.length; i++) {
      let c = call(StringPrototypeCharCodeAt, s, i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = call(StringPrototypeCharCodeAt, s, i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else c = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8ArrayCtor(out);
  }
  encodeInto(input, dest) {
    const bytes = this.encode(input);
    const n = MathMin(bytes.length, dest.length);
    for (let i = 0; i < n; i++) dest[i] = bytes[i];
    return { read: StringCtor(input).length, written: n };
  }
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  constructor(label = "utf-8", options = {}) {
    const l = StringCtor(label).toLowerCase().trim();
    if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") throw new RangeErrorCtor(`TextDecoder: only utf-8 is supported, not ${JSONStringify(l)}`);
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input) {
    if (input === undefined) return "";
    let bytes;
    if (input instanceof ArrayBufferCtor) bytes = new Uint8ArrayCtor(input);
    else if (ArrayBufferIsView(input)) bytes = new Uint8ArrayCtor(input.buffer, input.byteOffset, input.byteLength);
    else throw new TypeErrorCtor("TextDecoder.decode: expected an ArrayBuffer or a view of one");
    const fail = () => {
      if (this.#fatal) throw new TypeErrorCtor("TextDecoder: invalid UTF-8 data");
      return 0xfffd;
    };
    const units = [];
    let chunks = "";
    let i = 0;
    if (!this.#ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
    while (i < bytes.length) {
      const b = bytes[i];
      let cp;
      let need = 0;
      let min = 0;
      if (b < 0x80) {
        cp = b;
      } else if (b >= 0xc2 && b <= 0xdf) {
        cp = b & 0x1f;
        need = 1;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        cp = b & 0x0f;
        need = 2;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        cp = b & 0x07;
        need = 3;
        min = 0x10000;
      } else {
        cp = fail();
      }
      let j = 1;
      for (; j <= need; j++) {
        const c = bytes[i + j];
        if (c === undefined || (c & 0xc0) !== 0x80) break;
        cp = (cp << 6) | (c & 0x3f);
      }
      if (need > 0 && (j <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) {
        cp = fail();
        i += j > 1 ? j : 1;
      } else i += need + 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
      if (units.length >= 8192) {
        chunks += StringFromCharCode(...units);
        units.length = 0;
      }
    }
    return chunks + StringFromCharCode(...units);
  }
}

// structuredClone: the structured clone algorithm for the types a plain isolate has.
function structuredCloneImpl(value) {
  const seen = new MapCtor();
  function dataCloneError(what) {
    const e = new ErrorCtor(`${what} could not be cloned`);
    ObjectDefineProperty(e, "name", { value: "DataCloneError" });
    return e;
  }
  function clone(v) {
    if (v === null || (typeof v !== "object" && typeof v !== "function" && typeof v !== "symbol")) return v;
    if (typeof v === "function") throw dataCloneError("a function");
    if (typeof v === "symbol") throw dataCloneError("a symbol");
    if (call(MapPrototypeHas, seen, v)) return call(MapPrototypeGet, seen, v);
    let out;
    if (ArrayIsArray(v)) {
      out = [];
      call(MapPrototypeSet, seen, v, out);
      for (const k of ObjectKeys(v)) out[k] = clone(v[k]);
      return out;
    }
    if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (v instanceof ArrayBufferCtor) out = call(ArrayBufferCtor.prototype.slice, v, 0);
    else if (ArrayBufferIsView(v)) {
      const C = v.constructor;
      out = new C(clone(v.buffer), v.byteOffset, C === DataView ? v.byteLength : v.length);
    } else if (v instanceof MapCtor) {
      out = new MapCtor();
      call(MapPrototypeSet, seen, v, out);
      for (const [k, x] of v) out.set(clone(k), clone(x));
      return out;
    } else if (v instanceof SetCtor) {
      out = new SetCtor();
      call(MapPrototypeSet, seen, v, out);
      for (const x of v) out.add(clone(x));
      return out;
    } else if (v instanceof ErrorCtor) {
      out = new ErrorCtor(v.message);
      ObjectDefineProperty(out, "name", { value: v.name, writable: true, configurable: true });
    } else if (v instanceof Boolean || v instanceof Number || v instanceof StringCtor) {
      out = Object(v.valueOf());
    } else if (v instanceof PromiseCtor || v instanceof WeakMap || v instanceof WeakSet) {
      throw dataCloneError(`a ${v.constructor.name}`);
    } else {
      out = {};
      call(MapPrototypeSet, seen, v, out);
      for (const k of ObjectKeys(v)) out[k] = clone(v[k]);
      return out;
    }
    call(MapPrototypeSet, seen, v, out);
    return out;
  }
  return clone(value);
}

// crypto: randomness comes from the host's CSPRNG.
function getRandomValues(view) {
  if (!ArrayBufferIsView(view) || view instanceof DataView || view instanceof Float32Array || view instanceof Float64Array) {
    throw new TypeErrorCtor("crypto.getRandomValues: expected an integer typed array");
  }
  if (view.byteLength > 65536) {
    const e = new ErrorCtor(`crypto.getRandomValues: ${view.byteLength} bytes requested, at most 65536 are allowed`);
    ObjectDefineProperty(e, "name", { value: "QuotaExceededError" });
    throw e;
  }
  const bytes = JSONParse(host("random", { n: view.byteLength }));
  const target = new Uint8ArrayCtor(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < bytes.length; i++) target[i] = bytes[i];
  return view;
}
function randomUUID() {
  const b = getRandomValues(new Uint8ArrayCtor(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let hex = "";
  for (let i = 0; i < 16; i++) hex += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
const cryptoObject = ObjectFreeze({ getRandomValues, randomUUID });
