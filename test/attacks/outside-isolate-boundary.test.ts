// The isolate boundary attacked from inside a plugin that first tampers with its own realm's
// intrinsics. The prelude serialises what it sends the host (a failed call's error descriptor, a
// timer request, a console line) with the plugin's JSON.stringify semantics, and JSON.stringify
// asks every object for a `toJSON` method, inherited from Object.prototype if the plugin put one
// there: so the plugin could rewrite the prelude's own requests after the prelude had checked them.
// Two things followed. A failed call could carry a code warden keeps for itself (ENGINE_RESTARTED,
// QUARANTINED, BUSY, APPROVAL_REQUIRED, ...), which the host accepted: an onLoad that failed with a
// forged ENGINE_RESTARTED on every restart was never counted towards quarantine, and the host
// application saw "retry" where the plugin had failed. And a timer request could name the same id
// again and again: each replaced the host's record of the last one without clearing its Node timer,
// so the plugin had as many host timers as it liked (past its 1000) and they outlived the plugin.
// Each attack runs next to the legitimate neighbour that must keep working.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { calleeErrorForCaller } from "../../core/host/callee-errors.ts";
import { BadInputError, CONTRACT_ERROR_CODES, EngineRestartedError, EXTENSION_ERROR_CODES, isWardenError, PluginError, TimeoutError } from "../../errors/index.ts";
import { callOutcome } from "../../isolate/call-results.ts";
import { PluginTimers } from "../../isolate/plugin-timers.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const logger = createDefaultLogger("silent");

// Installs Object.prototype.toJSON (as a value, or as a getter) rewriting any object that looks
// like an error descriptor into one with the code the attacker wants.
const FORGE = `
function forge(code, asGetter) {
  const fn = function () {
    if (typeof this.code === "string" && typeof this.message === "string") return { name: "Forged", code, message: "forged " + code };
    return this;
  };
  Object.defineProperty(Object.prototype, "toJSON", asGetter ? { configurable: true, get() { return fn; } } : { configurable: true, writable: true, value: fn });
}
`;

const SOURCE = `${FORGE}
export async function forgedThrow({ code, asGetter }) { forge(code, asGetter); throw new Error("the plugin's own failure"); }
export function forgedSyncThrow({ code }) { forge(code, false); throw new TypeError("the plugin's own failure"); }
export async function forgedResult({ code }) { forge(code, false); return { n: 1n }; }
export async function contractCode() {
  delete Object.prototype.toJSON;
  const e = new Error("say which field"); e.code = "BAD_INPUT"; throw e;
}
export async function plainThrow() { delete Object.prototype.toJSON; throw new RangeError("exploded"); }
export async function ok() { delete Object.prototype.toJSON; return { fine: [1, 2] }; }
`;

