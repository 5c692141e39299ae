// The host's channel bus and the topic matchers behind channel grants.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createChannelCapability } from "../../capabilities/channel-capability.ts";
import { patternCovers, patternProblem, topicMatches, topicProblem, type AuditEvent, type ChannelMessage } from "../../capabilities/index.ts";
import { ChannelBus } from "../../core/channels/bus.ts";
import { until } from "../helpers/until.ts";

describe("topic matching (pure)", () => {
  it("* is one segment, ** (last) one or more; chat.* does not cover chat", () => {
    assert.equal(topicMatches("chat.*", "chat.message"), true);
    assert.equal(topicMatches("chat.*", "chat"), false);
    assert.equal(topicMatches("chat.*", "chat.a.b"), false);
    assert.equal(topicMatches("chat.**", "chat.a.b"), true);
    assert.equal(topicMatches("chat.**", "chat"), false);
    assert.equal(topicMatches("Chat.x", "chat.x"), false, "case-sensitive");
  });
  it("a grant covers a subscription pattern only if it covers every topic the pattern can match", () => {
    assert.equal(patternCovers("chat.*", "chat.message"), true);
    assert.equal(patternCovers("chat.*", "chat.*"), true);
    assert.equal(patternCovers("chat.*", "chat.**"), false);
    assert.equal(patternCovers("chat.**", "chat.*.x"), true);
    assert.equal(patternCovers("chat.message", "chat.*"), false);
    assert.equal(patternCovers("chat.message", "**"), false);
    assert.equal(patternCovers("**", "anything.**"), true);
  });
  it("coverage agrees with matching on random topics (property)", () => {
    const seg = fc.constantFrom("a", "b", "c");
    const pat = fc.array(fc.constantFrom("a", "b", "*"), { minLength: 1, maxLength: 4 }).chain((p) => fc.boolean().map((tail) => (tail ? [...p, "**"] : p).join(".")));
    fc.assert(
      fc.property(pat, pat, fc.array(seg, { minLength: 1, maxLength: 6 }), (grant, pattern, t) => {
        const topic = t.join(".");
        if (patternCovers(grant, pattern) && topicMatches(pattern, topic)) assert.ok(topicMatches(grant, topic), `${grant} ⊇ ${pattern} but not ${topic}`);
      }),
      { numRuns: 500 },
    );
  });
  it("rejects malformed topics and patterns with a reason", () => {
    for (const bad of ["", "a..b", "a.*", "a b", "x".repeat(3) + ".".repeat(20)]) assert.notEqual(topicProblem(bad), null, bad);
    for (const bad of ["**.a", "a.**.b", "a.b*"]) assert.notEqual(patternProblem(bad), null, bad);
    assert.equal(patternProblem("a.*.**"), null);
  });
});

describe("channel capability", () => {
  const events: AuditEvent[] = [];
  const sent: unknown[] = [];
  const cap = createChannelCapability({
    pluginId: "test.chatty",
    grants: { channels: { publish: ["chat.reply", "bot.*"], subscribe: ["chat.*"] } },
    channels: { publish: async (topic, data) => (sent.push({ topic, data }), { delivered: 0 }), subscribe: async () => undefined, unsubscribe: async () => undefined },
    audit: { record: (e) => events.push(e) },
    messageBytes: 100,
  });

  it("positive control: publishes and subscribes within its grants", async () => {
    await cap.publish("chat.reply", { text: "hi" });
    await cap.publish("bot.status", null);
    await cap.subscribe("chat.message", 1);
    await cap.subscribe("chat.*", 2);
    assert.equal(sent.length, 2);
  });
  it("denies publishing or subscribing outside its grants, audited", async () => {
    for (const [fn, arg] of [
      [() => cap.publish("chat.message", {}), "chat.message"],
      [() => cap.publish("bot.a.b", {}), "bot.a.b"],
      [() => cap.subscribe("chat.**", 3), "chat.**"],
      [() => cap.subscribe("bot.*", 4), "bot.*"],
    ] as const) {
      await assert.rejects(fn(), {
        code: "PERMISSION_DENIED",
        message: new RegExp(`requires channels\\.(publish|subscribe) access to "${arg.replace(/[.*]/g, "\\$&")}"; no rule in permissions\\.channels`),
      });
      assert.equal(events.at(-1)?.value, arg);
      assert.equal(events.at(-1)?.type, "deny");
    }
  });
  it("caps the message size and rejects malformed topics", async () => {
    await assert.rejects(cap.publish("chat.reply", { text: "x".repeat(200) }), (e: Error & { code?: string }) => e.code === "TooLarge" && /limits\.messageBytes/.test(e.message));
    await assert.rejects(cap.publish("chat.*", {}), { code: "BAD_INPUT", message: /"chat\.\*"/ });
    await assert.rejects(cap.publish("", {}), { code: "BAD_INPUT", message: /Warden\.channels\.publish\(\): the topic is empty/ });
  });
});

