// Outside attack suite, the web APIs a plugin gets (fetch, Headers, Response, timers, crypto, text
// codecs) and the host's HTTP path behind fetch, from inside a plugin against the real runtime
// (loadPlugin, the Node DNS and HTTP ports) and a real HTTP server on loopback, granted by an
// explicit address rule. The server counts the connections it gets, so a request the bridge must
// refuse is shown never to have left the host; every refusal has a legitimate neighbour that works.
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const NET_BYTES = 256 * 1024;

const ENTRIES = `
const show = async (r) => {
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, url: r.url, headers: [...r.headers], length: bytes.length, head: [...bytes.slice(0, 4)], text: bytes.length < 65536 ? new TextDecoder().decode(bytes) : "" };
};
export const get = ({ url, init }) => fetch(url, init).then(show);
export const fails = ({ url, init }) => fetch(url, init).then(() => "answered", (e) => e.code || e.name);
// Starts n fetches at once; answers when all but the ones that stay in flight have failed.
export const burst = ({ url, n, keep }) => new Promise((resolve) => {
  const codes = [];
  for (let i = 0; i < n; i++) fetch(url).then(() => codes.push("ok"), (e) => { codes.push(e.code); if (codes.length === n - keep) resolve(codes); });
});
export const bodies = async ({ url }) => {
  const sent = async (body, headers) => { const r = await fetch(url, { method: "POST", body, headers }); return JSON.parse(await r.text()).body; };
  const bytes = new Uint8Array([0, 1, 2, 3, 4, 5]);
  const out = {
    params: await sent(new URLSearchParams({ a: "1 2", b: "&" })),
    buffer: await sent(bytes.buffer),
    view: await sent(new Uint8Array(bytes.buffer, 2, 2)),
    dataView: await sent(new DataView(bytes.buffer, 1, 3)),
    object: await sent({ toString: () => "from toString" }),
  };
  let getter = "";
  try { await fetch(url, { method: "POST", get body() { throw new Error("getter ran in the plugin"); } }); } catch (e) { getter = e.message; }
  let huge = "";
  try { await fetch(url, { method: "POST", body: "x".repeat(16.5 * 1024 * 1024) }); } catch (e) { huge = e.code; }
  return { ...out, getter, huge };
};
export const random = () => {
  class Lying extends Uint8Array { get byteLength() { this.reads = (this.reads || 0) + 1; return this.reads === 1 ? 16 : 2 ** 31; } }
  let lied = "";
  try { crypto.getRandomValues(new Lying(16)); } catch (e) { lied = e.name; }
  let quota = "";
  try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { quota = e.name; }
  const ok = crypto.getRandomValues(new Uint8Array(65536));
  return { lied, quota, okLength: ok.length, nonZero: ok.some((b) => b !== 0) };
};
export const timers = () => new Promise((resolve) => {
  const fired = [];
  let refused = "";
  try { setTimeout("globalThis.pwned = 1", 0); } catch (e) { refused = e.name; }
  for (const d of [NaN, -1, -Infinity, "x", undefined, {}, 0]) setTimeout(() => fired.push(String(d)), d);
  const far = [1e12, 2 ** 31, 2 ** 53].map((d) => setTimeout(() => fired.push("far " + d), d));
  setTimeout(() => { far.forEach(clearTimeout); resolve({ fired, refused, pwned: typeof globalThis.pwned }); }, 20);
});
export const decode = ({ n }) => new TextDecoder().decode(new Uint8Array(n).fill(0x61)).length;
export const selfBreak = async ({ url }) => {
  // A plugin replacing what the prelude's fetch path may touch breaks only its own calls.
  String.prototype.toLowerCase = () => "host";
  Object.defineProperty(Array.prototype, 0, { set() {}, configurable: true });
  Headers.prototype.append = function () {};
  try { const r = await fetch(url, { headers: { "x-a": "1" } }); return { status: r.status }; } catch (e) { return { code: e.code || e.name }; }
};
`;

type Shown = { status: number; url: string; headers: [string, string][]; length: number; head: number[]; text: string };
type Seen = { method: string; url: string; headers: Record<string, string | string[] | undefined>; raw: string[]; body: string };

