// The containment building blocks, with injected clocks: CPU window, plugin ledger, quarantine
// breaker, call gate, console buffer, denial aggregation, limit policy. Each attack shape next to
// the normal use.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuditBudget } from "../../core/audit/audit-budget.ts";
import { clipText, sha256Text } from "../../core/audit/bounded-record.ts";
import { DenialAggregator } from "../../core/audit/denial-aggregator.ts";
import { type AuditRecordInput, memoryAuditLog } from "../../core/audit/audit-log.ts";
import { CallGate } from "../../core/containment/call-gate.ts";
import { PluginLedger, type ContainmentEvent } from "../../core/containment/ledger.ts";
import { DEFAULT_MAX_LIMITS, limitPolicy, resolvePluginLimits } from "../../core/limits.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { Quarantine } from "../../core/containment/quarantine.ts";
import { LogBuffer, type LogLine } from "../../core/runtime/log-buffer.ts";
import { CpuWindow } from "../../isolate/cpu-window.ts";
import { ManualClock } from "../helpers/manual-clock.ts";

describe("CPU window", () => {
  it("counts CPU over a sliding window and says when the plugin may run again", () => {
    let now = 0;
    const w = new CpuWindow(100, 60_000, () => now);
    w.charge(40e6);
    now = 10_000;
    w.charge(50e6);
    assert.equal(w.remainingMs(), 10);
    now = 20_000;
    w.charge(30e6);
    assert.ok(w.remainingMs() < 0);
    assert.equal(w.msUntilAvailable(), 40_000, "the first charge leaves the window at t = 60 s");
    now = 60_001;
    assert.equal(w.remainingMs(), 20, "the first 40 ms left the window");
    assert.equal(w.msUntilAvailable(), 0);
  });
});

describe("CPU window carried between processes", () => {
  it("a window seeded with another's recent charges (as ages) refuses as the original would; only its own charges are reported", () => {
    let now = 0;
    const reported: number[] = [];
    const first = new CpuWindow(
      100,
      60_000,
      () => now,
      (ns) => reported.push(ns),
    );
    first.charge(30e6);
    now = 20_000;
    first.charge(50e6);
    now = 30_000;
    // A second process with its own clock, started later: only ages cross.
    let later = 5_000_000;
    const seeded = new CpuWindow(
      100,
      60_000,
      () => later,
      (ns) => reported.push(ns),
    );
    for (const [ago, ns] of first.recent()) seeded.record(ns, ago);
    assert.deepEqual(reported, [30e6, 50e6], "seeds are not reported again");
    assert.equal(seeded.remainingMs(), first.remainingMs());
    assert.equal(seeded.msUntilAvailable(), 0, "positive control: 20 ms are left");
    seeded.charge(25e6);
    assert.ok(seeded.remainingMs() < 0);
    assert.equal(seeded.msUntilAvailable(), 30_000, "the oldest seed leaves 60 s after it was charged, not after it was copied");
    later += 30_001;
    assert.equal(seeded.remainingMs(), 100 - 75);
  });

  it("charges recorded out of order (a sibling's, late) are kept in time order; seeds older than the window are ignored", () => {
    let now = 10_000;
    const w = new CpuWindow(100, 60_000, () => now);
    w.charge(10e6);
    w.record(20e6, 5_000);
    w.record(40e6, 70_000);
    assert.deepEqual(w.recent(), [
      [5_000, 20e6],
      [0, 10e6],
    ]);
    now += 55_001;
    assert.equal(w.usedMs(), 10, "the older charge left the window first");
  });
});

