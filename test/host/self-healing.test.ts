// Issue 17: a plugin that hits a limit comes back by itself. A chat bot subscribes in onLoad and
// answers on its own topic; one message makes its handler allocate until MEMORY_LIMIT. Nobody calls
// its entries (a chat host never does): warden must rebuild it at once, keep what arrives meanwhile
// in its bounded queue, report the message that failed and what did not fit, and still quarantine
// a plugin that keeps failing. Run in every isolation mode.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { DEFAULT_QUEUE_LENGTH } from "../../core/channels/bus.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import type { Isolation } from "../../core/runtime/plugin-slot.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger(process.env["TEST_LOG"] ?? "silent");

// Allocation in small steps, beyond memoryMb: reliably the isolate's MEMORY_LIMIT, not a crash.
const BOMB = "const a = []; while (true) a.push(new Array(100000).fill(a.length));";

/** A bot answering every message of `inTopic` on `outTopic` with its number and its config's tag; a message with `bomb` makes it allocate without end. */
function bot(id: string, inTopic: string, outTopic: string): [object, Record<string, string>] {
  return [
    manifest(id, {
      permissions: { channels: { subscribe: [inTopic], publish: [outTopic] } },
      limits: { memoryMb: 16 },
      config: { type: "object", properties: { tag: { type: "string" } } },
    }),
    {
      "index.js": `
export async function onLoad() {
  await Warden.channels.subscribe(${JSON.stringify(inTopic)}, async (m) => {
    if (m.data.bomb) { ${BOMB} }
    if (m.data.huge) Array(1e9).fill(0);
    if (m.data.later) setTimeout(() => { ${BOMB} }, 0);
    await Warden.channels.publish(${JSON.stringify(outTopic)}, { n: m.data.n, tag: Warden.config.tag ?? null });
  });
}
export function ping() { return "pong"; }
`,
    },
  ];
}

