// Plugin-supplied values as large as a Warden call's arguments may be (16 MiB of JSON), reaching
// host code that keeps them or does more work on them than the plugin did. The plugin runs in an
// engine process (the default isolation); what is measured is the HOST process: its heap after
// garbage collection, and its event loop while one call is served. Each attack has the legitimate
// form next to it (a short name is answered correctly), so a runtime that refused everything
// would fail too.
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const source = `
// Distinct names of "chars" characters: each one a permission query the host answers at once.
export async function queries({ n, chars, kind }) {
  const base = "A".repeat(chars);
  const states = [];
  for (let i = 0; i < n; i++) {
    const v = base + "B".repeat(i + 1);
    const d = kind === "env" ? { name: "env", variable: v } : { name: "channels", topic: "a." + v, direction: "publish" };
    states.push((await Warden.permissions.query(d)).state);
  }
  return states.slice(0, 2);
}
export async function query(d) { return await Warden.permissions.query(d); }
// One env.get of a name "chars" long (not granted): the host denies it.
export async function bigEnv(chars) {
  try { await Warden.env.get("Z".repeat(chars)); return "read"; } catch (e) { return e.code; }
}
export async function env(name) { try { return (await Warden.env.get(name)) ?? null; } catch (e) { return e.code; } }
`;

describe("plugin values the host keeps or works on", () => {
  let s: Scratch;
  let plugin: PluginHandle;

  before(async () => {
    s = scratch();
    const dir = s.plugin(
      "hoarder",
      manifest("test.hoarder", {
        permissions: { env: ["WARDEN_OUTSIDE_OK"], channels: { publish: ["a.ok"] } },
        // cpuMs at the built-in maximum: the host's work on each 8 MB argument (its depth scan and
        // parse on the engine's thread) is charged to the plugin since the CPU accounting fix, and
        // 24 of them with the isolate's own work came close to 10 s. What is measured is memory.
        limits: { memoryMb: 128, cpuMs: 30_000, timeoutMs: 60_000, cpuMsPerMinute: 60_000 },
      }),
      { "index.js": source },
    );
    process.env["WARDEN_OUTSIDE_OK"] = "yes";
    plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent"), quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await plugin.close();
    s.cleanup();
    delete process.env["WARDEN_OUTSIDE_OK"];
  });

  it("positive control: permission queries and env.get answer for ordinary names", async () => {
    assert.deepEqual(await plugin.invoke("query", { name: "env", variable: "WARDEN_OUTSIDE_OK" }), { state: "granted", rule: "WARDEN_OUTSIDE_OK", source: "permissions.env[0]" });
    assert.deepEqual(await plugin.invoke("query", { name: "env", variable: "OTHER" }), { state: "denied" });
    assert.equal(((await plugin.invoke("query", { name: "channels", topic: "a.ok", direction: "publish" })) as { state: string }).state, "granted");
    assert.equal(await plugin.invoke("env", "WARDEN_OUTSIDE_OK"), "yes");
    assert.equal(await plugin.invoke("env", "OTHER"), "PERMISSION_DENIED");
  });

  // capabilities/decision-cache.ts keeps up to 2048 answers per matcher keyed by the plugin's own
  // string, with no bound on the key's length: 2048 x 16 MiB per matcher (env, channels publish and
  // subscribe, plugins, read/write lexical and real paths). A plugin with no grant at all fills it
  // with permission queries, answered { state: "denied" }.
  for (const kind of ["env", "channels"] as const) {
    it(`distinct huge names in ${kind} permission queries do not stay in the host's memory`, async () => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const n = 24;
      const chars = 8_000_000;
      assert.deepEqual(await plugin.invoke("queries", { n, chars, kind }), ["denied", "denied"]);
      gc();
      await new Promise((r) => setTimeout(r, 100));
      gc();
      const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
      // 24 x 8 MB of names went by; a host that keeps none of them grows by a few MB at most.
      assert.ok(grownMb < 48, `the host's heap kept ${grownMb.toFixed(0)} MB of the plugin's query names after garbage collection`);
    });
  }

  // A 16 MiB name in one denied env.get: the host built a denial message quoting the name twice,
  // hashed it for the audit record and sent 32 MiB back to the engine, all on its own thread (4.3 s
  // of it). What is measured is the host process's CPU time while the call is served: the work
  // done on its thread, which a busy machine does not inflate the way it does wall-clock delays.
  // What is left is the transport's share (parsing the 16 MiB request, hashing it for the audit
  // record), the same as for any call with an argument of that size.
  it("one denied env.get with a 16 MiB name does not stall the host's event loop", async () => {
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    assert.equal(await plugin.invoke("bigEnv", 16 * 1024 * 1024 - 64), "PERMISSION_DENIED");
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    h.disable();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const maxMs = h.max / 1e6;
    assert.ok(cpuMs < 1000, `the host spent ${cpuMs.toFixed(0)} ms of CPU serving one Warden call (event loop blocked up to ${maxMs.toFixed(0)} ms; the call took ${wall.toFixed(0)} ms)`);
  });
});
