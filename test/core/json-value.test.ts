// Host-side input to a plugin: plain JSON data becomes its JSON text; anything JSON.stringify would
// silently change or refuse is BAD_INPUT naming the path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJsonText } from "../../core/json-value.ts";

describe("toJsonText", () => {
  it("passes plain data through as JSON.stringify writes it (control)", () => {
    const value = { a: [1, "two", true, null, { b: -0.5 }], c: {}, d: [], u: undefined, e: Object.assign(Object.create(null) as object, { f: 1 }) };
    assert.equal(toJsonText(value), JSON.stringify(value));
    assert.equal(toJsonText("x"), '"x"');
    assert.equal(toJsonText(null), "null");
  });

  const bad: Array<[string, () => unknown, RegExp]> = [
    ["NaN", () => ({ n: [1, Number.NaN] }), /input\.n\[1\]: NaN is not JSON-compatible/],
    ["Infinity", () => ({ x: Infinity }), /input\.x: Infinity/],
    ["a Date", () => ({ when: new Date(0) }), /input\.when: a Date/],
    ["a Map", () => ({ m: new Map([[1, 2]]) }), /input\.m: a Map/],
    ["a class instance", () => ({ k: new (class Thing {})() }), /input\.k: a Thing/],
    ["a function", () => ({ f: () => 1 }), /input\.f: a function/],
    ["an own toJSON", () => ({ o: { toJSON: () => "hidden" } }), /input\.o\.toJSON: a function/],
    ["undefined in an array", () => [1, undefined], /input\[1\]: a undefined/],
    ["a bigint", () => ({ big: 10n }), /input\.big: a bigint/],
    [
      "a cycle",
      () => {
        const o: Record<string, unknown> = {};
        o["self"] = o;
        return { o };
      },
      /input\.o\.self: contains a cycle/,
    ],
    ["undefined at the top", () => undefined, /input: a undefined/],
  ];
  for (const [what, make, message] of bad) {
    it(`refuses ${what}, naming where`, () => {
      assert.throws(
        () => toJsonText(make()),
        (e: Error & { code?: string }) => e.code === "BAD_INPUT" && message.test(e.message),
      );
    });
  }
});
