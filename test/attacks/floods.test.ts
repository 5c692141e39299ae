// Floods a hostile plugin can try: timers, microtask loops, CPU a little at a time, logging
// loops, denial storms, oversized arguments, too many calls, failing again and again, and channel
// messages piling up in the host behind subscribers that never settle. Each is contained, and
// each has the normal use next to it that must keep working.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog, openAuditLog } from "../../core/audit/audit-log.ts";
import { verifyAuditText } from "../../core/audit/verify-audit.ts";
import type { ChannelMessage } from "../../capabilities/index.ts";
import { DEFAULT_OWNER_QUEUE_BYTES, DEFAULT_QUEUE_BYTES, MAX_SUBSCRIPTIONS_PER_OWNER } from "../../core/channels/bus.ts";
import { createHost } from "../../core/host/host.ts";
import { DEFAULT_MAX_LIMITS } from "../../core/limits.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginEvent, type PluginHandle } from "../../core/plugin.ts";
import { until } from "../helpers/until.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { captureLogger } from "../helpers/capture-logger.ts";

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

describe("floods", () => {
  let flood: PluginHandle;
  let logs: ReturnType<typeof captureLogger>;
  const audit = memoryAuditLog();

  before(async () => {
    s = scratch();
    logs = captureLogger();
    const dir = s.plugin("flood", manifest("test.flood", { permissions: { read: ["data/"] }, limits: { cpuMs: 1000, timeoutMs: 5000, cpuMsPerMinute: 60_000 } }), {
      "index.js": floodSource,
      "data/x": "x",
    });
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
    await assert.rejects(flood.invoke("microtasks"), { code: "CPU_LIMIT", message: /microtasks\(\) used more than cpuMs \(\d+ ms\) of CPU time/ });
    // A then-chain also allocates a promise per step: whichever limit it reaches first stops it.
    await assert.rejects(flood.invoke("thenChain"), (e: Error & { code?: string }) => e.code === "CPU_LIMIT" || e.code === "MEMORY_LIMIT");
    assert.equal(await flood.invoke("ok"), "ok");
  });

  it("MAI-56: a logging loop reaches the host log rate-limited, with the number dropped", async () => {
    const before = logs.lines.length;
    assert.equal(await flood.invoke("logFlood", 20_000), 20_000);
    // The count of lines dropped follows the lines (the engine's log buffer flushes it): wait for it.
    await until("the dropped count to reach the host log", () => logs.lines.slice(before).some((l) => typeof l["dropped"] === "number"));
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
    // A plugin of its own with room to build 17 MiB twice (the string, then its JSON) and for the
    // garbage collection that follows: on Node 22 on a busy machine that alone came past 1 s of
    // CPU. What is tested is where each size is refused, not the CPU limit.
    const dir = s.plugin("big", manifest("test.big", { limits: { memoryMb: 128, cpuMs: 20_000, timeoutMs: 60_000, cpuMsPerMinute: 60_000 } }), { "index.js": floodSource });
    const big = await loadPlugin(dir, { audit, logger: logs.logger, quarantine: { maxFailures: 1000 } });
    try {
      assert.equal(await big.invoke("hugeArgument"), "BAD_INPUT");
      await assert.rejects(big.invoke("ok", { blob: "x".repeat(9 * 1024 * 1024) }), { code: "BAD_INPUT", message: /the input to ok\(\) is \d+ characters of JSON, more than \d+/ });
      assert.equal(await big.invoke("ok", { small: true }), "ok");
    } finally {
      await big.close();
    }
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
      await assert.rejects(p.invoke("wait", 10), { code: "BUSY", message: /is busy: \d+ calls running and \d+ queued; retry later/ });
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
    const clock = new ManualClock();
    const p = await loadPlugin(dir, { audit, logger: silent, clock, quarantine: { maxFailures: 2, baseMs: 60_000 }, onEvent: (e) => events.push(e) });
    try {
      for (let i = 0; i < 2; i++) await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
      await assert.rejects(p.invoke("ok"), { code: "QUARANTINED", message: /quarantined until .* after failing 2 times/ });
      clock.advance(59_999);
      await assert.rejects(p.invoke("ok"), { code: "QUARANTINED" }, "1 ms before the period ends it is still quarantined");
      assert.ok(!events.some((e) => e.type === "release"));
      // The end is its own event when the period passes, not found at the next call.
      clock.advance(2);
      assert.ok(
        events.some((e) => e.type === "release"),
        "released by the period's end",
      );
      // The plugin is rebuilt as soon as the quarantine ends (issue 17): its restart follows the release.
      const after = events.filter((e) => e.type !== "restarting" && e.type !== "restarted");
      assert.deepEqual(after.at(-1), { type: "release", plugin: "test.crasher2", by: "timeout" });
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
      for (let i = 0; i < 3; i++) await assert.rejects(p.invoke("spin"), { code: "CPU_LIMIT", message: /spin\(\) used more than cpuMs/ });
      assert.equal(p.quarantined, true);
      await assert.rejects(p.invoke("ok"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "QUARANTINED");
        assert.match(e.message, /quarantined until .* after failing 3 times in 60 s \(last: CPU_LIMIT: .*spin\(\) used more than cpuMs/);
        return true;
      });
      p.release();
      assert.equal(await p.invoke("ok"), "ok", "released by the operator, it runs again");
      // Rebuilt at once after each failure but the one that quarantined it, and on its release; the
      // first CPU limit held the thread of the engine it shared, so it was rebuilt in one of its own.
      assert.deepEqual(
        events.filter((e) => e.type !== "invoke").map((e) => e.type),
        ["limit", "restarting", "engine-move", "restarted", "limit", "restarting", "restarted", "limit", "quarantine", "release", "restarting", "restarted"],
      );
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
    // The publisher gets all the time and CPU it may have: on a busy machine 40 messages of 200 KiB to 22
    // subscriptions across processes take a while.
    sc.plugin("pub", manifest("t.pub", { permissions: { channels: { publish: ["flood.*"] } }, limits: { messageBytes: 16 * 1024 * 1024, cpuMs: 20_000, timeoutMs: 60_000, cpuMsPerMinute: 60_000 } }), {
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
      assert.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => i),
        "positive control: a subscriber that keeps up gets every message, in order",
      );
      await host.invoke("t.stuck", "release");
      let seen: Array<{ i: number; dropped: number }> = [];
      for (let i = 0; i < 500 && seen.at(-1)?.i !== N - 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = (await host.invoke("t.stuck", "received")) as typeof seen;
      }
      assert.equal(seen.at(-1)?.i, N - 1, "the newest message was kept");
      assert.ok(
        seen.some((m) => m.dropped > 0),
        "the subscriber is told it missed messages",
      );
      assert.equal(seen.length + seen.reduce((n, m) => n + m.dropped, 0), N, "every message was delivered or counted as dropped");
      assert.ok(
        seen.every((m, k) => k === 0 || m.i > (seen[k - 1]?.i ?? -1)),
        "in order",
      );
    } finally {
      await host.close();
      sc.cleanup();
    }
  });
});

