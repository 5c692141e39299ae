// HostTime: what the host spends serving an isolate's synchronous requests is added up once, a
// nested crossing is not counted as host time, and a crossing takes what accumulated.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HostTime } from "../../isolate/host-time.ts";

/** A clock the test moves by hand. */
function clock(): { now: () => bigint; advance: (ns: number) => void } {
  let t = 0n;
  return { now: () => t, advance: (ns) => void (t += BigInt(ns)) };
}

describe("host time", () => {
  it("adds the time of each request and gives it once", () => {
    const c = clock();
    const h = new HostTime(c.now);
    assert.equal(
      h.measure(() => (c.advance(5_000_000), "a")),
      "a",
    );
    h.measure(() => c.advance(3_000_000));
    assert.equal(h.take(), 8_000_000n);
    assert.equal(h.take(), 0n);
  });

  it("counts a request that throws", () => {
    const c = clock();
    const h = new HostTime(c.now);
    assert.throws(() =>
      h.measure(() => {
        c.advance(2_000);
        throw new Error("refused");
      }),
    );
    assert.equal(h.take(), 2_000n);
  });

  it("measures a request served inside another once", () => {
    const c = clock();
    const h = new HostTime(c.now);
    h.measure(() => {
      c.advance(1_000);
      h.measure(() => c.advance(1_000));
    });
    assert.equal(h.take(), 2_000n);
  });

  it("does not count a nested crossing as host time: the crossing charges its own", () => {
    const c = clock();
    const h = new HostTime(c.now);
    let inner = -1n;
    h.measure(() => {
      c.advance(1_000);
      h.outside(() => {
        // The nested crossing: the isolate runs 50 µs, and makes a request of 7 µs.
        c.advance(50_000);
        h.measure(() => c.advance(7_000));
        inner = h.take();
      });
      c.advance(2_000);
    });
    assert.equal(inner, 7_000n);
    // The outer request's own time: 1 µs before the crossing and 2 µs after.
    assert.equal(h.take(), 3_000n);
  });

  it("outside a request, a crossing is only run", () => {
    const c = clock();
    const h = new HostTime(c.now);
    assert.equal(
      h.outside(() => (c.advance(9_000), 4)),
      4,
    );
    assert.equal(h.take(), 0n);
  });
});
