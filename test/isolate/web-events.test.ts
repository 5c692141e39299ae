// The event and abort APIs npm libraries expect (Event, EventTarget, DOMException, AbortController,
// AbortSignal, queueMicrotask, setInterval, atob/btoa), and fetch's `signal`: an abort rejects the
// plugin's fetch at once and stops the request in the host, shown by the server seeing its
// connection closed, in both isolation modes; a fetch nobody aborted is untouched.
import assert from "node:assert/strict";
import { once, EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

const ENTRIES = `
export async function events() {
  const out = {};
  const c = new AbortController();
  const order = [];
  c.signal.addEventListener("abort", (e) => order.push("listener " + e.type + " " + (e.target === c.signal)));
  c.signal.onabort = () => order.push("onabort");
  c.signal.addEventListener("abort", () => { throw new Error("a listener that throws does not stop the others"); });
  c.signal.addEventListener("abort", () => order.push("after the throw"));
  c.abort();
  c.abort("twice");
  out.order = order;
  out.reason = { name: c.signal.reason.name, code: c.signal.reason.code, isDom: c.signal.reason instanceof DOMException, isError: c.signal.reason instanceof Error };
  try { AbortSignal.abort("why").throwIfAborted(); } catch (e) { out.thrown = e; }
  const t = AbortSignal.timeout(5);
  await new Promise((r) => t.addEventListener("abort", r, { once: true }));
  out.timeout = t.reason.name;
  const live = new AbortController();
  out.any = [AbortSignal.any([live.signal]).aborted, AbortSignal.any([live.signal, t]).aborted, AbortSignal.any([live.signal, t]).reason.name];
  const follower = AbortSignal.any([live.signal]);
  live.abort("first");
  out.follows = follower.reason;
  try { new AbortSignal(); } catch (e) { out.ctor = e.name; }
  const et = new EventTarget();
  let n = 0;
  const l = () => n++;
  et.addEventListener("x", l, { once: true });
  et.addEventListener("x", l, { once: true });
  et.dispatchEvent(new Event("x"));
  et.dispatchEvent(new Event("x"));
  const gone = new AbortController();
  et.addEventListener("y", l, { signal: gone.signal });
  gone.abort();
  et.dispatchEvent(new Event("y"));
  const cancelable = new Event("z", { cancelable: true });
  et.addEventListener("z", (e) => e.preventDefault());
  out.events = { n, prevented: et.dispatchEvent(cancelable) === false && cancelable.defaultPrevented };
  let ticks = 0;
  await new Promise((r) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); setTimeout(r, 20); } }, 0); });
  out.ticks = ticks;
  const seq = [];
  queueMicrotask(() => seq.push("microtask"));
  seq.push("sync");
  await null;
  out.seq = seq;
  out.base64 = [btoa("hello\\xff"), atob(" aGVs bG8= "), atob("aGk"), atob("")];
  out.bad = [];
  for (const f of [() => btoa("€"), () => atob("a"), () => atob("a==="), () => atob("*")]) { try { f(); out.bad.push("none"); } catch (e) { out.bad.push(e.name); } }
  return out;
}
export async function abortFetch({ url, control }) {
  const c = new AbortController();
  const aborted = fetch(url + "/hang", { signal: c.signal }).then(() => "answered", (e) => e.name + ": " + e.message);
  // Answered by the server once the request above reached it: then the abort has one to stop.
  const alongside = fetch(control).then((r) => r.status);
  await alongside;
  c.abort();
  return { aborted: await aborted, alongside: await alongside };
}
export async function timeoutFetch({ url }) {
  return fetch(url + "/hang", { signal: AbortSignal.timeout(200) }).then(() => "answered", (e) => e.name);
}
export async function alreadyAborted({ url }) {
  return fetch(url + "/echo", { signal: AbortSignal.abort(new Error("not now")) }).then(() => "answered", (e) => e.message);
}
export async function unaborted({ url }) {
  const c = new AbortController();
  const r = await fetch(url + "/echo", { signal: c.signal });
  c.abort();
  return { status: r.status, text: await r.text() };
}
export async function notASignal({ url }) {
  return fetch(url + "/echo", { signal: { aborted: false, addEventListener() {} } }).then(() => "answered", (e) => e.name + ": " + e.message);
}
`;

describe("events, abort signals and fetch's signal", () => {
  let s: Scratch;
  let server: Server;
  let base = "";
  const requests: string[] = [];
  const closedHang = new EventEmitter();
  const hanging = new EventEmitter();
  let hangingNow = 0;
  const plugins: PluginHandle[] = [];

  before(async () => {
    s = scratch();
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      if (req.url === "/hang") {
        // Never answers: only the client going away ends it.
        req.socket.once("close", () => closedHang.emit("closed"));
        hanging.emit("arrived");
        hangingNow++;
        req.socket.once("close", () => hangingNow--);
        return;
      }
      if (req.url === "/after-hang") {
        // Answers once a /hang request is in: the plugin aborts only what reached the server.
        if (hangingNow > 0) res.end("in");
        else hanging.once("arrived", () => res.end("in"));
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("echo");
    });
    server.on("connection", (socket: Socket) => socket.unref());
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(plugins.map((p) => p.close()));
    server.closeAllConnections();
    server.close();
    s.cleanup();
  });

  async function load(isolation: "process" | "in-process"): Promise<PluginHandle> {
    const id = `t.events-${isolation}`;
    const dir = s.plugin(id, manifest(id, { permissions: { net: [new URL(base).host] }, limits: { timeoutMs: 10_000 } }), { "index.js": ENTRIES });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation });
    plugins.push(p);
    return p;
  }

  it("Event, EventTarget, DOMException, AbortController/AbortSignal, queueMicrotask, setInterval and atob/btoa behave as the web defines them", async () => {
    const p = await load("in-process");
    const out = (await p.invoke("events")) as Record<string, unknown>;
    assert.deepEqual(out["order"], ["listener abort true", "onabort", "after the throw"]);
    assert.deepEqual(out["reason"], { name: "AbortError", code: 20, isDom: true, isError: true });
    assert.equal(out["thrown"], "why");
    assert.equal(out["timeout"], "TimeoutError");
    assert.deepEqual(out["any"], [false, true, "TimeoutError"]);
    assert.equal(out["follows"], "first");
    assert.equal(out["ctor"], "TypeError");
    assert.deepEqual(out["events"], { n: 1, prevented: true });
    assert.equal(out["ticks"], 3, "cleared inside its third callback, the interval fires no more");
    assert.deepEqual(out["seq"], ["sync", "microtask"]);
    assert.deepEqual(out["base64"], [Buffer.from("hello\xff", "latin1").toString("base64"), "hello", "hi", ""]);
    assert.deepEqual(out["bad"], ["InvalidCharacterError", "InvalidCharacterError", "InvalidCharacterError", "InvalidCharacterError"]);
  });

  for (const isolation of ["process", "in-process"] as const) {
    it(`${isolation}: an aborted fetch rejects with AbortError and the host closes its connection; a fetch beside it, and one never aborted, answer`, async () => {
      const p = await load(isolation);
      const closed = once(closedHang, "closed");
      const out = (await p.invoke("abortFetch", { url: base, control: `${base}/after-hang` })) as { aborted: string; alongside: number };
      assert.equal(out.aborted, "AbortError: This operation was aborted");
      assert.equal(out.alongside, 200, "positive control: the fetch without a signal is untouched (it answered once the other reached the server)");
      await closed; // the host gave the request up: the server saw the client go away
      assert.deepEqual(await p.invoke("unaborted", { url: base }), { status: 200, text: "echo" }, "positive control: a signal never aborted changes nothing");
      assert.equal(await p.invoke("timeoutFetch", { url: base }), "TimeoutError");
      const before = requests.length;
      assert.equal(await p.invoke("alreadyAborted", { url: base }), "not now");
      assert.equal(requests.length, before, "a signal aborted before the call sends nothing");
      assert.match(String(await p.invoke("notASignal", { url: base })), /^TypeError: fetch: init\.signal must be an AbortSignal/);
    });
  }
});
