// The containment building blocks, with injected clocks: CPU window, quarantine breaker, call
// gate, console buffer, denial aggregation. Each attack shape next to the normal use.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DenialAggregator } from "../../core/audit/denial-aggregator.ts";
import type { AuditRecordInput } from "../../core/audit/audit-log.ts";
import { CallGate } from "../../core/containment/call-gate.ts";
import { Quarantine } from "../../core/containment/quarantine.ts";
import { LogBuffer, type LogLine } from "../../core/sandbox-process/log-buffer.ts";
import { CpuWindow } from "../../isolate/cpu-window.ts";

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
    await assert.rejects(slow(), { code: "BUSY" });
    for (const release of releases.splice(0)) release();
    await Promise.all([a, b]);
    await new Promise((r) => setImmediate(r));
    for (const release of releases.splice(0)) release();
    assert.equal(await c, "done", "the queued call ran when a slot freed");
    assert.equal(gate.running, 0);
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
    const agg = new DenialAggregator((r) => written.push(...r), 10_000, () => 0);
    const deny = { type: "deny", plugin: "test.storm", op: "Warden.fs.readTextFile()", permission: "read", value: "/etc/passwd" };
    agg.append([deny]);
    for (let i = 0; i < 9_999; i++) agg.append([deny]);
    agg.append([{ type: "use", plugin: "test.storm", op: "x" }, { ...deny, value: "/etc/shadow" }]);
    assert.deepEqual(written.map((r) => [r.type, r["value"]]), [["deny", "/etc/passwd"], ["use", undefined], ["deny", "/etc/shadow"]]);
    agg.flush();
    const repeat = written.at(-1);
    assert.equal(repeat?.type, "deny-repeat");
    assert.equal(repeat?.["count"], 9_999);
    assert.equal(repeat?.["value"], "/etc/passwd");
    assert.equal(written.length, 4, "a denial that did not repeat gets no repeat record");
  });
});