describe("audit floods: big distinct values (issue 11, class 8)", () => {
  // One hundred distinct 1 MiB denials per kind: before, every one was written whole (a 200 MiB
  // log) and kept by the host (850 MB of growth). Now each text is clipped with its sha256, past
  // the first 16 distinct denials of a kind they are counted, and bytes per minute are budgeted.
  const bigSource = `
const A = "a".repeat(1 << 20);
const denied = async (f) => { try { await f(); return 0; } catch (e) { return e.code === "PERMISSION_DENIED" ? 1 : 0; } };
const asks = {
  fs: (v) => Warden.fs.readTextFile("/x/" + v),
  env: (v) => Warden.env.get("A" + v),
  net: (v) => fetch("http://blocked.example/" + v),
  channels: (v) => Warden.channels.publish("t." + v, {}),
};
export async function bigDenials({ kind, n }) {
  let count = 0;
  for (let i = 0; i < n; i++) count += await denied(() => asks[kind](A + i));
  return count;
}
export async function ordinary() {
  const read = [];
  for (let i = 0; i < 5; i++) read.push(await Warden.fs.readTextFile("data/x"));
  let count = 0;
  for (const p of ["/etc/passwd", "/etc/shadow", "/root/.ssh/id_rsa", "/proc/self/environ", "/var/log/syslog"]) count += await denied(() => Warden.fs.readTextFile(p));
  count += await denied(() => Warden.env.get("SECRET_TOKEN"));
  return { read, count };
}`;
  let s2: Scratch;
  before(() => {
    s2 = scratch();
  });
  after(() => s2.cleanup());

  async function run(calls: ReadonlyArray<readonly [string, unknown?]>): Promise<{ values: unknown[]; lines: string[]; size: number; events: PluginEvent[]; heapGrowth: number }> {
    const dir = s2.plugin("big", manifest("test.big", { permissions: { read: ["data/"] }, limits: { cpuMs: 30_000, timeoutMs: 120_000, cpuMsPerMinute: 600_000 } }), {
      "index.js": bigSource,
      "data/x": "x",
    });
    const file = join(s2.root, `audit-${calls[0]?.[0] ?? ""}.jsonl`);
    const audit = openAuditLog(file);
    const events: PluginEvent[] = [];
    const heapBefore = process.memoryUsage().heapUsed;
    // Every denial of a 1 MiB value is a round trip to the host's broker: on a loaded machine a
    // flood can outlast the default 10 s denial window, which would move the split between "in
    // full" and "counted" (its sum holds either way). One long window makes the split exact.
    const p = await loadPlugin(dir, { audit, logger: silent, onEvent: (e) => events.push(e), auditLimits: { denialWindowMs: 600_000 } });
    const values: unknown[] = [];
    try {
      for (const [entry, arg] of calls) values.push(await p.invoke(entry, arg));
    } finally {
      await p.close();
      audit.close();
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    const text = readFileSync(file, "utf8");
    const v = verifyAuditText(text);
    assert.equal(v.ok, true, v.ok ? "" : `line ${v.line}: ${v.reason}`);
    return { values, lines: text.trimEnd().split("\n"), size: statSync(file).size, events, heapGrowth };
  }

  it("100 distinct 1 MiB denials (paths; and env names, URLs, topics): a log of a few MiB that verifies, with the first denials clipped and the rest counted", async () => {
    // 100 paths (the finding), and past the per-kind share for env names, URLs and topics (each
    // 1 MiB string costs the plugin's own process ~50 ms to send, so fewer of those).
    const plan = [
      ["fs", 100],
      ["env", 24],
      ["net", 24],
      ["channels", 24],
    ] as const;
    const { values, lines, size, events, heapGrowth } = await run(plan.map(([kind, n]) => ["bigDenials", { kind, n }] as const));
    assert.deepEqual(
      values,
      plan.map(([, n]) => n),
      "every request was denied",
    );
    assert.ok(size < 3 * 1024 * 1024, `the audit log is ${size} bytes`);
    // The host receives each 1 MiB value once (196 of them), so up to ~200 MB of garbage may be
    // waiting for a collection when this is read (seen: 215 MB on Node 24 in CI); the finding was
    // 850 MB held, which this bound still catches without depending on when V8 collects.
    assert.ok(heapGrowth < 400 * 1024 * 1024, `the host's heap grew by ${(heapGrowth / 1e6).toFixed(0)} MB`);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      lines.every((l) => l.length < 16 * 1024),
      "no record is big",
    );
    // The first fs denial, clipped, with the sha256 of the whole value.
    const firstValue = `/x/${"a".repeat(1 << 20)}0`;
    const first = records.find((r) => r["type"] === "deny" && r["permission"] === "read");
    assert.ok(String(first?.["value"]).startsWith("/x/aaaa"));
    assert.ok(
      String(first?.["value"]).endsWith(`…[truncated: ${firstValue.length} characters, sha256 ${createHash("sha256").update(firstValue).digest("hex")}]`),
      String(first?.["value"]).slice(-120),
    );
    assert.ok(String(first?.["reason"]).length <= 1024);
    // Every denial is either a record or counted: per kind, written in full + aggregated (+ suppressed) = 100.
    const verdict = verifyAuditText(`${lines.join("\n")}\n`);
    assert.equal(verdict.ok && verdict.summary["test.big"]?.denials, 172);
    const aggregates = records.filter((r) => r["type"] === "deny-aggregate");
    // Per kind: the first 16 distinct denials of each window in full, the rest counted (a slow
    // machine may see the 10 s window end mid-flood, so the split is not fixed; the sum is).
    for (const [permission, n] of [
      ["read", 100],
      ["env", 24],
      ["net", 24],
      ["channels.publish", 24],
    ] as const) {
      const full = records.filter((r) => r["type"] === "deny" && r["permission"] === permission).length;
      const counted = aggregates.filter((a) => a["permission"] === permission).reduce((sum, a) => sum + (a["count"] as number), 0);
      assert.ok(full >= 16 && counted > 0, `${permission}: ${full} in full, ${counted} counted`);
      assert.equal(full + counted, n, permission);
    }
    for (const a of aggregates) assert.ok((a["samples"] as string[]).every((x) => x.length <= 256));
    // Host events carry the bounded value too.
    // Events follow the log's aggregation: fewer events than denials, every denial counted once.
    const denied = events.filter((e) => e.type === "denied");
    assert.equal(
      denied.reduce((n, e) => n + (e.type === "denied" ? e.count : 0), 0),
      172,
    );
    assert.ok(denied.length < 100, `${denied.length} denied events for 172 denials`);
    assert.ok(denied.every((e) => e.type === "denied" && e.value.length <= 1024));
  });

  it("granted uses past 1 MiB a minute are counted per (permission, op, rule) in one audit-suppressed record, not dropped", async () => {
    const name = "n".repeat(200);
    const dir = s2.plugin("busy", manifest("test.busy", { permissions: { read: ["data/"] }, limits: { cpuMs: 30_000, timeoutMs: 120_000, cpuMsPerMinute: 600_000 } }), {
      "index.js": `export async function readMany(n) { let ok = 0; for (let i = 0; i < n; i++) if ((await Warden.fs.readTextFile("data/${name}")) === "x") ok++; return ok; }`,
      [`data/${name}`]: "x",
    });
    const file = join(s2.root, "audit-busy.jsonl");
    const audit = openAuditLog(file);
    const p = await loadPlugin(dir, { audit, logger: silent });
    try {
      assert.equal(await p.invoke("readMany", 2500), 2500);
    } finally {
      await p.close();
      audit.close();
    }
    const text = readFileSync(file, "utf8");
    const verdict = verifyAuditText(text);
    assert.equal(verdict.ok && verdict.summary["test.busy"]?.uses, 2500, "every use is a record or counted");
    assert.ok(statSync(file).size < 1.5 * 1024 * 1024, `${statSync(file).size} bytes`);
    const records = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const suppressed = records.filter((r) => r["type"] === "audit-suppressed");
    assert.equal(suppressed.length, 1);
    const counts = suppressed[0]?.["counts"] as Array<Record<string, unknown>>;
    assert.deepEqual(
      counts.map((c) => [c["type"], c["permission"], c["op"], c["rule"]]),
      [["use", "read", "Warden.fs.readTextFile()", "data/"]],
    );
    assert.equal(records.filter((r) => r["type"] === "use").length + (counts[0]?.["count"] as number), 2500);
  });

  it("positive control: ordinary granted uses and a handful of distinct small denials are each a record of their own, in full", async () => {
    const { values, lines } = await run([["ordinary"]]);
    assert.deepEqual(values[0], { read: ["x", "x", "x", "x", "x"], count: 6 });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const uses = records.filter((r) => r["type"] === "use");
    assert.equal(uses.length, 5);
    assert.ok(uses.every((r) => r["rule"] === "data/" && String(r["value"]) === "data/x"));
    const denials = records.filter((r) => r["type"] === "deny").map((r) => r["value"]);
    assert.deepEqual(denials, ["/etc/passwd", "/etc/shadow", "/root/.ssh/id_rsa", "/proc/self/environ", "/var/log/syslog", "SECRET_TOKEN"]);
    assert.equal(records.filter((r) => ["deny-aggregate", "deny-repeat", "audit-suppressed"].includes(String(r["type"]))).length, 0);
  });
});

