// Each limit is hit, gives its code, and afterwards the same plugin and another plugin (loaded
// alongside it the whole time) still answer correctly: the host never goes down.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { hugeAllocationContained } from "../helpers/node-line.ts";

let s: Scratch;
let hostile: PluginHandle;
let bystander: PluginHandle;
let grower: PluginHandle;
const limitsSeen: string[] = [];

const hostileSource = `
let calls = 0;
export function count() { return ++calls; }
export function spin() { while (true) {} }
export async function spinLater() { await null; await new Promise((r) => setTimeout(r, 5)); while (true) {} }
export async function hang() { await new Promise(() => {}); }
export function grow() { const a = []; while (true) a.push(new Array(100000).fill(a.length)); }
export function hugeArray() { Array(1e9).fill(0); return 'unreachable'; }
export function bigResult() { return 'x'.repeat(9 * 1024 * 1024); }
export function weird() { return { when: new Date(0) }; }
`;

async function expectCode(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

async function bothStillAnswer(): Promise<void> {
  assert.equal(typeof (await hostile.invoke("count")), "number");
  assert.equal(await bystander.invoke("echo", { x: 1 }), '{"x":1}');
}

describe("limits", () => {
  before(async () => {
    s = scratch();
    const logger = createDefaultLogger("silent");
    const hostileDir = s.plugin("hostile", manifest("test.hostile", { limits: { memoryMb: 16, cpuMs: 300, timeoutMs: 1500 } }), { "index.js": hostileSource });
    const bystanderDir = s.plugin("bystander", manifest("test.bystander"), { "index.js": "export const echo = (x) => JSON.stringify(x);" });
    // The memory limit on its own: V8 collecting garbage near a 16 MiB heap took 300-600 ms of CPU
    // on a loaded 2-core machine, past the 300 ms cpuMs the CPU tests use.
    const growerDir = s.plugin("grower", manifest("test.grower", { limits: { memoryMb: 16, cpuMs: 5000, timeoutMs: 20_000 } }), { "index.js": hostileSource });
    [hostile, bystander, grower] = await Promise.all([
      // This test hits limits on purpose, many times: quarantine (tested on its own) would stop it.
      loadPlugin(hostileDir, { audit: memoryAuditLog(), logger, onLimit: (e) => limitsSeen.push(e.code), quarantine: { maxFailures: 1000 } }),
      loadPlugin(bystanderDir, { audit: memoryAuditLog(), logger }),
      loadPlugin(growerDir, { audit: memoryAuditLog(), logger, onLimit: (e) => limitsSeen.push(e.code), quarantine: { maxFailures: 1000 } }),
    ]);
  });
  after(async () => {
    await Promise.all([hostile.close(), bystander.close(), grower.close()]);
    s.cleanup();
  });

  it("positive control: both plugins answer before any limit is hit", bothStillAnswer);

  it("while(true){} gives CPU_LIMIT, and the bystander answers during it", async () => {
    const spinning = hostile.invoke("spin");
    assert.equal(await bystander.invoke("echo", "during"), '"during"');
    await expectCode(spinning, "CPU_LIMIT", /test\.hostile: spin\(\) used more than cpuMs \(300 ms\)/);
    await bothStillAnswer();
  });

  it("CPU spent after awaits and timers still counts (CPU_LIMIT, not TIMEOUT)", async () => {
    await expectCode(hostile.invoke("spinLater"), "CPU_LIMIT", /spinLater\(\) used more than cpuMs/);
    await bothStillAnswer();
  });

  it("a promise that never settles gives TIMEOUT", async () => {
    await expectCode(hostile.invoke("hang"), "TIMEOUT", /hang\(\) did not settle within timeoutMs \(1500 ms\)/);
    await bothStillAnswer();
  });

  it("an allocation loop gives MEMORY_LIMIT", async () => {
    await expectCode(grower.invoke("grow"), "MEMORY_LIMIT", /test\.grower (exceeded its memory limit of 16 MiB|exhausted the V8 heap)/);
    await bothStillAnswer();
  });

  it("Array(1e9).fill(0), which makes V8 abort or hang a process, gives MEMORY_LIMIT (on Node 24 possibly TIMEOUT or a crash) and the host lives", async () => {
    await assert.rejects(hostile.invoke("hugeArray"), (e: Error & { code?: string }) => {
      assert.ok(hugeAllocationContained(e), `${e.code}: ${e.message}`);
      assert.match(e.message, /test\.hostile/);
      return true;
    });
    await bothStillAnswer();
  });

  it("a result over 8 MiB or not JSON-compatible is RESULT_INVALID", async () => {
    // Making and serialising 9 MiB takes real CPU: on a loaded machine more than the hostile
    // plugin's 300 ms, which would make this a CPU_LIMIT test. The same code with room to finish.
    const roomy = await loadPlugin(s.plugin("roomy", manifest("test.roomy", { limits: { memoryMb: 64, cpuMs: 10_000, timeoutMs: 20_000 } }), { "index.js": hostileSource }), {
      audit: memoryAuditLog(),
      logger: createDefaultLogger("silent"),
    });
    try {
      await expectCode(roomy.invoke("bigResult"), "RESULT_INVALID", /larger than the limit/);
    } finally {
      await roomy.close();
    }
    await expectCode(hostile.invoke("weird"), "RESULT_INVALID", /result\.when: a Date is not JSON-compatible/);
    await bothStillAnswer();
  });

  it("reports every limit hit to the host", () => {
    for (const code of ["CPU_LIMIT", "TIMEOUT", "MEMORY_LIMIT"]) assert.ok(limitsSeen.includes(code), `${code} in ${limitsSeen.join(",")}`);
  });

  it("a condemned isolate is rebuilt: module state starts again", async () => {
    await expectCode(hostile.invoke("spin"), "CPU_LIMIT", /spin/);
    assert.equal(await hostile.invoke("count"), 1);
    assert.equal(await hostile.invoke("count"), 2);
  });
});