for (const isolation of ["engine", "dedicated", "in-process"] as const satisfies readonly Isolation[]) {
  describe(`self-healing (isolation "${isolation}")`, () => {
    let s: Scratch;
    let host: Host;
    const events: HostEvent[] = [];
    const audit = memoryAuditLog();
    const replies = new Map<string, number[]>();
    // Events in arrival order, awaited without polling.
    const waiters: Array<{ test: (e: HostEvent) => boolean; resolve: (e: HostEvent) => void }> = [];
    const replyWaiters: Array<{ topic: string; n: number; resolve: () => void }> = [];
    const MAX_FAILURES = 3;

    /** `p`, or a failure naming `what` if it has not settled in 30 s (a liveness bound, not a speed test). */
    async function within<T>(what: string, p: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000)));
      try {
        return await Promise.race([p, late]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** The next event (counting from `from`, an index into `events`) that passes `test`. */
    function nextEvent(test: (e: HostEvent) => boolean, from = events.length): Promise<HostEvent> {
      const seen = events.slice(from).find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return within("an event", new Promise((resolve) => waiters.push({ test, resolve })));
    }

    /** Resolves once `topic` has carried an answer with number `n`. */
    function reply(topic: string, n: number): Promise<void> {
      if (replies.get(topic)?.includes(n)) return Promise.resolve();
      return within(`reply ${n} on ${topic}`, new Promise((resolve) => replyWaiters.push({ topic, n, resolve })));
    }

    const status = (id: string) => host.status().find((p) => p.id === id);
    const of = (type: string, plugin: string, from = 0) => events.slice(from).filter((e) => e.type === type && e.plugin === plugin);

    before(async () => {
      s = scratch();
      const [bm, bf] = bot("heal.bot", "m", "r");
      s.plugin("bot", bm, bf);
      const [fm, ff] = bot("heal.fragile", "f", "fr");
      s.plugin("fragile", fm, ff);
      const [cm, cf] = bot("heal.crasher", "c", "cr");
      s.plugin("crasher", cm, cf);
      host = await createHost({
        pluginsDir: s.root,
        auditLog: audit,
        logger,
        isolation,
        healthIntervalMs: 0,
        config: { "heal.bot": { tag: "configured" }, "heal.fragile": { tag: "fragile" }, "heal.crasher": { tag: "crasher" } },
        quarantine: { maxFailures: MAX_FAILURES },
      });
      host.on("event", (e) => {
        events.push(e);
        for (const w of [...waiters]) {
          if (!w.test(e)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      });
      for (const topic of ["r", "fr", "cr"]) {
        host.bus.subscribe(topic, (m) => {
          const list = replies.get(topic) ?? [];
          const n = (m.data as { n: number }).n;
          list.push(n);
          replies.set(topic, list);
          for (const w of replyWaiters.filter((x) => x.topic === topic && x.n === n)) {
            replyWaiters.splice(replyWaiters.indexOf(w), 1);
            w.resolve();
          }
        });
      }
      const loaded = await host.loadAll();
      assert.deepEqual(
        loaded.map((p) => [p.id, p.state]),
        [
          ["heal.bot", "active"],
          ["heal.crasher", "active"],
          ["heal.fragile", "active"],
        ],
      );
    });
    after(async () => {
      await host.close();
      s.cleanup();
    });

    it("message 5 hits MEMORY_LIMIT; with no entry call, the bot is rebuilt at once and answers every later message exactly once, in order", async () => {
      const from = events.length;
      const restarted = nextEvent((e) => e.type === "restarted" && e.plugin === "heal.bot", from);
      for (let n = 0; n < 20; n++) host.bus.publish("m", n === 5 ? { n, bomb: true } : { n });
      await restarted;
      await reply("r", 19);
      // Control: the bot answered before the bomb, so silence after it would be the bug, not a dead bot.
      const expected = [...Array(20).keys()].filter((n) => n !== 5);
      assert.deepEqual(replies.get("r"), expected);

      // The bomb's message is reported as failed, with the limit; it was not delivered again.
      const failed = of("delivery-failed", "heal.bot", from);
      assert.equal(failed.length, 1, JSON.stringify(failed));
      assert.deepEqual([failed[0]?.type === "delivery-failed" && failed[0].topic, failed[0]?.type === "delivery-failed" && failed[0].code], ["m", "MEMORY_LIMIT"]);
      assert.equal(of("limit", "heal.bot", from).length, 1);
      // restarting, then restarted; onLoad ran again with its config (the replies carry its tag).
      const order = events
        .slice(from)
        .filter((e) => e.plugin === "heal.bot" && ["limit", "restarting", "restarted"].includes(e.type))
        .map((e) => e.type);
      assert.deepEqual(order, ["limit", "restarting", "restarted"]);
      assert.equal(status("heal.bot")?.state, "active");
      assert.equal(status("heal.bot")?.counters.restarts, 1);
      const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["plugin"] === "heal.bot");
      assert.ok(records.some((r) => r["type"] === "delivery-failed" && r["code"] === "MEMORY_LIMIT" && r["topic"] === "m"));
      assert.ok(records.some((r) => r["type"] === "restart"));
    });

    it("the rebuilt bot runs its onLoad with its config", async () => {
      const tags: unknown[] = [];
      const sub = host.bus.subscribe("r", (m) => void tags.push((m.data as { tag: unknown }).tag));
      host.bus.publish("m", { n: 100 });
      await reply("r", 100);
      sub.unsubscribe();
      assert.deepEqual(tags, ["configured"]);
    });

    it("an entry call that arrives while the bot is restarting waits for it and succeeds", async () => {
      const from = events.length;
      const during: { call?: Promise<unknown> } = {};
      let stateDuring: string | undefined;
      const restarting = nextEvent((e) => e.type === "restarting" && e.plugin === "heal.bot", from).then(() => {
        stateDuring = status("heal.bot")?.state;
        during.call = host.invoke("heal.bot", "ping");
      });
      host.bus.publish("m", { n: 200, bomb: true });
      await restarting;
      assert.equal(stateDuring, "restarting");
      assert.equal(await during.call, "pong");
      await nextEvent((e) => e.type === "restarted" && e.plugin === "heal.bot", from);
      host.bus.publish("m", { n: 201 });
      await reply("r", 201);
      assert.equal(replies.get("r")?.includes(200), false);
      assert.equal(status("heal.bot")?.state, "active");
    });

    it("a limit hit by a timer, with no call or handler running, brings the plugin back too", async () => {
      const from = events.length;
      const restarted = nextEvent((e) => e.type === "restarted" && e.plugin === "heal.crasher", from);
      host.bus.publish("c", { n: 300, later: true });
      await reply("cr", 300);
      await restarted;
      host.bus.publish("c", { n: 301 });
      await reply("cr", 301);
      // (Message 300's handler may still be awaiting its publish when the timer runs: then it is
      // reported as failed too, after its reply went out; either way nothing is silent.)
      assert.equal(of("limit", "heal.crasher", from).length, 1);
      assert.deepEqual(
        replies.get("cr")?.filter((n) => n >= 300),
        [300, 301],
      );
    });

    // An allocation that takes the whole engine process down (in the host's process it would take the host).
    it("a handler that brings its engine down: the plugin comes back in a fresh engine by itself and answers every later message exactly once", { skip: isolation === "in-process" }, async () => {
      const from = events.length;
      const restarted = nextEvent((e) => e.type === "restarted" && e.plugin === "heal.crasher", from);
      for (let n = 0; n < 10; n++) host.bus.publish("c", n === 3 ? { n, huge: true } : { n });
      await restarted;
      await reply("cr", 9);
      assert.deepEqual(
        replies.get("cr")?.filter((n) => n < 300),
        [0, 1, 2, 4, 5, 6, 7, 8, 9],
      );
      const failed = of("delivery-failed", "heal.crasher", from);
      assert.equal(failed.length, 1, JSON.stringify(failed));
      assert.equal(failed[0]?.type === "delivery-failed" && failed[0].topic, "c");
      assert.equal(status("heal.crasher")?.state, "active");
      assert.notEqual(status("heal.crasher")?.engine, null);
    });

    it("a plugin that fails on every message ends quarantined, not in a restart loop, and says why; what arrives meanwhile waits, bounded, and release() brings it back", async () => {
      const from = events.length;
      for (let i = 0; i < MAX_FAILURES; i++) {
        const limit = nextEvent((e) => e.type === "limit" && e.plugin === "heal.fragile", events.length);
        host.bus.publish("f", { n: i, bomb: true });
        await limit;
      }
      await nextEvent((e) => e.type === "quarantine" && e.plugin === "heal.fragile", from);
      const st = status("heal.fragile");
      assert.equal(st?.state, "quarantined");
      assert.match(st?.reason ?? "", /quarantined until .*MEMORY_LIMIT/);
      // Not rebuilt after the failure that quarantined it (one restart per earlier failure only);
      // that no timer rebuilds it later is the clock-driven test below.
      assert.equal(of("restarting", "heal.fragile", from).length, MAX_FAILURES - 1);
      assert.equal(of("limit", "heal.fragile", from).length, MAX_FAILURES);
      assert.equal(status("heal.fragile")?.state, "quarantined");
      // The last bomb's delivery is over (reported failed) before more messages come.
      await nextEvent((e) => e.type === "delivery-failed" && e.plugin === "heal.fragile" && of("delivery-failed", "heal.fragile", from).length === MAX_FAILURES, from);

      // While it is quarantined, 50 messages more than its queue holds: the first waits to be
      // delivered, the last DEFAULT_QUEUE_LENGTH fit the queue, 49 are dropped.
      const total = DEFAULT_QUEUE_LENGTH + 50;
      for (let n = 0; n < total; n++) host.bus.publish("f", { n: 1000 + n });
      const back = nextEvent((e) => e.type === "restarted" && e.plugin === "heal.fragile", events.length);
      host.release("heal.fragile");
      await back;
      await reply("fr", 1000 + total - 1);
      assert.deepEqual(replies.get("fr"), [1000, ...[...Array(DEFAULT_QUEUE_LENGTH).keys()].map((i) => 1000 + 50 + i)]);
      const dropped = of("dropped", "heal.fragile", from);
      assert.equal(
        dropped.reduce((sum, e) => sum + (e.type === "dropped" ? e.count : 0), 0),
        49,
        JSON.stringify(dropped),
      );
      assert.equal(status("heal.fragile")?.counters.dropped, 49);
      assert.equal(status("heal.fragile")?.state, "active");
      const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["plugin"] === "heal.fragile" && r["type"] === "dropped");
      assert.equal(
        records.reduce((sum, r) => sum + Number(r["count"]), 0),
        49,
      );
    });
  });
}