describe("the bus holds a bounded number of subscriptions per plugin", () => {
  it("a plugin subscribing thousands of times is refused past the cap (BUSY) and the host's publishes stay cheap; unsubscribing frees a place (positive control)", async () => {
    const sc = scratch();
    sc.plugin("many", manifest("t.many", { permissions: { channels: { subscribe: ["subs.*"] } }, limits: { timeoutMs: 60_000, cpuMs: 30_000 } }), {
      "index.js": `
const ids = [];
export async function subscribeMany(n) {
  let ok = 0; let busy = 0; let other = "";
  for (let i = 0; i < n; i++) {
    try { ids.push(await Warden.channels.subscribe("subs.t", () => {})); ok++; } catch (e) { if (e.code === "BUSY") busy++; else other = e.code; }
  }
  return { ok, busy, other };
}
export async function dropOne() { await ids.pop().unsubscribe(); return true; }
`,
    });
    const host = await createHost({ pluginsDir: sc.root, logger: silent, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const r = (await host.invoke("t.many", "subscribeMany", 3 * MAX_SUBSCRIPTIONS_PER_OWNER)) as { ok: number; busy: number; other: string };
      assert.deepEqual(r, { ok: MAX_SUBSCRIPTIONS_PER_OWNER, busy: 2 * MAX_SUBSCRIPTIONS_PER_OWNER, other: "" });
      assert.equal(host.bus.subscriptionsOf("t.many"), MAX_SUBSCRIPTIONS_PER_OWNER);
      // The host application itself is not limited, and its publish reaches every subscription.
      assert.equal(host.bus.publish("subs.t", { n: 1 }), MAX_SUBSCRIPTIONS_PER_OWNER);
      assert.equal(await host.invoke("t.many", "dropOne"), true);
      assert.deepEqual(await host.invoke("t.many", "subscribeMany", 2), { ok: 1, busy: 1, other: "" }, "one place was freed, and only one");
    } finally {
      await host.close();
      sc.cleanup();
    }
  });
});
