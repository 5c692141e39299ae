// CPU a plugin makes its engine's thread spend in host code during a crossing: the prelude's
// synchronous host requests (crypto.getRandomValues, URL parsing) run on the same thread while the
// plugin's crossing is in progress, but only the isolate's own CPU time (isolate.cpuTime) is charged
// to the call and to the plugin's cpuMsPerMinute window. A loop of such requests occupies the
// thread (which its co-tenants share) for several times its cpuMs. The positive control is the same
// shape as a plain JavaScript loop, which the CPU watch stops.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const source = `
// "rounds" rounds of "ms" milliseconds of busy work each, a timer turn between them (each round is a crossing of its own).
export async function spin({ rounds, ms }) {
  let n = 0;
  for (let r = 0; r < rounds; r++) { const end = Date.now() + ms; while (Date.now() < end) n++; await new Promise((res) => setTimeout(res, 0)); }
  return n;
}
export async function random({ rounds, ms }) {
  const a = new Uint8Array(65536);
  let n = 0;
  for (let r = 0; r < rounds; r++) { const end = Date.now() + ms; while (Date.now() < end) { crypto.getRandomValues(a); n++; } await new Promise((res) => setTimeout(res, 0)); }
  return n;
}
export function once() { const a = new Uint8Array(16); crypto.getRandomValues(a); return a.length; }
`;

describe("CPU spent in host code during a crossing", () => {
  let s: Scratch;
  let plugin: PluginHandle;

  before(async () => {
    s = scratch();
    const dir = s.plugin("busy", manifest("test.busy-host", { limits: { cpuMs: 300, timeoutMs: 10_000, cpuMsPerMinute: 60_000 } }), { "index.js": source });
    plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent"), quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await plugin.close();
    s.cleanup();
  });

  it("positive control: getRandomValues works, and 600 ms of plain JavaScript under cpuMs 300 is CPU_LIMIT", async () => {
    assert.equal(await plugin.invoke("once"), 16);
    await assert.rejects(plugin.invoke("spin", { rounds: 6, ms: 100 }), { code: "CPU_LIMIT" });
  });

  it("600 ms of the engine's thread spent in getRandomValues requests under cpuMs 300 is CPU_LIMIT too", async () => {
    const t0 = performance.now();
    const r = await plugin.invoke("random", { rounds: 6, ms: 100 }).then(
      (n) => ({ ok: true as const, n }),
      (e: { code?: string }) => ({ ok: false as const, code: e.code }),
    );
    const wall = performance.now() - t0;
    assert.deepEqual(r.ok ? "finished" : r.code, "CPU_LIMIT", `the call kept its engine's thread busy for ${wall.toFixed(0)} ms under cpuMs 300 and finished (${JSON.stringify(r)})`);
  });
});