describe("plugin ledger", () => {
  const silent = createDefaultLogger("silent");

  it("versions side by side charge one window and each hears what the others spend; refusal follows the running version's limit", () => {
    const ledger = new PluginLedger({ pluginId: "t.twin", audit: memoryAuditLog(), logger: silent });
    const heardByOld: number[] = [];
    const heardByNew: number[] = [];
    const old = ledger.join((ns) => heardByOld.push(ns));
    const fresh = ledger.join((ns) => heardByNew.push(ns));
    old.charge(60e6);
    fresh.charge(50e6);
    assert.deepEqual(heardByOld, [50e6]);
    assert.deepEqual(heardByNew, [60e6]);
    assert.doesNotThrow(() => ledger.refuseIfOverBudget("x", 200), "positive control: 110 of 200 ms");
    assert.throws(
      () => ledger.refuseIfOverBudget("x", 100),
      (e: Error & { code?: string }) => e.code === "CPU_LIMIT" && /x\(\) refused: the plugin used its CPU budget of 100 ms per 60 s/.test(e.message),
    );
    old.leave();
    fresh.charge(1e6);
    assert.deepEqual(heardByOld, [50e6], "a version that left hears nothing more");
    assert.equal(
      ledger.cpuHistory().reduce((n, [, ns]) => n + ns, 0),
      111e6,
      "the history is the plugin's, whoever charged it",
    );
  });

  it("failures from any version count toward one quarantine, reported once; release ends it", () => {
    const events: ContainmentEvent[] = [];
    const audit = memoryAuditLog();
    const ledger = new PluginLedger({ pluginId: "t.twin", audit, logger: silent, quarantine: { maxFailures: 3 }, onEvent: (e) => events.push(e) });
    for (let i = 0; i < 5; i++) ledger.failed(`CPU_LIMIT ${i}`);
    assert.equal(ledger.quarantined, true);
    assert.throws(() => ledger.refuseIfQuarantined("ok"), { code: "QUARANTINED" });
    ledger.release();
    assert.doesNotThrow(() => ledger.refuseIfQuarantined("ok"));
    assert.deepEqual(
      events.map((e) => e.type),
      ["quarantine", "release"],
    );
    ledger.dispose();
  });
});

describe("limit policy", () => {
  it("a manifest's wishes are capped field by field and the cut is reported; values within the maxima are kept", () => {
    const max = limitPolicy(undefined, { timeoutMs: 500 }, "test");
    assert.equal(max.timeoutMs, 500);
    assert.equal(max.memoryMb, DEFAULT_MAX_LIMITS.memoryMb, "unset maxima are the built-in ones");
    const r = resolvePluginLimits({ timeoutMs: 3_600_000, memoryMb: 4096, cpuMs: 200 }, { messageBytes: 1000 }, max);
    assert.equal(r.limits.timeoutMs, 500);
    assert.equal(r.limits.memoryMb, 512);
    assert.equal(r.limits.cpuMs, 200);
    assert.equal(r.limits.messageBytes, 1000, "the host's default");
    assert.deepEqual(r.clamped, [
      { field: "limits.memoryMb", asked: 4096, allowed: 512 },
      { field: "limits.timeoutMs", asked: 3_600_000, allowed: 500 },
    ]);
  });

  it("host defaults above the maxima, or maxima that are not positive integers, are BAD_INPUT naming the field", () => {
    assert.throws(
      () => limitPolicy({ netBytes: 128 * 1024 * 1024 }, undefined, "createHost"),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /createHost: defaults\.limits\.netBytes \(134217728\) is above maxLimits\.netBytes/.test(e.message),
    );
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => limitPolicy(undefined, { cpuMs: bad }, "createHost"), /maxLimits\.cpuMs must be a positive integer/, String(bad));
    }
    assert.doesNotThrow(() => limitPolicy({ netBytes: 1024 }, { netBytes: 1024 }, "createHost"), "positive control: a default equal to its maximum");
  });
});

describe("quarantine", () => {
  it("MAI-60: five failures in the window quarantine the plugin; periods double; an operator can release it", () => {
    let now = 1_000_000;
    const q = new Quarantine({}, () => now);
    for (let i = 0; i < 4; i++) assert.equal(q.fail("CPU_LIMIT").quarantined, false);
    assert.equal(q.isQuarantined(), false, "positive control: four failures are tolerated");
    const c = q.fail("CPU_LIMIT");
    assert.equal(c.quarantined, true);
    assert.equal(c.quarantined && c.periodMs, 60_000);
    assert.equal(q.isQuarantined(), true);
    now += 60_001;
    assert.equal(q.isQuarantined(), false, "the period ends by itself");
    for (let i = 0; i < 5; i++) q.fail("MEMORY_LIMIT");
    assert.equal(q.until - now, 120_000, "the second consecutive quarantine lasts twice as long");
    q.release();
    assert.equal(q.isQuarantined(), false);
  });

  it("failures spread wider than the window do not add up", () => {
    let now = 0;
    const q = new Quarantine({ maxFailures: 3, windowMs: 1000 }, () => now);
    for (let i = 0; i < 10; i++) {
      q.fail("x");
      now += 600;
    }
    assert.equal(q.isQuarantined(), false);
  });
});

