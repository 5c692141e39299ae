// The engine channel's framing, fed as a compromised engine would feed it: lines split anywhere
// (inside a multi-byte character too), many lines in one chunk, a line at and past the bound, a
// line that is not JSON; and what send writes (a newline inside a string stays inside the value).
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { LineChannel } from "../../core/sys/line-channel.ts";

function open(maxLineBytes: number): { input: PassThrough; got: unknown[]; violations: string[]; closes: number[]; channel: LineChannel } {
  const input = new PassThrough();
  const got: unknown[] = [];
  const violations: string[] = [];
  const closes: number[] = [];
  const channel = new LineChannel(input, maxLineBytes, {
    onMessage: (v) => got.push(v),
    onViolation: (r) => violations.push(r),
    onClose: () => closes.push(1),
  });
  return { input, got, violations, closes, channel };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("line channel", () => {
  it("values split across chunks anywhere, even inside a UTF-8 character, and several in one chunk arrive whole and in order", async () => {
    const c = open(1024);
    const bytes = Buffer.from(`${JSON.stringify({ a: "é€😀" })}\n${JSON.stringify([1, 2])}\n${JSON.stringify("x")}\n`);
    for (let i = 0; i < bytes.length; i += 3) c.input.write(bytes.subarray(i, i + 3));
    c.input.write(Buffer.from('{"b":1}\n{"c":2}\n'));
    await settle();
    assert.deepEqual(c.got, [{ a: "é€😀" }, [1, 2], "x", { b: 1 }, { c: 2 }]);
    assert.deepEqual(c.violations, []);
  });

  it("send writes one line per value; a newline inside a string stays in the value", async () => {
    const c = open(1024);
    assert.equal(c.channel.send({ text: "two\nlines", n: 1 }), true);
    await settle();
    assert.deepEqual(c.got, [{ text: "two\nlines", n: 1 }]);
  });

  it("a line of exactly the bound is read; one byte more is a violation, and nothing after it is read", async () => {
    const value = "a".repeat(98); // JSON: 100 bytes with its quotes
    const ok = open(100);
    ok.input.write(`${JSON.stringify(value)}\n`);
    await settle();
    assert.deepEqual(ok.got, [value]);
    const over = open(99);
    // In pieces, without an end of line yet: the reader stops when the pieces pass the bound.
    over.input.write(`"${"a".repeat(60)}`);
    over.input.write(`${"a".repeat(60)}`);
    over.input.write(`"\n"later"\n`);
    await settle();
    assert.deepEqual(over.got, []);
    assert.deepEqual(over.violations, ["a message longer than 99 bytes"]);
    assert.equal(over.channel.open, false);
    assert.equal(over.channel.send("x"), false);
  });

  it("a line that is not JSON (or empty) is a violation naming the parser's complaint; lines before it were delivered", async () => {
    for (const bad of ["{not json", "", "[1,", "\u0000"]) {
      const c = open(1024);
      c.input.write(`{"fine":true}\n${bad}\n{"after":true}\n`);
      await settle();
      assert.deepEqual(c.got, [{ fine: true }], JSON.stringify(bad));
      assert.equal(c.violations.length, 1);
      assert.match(c.violations[0] ?? "", /^a message that is not JSON \(.+\)$/);
    }
  });

  it("the end of the input closes the channel once; send then writes nothing", async () => {
    const c = open(1024);
    c.input.end();
    await settle();
    await settle();
    assert.deepEqual(c.closes, [1]);
    assert.equal(c.channel.open, false);
    assert.equal(c.channel.send({}), false);
  });
});