describe("channel bus", () => {
  it("stamps the host as sender for host messages and delivers to every matching subscriber", async () => {
    const bus = new ChannelBus();
    const got: ChannelMessage[] = [];
    bus.subscribe("chat.*", (m) => void got.push(m));
    bus.subscribe("other", (m) => void got.push(m));
    assert.equal(bus.publish("chat.message", { text: "hi" }), 1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, [{ topic: "chat.message", data: { text: "hi" }, from: "host", dropped: 0 }]);
  });

  it("a slow subscriber has a bounded queue: the oldest are dropped and counted, the publisher never waits", async () => {
    const bus = new ChannelBus({ queueLength: 4 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: ChannelMessage[] = [];
    bus.subscribeAs("test.slow", "t", async (m) => {
      got.push(m);
      await gate;
    });
    const fast: number[] = [];
    bus.subscribeAs("test.fast", "t", async (m) => void fast.push((m.data as { i: number }).i));
    for (let i = 0; i < 20; i++) {
      bus.publishAs("test.pub", "t", { i });
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(fast.length, 20, "a fast subscriber is not held up by a slow one");
    release();
    await until("the slow subscriber to drain its queue", () => got.length >= 5);
    // The first message was taken at once; of the 19 queued behind it only the newest 4 remain.
    assert.deepEqual(
      got.map((m) => (m.data as { i: number }).i),
      [0, 16, 17, 18, 19],
    );
    assert.equal(got[1]?.dropped, 15, "the subscriber sees how many it missed");
    assert.equal(got[2]?.dropped, 0);
  });

  it("queues are bounded in bytes too: a stuck subscriber of big messages keeps the newest that fit, counted; a subscriber that keeps up gets all, in order", async () => {
    const bus = new ChannelBus({ queueBytes: 1000, messageBytes: 10_000 });
    const stuck: ChannelMessage[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    bus.subscribeAs("test.stuck", "t", async (m) => {
      stuck.push(m);
      await gate;
    });
    const fast: number[] = [];
    bus.subscribeAs("test.fast", "t", async (m) => void fast.push((m.data as { i: number }).i));
    const pad = "x".repeat(290); // about 300 bytes of JSON each: three fit in 1000
    for (let i = 0; i < 20; i++) {
      bus.publish("t", { i, pad });
      assert.ok(bus.queuedBytesOf("test.stuck") <= 1000, `${bus.queuedBytesOf("test.stuck")} bytes queued`);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(
      fast,
      Array.from({ length: 20 }, (_, i) => i),
      "positive control",
    );
    assert.equal(bus.queuedBytesOf("test.fast"), 0);
    release();
    await until("the stuck subscriber to drain its queue", () => stuck.length >= 4);
    assert.deepEqual(
      stuck.map((m) => (m.data as { i: number }).i),
      [0, 17, 18, 19],
    );
    assert.equal(stuck[1]?.dropped, 16, "the subscriber sees how many it missed");
    assert.equal(bus.queuedBytes, 0, "drained");
  });

  it("one subscriber's queues share a byte budget: subscribing many times multiplies nothing (positive control: another subscriber keeps its own share)", async () => {
    const bus = new ChannelBus({ queueBytes: 1000, ownerQueueBytes: 2500 });
    const never = () => new Promise<void>(() => {});
    const subs = Array.from({ length: 10 }, () => bus.subscribeAs("test.hog", "t", never));
    const other = bus.subscribeAs("test.other", "t", never);
    const pad = "x".repeat(290);
    for (let i = 0; i < 50; i++) bus.publishAs("test.pub", "t", { i, pad });
    assert.ok(bus.queuedBytesOf("test.hog") <= 2500, `${bus.queuedBytesOf("test.hog")} bytes for ten subscriptions`);
    assert.ok(bus.queuedBytesOf("test.other") > 600 && bus.queuedBytesOf("test.other") <= 1000, "the other subscriber's queue is its own");
    assert.ok(subs.every((s) => s.dropped > 0));
    for (const s of subs) s.unsubscribe();
    other.unsubscribe();
    assert.equal(bus.queuedBytes, 0, "unsubscribing releases the bytes");
  });

  it("a plugin is sent at most deliveriesInFlight messages at once across its subscriptions, which take turns; every message arrives; the host's handlers are not limited", async () => {
    const bus = new ChannelBus({ deliveriesInFlight: 4 });
    const releases: Array<() => void> = [];
    let now = 0;
    let most = 0;
    const got: number[] = [];
    const handler = (i: number) => async () => {
      most = Math.max(most, ++now);
      await new Promise<void>((r) => releases.push(r));
      now--;
      got.push(i);
    };
    const subs = Array.from({ length: 40 }, (_, i) => bus.subscribeAs("test.many", "t", handler(i)));
    let hostNow = 0;
    const hostReleases: Array<() => void> = [];
    for (let i = 0; i < 10; i++)
      bus.subscribe("t", async () => {
        hostNow++;
        await new Promise<void>((r) => hostReleases.push(r));
      });
    assert.equal(bus.publish("t", 1), 50);
    await until("the first turns", () => releases.length === 4);
    assert.equal(now, 4);
    assert.equal(hostNow, 10, "the host's own handlers all run at once");
    while (got.length < 40) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(most, 4);
    assert.deepEqual(
      [...got].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
    for (const r of hostReleases) r();
    for (const s of subs) s.unsubscribe();
  });

  it("a subscription given up while waiting for its turn sends nothing", async () => {
    const bus = new ChannelBus({ deliveriesInFlight: 1 });
    const releases: Array<() => void> = [];
    const got: string[] = [];
    bus.subscribeAs("test.one", "t", async () => {
      got.push("first");
      await new Promise<void>((r) => releases.push(r));
    });
    const second = bus.subscribeAs("test.one", "t", async () => void got.push("second"));
    bus.publish("t", 1);
    await until("the first delivery", () => releases.length === 1);
    second.unsubscribe();
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ["first"]);
    assert.equal(bus.queuedBytes, 0);
  });

  it("a throwing handler is reported and the bus goes on", async () => {
    const errors: string[] = [];
    const bus = new ChannelBus({ onDeliveryError: (owner, topic) => errors.push(`${owner}:${topic}`) });
    const got: number[] = [];
    bus.subscribeAs("test.bad", "t", async () => {
      throw new Error("boom");
    });
    bus.subscribeAs("test.good", "t", async (m) => void got.push((m.data as { i: number }).i));
    bus.publish("t", { i: 1 });
    bus.publish("t", { i: 2 });
    await until("both deliveries to both subscribers", () => got.length >= 2 && errors.length >= 2);
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(errors, ["test.bad:t", "test.bad:t"]);
  });

  it("rejects a host publish with a bad topic or an oversized message", () => {
    const bus = new ChannelBus({ messageBytes: 10 });
    assert.throws(() => bus.publish("a.*", {}), { code: "BAD_INPUT" });
    assert.throws(() => bus.publish("a", { long: "xxxxxxxxxxxxxxxx" }), { code: "BAD_INPUT" });
  });
});