describe("call gate", () => {
  it("runs at most maxInFlight, queues at most maxQueued, refuses the rest at once with BUSY", async () => {
    const gate = new CallGate("test.gate", { maxInFlight: 2, maxQueued: 1 });
    const releases: Array<() => void> = [];
    const slow = () => gate.run(() => new Promise<string>((r) => releases.push(() => r("done"))));
    const a = slow();
    const b = slow();
    const c = slow();
    await new Promise((r) => setImmediate(r));
    assert.equal(gate.running, 2);
    assert.equal(gate.queued, 1);
    await assert.rejects(slow(), { code: "BUSY", message: /is busy: \d+ calls running and \d+ queued; retry later or raise the host's concurrency limits/ });
    for (const release of releases.splice(0)) release();
    await Promise.all([a, b]);
    await new Promise((r) => setImmediate(r));
    for (const release of releases.splice(0)) release();
    assert.equal(await c, "done", "the queued call ran when a slot freed");
    assert.equal(gate.running, 0);
  });
});

describe("call gate shares", () => {
  /** A gate and calls that run until released, by caller. */
  function gated(limits: { maxInFlight: number; maxQueued: number }) {
    const gate = new CallGate("test.callee", limits);
    const releases: Array<{ caller: string; release: () => void }> = [];
    const started: string[] = [];
    const call = (caller: string) =>
      gate.run(
        () =>
          new Promise<string>((r) => {
            started.push(caller);
            releases.push({ caller, release: () => r(caller) });
          }),
        caller,
      );
    const releaseFirst = (caller: string) => {
      const i = releases.findIndex((x) => x.caller === caller);
      releases.splice(i, 1)[0]?.release();
    };
    return { gate, call, started, releaseFirst };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it("plugin callers hold at most half (all together) and a quarter (one) of the slots and the line; the host keeps the rest", async () => {
    const { gate, call, started } = gated({ maxInFlight: 8, maxQueued: 64 });
    assert.deepEqual(gate.shares, { plugins: { running: 4, waiting: 32 }, oneCaller: { running: 2, waiting: 16 } });
    const flood = Array.from({ length: 40 }, () => call("t.flood").catch((e: { code?: string; message?: string }) => `${e.code ?? ""}: ${e.message ?? ""}`));
    await tick();
    assert.equal(gate.running, 2);
    assert.equal(gate.queued, 16);
    const refused = await Promise.all(flood.slice(18));
    assert.equal(refused.length, 22);
    for (const r of refused)
      assert.match(
        r,
        /^BUSY: plugin test\.callee is busy for t\.flood: 2 calls running and 16 waiting fill t\.flood's share of its concurrency \(2 running, 16 waiting; the host application keeps the rest\)/,
      );
    // Another plugin gets its own share; a third finds the plugins' half taken.
    const other = Array.from({ length: 20 }, () => call("t.other").catch((e: { code?: string }) => e.code));
    await tick();
    assert.equal(gate.running, 4);
    assert.equal(gate.queued, 32);
    assert.deepEqual(await Promise.all(other.slice(18)), ["BUSY", "BUSY"]);
    await assert.rejects(call("t.third"), { code: "BUSY", message: /fill the share of all calling plugins/ });
    // The host application: its calls run at once, up to every slot, and wait in the rest of the line.
    const host = Array.from({ length: 6 }, () => call("host"));
    await tick();
    assert.equal(gate.running, 8);
    assert.equal(gate.queued, 34);
    assert.deepEqual(started.filter((c) => c === "host").length, 4);
    void host;
  });

  it("a plugin calling itself holds no share: it spends its own concurrency", async () => {
    const { gate, call } = gated({ maxInFlight: 4, maxQueued: 2 });
    const own = Array.from({ length: 6 }, () => call("test.callee"));
    await tick();
    assert.equal(gate.running, 4);
    assert.equal(gate.queued, 2);
    void own;
  });

  it("a waiting call starts when its caller is within its share, the first such in line", async () => {
    const { gate, call, started, releaseFirst } = gated({ maxInFlight: 4, maxQueued: 8 });
    // shares: plugins 2 running 4 waiting; one plugin 1 running 2 waiting.
    const a = [call("t.a"), call("t.a"), call("t.a")];
    const host = [call("host"), call("host"), call("host"), call("host")];
    await tick();
    assert.deepEqual(started, ["t.a", "host", "host", "host"]);
    assert.equal(gate.queued, 3);
    releaseFirst("t.a");
    await tick();
    // t.a's slot goes to the first in line, t.a again (within its share).
    assert.deepEqual(started.slice(4), ["t.a"]);
    releaseFirst("host");
    await tick();
    // A host slot frees: t.a, first in line, is at its share (1 running) and is passed over.
    assert.deepEqual(started.slice(5), ["host"]);
    assert.equal(gate.queued, 1);
    for (let i = 0; i < 10; i++) {
      releaseFirst("host");
      releaseFirst("t.a");
      await tick();
    }
    assert.deepEqual(await Promise.all([...a, ...host]), ["t.a", "t.a", "t.a", "host", "host", "host", "host"]);
    assert.equal(gate.running, 0);
    assert.equal(gate.queued, 0);
  });
});

describe("console buffer", () => {
  it("MAI-56: a logging loop is rate-limited and bounded, and what was dropped is counted", () => {
    let now = 0;
    const flushed: Array<{ lines: readonly LogLine[]; dropped: number }> = [];
    const pending: Array<() => void> = [];
    const buf = new LogBuffer({ ratePerSecond: 100, burst: 50, maxLines: 20, now: () => now, schedule: (fn) => pending.push(fn), flush: (lines, dropped) => flushed.push({ lines, dropped }) });
    for (let i = 0; i < 10_000; i++) buf.push("info", `line ${i}`);
    pending.shift()?.();
    assert.equal(flushed[0]?.lines.length, 20, "at most maxLines are held");
    assert.equal(flushed[0]?.dropped, 10_000 - 20);
    assert.equal(flushed[0]?.lines.at(-1)?.text, "line 49", "drop-oldest keeps the newest lines that passed the rate");
    now += 1000;
    buf.push("warn", "after a second");
    pending.shift()?.();
    assert.deepEqual(flushed[1], { lines: [{ level: "warn", text: "after a second" }], dropped: 0 }, "positive control: normal logging passes");
  });
});

describe("denial aggregation", () => {
  it("writes the first denial at once and repeats as one counted record", () => {
    const written: AuditRecordInput[] = [];
    const agg = new DenialAggregator((r) => written.push(...r), { clock: new ManualClock(0) });
    const deny = { type: "deny", plugin: "test.storm", op: "Warden.fs.readTextFile()", permission: "read", value: "/etc/passwd" };
    agg.append([deny]);
    for (let i = 0; i < 9_999; i++) agg.append([deny]);
    agg.append([
      { type: "use", plugin: "test.storm", op: "x" },
      { ...deny, value: "/etc/shadow" },
    ]);
    assert.deepEqual(
      written.map((r) => [r.type, r["value"]]),
      [
        ["deny", "/etc/passwd"],
        ["use", undefined],
        ["deny", "/etc/shadow"],
      ],
    );
    agg.flush();
    const repeat = written.at(-1);
    assert.equal(repeat?.type, "deny-repeat");
    assert.equal(repeat?.["count"], 9_999);
    assert.equal(repeat?.["value"], "/etc/passwd");
    assert.equal(written.length, 4, "a denial that did not repeat gets no repeat record");
  });

  it("the window's end writes the counts by itself, with how long they were held; a denial after it is written in full again", () => {
    const written: AuditRecordInput[] = [];
    const clock = new ManualClock(0);
    const agg = new DenialAggregator((r) => written.push(...r), { clock, windowMs: 5_000 });
    const deny = { type: "deny", plugin: "test.storm", op: "Warden.env.get()", permission: "env", value: "HOME" };
    agg.append([deny]);
    clock.advance(1_000);
    agg.append([deny, deny]);
    clock.advance(3_999);
    assert.deepEqual(
      written.map((r) => r.type),
      ["deny"],
      "held until the window ends",
    );
    clock.advance(1);
    assert.deepEqual(
      written.map((r) => r.type),
      ["deny", "deny-repeat"],
    );
    assert.equal(written[1]?.["count"], 2);
    assert.equal(written[1]?.["sinceMs"], 5_000);
    assert.deepEqual(clock.pending, [], "no timer is left once nothing is held");
    agg.append([deny]);
    assert.deepEqual(
      written.map((r) => r.type),
      ["deny", "deny-repeat", "deny"],
      "control: a new window writes the first denial again",
    );
  });
});

describe("audit floods: clipping, aggregation by kind, byte budget (issue 11, class 8)", () => {
  const big = (i: number) => `/x/${"a".repeat(1 << 20)}${i}`;
  const deny = (value: string, op = "Warden.fs.readTextFile()", permission = "read") => ({
    type: "deny",
    plugin: "test.flood",
    op,
    permission,
    value,
    resolved: value,
    decision: "denied",
    reason: `no rule in permissions.read covers ${value}`,
  });

  it("clipText cuts a long text to its limit with a marker and the whole text's sha256; short texts and clipped ones are left alone", () => {
    const text = big(7);
    const clipped = clipText(text, 1024);
    assert.equal(clipped.length <= 1024, true);
    assert.ok(clipped.startsWith("/x/aaaa"));
    assert.ok(clipped.endsWith(`…[truncated: ${text.length} characters, sha256 ${sha256Text(text)}]`), clipped.slice(-120));
    assert.equal(clipText(clipped, 1024), clipped, "idempotent: the host clipping again changes nothing");
    assert.equal(clipText("/etc/passwd", 1024), "/etc/passwd", "positive control");
    const astral = clipText("😀".repeat(2000), 500);
    assert.ok(!/[\ud800-\udbff]…/.test(astral), "never ends on half a surrogate pair");
  });

  it("distinct denials of one kind past the first N are one deny-aggregate with a count and bounded samples; other kinds keep their own N", () => {
    const written: AuditRecordInput[] = [];
    const agg = new DenialAggregator((r) => written.push(...r), { clock: new ManualClock(0), distinctPerKind: 4 });
    for (let i = 0; i < 100; i++) agg.append([deny(clipText(big(i)))]);
    agg.append([deny("HOME", "Warden.env.get()", "env"), deny("PATH", "Warden.env.get()", "env")]);
    assert.equal(written.length, 6, "4 fs denials and both env denials in full");
    agg.flush();
    const aggregate = written.find((r) => r.type === "deny-aggregate");
    assert.equal(aggregate?.["count"], 96);
    assert.equal(aggregate?.["permission"], "read");
    assert.equal(aggregate?.["op"], "Warden.fs.readTextFile()");
    const samples = aggregate?.["samples"] as string[];
    assert.equal(samples.length, 3);
    assert.ok(samples.every((x) => x.length <= 256 && /sha256 [0-9a-f]{64}\]$/.test(x)));
    assert.equal(written.filter((r) => r.type === "deny-repeat").length, 0, "no denial repeated");
  });

  it("the tracked state stays small: kinds are capped, keys are hashes, samples are short", () => {
    const written: AuditRecordInput[] = [];
    const agg = new DenialAggregator((r) => written.push(...r), { clock: new ManualClock(0), distinctPerKind: 2, maxKinds: 3 });
    // A sandbox process that makes up a permission per denial.
    for (let i = 0; i < 1000; i++) agg.append([deny(`v${i}`, `op${i}`, `perm${i}`)]);
    agg.flush();
    const kinds = new Set(written.filter((r) => r.type === "deny-aggregate").map((r) => `${String(r["permission"])}/${String(r["op"])}`));
    assert.deepEqual([...kinds], ["*/*"]);
    const total = written.filter((r) => r.type === "deny").length + written.filter((r) => r.type === "deny-aggregate").reduce((n, r) => n + (r["count"] as number), 0);
    assert.equal(total, 1000, "every denial is a record or part of a count");
  });

  it("the byte budget writes what fits, then counts the rest per (type, permission, op, rule) in one audit-suppressed record", () => {
    const written: AuditRecordInput[] = [];
    const clock = new ManualClock(0);
    const budget = new AuditBudget((r) => written.push(...r), { bytesPerWindow: 10_000, windowMs: 60_000, clock });
    const use = (i: number) => ({
      type: "use",
      plugin: "test.flood",
      op: "Warden.fs.readTextFile()",
      permission: "read",
      value: `data/${i}`,
      decision: "granted",
      rule: "data/",
      source: "permissions.read[0]",
    });
    for (let i = 0; i < 200; i++) budget.write([use(i)]);
    budget.write([{ ...deny("/etc/passwd"), type: "deny-repeat", count: 50 }]);
    const kept = written.length;
    assert.ok(kept > 10 && kept < 100, `${kept} records fit in 10 000 bytes`);
    // The window's end writes the counts by itself (its timer), not at the next record.
    clock.advance(59_999);
    assert.equal(written.length, kept, "nothing is written before the window ends");
    clock.advance(1);
    assert.equal(written.at(-1)?.type, "audit-suppressed", "the window's end writes the counts");
    budget.write([use(999)]);
    const summary = written.find((r) => r.type === "audit-suppressed");
    assert.equal(summary?.["records"], 200 - kept + 1);
    assert.deepEqual(summary?.["counts"], [
      { type: "use", permission: "read", op: "Warden.fs.readTextFile()", rule: "data/", records: 200 - kept, count: 200 - kept },
      { type: "deny-repeat", permission: "read", op: "Warden.fs.readTextFile()", records: 1, count: 50 },
    ]);
    assert.equal(written.at(-1)?.["value"], "data/999", "positive control: a new window writes again");
  });
});
