// quote() is the one helper host-built messages use for a plugin's values: escaped, quoted, and cut
// to a few hundred characters with the full length after it, whatever the plugin sent (a 16 MiB
// name must not make a 32 MiB error message, or take the host a second to escape).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { quote } from "../../errors/index.ts";

describe("quote", () => {
  it("quotes a short value whole, escaped", () => {
    assert.equal(quote("HOME"), '"HOME"');
    assert.equal(quote('a"b\n'), '"a\\"b\\n"');
  });

  it("cuts a long value to its first characters and says how long it was", () => {
    const q = quote("Z".repeat(16 * 1024 * 1024));
    assert.equal(q, `"${"Z".repeat(200)}…" (16777216 characters)`);
  });

  it("cuts a value whose escapes make it too long, and honours max", () => {
    assert.equal(quote("\n".repeat(150)), `"${"\\n".repeat(100)}…" (150 characters)`);
    assert.equal(quote("abcdef", 3), '"abc…" (6 characters)');
    assert.equal(quote("abc", 3), '"abc"');
  });

  it("cuts a huge value before escaping it: only the part it shows is ever read (not a timing test)", () => {
    // A stand-in for a 16 MiB string that records what is read of it: quote must take the first
    // `max` characters and escape only those, whatever the rest holds.
    const reads: Array<[number, number]> = [];
    const huge = {
      length: 16 * 1024 * 1024,
      slice: (from: number, to: number) => {
        reads.push([from, to]);
        return "\u001b".repeat(to - from);
      },
    } as unknown as string;
    const q = quote(huge);
    assert.ok(q.endsWith('…" (16777216 characters)'), q);
    assert.ok(!q.includes("\u001b") && q.startsWith('"\\u{001b}'), "escaped, not raw");
    assert.deepEqual(reads, [[0, 200]]);
  });
});
