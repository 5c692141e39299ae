// fetch, Headers and Response: the web's shapes over one host operation. The host checks every
// hop against the plugin's net grants and follows redirects itself; this side only converts
// arguments to plain data (running the plugin's own getters here, inside the isolate) and wraps
// the answer. The body crosses as text when it is valid UTF-8, as base64 otherwise.
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function base64Encode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + "=";
  }
  return out;
}
function base64Decode(text) {
  let end = text.length;
  while (end > 0 && text[end - 1] === "=") end--;
  const clean = call(StringPrototypeSlice, text, 0, end);
  const out = new Uint8ArrayCtor(MathFloor((clean.length * 3) / 4));
  let o = 0;
  let buf = 0;
  let bits = 0;
  for (let i = 0; i < clean.length; i++) {
    buf = (buf << 6) | call(StringPrototypeIndexOf, B64, clean[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buf >> bits) & 255;
    }
  }
  return out;
}

function toBytes(body) {
  if (body instanceof ArrayBufferCtor) return new Uint8ArrayCtor(body);
  if (ArrayBufferIsView(body)) return new Uint8ArrayCtor(body.buffer, body.byteOffset, body.byteLength);
  return null;
}

const headerLists = new WeakMap();
function normHeaderName(name) {
  const n = StringCtor(name);
  return n.toLowerCase();
}
class Headers {
  constructor(init) {
    headerLists.set(this, []);
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      const src = headerLists.get(init);
      for (let i = 0; i < src.length; i++) this.append(src[i][0], src[i][1]);
    } else if (ArrayIsArray(init)) {
      for (let i = 0; i < init.length; i++) {
        const pair = init[i];
        if (!ArrayIsArray(pair) || pair.length !== 2) throw new TypeErrorCtor("Headers: expected [name, value] pairs");
        this.append(pair[0], pair[1]);
      }
    } else if (typeof init === "object") {
      const keys = ObjectKeys(init);
      for (let i = 0; i < keys.length; i++) this.append(keys[i], init[keys[i]]);
    } else throw new TypeErrorCtor("Headers: expected an object, an array of pairs or Headers");
  }
  append(name, value) {
    append(headerLists.get(this), [normHeaderName(name), StringCtor(value)]);
  }
  set(name, value) {
    this.delete(name);
    this.append(name, value);
  }
  delete(name) {
    const n = normHeaderName(name);
    const list = headerLists.get(this);
    const kept = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] !== n) append(kept, list[i]);
    headerLists.set(this, kept);
  }
  get(name) {
    const n = normHeaderName(name);
    const list = headerLists.get(this);
    const values = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] === n) append(values, list[i][1]);
    return values.length === 0 ? null : call(ArrayPrototypeJoin, values, ", ");
  }
  has(name) {
    return this.get(name) !== null;
  }
  forEach(fn, thisArg) {
    const list = headerLists.get(this);
    for (let i = 0; i < list.length; i++) ReflectApply(fn, thisArg, [list[i][1], list[i][0], this]);
  }
  *entries() {
    const list = call(ArrayPrototypeSlice, headerLists.get(this));
    for (let i = 0; i < list.length; i++) yield [list[i][0], list[i][1]];
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
}

const responseState = new WeakMap();
class Response {
  constructor(body, init) {
    let bytes = null;
    let text = "";
    if (body !== undefined && body !== null) {
      bytes = toBytes(body);
      if (bytes === null) text = StringCtor(body);
    }
    const status = init && init.status !== undefined ? +init.status : 200;
    responseState.set(this, {
      status,
      statusText: init && init.statusText !== undefined ? StringCtor(init.statusText) : "",
      headers: new Headers(init && init.headers),
      url: "",
      redirected: false,
      text: bytes === null ? text : null,
      bytes,
      used: false,
    });
  }
  get status() {
    return responseState.get(this).status;
  }
  get statusText() {
    return responseState.get(this).statusText;
  }
  get ok() {
    const s = responseState.get(this).status;
    return s >= 200 && s < 300;
  }
  get headers() {
    return responseState.get(this).headers;
  }
  get url() {
    return responseState.get(this).url;
  }
  get redirected() {
    return responseState.get(this).redirected;
  }
  get bodyUsed() {
    return responseState.get(this).used;
  }
  #take() {
    const s = responseState.get(this);
    if (s.used) throw new TypeErrorCtor("Response: the body has already been read");
    s.used = true;
    return s;
  }
  text() {
    try {
      const s = this.#take();
      return PromiseResolve(s.text !== null ? s.text : new TextDecoder().decode(s.bytes));
    } catch (e) {
      return PromiseReject(e);
    }
  }
  json() {
    return then(this.text(), (t) => JSONParse(t));
  }
  arrayBuffer() {
    try {
      const s = this.#take();
      const bytes = s.bytes !== null ? s.bytes : new TextEncoder().encode(s.text);
      const copy = new Uint8ArrayCtor(bytes.length);
      copy.set(bytes);
      return PromiseResolve(copy.buffer);
    } catch (e) {
      return PromiseReject(e);
    }
  }
}

function responseFromHost(r) {
  const res = new Response(null, { status: r.status, statusText: r.statusText, headers: r.headers });
  const s = responseState.get(res);
  s.url = r.url;
  s.redirected = r.redirected;
  if (typeof r.text === "string") {
    s.text = r.text;
    s.bytes = null;
  } else {
    s.text = null;
    s.bytes = base64Decode(r.body);
  }
  return res;
}

function fetchImpl(input, init) {
  try {
    const url = input instanceof URL ? input.href : StringCtor(input);
    const opts = {};
    let signal = null;
    if (init !== undefined && init !== null) {
      signal = fetchSignal(init.signal);
      if (init.method !== undefined) opts.method = StringCtor(init.method);
      if (init.headers !== undefined) {
        const h = new Headers(init.headers);
        opts.headers = call(ArrayPrototypeSlice, headerLists.get(h));
      }
      const body = init.body;
      if (body !== undefined && body !== null) {
        const bytes = toBytes(body);
        if (bytes !== null) opts.body = { base64: base64Encode(bytes) };
        else {
          if (body instanceof URLSearchParams) {
            opts.headers = opts.headers || [];
            let hasType = false;
            for (let i = 0; i < opts.headers.length; i++) if (opts.headers[i][0] === "content-type") hasType = true;
            if (!hasType) append(opts.headers, ["content-type", "application/x-www-form-urlencoded;charset=UTF-8"]);
          }
          opts.body = { text: StringCtor(body) };
        }
      }
      if (init.redirect !== undefined) opts.redirect = StringCtor(init.redirect);
    }
    return then(hostOp("fetch", [url, opts], signal), responseFromHost);
  } catch (e) {
    return PromiseReject(e);
  }
}