describe("self-healing on a clock the test moves (restart backoff, quarantine period)", () => {
  it("a plugin failing on every message: each restart waits out its backoff; quarantined, nothing rebuilds it for the whole period; its end brings it back by itself", async () => {
    const s = scratch();
    const [fm, ff] = bot("heal.clocked", "k", "kr");
    s.plugin("clocked", fm, ff);
    const clock = new ManualClock();
    const events: HostEvent[] = [];
    const PERIOD = 60_000;
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, spareEngines: 0, clock, quarantine: { maxFailures: 3, windowMs: 60_000, baseMs: PERIOD } });
    const replies: number[] = [];
    host.bus.subscribe("kr", (m) => void replies.push((m.data as { n: number }).n));
    let wake: (() => void) | null = null;
    host.on("event", (e) => {
      events.push(e);
      wake?.();
    });
    /** Resolves at the first event of `type` for the plugin from `from` on (bounded: a liveness check, not a timing one). */
    const next = async (type: string, from: number): Promise<HostEvent> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const hit = events.slice(from).find((e) => e.type === type && e.plugin === "heal.clocked");
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) assert.fail(`no ${type} event; got ${events.map((e) => e.type).join(", ")}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000).unref();
        });
      }
    };
    /** Let whatever the last advance started run its synchronous part (an event is emitted before any I/O). */
    const settle = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));
    const restarting = () => events.filter((e) => e.type === "restarting").map((e) => (e as { delayMs: number }).delayMs);
    try {
      await host.loadAll();
      // Failure 1: rebuilt at once (no delay). Failure 2: the backoff's first step, which only the clock ends.
      let from = events.length;
      host.bus.publish("k", { n: 1, bomb: true });
      await next("restarted", from);
      from = events.length;
      host.bus.publish("k", { n: 2, bomb: true });
      await next("restarting", from);
      assert.deepEqual(restarting(), [0, 250]);
      await settle();
      assert.equal(events.slice(from).filter((e) => e.type === "restarted").length, 0, "the restart waits for its backoff");
      clock.advance(249);
      await settle();
      assert.equal(events.slice(from).filter((e) => e.type === "restarted").length, 0, "still waiting 1 ms before the backoff ends");
      clock.advance(1);
      await next("restarted", from);
      // Failure 3 quarantines it (3 in the window): no restart is even scheduled.
      from = events.length;
      host.bus.publish("k", { n: 3, bomb: true });
      await next("quarantine", from);
      await settle();
      assert.deepEqual(restarting(), [0, 250], "no restart after the failure that quarantined it");
      assert.equal(host.status()[0]?.state, "quarantined");
      // Its whole period passes, one second at a time: nothing rebuilds it.
      for (let t = 0; t < PERIOD - 1000; t += 1000) {
        clock.advance(1000);
        await settle();
      }
      assert.deepEqual(restarting(), [0, 250], "no restart loop during the quarantine");
      assert.equal(host.status()[0]?.state, "quarantined");
      host.bus.publish("k", { n: 4 });
      // The period ends: released by time, rebuilt, and the message that waited is answered.
      from = events.length;
      clock.advance(1001);
      const release = await next("release", from);
      assert.equal((release as { by?: string }).by, "timeout");
      await next("restarted", from);
      const deadline = Date.now() + 30_000;
      while (!replies.includes(4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(replies, [4]);
      assert.equal(host.status()[0]?.state, "active");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("self-healing: a caller does not wait out the backoff", () => {
  it("a plugin failing on every call, with quarantine off, answers each call with its limit, not a TIMEOUT from a growing backoff", async () => {
    const s = scratch();
    s.plugin("p", manifest("heal.calls", { limits: { memoryMb: 16, timeoutMs: 3000 } }), { "index.js": `export function bomb() { ${BOMB} }\nexport function ok() { return "ok"; }` });
    const events: HostEvent[] = [];
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, quarantine: { maxFailures: 1_000_000 } });
    host.on("event", (e: HostEvent) => events.push(e));
    try {
      await host.loadAll();
      // Eight failures in a row: an unbroken backoff would be 250 ms · 2^6 = 16 s by the eighth, past its 3 s timeout.
      for (let i = 0; i < 8; i++) await assert.rejects(host.invoke("heal.calls", "bomb"), (e: Error & { code?: string }) => e.code === "MEMORY_LIMIT");
      const delays = events.filter((e) => e.type === "restarting").map((e) => (e as { delayMs: number }).delayMs);
      assert.ok(Math.max(...delays) >= 4000, `the backoff grew as designed (control): ${delays.join(", ")}`);
      assert.equal(await host.invoke("heal.calls", "ok"), "ok");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