function code(e: unknown): string {
  return String((e as { code?: string }).code);
}

describe("outside: the web APIs and the host's fetch path", () => {
  let s: Scratch;
  let server: Server;
  let second: Server;
  let port = 0;
  let secondPort = 0;
  let base = "";
  let connections = 0;
  const open = new Set<Socket>();
  const closed = new EventEmitter();
  const connected = new EventEmitter();
  const seen: Seen[] = [];
  let loopHits = 0;
  let plugin: PluginHandle;
  let other: PluginHandle;
  let audit: ReturnType<typeof memoryAuditLog>;
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  const bombs: Record<string, { encoding: string; body: Buffer }> = {};

  function route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const u = new URL(req.url ?? "/", "http://x");
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, raw: req.rawHeaders, body });
    const bomb = bombs[u.pathname.slice(1)];
    if (bomb) {
      res.writeHead(200, { "content-encoding": bomb.encoding, "content-type": "text/plain", "content-length": bomb.body.length });
      res.end(bomb.body);
      return;
    }
    switch (u.pathname) {
      case "/drip": {
        // Never ends: a byte now and then, well inside any idle timeout.
        res.writeHead(200, { "content-type": "text/plain" });
        const t = setInterval(() => res.write("x"), 50);
        res.on("close", () => clearInterval(t));
        return;
      }
      case "/big":
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.alloc(NET_BYTES + 1));
        return;
      case "/head":
        res.writeHead(200, { "content-length": String(NET_BYTES * 4) });
        res.end();
        return;
      case "/cookie":
        res.writeHead(200, { "set-cookie": ["sid=secret; Path=/", "other=1"] });
        res.end("cookie set");
        return;
      case "/to":
        res.writeHead(Number(u.searchParams.get("status") ?? 302), { location: u.searchParams.get("location") ?? "/" });
        res.end();
        return;
      case "/longto":
        res.writeHead(302, { location: `/echo?${"a".repeat(Number(u.searchParams.get("n")))}` });
        res.end();
        return;
      case "/loop":
        loopHits++;
        res.writeHead(302, { location: "/loop" });
        res.end();
        return;
      default:
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, host: req.headers.host, body }));
    }
  }

  before(async () => {
    s = scratch();
    for (const [name, encoding, body] of [
      ["gzip", "gzip", gzipSync(zeros)],
      ["deflate", "deflate", deflateSync(zeros)],
      ["br", "br", brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })],
      ["nested", "gzip, gzip, gzip", gzipSync(gzipSync(gzipSync(zeros)))],
    ] as const) {
      bombs[name] = { encoding, body };
    }
    const listen = async (): Promise<[Server, number]> => {
      const srv = createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on("data", (c: Buffer) => parts.push(c));
        req.on("end", () => route(req, res, Buffer.concat(parts).toString("latin1")));
      });
      srv.on("connection", (sock: Socket) => {
        connections++;
        open.add(sock);
        connected.emit("connected");
        sock.on("close", () => {
          open.delete(sock);
          closed.emit("socket-closed");
        });
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      return [srv, (srv.address() as AddressInfo).port];
    };
    [server, port] = await listen();
    [second, secondPort] = await listen();
    base = `http://127.0.0.1:${port}`;
    audit = memoryAuditLog();
    const limits = { netBytes: NET_BYTES, timeoutMs: 3000, cpuMs: 2000 };
    plugin = await loadPlugin(s.plugin("web", manifest("t.web", { permissions: { net: [`127.0.0.1:${port}`] }, limits }), { "index.js": ENTRIES }), { audit, logger });
    other = await loadPlugin(s.plugin("other", manifest("t.other", { permissions: { net: [`127.0.0.1:${port}`] }, limits }), { "index.js": ENTRIES }), { audit: memoryAuditLog(), logger });
  });
  after(async () => {
    await plugin.close();
    await other.close();
    for (const sock of open) sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => second.close(() => r()));
    s.cleanup();
  });

  async function allClosed(): Promise<void> {
    while (open.size > 0) await once(closed, "socket-closed");
  }

  it("positive control: GET and POST reach the granted server, headers and body as sent", async () => {
    const r = (await plugin.invoke("get", { url: `${base}/echo`, init: { method: "post", headers: { "x-custom": "café\tok", authorization: "Bearer t" }, body: "hello" } })) as Shown;
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { method: "POST", host: `127.0.0.1:${port}`, body: "hello" });
    const last = seen.at(-1);
    assert.equal(last?.headers["x-custom"], "caf\u00e9\tok");
    assert.equal(last?.headers["authorization"], "Bearer t");
  });

  it("compression bombs (gzip, deflate, br, gzip three times) are never decompressed by the host: the plugin gets the bytes on the wire, within limits.netBytes", async () => {
    for (const name of ["nested"]) {
      const r = (await plugin.invoke("get", { url: `${base}/${name}` })) as Shown;
      assert.equal(r.length, bombs[name]?.body.length, `${name}: the body as sent, not decompressed`);
      assert.deepEqual(r.head.slice(0, 2), [0x1f, 0x8b], name);
      assert.equal(r.headers.find(([k]) => k === "content-encoding")?.[1], "gzip, gzip, gzip");
    }
    // 64 MiB of zeros compress to more than limits.netBytes in every single encoding: refused on
    // the compressed size (its Content-Length), long before anything could be inflated.
    for (const name of ["gzip", "deflate", "br"]) {
      const size = bombs[name]?.body.length ?? 0;
      if (size <= NET_BYTES) {
        const r = (await plugin.invoke("get", { url: `${base}/${name}` })) as Shown;
        assert.equal(r.length, size, name);
      } else assert.equal(await plugin.invoke("fails", { url: `${base}/${name}` }), "TooLarge", name);
    }
  });

  it("a body past limits.netBytes without a Content-Length is cut off while streaming (TooLarge), and its use is still audited", async () => {
    assert.equal(await plugin.invoke("fails", { url: `${base}/big` }), "TooLarge");
    await allClosed();
    assert.ok(
      audit.lines.some((l) => l.includes('"type":"use"') && l.includes(`${base}/big`)),
      "the request went out, so its use must be in the audit log",
    );
  });

  it("a body that never ends stops with the call's time; the host's socket is closed, and its use is audited", async () => {
    // The fetch and the call run out together: either says so.
    const outcome = await plugin.invoke("fails", { url: `${base}/drip`, init: { method: "POST", body: "secret" } }).catch(code);
    assert.ok(["Timeout", "TIMEOUT"].includes(String(outcome)), String(outcome));
    await allClosed();
    assert.ok(
      audit.lines.some((l) => l.includes('"type":"use"') && l.includes(`${base}/drip`)),
      "a request whose answer never ended was sent all the same: its use must be audited",
    );
  });

  it("many endless bodies at once: at most 8 in flight per plugin (the rest BUSY), every socket closed after the call's time", async () => {
    const before = connections;
    const codes = (await plugin.invoke("burst", { url: `${base}/drip`, n: 30, keep: 8 })) as string[];
    assert.equal(codes.length, 22);
    assert.ok(
      codes.every((c) => c === "Busy"),
      codes.join(","),
    );
    // The 8 in flight connect (the answer above came before they did), then end with the call's time.
    while (connections - before < 8) await once(connected, "connected");
    await allClosed();
    assert.equal(connections - before, 8, `${connections - before} connections for 8 requests in flight`);
    // Positive control: once they are gone, the plugin can fetch again (its count of requests in
    // flight drops when the host has finished each, which may come just after the socket closed).
    let answer = await plugin.invoke("fails", { url: `${base}/echo` });
    while (answer === "Busy") answer = await plugin.invoke("fails", { url: `${base}/echo` });
    assert.equal(answer, "answered");
  });

  it("huge response headers (one 1 MB header, 100 000 headers) are refused by the client, and the host goes on", async () => {
    const raw = createServer();
    raw.on("connection", (sock: Socket) => {
      sock.once("data", (d: Buffer) => {
        const path = d.toString("latin1").split(" ")[1];
        let head = "";
        if (path === "/many") for (let i = 0; i < 100_000; i++) head += `x-${i}: v\r\n`;
        else if (path === "/one") head = `x-big: ${"a".repeat(1_000_000)}\r\n`;
        sock.end(`HTTP/1.1 200 OK\r\n${head}content-length: 2\r\n\r\nok`);
      });
      sock.on("error", () => undefined);
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const rawPort = (raw.address() as AddressInfo).port;
    const p = await loadPlugin(s.plugin("raw", manifest("t.raw", { permissions: { net: [`127.0.0.1:${rawPort}`] } }), { "index.js": ENTRIES }), { audit: memoryAuditLog(), logger });
    try {
      for (const path of ["/many", "/one"]) assert.equal(await p.invoke("fails", { url: `http://127.0.0.1:${rawPort}${path}` }), "ConnectionFailed", path);
      const ok = (await p.invoke("get", { url: `http://127.0.0.1:${rawPort}/plain` })) as Shown;
      assert.equal(ok.text, "ok");
    } finally {
      await p.close();
      raw.closeAllConnections();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it("request header values that are not HTTP field values (CR, LF, NUL, other controls, DEL, characters past U+00FF) are BAD_INPUT at the bridge; no connection is made", async () => {
    const values = ["a\rb", "a\nb", "a\r\nX-Injected: 1", "a\u0000b", "a\u0001b", "a\u001bb", "a\u007fb", "\u010d\u010aX-Injected: 1", "\u560d\u560aX-Injected: 1", "\u4e2d", "a\u2028b", "a\ud800b"];
    for (const value of values) {
      const before = connections;
      assert.equal(await plugin.invoke("fails", { url: `${base}/echo`, init: { headers: [["x-t", value]] } }), "BAD_INPUT", JSON.stringify(value));
      assert.equal(connections, before, JSON.stringify(value));
    }
    // Positive control: tab, visible ASCII and Latin-1 are field values.
    const r = (await plugin.invoke("get", { url: `${base}/echo`, init: { headers: [["x-t", "a\tb ~ \u00ff"]] } })) as Shown;
    assert.equal(r.status, 200);
  });

  it("headers that reroute or reframe a request (Host and its look-alikes, hop-by-hop, framing, proxy-*, method overrides naming a refused method) are BAD_INPUT; no connection is made", async () => {
    const refused: [string, string][] = [
      ["Host", "internal.example"],
      ["HOST", "internal.example"],
      ["X-Forwarded-Host", "internal.example"],
      ["x-forwarded-server", "internal.example"],
      ["X-Host", "internal.example"],
      ["X-Original-Host", "internal.example"],
      ["Forwarded", "host=internal.example"],
      ["Connection", "close, x-custom"],
      ["Keep-Alive", "timeout=5"],
      ["Transfer-Encoding", "chunked"],
      ["Content-Length", "0"],
      ["TE", "trailers"],
      ["Trailer", "x"],
      ["Upgrade", "h2c"],
      ["HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA"],
      ["Expect", "100-continue"],
      ["Proxy-Authorization", "Basic eDp5"],
      ["Proxy-Connection", "keep-alive"],
      ["Proxy-Anything", "x"],
      ["X-HTTP-Method-Override", "TRACE"],
      ["X-HTTP-Method", "connect"],
      ["X-Method-Override", "GET, TRACK"],
      [":authority", "internal.example"],
      ["Host ", "internal.example"],
      ["Ho\u0000st", "x"],
    ];
    for (const [name, value] of refused) {
      const before = connections;
      assert.equal(await plugin.invoke("fails", { url: `${base}/echo`, init: { headers: [[name, value]] } }), "BAD_INPUT", name);
      assert.equal(connections, before, name);
    }
    // Positive controls: an override naming an allowed method, ordinary headers, cookies of its own.
    const r = (await plugin.invoke("get", {
      url: `${base}/echo`,
      init: {
        headers: [
          ["X-HTTP-Method-Override", "PATCH"],
          ["Cookie", "a=b"],
          ["X-Forwarded-For", "10.0.0.1"],
        ],
      },
    })) as Shown;
    assert.equal((JSON.parse(r.text) as { host: string }).host, `127.0.0.1:${port}`);
    assert.equal(seen.at(-1)?.headers["x-http-method-override"], "PATCH");
  });

  it("CONNECT, TRACE, TRACK and look-alike methods are BAD_INPUT; no connection is made", async () => {
    for (const method of ["CONNECT", "connect", "TRACE", "trace", "TRACK", "GET ", " GET", "GET\r\n", "G\u0000ET", "PROPFIND", "GET /x HTTP/1.1\r\nHost: evil\r\n\r\nGET"]) {
      const before = connections;
      assert.equal(await plugin.invoke("fails", { url: `${base}/echo`, init: { method } }), "BAD_INPUT", JSON.stringify(method));
      assert.equal(connections, before, method);
    }
    const r = (await plugin.invoke("get", { url: `${base}/echo`, init: { method: "patch", body: "x" } })) as Shown;
    assert.equal((JSON.parse(r.text) as { method: string }).method, "PATCH");
  });

  it("the request line and Host come from the checked URL only: no absolute-form target, no second host", async () => {
    await plugin.invoke("get", { url: `${base}//evil.example/x?y=http://evil.example/` });
    const last = seen.at(-1);
    assert.equal(last?.url, "//evil.example/x?y=http://evil.example/");
    assert.equal(last?.headers.host, `127.0.0.1:${port}`);
    assert.equal(last?.raw.filter((_, i) => i % 2 === 0 && last.raw[i]?.toLowerCase() === "host").length, 1);
  });

  it("Set-Cookie reaches the plugin as a header, and no cookie jar carries it to a later request, of this plugin or another", async () => {
    const r = (await plugin.invoke("get", { url: `${base}/cookie` })) as Shown;
    assert.ok(r.headers.some(([k, v]) => k === "set-cookie" && v.includes("sid=secret")));
    await plugin.invoke("get", { url: `${base}/echo` });
    assert.equal(seen.at(-1)?.headers.cookie, undefined);
    await other.invoke("get", { url: `${base}/echo` });
    assert.equal(seen.at(-1)?.headers.cookie, undefined);
  });

  it("a 307/308 to another origin keeps the body (as the web's fetch) but drops Authorization and Cookie; the same origin keeps them", async () => {
    const alias = `http://127.0.0.1:${secondPort}`;
    const p = await loadPlugin(s.plugin("redir", manifest("t.redir", { permissions: { net: [`127.0.0.1:${port}`, `127.0.0.1:${secondPort}`] } }), { "index.js": ENTRIES }), {
      audit: memoryAuditLog(),
      logger,
    });
    try {
      for (const status of [307, 308]) {
        const init = { method: "POST", body: "payload", headers: { authorization: "Bearer t", cookie: "c=1", "x-other": "kept" } };
        await p.invoke("get", { url: `${base}/to?status=${status}&location=${encodeURIComponent(`${alias}/echo`)}`, init });
        const cross = seen.at(-1);
        assert.equal(cross?.body, "payload");
        assert.equal(cross?.headers.authorization, undefined);
        assert.equal(cross?.headers.cookie, undefined);
        assert.equal(cross?.headers["x-other"], "kept");
        await p.invoke("get", { url: `${base}/to?status=${status}&location=%2Fecho`, init });
        const same = seen.at(-1);
        assert.equal(same?.headers.authorization, "Bearer t");
        assert.equal(same?.headers.cookie, "c=1");
      }
    } finally {
      await p.close();
    }
  });

  it("a redirect loop stops after 10 redirects (TooManyRedirects)", async () => {
    const before = loopHits;
    assert.equal(await plugin.invoke("fails", { url: `${base}/loop` }), "TooManyRedirects");
    assert.equal(loopHits - before, 11);
  });

  it("a redirect to a URL longer than the longest URL a plugin may fetch is refused like that URL would be; a long one within it is followed", async () => {
    assert.equal(await plugin.invoke("fails", { url: `${base}/longto?n=9000` }), "PERMISSION_DENIED");
    assert.equal(seen.at(-1)?.url, "/longto?n=9000", "the long URL was not requested");
    const fine = (await plugin.invoke("get", { url: `${base}/longto?n=4000` })) as Shown;
    assert.equal(fine.status, 200);
    assert.equal(seen.at(-1)?.url.length, 4006);
  });

  it("a HEAD answer announcing a body past limits.netBytes has no body, and is answered", async () => {
    const r = (await plugin.invoke("get", { url: `${base}/head`, init: { method: "HEAD" } })) as Shown;
    assert.equal(r.status, 200);
    assert.equal(r.length, 0);
    assert.equal(await plugin.invoke("fails", { url: `${base}/head` }), "TooLarge");
  });

  it("request bodies: URLSearchParams, ArrayBuffer, views and objects are sent as the web's fetch sends them; a throwing getter is the plugin's own error; a body past the crossing's cap is BAD_INPUT, no connection made", async () => {
    const before = connections;
    const r = (await plugin.invoke("bodies", { url: `${base}/echo` })) as Record<string, string>;
    assert.deepEqual(r, {
      params: "a=1+2&b=%26",
      buffer: "\u0000\u0001\u0002\u0003\u0004\u0005",
      view: "\u0002\u0003",
      dataView: "\u0001\u0002\u0003",
      object: "from toString",
      getter: "getter ran in the plugin",
      huge: "BAD_INPUT",
    });
    assert.equal(connections - before, 5);
    assert.equal(seen.find((x) => x.body === "a=1+2&b=%26")?.headers["content-type"], "application/x-www-form-urlencoded;charset=UTF-8");
  });

  it("crypto.getRandomValues: a view lying about its size gets no more than asked for, past 65536 bytes is QuotaExceededError", async () => {
    // The lie (16 bytes when checked, 2 GiB when used) only makes the plugin's own view throw.
    const r = (await plugin.invoke("random", {})) as { lied: string; quota: string; okLength: number; nonZero: boolean };
    assert.deepEqual(r, { lied: "RangeError", quota: "QuotaExceededError", okLength: 65536, nonZero: true });
  });

  it("timers: a string callback is refused; NaN, negative and non-numbers run as 0; huge delays do not fire early", async () => {
    const r = (await plugin.invoke("timers", {})) as { fired: string[]; refused: string; pwned: string };
    assert.equal(r.refused, "TypeError");
    assert.equal(r.pwned, "undefined");
    assert.deepEqual([...r.fired].sort(), ["-1", "-Infinity", "0", "NaN", "[object Object]", "undefined", "x"].sort());
  });

  it("TextDecoder on a large input is the plugin's own time and memory; the plugin and its neighbour go on", async () => {
    assert.equal(await plugin.invoke("decode", { n: 1_000_000 }), 1_000_000);
    await assert.rejects(plugin.invoke("decode", { n: 400_000_000 }));
    assert.equal(await plugin.invoke("decode", { n: 10 }), 10);
    const r = (await other.invoke("get", { url: `${base}/echo` })) as Shown;
    assert.equal(r.status, 200);
  });

  it("a plugin replacing what the prelude's fetch path touches breaks only its own calls; another plugin's fetch is unchanged", async () => {
    const p = await loadPlugin(s.plugin("breaker", manifest("t.breaker", { permissions: { net: [`127.0.0.1:${port}`] } }), { "index.js": ENTRIES }), { audit: memoryAuditLog(), logger });
    try {
      const before = connections;
      const r = (await p.invoke("selfBreak", { url: `${base}/echo` })) as { status?: number; code?: string };
      if (r.status !== undefined) assert.equal(seen.at(-1)?.headers.host, `127.0.0.1:${port}`);
      else assert.equal(connections, before);
      const o = (await other.invoke("get", { url: `${base}/echo`, init: { headers: { "x-a": "1" } } })) as Shown;
      assert.equal(o.status, 200);
      assert.equal(seen.at(-1)?.headers["x-a"], "1");
    } finally {
      await p.close();
    }
  });
});
