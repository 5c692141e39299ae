// The decision cache keeps answers keyed by the plugin's own strings; besides the number of
// entries, it bounds how long a kept key may be and how many characters of keys it holds in all,
// so that no value a plugin sends stays in host memory because it was asked about (defence in
// depth behind the per-kind maxima of DEFAULTS.values).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cachedDecision, DECISION_KEY_CHARS } from "../../capabilities/decision-cache.ts";

/** A cached matcher that counts how often it really decides. */
function counted(bounds?: Parameters<typeof cachedDecision>[1]): { decide: (key: string) => number; calls: () => number } {
  let n = 0;
  const decide = cachedDecision((key) => {
    n++;
    return key.length;
  }, bounds);
  return { decide, calls: () => n };
}

describe("decision cache", () => {
  it("answers a repeated short key from the cache", () => {
    const c = counted();
    assert.equal(c.decide("HOME"), 4);
    assert.equal(c.decide("HOME"), 4);
    assert.equal(c.calls(), 1);
  });

  it("does not keep a key longer than DECISION_KEY_CHARS: it is decided again, with the same answer", () => {
    const c = counted();
    const long = "A".repeat(DECISION_KEY_CHARS + 1);
    assert.equal(c.decide(long), long.length);
    assert.equal(c.decide(long), long.length);
    assert.equal(c.calls(), 2);
    const edge = "B".repeat(DECISION_KEY_CHARS);
    c.decide(edge);
    c.decide(edge);
    assert.equal(c.calls(), 3);
  });

  it("bounds the characters of keys it holds in all: the least recently used go first", () => {
    const c = counted({ totalKeyChars: 100 });
    const [a, b, d] = ["a", "b", "d"].map((ch) => ch.repeat(40)) as [string, string, string];
    c.decide(a);
    c.decide(b);
    assert.equal(c.calls(), 2);
    c.decide(d); // 3 x 41 > 100: a is dropped
    c.decide(b);
    c.decide(d);
    assert.equal(c.calls(), 3);
    c.decide(a);
    assert.equal(c.calls(), 4);
  });

  it("bounds the number of entries", () => {
    const c = counted({ max: 2 });
    c.decide("x");
    c.decide("y");
    c.decide("z");
    c.decide("x");
    assert.equal(c.calls(), 4);
  });
});
