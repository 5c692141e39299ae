// A plugin's publish rate: a burst goes at once, beyond it publishes wait their turn in order, a
// bounded number may wait, and what waits when the plugin goes is refused, never sent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_WAITING_PUBLISHES, PublishRate } from "../../core/channels/publish-rate.ts";

type Coded = Error & { code?: string };

describe("publish rate", () => {
  it("lets a burst through at once, then makes publishes wait their turn, in order", async () => {
    const rate = new PublishRate("t.p", 1000, 3);
    for (let i = 0; i < 3; i++) assert.equal(rate.take(), undefined, "within the burst: no wait");
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) => (rate.take() as Promise<void>).then(() => order.push(i)));
    assert.ok(waits.every((w) => w instanceof Promise));
    await Promise.all(waits);
    assert.deepEqual(order, [0, 1, 2]);
  });

  it("refuses with BUSY, naming the plugin and the rate, once MAX_WAITING_PUBLISHES wait", async () => {
    const rate = new PublishRate("t.flood", 1, 1);
    assert.equal(rate.take(), undefined);
    const waiting = Array.from({ length: MAX_WAITING_PUBLISHES }, () => rate.take() as Promise<void>);
    await assert.rejects(rate.take() as Promise<void>, (e: Coded) => e.code === "BUSY" && /plugin t\.flood publishes faster than 1 messages\/s/.test(e.message));
    rate.close();
    const settled = await Promise.allSettled(waiting);
    assert.ok(settled.every((r) => r.status === "rejected" && (r.reason as Coded).code === "BUSY" && /unloaded before its publish's turn/.test((r.reason as Coded).message)));
  });
});
