// The batching of an engine channel's messages: one send per event-loop turn, order kept, large
// messages alone, and nothing that JSON cannot carry hidden in a batch (it must fail where it is sent).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { boundedJsonSize, TurnBatch } from "../../core/runtime/turn-batch.ts";

type Msg = { n: number; data?: string };

function recorder(): { sent: Array<Msg | Msg[]>; batch: TurnBatch<Msg>; turns: number[] } {
  const sent: Array<Msg | Msg[]> = [];
  const turns: number[] = [];
  const batch = new TurnBatch<Msg>(
    (payload) => {
      sent.push(payload);
      return true;
    },
    () => turns.push(sent.length),
  );
  return { sent, batch, turns };
}

describe("turn batches", () => {
  it("sends the messages of one turn as one array, in order, at the end of the turn", async () => {
    const { sent, batch, turns } = recorder();
    for (let n = 0; n < 5; n++) batch.push({ n });
    assert.equal(sent.length, 0, "nothing is written before the turn ends");
    await nextTurn();
    assert.deepEqual(sent, [[{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]]);
    assert.deepEqual(turns, [1], "the end-of-turn hook runs after the batch went out");
  });

  it("a lone message goes as itself (control: the receiver's non-array path)", async () => {
    const { sent, batch } = recorder();
    batch.push({ n: 7 });
    await nextTurn();
    assert.deepEqual(sent, [{ n: 7 }]);
  });

  it("a large message goes alone and at once, after what was queued before it", () => {
    const { sent, batch } = recorder();
    batch.push({ n: 1 });
    batch.push({ n: 2, data: "x".repeat(100_000) });
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0], { n: 1 });
    assert.equal((sent[1] as Msg).n, 2);
  });

  it("a batch that grows heavy is sent before the turn ends", () => {
    const { sent, batch } = recorder();
    // 20 messages of 15,000 characters each: under the single-message bound, over the batch's.
    for (let n = 0; n < 20; n++) batch.push({ n, data: "y".repeat(15_000) });
    assert.ok(sent.length >= 1, "sent without waiting for the end of the turn");
    const total = sent.flatMap((p) => (Array.isArray(p) ? p : [p])).length;
    assert.ok(total >= 16 && total < 20, `${total} of 20 sent early`);
  });

  it("what JSON cannot carry is not batched: the send that fails is the caller's", () => {
    const batch = new TurnBatch<unknown>((payload) => {
      JSON.stringify(payload);
      return true;
    });
    assert.throws(() => batch.push({ value: 10n }), /BigInt/);
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    assert.throws(() => batch.push({ value: cyclic }), /circular/);
    // Control: an ordinary value is accepted and held for the end of the turn.
    assert.equal(batch.push({ value: [1, "two", { three: null }] }), true);
  });

  it("estimates sizes with a bound, whatever the input's size", () => {
    assert.ok(boundedJsonSize({ a: "abc", b: [1, 2, 3] }, 1000) < 100);
    const huge = Array.from({ length: 1_000_000 }, (_, i) => i);
    assert.ok(boundedJsonSize(huge, 1000) > 1000);
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.ok(boundedJsonSize(deep, 1000) > 1000, "deep nesting counts as large (sent alone, judged by JSON.stringify)");
  });
});