describe("a plugin cannot raise an error code warden keeps for itself", () => {
  let s: Scratch;
  let p: PluginHandle;
  before(async () => {
    s = scratch();
    const dir = s.plugin("forger", manifest("att.code-forger"), { "index.js": SOURCE });
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("positive control: results, a contract code the plugin throws and a plain throw come through as they were", async () => {
    assert.deepEqual(await p.invoke("ok"), { fine: [1, 2] });
    await assert.rejects(p.invoke("contractCode"), (e: { code?: string; message?: string }) => e.code === "BAD_INPUT" && e.message === "say which field");
    await assert.rejects(p.invoke("plainThrow"), (e: { code?: string; message?: string }) => e.code === "PLUGIN_ERROR" && /RangeError: exploded/.test(e.message ?? ""));
  });

  for (const code of EXTENSION_ERROR_CODES) {
    it(`Object.prototype.toJSON rewriting a thrown error's descriptor to ${code} leaves it the plugin's PLUGIN_ERROR`, async () => {
      await assert.rejects(p.invoke("forgedThrow", { code, asGetter: false }), (e: { code?: string; message?: string }) => {
        assert.equal(e.code, "PLUGIN_ERROR", `${code}: ${e.message}`);
        assert.match(e.message ?? "", /the plugin's own failure/);
        return true;
      });
    });
  }

  it("the same through a toJSON getter, a synchronous throw, and a result that is not JSON-compatible", async () => {
    await assert.rejects(p.invoke("forgedThrow", { code: "ENGINE_RESTARTED", asGetter: true }), { code: "PLUGIN_ERROR" });
    await assert.rejects(
      p.invoke("forgedSyncThrow", { code: "QUARANTINED" }),
      (e: { code?: string; message?: string }) => e.code === "PLUGIN_ERROR" && /TypeError: the plugin's own failure/.test(e.message ?? ""),
    );
    await assert.rejects(p.invoke("forgedResult", { code: "BUSY" }), (e: { code?: string; message?: string }) => e.code === "RESULT_INVALID" && /BigInt/.test(e.message ?? ""));
  });

  it("the host's own check: a settled error naming any code outside the contract is PLUGIN_ERROR; contract codes stay", () => {
    const who = { pluginId: "att.x", entry: "go", resultChars: 1000 };
    for (const code of [...EXTENSION_ERROR_CODES, "EACCES", "", 7, null]) {
      const o = callOutcome(false, JSON.stringify({ name: "X", code, message: "m" }), who);
      assert.equal(o.error?.code, "PLUGIN_ERROR", String(code));
    }
    for (const code of CONTRACT_ERROR_CODES) {
      const o = callOutcome(false, JSON.stringify({ name: "X", code, message: "m" }), who);
      assert.equal(o.error?.code, code);
    }
  });
});

describe("a forged ENGINE_RESTARTED does not keep a failing plugin out of quarantine", () => {
  let s: Scratch;
  let p: PluginHandle;
  before(async () => {
    s = scratch();
    // After the first limit, every restart's onLoad fails, claiming that an engine restart did it.
    const source = `${FORGE}
export async function onLoad() {
  let marked = false;
  try { await Warden.fs.readTextFile("data/spun"); marked = true; } catch {}
  if (!marked) return;
  forge("ENGINE_RESTARTED", false);
  throw new Error("refusing to start again");
}
export async function spin() { await Warden.fs.writeTextFile("data/spun", "1"); for (;;) {} }
export function hello() { return "hi"; }
`;
    const dir = s.plugin("restarter", manifest("att.restart-forger", { permissions: { read: ["data/"], write: ["data/"] }, limits: { cpuMs: 50, timeoutMs: 1000 } }), {
      "index.js": source,
      "data/.keep": "",
    });
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger, quarantine: { maxFailures: 3 } });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("restarts failing with a forged ENGINE_RESTARTED count: after its limit the plugin is quarantined (positive control: it answered before)", async () => {
    assert.equal(await p.invoke("hello"), "hi");
    await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT" });
    const codes: string[] = [];
    for (let i = 0; i < 6 && !codes.includes("QUARANTINED"); i++) {
      await p.invoke("hello").then(
        () => codes.push("answered"),
        (e: { code?: string }) => codes.push(e.code ?? "?"),
      );
    }
    assert.ok(codes.includes("QUARANTINED"), `the restarts that failed with a forged ENGINE_RESTARTED were not counted: ${codes.join(", ")}`);
  });
});

const TIMERS = `
function forgeTimers(make) {
  Object.defineProperty(Object.prototype, "toJSON", { configurable: true, writable: true, value: function () {
    if (typeof this.id === "number" && "ms" in this) return make(this);
    return this;
  } });
}
function count(n) {
  let made = 0;
  try { for (let i = 0; i < n; i++) { setTimeout(() => {}, 1e9); made++; } } catch (e) { return { made, error: e.name + ": " + e.message }; }
  return { made };
}
export function sameId() { forgeTimers(() => ({ id: 1, ms: 2147483647 })); try { return count(3000); } finally { delete Object.prototype.toJSON; } }
export function plain() { return count(3000); }
export async function oddIds() {
  const fired = [];
  for (const id of [{ x: 1 }, "1", -1, 1.5, null, [2]]) {
    forgeTimers(() => ({ id, ms: 0 }));
    try { await new Promise((r) => setTimeout(() => { fired.push(JSON.stringify(id)); r(); }, 0)); } finally { delete Object.prototype.toJSON; }
  }
  return fired.length;
}
export async function sleep() { await new Promise((r) => setTimeout(r, 1)); const t = setTimeout(() => { throw new Error("cleared"); }, 1); clearTimeout(t); return "slept"; }
`;

describe("a plugin cannot make host timers its count does not see", () => {
  let s: Scratch;
  let p: PluginHandle;
  const hostTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  // In the host's process, so that the plugin's timers are this process's to count.
  const load = (name: string): Promise<PluginHandle> =>
    loadPlugin(s.plugin(name, manifest(`att.${name}`, { limits: { cpuMs: 2000, timeoutMs: 5000 } }), { "index.js": TIMERS }), {
      audit: memoryAuditLog(),
      logger,
      quarantine: { maxFailures: 1000 },
      isolation: "in-process",
    });
  before(async () => {
    s = scratch();
    p = await load("timer-forger");
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("positive control: timers fire and clear; 3000 ordinary timers stop at the plugin's 1000", async () => {
    assert.equal(await p.invoke("sleep"), "slept");
    const other = await load("timer-counter");
    try {
      assert.deepEqual(await other.invoke("plain"), { made: 1000, error: "RangeError: setTimeout: this plugin already has 1000 timers pending; clear some before setting more" });
    } finally {
      await other.close();
    }
  });

  it("timer requests rewritten to name one id again and again still stop at 1000, and none outlives the plugin", async () => {
    const baseline = hostTimers();
    const forger = await load("timer-same-id");
    try {
      const r = (await forger.invoke("sameId")) as { made: number; error?: string };
      assert.ok(r.made <= 1000, `the plugin made ${r.made} timers`);
    } finally {
      await forger.close();
    }
    // At most as many as before: an unrelated timer of this process (another test's, Node's own)
    // may end meanwhile; the attack left thousands behind.
    const left = hostTimers();
    assert.ok(left <= baseline, `host timers left after the plugin closed: ${left}, ${baseline} before it loaded`);
  });

  it("timer requests rewritten to carry ids that are not the prelude's (objects, strings, negatives) change nothing: every timer fires", async () => {
    assert.equal(await p.invoke("oddIds"), 6);
    assert.equal(await p.invoke("sleep"), "slept");
  });

  it("the host's own check: a timer id that is not a positive integer is refused, and an id set twice is one timer", () => {
    const fired: unknown[] = [];
    const timers = new PluginTimers((id) => fired.push(id));
    const before = hostTimers();
    for (const id of [{ x: 1 }, "1", -1, 0, 1.5, null, Number.MAX_SAFE_INTEGER + 2]) assert.throws(() => timers.set(id, 10_000), /timer id/, JSON.stringify(id));
    for (let i = 0; i < 2000; i++) timers.set(7, 10_000);
    assert.equal(hostTimers(), before + 1, "one Node timer for the id set 2000 times");
    timers.set(8, 10_000);
    timers.stop();
    assert.equal(hostTimers(), before);
    assert.deepEqual(fired, []);
  });
});

// A plugin calling another learns that the callee is not available, never why (the failure's text
// is the operator's, in status()): the rule held for a callee that failed to load, but a callee
// quarantined or restarting after failures refused the call with its last failure in the message,
// and an engine restart named the co-tenant that caused it.
const VICTIM = `
export async function onLoad() {
  let spun = false;
  try { await Warden.fs.readTextFile("data/spun"); spun = true; } catch {}
  if (spun) throw new Error("db password is hunter2 at /srv/secret/t.victim");
}
export async function spin() { await Warden.fs.writeTextFile("data/spun", "1"); for (;;) {} }
export const x = () => "x";
`;
const CALLER = `
export async function call() {
  try { return { ok: await Warden.plugins.call("t.victim", "x", {}) }; } catch (e) { return { code: e.code, message: String(e.message) }; }
}
`;

describe("what a calling plugin learns of a callee quarantined after failing its restarts", () => {
  let s: Scratch;
  let host: Host;
  before(async () => {
    s = scratch();
    s.plugin("victim", manifest("t.victim", { permissions: { read: ["data/"], write: ["data/"] }, limits: { cpuMs: 50, timeoutMs: 1000 } }), { "index.js": VICTIM, "data/.keep": "" });
    s.plugin("caller", manifest("t.caller", { permissions: { plugins: ["t.victim"] }, limits: { timeoutMs: 10_000 } }), { "index.js": CALLER });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, quarantine: { maxFailures: 3 } });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("a callee quarantined after failing restarts refuses its caller with its state only, not the failure (positive control: the call answered before)", async () => {
    assert.deepEqual(await host.invoke("t.caller", "call"), { ok: "x" });
    await assert.rejects(host.invoke("t.victim", "spin"), { code: "CPU_LIMIT" });
    const seen: Array<{ ok?: unknown; code?: string; message?: string }> = [];
    for (let i = 0; i < 3; i++) seen.push((await host.invoke("t.caller", "call")) as { code?: string; message?: string });
    assert.ok(
      seen.some((r) => r.code === "QUARANTINED"),
      JSON.stringify(seen),
    );
    for (const r of seen) {
      assert.ok(r.code === "QUARANTINED" || r.code === "TIMEOUT", JSON.stringify(r));
      assert.match(r.message ?? "", /t\.victim is (not available|restarting)/, JSON.stringify(r));
      for (const secret of ["hunter2", "/srv/secret", "onLoad", "restart failed", s.root]) assert.ok(!(r.message ?? "").includes(secret), `${secret} leaked to the caller: ${r.message}`);
    }
    // The operator still sees why.
    await until("the victim's failure to be in its status", () => /hunter2/.test(JSON.stringify(host.status().find((p) => p.id === "t.victim"))));
  });
});

describe("a callee's state, as its caller sees it", () => {
  it("names no other plugin: not the co-tenant that caused it", () => {
    const restarted = new EngineRestartedError("plugin t.victim: its engine was ended because plugin t.secret-neighbour made it end; t.victim is back in a fresh engine: retry the call", {
      pluginId: "t.victim",
      culprits: ["t.secret-neighbour"],
    });
    const seen = calleeErrorForCaller(restarted, "t.caller", "t.victim", "x");
    assert.equal(isWardenError(seen) ? seen.code : undefined, "ENGINE_RESTARTED");
    assert.ok(seen instanceof Error && !seen.message.includes("t.secret-neighbour") && /retry/.test(seen.message), String(seen));
    assert.ok(isWardenError(seen) && !JSON.stringify(seen.details).includes("t.secret-neighbour"));
  });

  it("a restart in progress says that it is one, not after what", () => {
    const restarting = new TimeoutError("plugin t.victim is restarting (restart failed: PLUGIN_ERROR: Error: db password is hunter2) and was not back within 1000 ms; x() was not run", {
      pluginId: "t.victim",
      entry: "x",
      restarting: true,
    });
    const seen = calleeErrorForCaller(restarting, "t.caller", "t.victim", "x");
    assert.ok(isWardenError(seen) && seen.code === "TIMEOUT" && /t\.victim is restarting/.test(seen.message) && !seen.message.includes("hunter2"), String(seen));
  });

  it("positive control: the callee's own answers (what it threw, its limits) reach the caller as they were", () => {
    for (const own of [new PluginError("plugin t.victim: x() threw: TypeError: nope", { pluginId: "t.victim" }), new BadInputError("bad field", { pluginId: "t.victim" })]) {
      assert.equal(calleeErrorForCaller(own, "t.caller", "t.victim", "x"), own);
    }
  });
});
