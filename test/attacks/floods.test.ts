// Floods a hostile plugin can try: timers, microtask loops, CPU a little at a time, logging
// loops, denial storms, oversized arguments, too many calls, failing again and again, and channel
// messages piling up in the host behind subscribers that never settle. Each is contained, and
// each has the normal use next to it that must keep working.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { ChannelMessage } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { DEFAULT_OWNER_QUEUE_BYTES, DEFAULT_QUEUE_BYTES } from "../../core/channels/bus.ts";
import { createHost } from "../../core/host/host.ts";
import { DEFAULT_MAX_LIMITS } from "../../core/limits.ts";
import { createDefaultLogger, type Logger } from "../../core/logger.ts";
import { loadPlugin, type PluginEvent, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
const silent = createDefaultLogger("silent");

const floodSource = `
export async function timers(n) {
  let made = 0;
  try { for (let i = 0; i < n; i++) { setTimeout(() => {}, 60000); made++; } } catch (e) { return { made, error: e.name + ": " + e.message }; }
  return { made };
}
export async function microtasks() { for (;;) await null; }
export function thenChain() { return new Promise(() => { const f = () => Promise.resolve().then(f); f(); }); }
export function spinFor(ms) { const end = Date.now() + ms; while (Date.now() < end) {} return ms; }
export function logFlood(n) { for (let i = 0; i < n; i++) console.log("flood line " + i); return n; }
export async function denialStorm(n) {
  let denied = 0;
  for (let i = 0; i < n; i++) { try { await Warden.fs.readTextFile("/etc/passwd"); } catch (e) { if (e.code === "PERMISSION_DENIED") denied++; } }
  return denied;
}
export async function hugeArgument() {
  try { await Warden.fs.readTextFile("x".repeat(17 * 1024 * 1024)); return "sent"; } catch (e) { return e.code; }
}
export async function wait(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; }
export function ok() { return "ok"; }
export function spin() { for (;;) {} }
`;

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino<never>({ level: "info", base: null }, stream), lines };
}

describe("floods", () => {
  let flood: PluginHandle;
  let logs: ReturnType<typeof captureLogger>;
  const audit = memoryAuditLog();

  before(async () => {
    s = scratch();
    logs = captureLogger();
    const dir = s.plugin("flood", manifest("test.flood", { permissions: { read: ["data/"] }, limits: { cpuMs: 1000, timeoutMs: 5000, cpuMsPerMinute: 60_000 } }), { "index.js": floodSource, "data/x": "x" });
    flood = await loadPlugin(dir, { audit, logger: logs.logger, quarantine: { maxFailures: 1000 } });
  });
  after(async () => {
    await flood.close();
  });

  it("timers: past 1000 live timers setTimeout throws inside the plugin (positive control: 10 are fine)", async () => {
    assert.deepEqual(await flood.invoke("timers", 10), { made: 10 });
    const r = (await flood.invoke("timers", 5000)) as { made: number; error?: string };
    assert.equal(r.made, 1000 - 10);
    assert.match(r.error ?? "", /^RangeError: setTimeout: this plugin already has 1000 timers pending/);
  });

  it("a microtask loop and a then-chain are stopped by the CPU watch", async () => {
    await assert.rejects(flood.invoke("microtasks"), { code: "CPU_LIMIT" });
    // A then-chain also allocates a promise per step: whichever limit it reaches first stops it.
    await assert.rejects(flood.invoke("thenChain"), (e: Error & { code?: string }) => e.code === "CPU_LIMIT" || e.code === "MEMORY_LIMIT");
    assert.equal(await flood.invoke("ok"), "ok");
  });

  it("MAI-56: a logging loop reaches the host log rate-limited, with the number dropped", async () => {
    const before = logs.lines.length;
    assert.equal(await flood.invoke("logFlood", 20_000), 20_000);
    await new Promise((r) => setTimeout(r, 100));
    const got = logs.lines.slice(before);
    const floodLines = got.filter((l) => String(l["msg"]).startsWith("flood line"));
    assert.ok(floodLines.length > 0 && floodLines.length <= 1000, `between 1 and 1000 lines reached the log (${floodLines.length})`);
    const dropped = got.find((l) => typeof l["dropped"] === "number");
    assert.ok(dropped, "the host log says lines were dropped");
    assert.equal((dropped["dropped"] as number) + floodLines.length, 20_000, "every line is either logged or counted");
  });

  it("a denial storm is one denial record plus one counted repeat, never lost", async () => {
    assert.equal(await flood.invoke("denialStorm", 2000), 2000);
    const before = audit.lines.length;
    await flood.close();
    const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const denials = records.filter((r) => r["plugin"] === "test.flood" && (r["type"] === "deny" || r["type"] === "deny-repeat") && r["value"] === "/etc/passwd");
    assert.equal(denials.filter((r) => r["type"] === "deny").length, 1);
    const repeat = denials.find((r) => r["type"] === "deny-repeat");
    assert.equal(repeat?.["count"], 1999);
    assert.ok(audit.lines.length > before, "the count was written when the plugin closed");
    // reopen for the tests that follow
    flood = await loadPlugin(`${s.root}/flood`, { audit, logger: logs.logger, quarantine: { maxFailures: 1000 } });
  });

  it("an argument past 16 MiB is refused inside the plugin with BAD_INPUT; an input past 8 MiB is refused by the host", async () => {
    assert.equal(await flood.invoke("hugeArgument"), "BAD_INPUT");
    await assert.rejects(flood.invoke("ok", { blob: "x".repeat(9 * 1024 * 1024) }), { code: "BAD_INPUT" });
    assert.equal(await flood.invoke("ok", { small: true }), "ok");
  });
});

