// The budget of a crossing into a plugin's isolate, as the pure function the Sandbox applies: which
// CPU and wall-clock time a crossing may use given the calls in flight, which call a limit is
// charged to, and when the crossing must not happen at all. No isolate needed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BudgetedCall, crossingBudget, overspent, timedOutBy } from "../../isolate/crossing-budget.ts";

type Call = BudgetedCall & { readonly name: string };

/** A call in flight named `name` with `cpuMs` allowed, `usedMs` spent, and a deadline `dueInMs` after `now`. */
function call(name: string, cpuMs: number, usedMs: number, dueInMs: number, now = 1000): Call {
  return { name, deadline: now + dueInMs, cpuLimitNs: BigInt(cpuMs) * 1_000_000n, cpuNs: BigInt(usedMs) * 1_000_000n };
}

describe("crossing budget", () => {
  it("no calls in flight: the plugin's cpuMs, no deadline, no culprit", () => {
    const b = crossingBudget<Call>([], 1000, 300);
    assert.equal(b.cpuLeftMs, 300);
    assert.equal(b.wallLeftMs, Number.POSITIVE_INFINITY);
    assert.equal(b.windowLeftMs, Number.POSITIVE_INFINITY);
    assert.equal(b.tightest, undefined);
    assert.equal(b.soonest, undefined);
    assert.equal(b.refuse, null);
    assert.equal(b.timeoutMs, 300);
    assert.equal(timedOutBy(b), "cpu");
  });

  it("the call with the least CPU left sets the CPU budget and is the tightest", () => {
    const roomy = call("roomy", 1000, 100, 5000);
    const tight = call("tight", 500, 450, 5000);
    const b = crossingBudget([roomy, tight], 1000, 1000);
    assert.equal(b.tightest, tight);
    assert.equal(b.cpuLeftMs, 50);
    assert.equal(b.timeoutMs, 50);
    assert.equal(timedOutBy(b), "cpu");
  });

  it("the first call sets the CPU budget even when it was given more than the plugin's cpuMs (onLoad)", () => {
    const onLoad = call("onLoad", 5000, 0, 10_000);
    const b = crossingBudget([onLoad], 1000, 1000);
    assert.equal(b.tightest, onLoad);
    assert.equal(b.cpuLeftMs, 5000);
  });

  it("the call with the soonest deadline sets the wall budget; a timeout before any CPU runs out is its TIMEOUT", () => {
    const later = call("later", 1000, 0, 4000);
    const soon = call("soon", 1000, 0, 20);
    const b = crossingBudget([later, soon], 1000, 1000);
    assert.equal(b.soonest, soon);
    assert.equal(b.wallLeftMs, 20);
    assert.equal(b.timeoutMs, 20);
    assert.equal(timedOutBy(b), "wall");
  });

  it("a deadline no sooner than the CPU left is charged to CPU (ties go to CPU_LIMIT)", () => {
    const b = crossingBudget([call("even", 100, 0, 100)], 1000, 1000);
    assert.equal(b.timeoutMs, 100);
    assert.equal(timedOutBy(b), "cpu");
  });

  it("fractions are rounded up and a passed deadline still gives the crossing 1 ms", () => {
    assert.equal(crossingBudget([call("a", 1000, 0, 10.2)], 1000, 1000).timeoutMs, 11);
    const late = crossingBudget([call("late", 1000, 0, -5)], 1000, 1000);
    assert.equal(late.timeoutMs, 1);
    assert.equal(late.refuse, null);
    assert.equal(timedOutBy(late), "wall");
  });

  it("a call that spent its CPU refuses the crossing and is named; the window is not consulted first", () => {
    const spent = call("spent", 100, 100, 5000);
    const b = crossingBudget([call("ok", 1000, 0, 5000), spent], 1000, 1000, 0);
    assert.equal(b.refuse, "cpu");
    assert.equal(b.tightest, spent);
  });

  it("a spent window refuses the crossing; a window tighter than every call is what a timeout is charged to", () => {
    assert.equal(crossingBudget([call("a", 1000, 0, 5000)], 1000, 1000, 0).refuse, "window");
    assert.equal(crossingBudget<Call>([], 1000, 1000, -3).refuse, "window");
    const b = crossingBudget([call("a", 1000, 0, 5000)], 1000, 1000, 40);
    assert.equal(b.refuse, null);
    assert.equal(b.timeoutMs, 40);
    assert.equal(timedOutBy(b), "window");
  });

  it("a window equal to the soonest deadline is charged to the window; one equal to the CPU left is charged to CPU", () => {
    assert.equal(timedOutBy(crossingBudget([call("a", 1000, 0, 40)], 1000, 1000, 40)), "window");
    assert.equal(timedOutBy(crossingBudget([call("a", 40, 0, 5000)], 1000, 1000, 40)), "cpu");
  });

  it("overspent: the first call whose CPU is spent after a crossing charged it, or none", () => {
    const a = call("a", 100, 50, 5000);
    const b = call("b", 100, 100, 5000);
    const c = call("c", 10, 20, 5000);
    assert.equal(overspent([a, b, c]), b);
    assert.equal(overspent([a]), undefined);
    assert.equal(overspent([]), undefined);
  });
});