describe("budgets and queues", () => {
  before(() => {
    s ??= scratch();
  });

  it("a plugin that stays under cpuMs per call but over cpuMsPerMinute is refused with CPU_LIMIT until the window frees", async () => {
    const dir = s.plugin("sipper", manifest("test.sipper", { limits: { cpuMs: 200, cpuMsPerMinute: 250 } }), { "index.js": floodSource });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger: silent, quarantine: { maxFailures: 1000 } });
    try {
      assert.equal(await p.invoke("spinFor", 100), 100, "positive control: one call within both limits");
      const refusals: Array<Error & { code?: string }> = [];
      for (let i = 0; i < 5 && refusals.length === 0; i++) {
        await p.invoke("spinFor", 100).catch((e: Error & { code?: string }) => refusals.push(e));
      }
      const refused = refusals[0];
      assert.equal(refused?.code, "CPU_LIMIT");
      assert.match(refused?.message ?? "", /CPU budget of 250 ms per 60 s \(limits\.cpuMsPerMinute\); it can run again in \d/);
      await assert.rejects(p.invoke("ok"), { code: "CPU_LIMIT" }, "even a cheap call is refused while the window is spent");
    } finally {
      await p.close();
    }
  });

  it("too many calls at once: past running + queued, BUSY at once (positive control: within them all succeed)", async () => {
    const dir = s.plugin("waiter", manifest("test.waiter"), { "index.js": floodSource });
    const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger: silent, concurrency: { maxInFlight: 2, maxQueued: 2 } });
    try {
      const accepted = [p.invoke("wait", 200), p.invoke("wait", 200), p.invoke("wait", 10), p.invoke("wait", 10)];
      await assert.rejects(p.invoke("wait", 10), { code: "BUSY" });
      assert.deepEqual(await Promise.all(accepted), [200, 200, 10, 10]);
      assert.equal(await p.invoke("ok"), "ok");
    } finally {
      await p.close();
    }
  });

  it("MAI-60: a quarantine ends by itself when its period passes, as an event and an audit record", async () => {
    const dir = s.plugin("crasher2", manifest("test.crasher2", { limits: { cpuMs: 50 } }), { "index.js": floodSource });
    const audit = memoryAuditLog();
    const events: PluginEvent[] = [];
    const p = await loadPlugin(dir, { audit, logger: silent, quarantine: { maxFailures: 2, baseMs: 300 }, onEvent: (e) => events.push(e) });
    try {
      for (let i = 0; i < 2; i++) await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT" });
      await assert.rejects(p.invoke("ok"), { code: "QUARANTINED" });
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(events.at(-1), { type: "release", plugin: "test.crasher2", by: "timeout" });
      assert.equal(await p.invoke("ok"), "ok");
    } finally {
      await p.close();
    }
  });

  it("MAI-60: failing again and again quarantines the plugin with a clear error, audited; release re-enables it", async () => {
    const dir = s.plugin("crasher", manifest("test.crasher", { limits: { cpuMs: 50 } }), { "index.js": floodSource });
    const audit = memoryAuditLog();
    const events: PluginEvent[] = [];
    const p = await loadPlugin(dir, { audit, logger: silent, quarantine: { maxFailures: 3, windowMs: 60_000 }, onEvent: (e) => events.push(e) });
    try {
      for (let i = 0; i < 3; i++) await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT" });
      assert.equal(p.quarantined, true);
      await assert.rejects(p.invoke("ok"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "QUARANTINED");
        assert.match(e.message, /quarantined until .* after failing 3 times in 60 s \(last: CPU_LIMIT: .*spin\(\) used more than cpuMs/);
        return true;
      });
      p.release();
      assert.equal(await p.invoke("ok"), "ok", "released by the operator, it runs again");
      assert.deepEqual(events.filter((e) => e.type !== "invoke").map((e) => e.type), ["limit", "limit", "limit", "quarantine", "release"]);
      const types = audit.lines.map((l) => (JSON.parse(l) as { type: string }).type);
      assert.ok(types.includes("quarantine") && types.includes("release"), types.join(","));
    } finally {
      await p.close();
    }
  });

  after(() => s.cleanup());
});

describe("the bus holds a bounded number of bytes", () => {
  it("a publisher flooding a subscriber that never settles, and one subscribing twenty times, keeps the host's queued bytes bounded; what was dropped is reported to the subscriber (positive control: a normal subscriber gets every message in order)", async () => {
    const sc = scratch();
    const N = 40;
    const SIZE = 200 * 1024;
    // The publisher gets all the time it may have: on a busy machine 40 messages of 200 KiB to 22
    // subscriptions across processes take a while.
    sc.plugin("pub", manifest("t.pub", { permissions: { channels: { publish: ["flood.*"] } }, limits: { messageBytes: 16 * 1024 * 1024, timeoutMs: 60_000 } }), {
      "index.js": `
export async function flood({ n, size }) {
  const pad = "x".repeat(size);
  for (let i = 0; i < n; i++) await Warden.channels.publish("flood.x", { i, pad });
  return n;
}
export async function tooBig(size) { try { await Warden.channels.publish("flood.x", { pad: "x".repeat(size) }); return "sent"; } catch (e) { return e.code; } }
`,
    });
    sc.plugin("stuck", manifest("t.stuck", { permissions: { channels: { subscribe: ["flood.*"] } }, limits: { timeoutMs: 3_600_000 } }), {
      "index.js": `
let open;
const gate = new Promise((r) => (open = r));
const seen = [];
export async function onLoad() {
  await Warden.channels.subscribe("flood.x", async (m) => { seen.push({ i: m.data.i, dropped: m.dropped }); await gate; });
}
export function release() { open(); return true; }
export function received() { return seen; }
`,
    });
    sc.plugin("hog", manifest("t.hog", { permissions: { channels: { subscribe: ["flood.*"] } }, limits: { timeoutMs: 3_600_000 } }), {
      "index.js": `export async function onLoad() { for (let k = 0; k < 20; k++) await Warden.channels.subscribe("flood.x", () => new Promise(() => {})); }`,
    });
    const host = await createHost({ pluginsDir: sc.root, logger: silent, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(host.status().find((p) => p.id === "t.stuck")?.limits?.timeoutMs, DEFAULT_MAX_LIMITS.timeoutMs, "an hour asked, a minute given");
      assert.equal(host.status().find((p) => p.id === "t.pub")?.limits?.messageBytes, DEFAULT_MAX_LIMITS.messageBytes);
      assert.equal(await host.invoke("t.pub", "tooBig", 2 * 1024 * 1024), "TooLarge", "a message past the clamped messageBytes is refused");
      const got: number[] = [];
      let peak = 0;
      host.bus.subscribe("flood.x", (m: ChannelMessage) => {
        got.push((m.data as { i: number }).i);
        peak = Math.max(peak, host.bus.queuedBytes);
      });
      assert.equal(await host.invoke("t.pub", "flood", { n: N, size: SIZE }), N);
      peak = Math.max(peak, host.bus.queuedBytes);
      assert.ok(host.bus.queuedBytesOf("t.stuck") <= DEFAULT_QUEUE_BYTES, `one stuck subscription holds ${host.bus.queuedBytesOf("t.stuck")} bytes`);
      assert.ok(host.bus.queuedBytesOf("t.hog") <= DEFAULT_OWNER_QUEUE_BYTES, `twenty stuck subscriptions hold ${host.bus.queuedBytesOf("t.hog")} bytes together`);
      assert.ok(host.bus.queuedBytesOf("t.hog") > DEFAULT_QUEUE_BYTES, "the hog's queues did fill (the bound is what stopped them)");
      assert.ok(peak <= DEFAULT_OWNER_QUEUE_BYTES + 2 * DEFAULT_QUEUE_BYTES, `peak ${peak} bytes queued in the host`);
      for (let i = 0; i < 500 && got.length < N; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), "positive control: a subscriber that keeps up gets every message, in order");
      await host.invoke("t.stuck", "release");
      let seen: Array<{ i: number; dropped: number }> = [];
      for (let i = 0; i < 500 && seen.at(-1)?.i !== N - 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = (await host.invoke("t.stuck", "received")) as typeof seen;
      }
      assert.equal(seen.at(-1)?.i, N - 1, "the newest message was kept");
      assert.ok(seen.some((m) => m.dropped > 0), "the subscriber is told it missed messages");
      assert.equal(seen.length + seen.reduce((n, m) => n + m.dropped, 0), N, "every message was delivered or counted as dropped");
      assert.ok(seen.every((m, k) => k === 0 || m.i > (seen[k - 1]?.i ?? -1)), "in order");
    } finally {
      await host.close();
      sc.cleanup();
    }
  });
});
