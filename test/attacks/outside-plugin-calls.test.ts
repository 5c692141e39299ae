// Outside attacker: a plugin with a `plugins` grant or a channel grant, through the real host. It
// calls in cycles and at itself (on every isolation, the in-process fast path included), tries the
// neighbours of the ids and entry names it was granted, calls plugins that are not running to learn
// about the host, starves a callee's concurrency, tries topic spellings and patterns next to its
// channel grants, forges senders, and goes on receiving after its approval expired.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { DEFAULTS } from "../../defaults/index.ts";

const logger = createDefaultLogger("silent");

/** Runs `f` inside a plugin and returns `{ ok }` or `{ code, message }`: what the attacker sees. */
const TRY = `const attempt = async (f) => { try { return { ok: await f() }; } catch (e) { return { code: e.code, name: e.name, message: String(e.message) }; } };`;

type Outcome = { ok?: unknown; code?: string; name?: string; message?: string };

/** The plugins of the call tests: a cycle, a self-caller, a callee with hooks, an attacker. */
function callPlugins(s: Scratch): void {
  s.plugin("ping", manifest("t.ping", { permissions: { plugins: ["t.pong"] } }), { "index.js": "export const go = (n) => (n === 0 ? 'bottom' : Warden.plugins.call('t.pong', 'go', n - 1));" });
  s.plugin("pong", manifest("t.pong", { permissions: { plugins: ["t.ping"] } }), { "index.js": "export const go = (n) => (n === 0 ? 'bottom' : Warden.plugins.call('t.ping', 'go', n - 1));" });
  s.plugin("self", manifest("t.self", { permissions: { plugins: ["t.self"] } }), { "index.js": "export const again = (n) => (n === 0 ? 'bottom' : Warden.plugins.call('t.self', 'again', n - 1));" });
  s.plugin("core", manifest("t.core"), {
    "index.js": `let hooksRan = [];
export function onLoad() {}
export function health() { hooksRan.push("health"); return true; }
export function onUnload() { hooksRan.push("onUnload"); }
export function onConfigChange() { hooksRan.push("onConfigChange"); }
export const whoami = (input, ctx) => ({ caller: ctx.caller, input });
export const hooks = () => hooksRan;
export async function slow() { await new Promise((r) => setTimeout(r, 400)); return "slow"; }
export const quick = () => "quick";`,
  });
  s.plugin("broken", manifest("t.broken"), { "index.js": "export function onLoad() { throw new Error('db password is hunter2 at /srv/secret/t.broken'); } export const x = () => 1;" });
  s.plugin("bystander", manifest("t.bystander-secret-name"), { "index.js": "export const x = () => 1;" });
  s.plugin("attacker", manifest("t.attacker", { permissions: { plugins: ["t.core", "t.broken", "t.not-installed"] }, limits: { timeoutMs: 10_000 } }), {
    "index.js": `${TRY}
export const call = ({ id, entry, input }) => attempt(() => Warden.plugins.call(id, entry, input));
export const forge = () => attempt(() => Warden.plugins.call("t.core", "whoami", { caller: "host" }, { caller: "host" }));
export async function flood({ n }) {
  const all = [];
  for (let i = 0; i < n; i++) all.push(attempt(() => Warden.plugins.call("t.core", "slow", {})));
  const r = await Promise.all(all);
  return { ok: r.filter((x) => x.ok === "slow").length, busy: r.filter((x) => x.code === "BUSY").length, other: r.filter((x) => x.ok !== "slow" && x.code !== "BUSY").map((x) => x.code + ": " + x.message) };
}
export const oddIds = () => Promise.all([42, null, undefined, ["t.core"], { toString() { return "t.core"; } }, { [Symbol.toPrimitive]: () => "t.core" }].map((id) => attempt(() => Warden.plugins.call(id, "whoami", {}))));
export async function getterInput() { let reads = 0; const input = { get x() { reads++; return reads === 1 ? "checked" : "swapped"; } }; const r = await Warden.plugins.call("t.core", "whoami", input); return { r, reads }; }
export function floodNoWait({ n }) { for (let i = 0; i < n; i++) Warden.plugins.call("t.core", "slow", {}).catch(() => {}); return n; }`,
  });
}

for (const isolation of ["engine", "in-process"] as const) {
  describe(`outside: plugin-to-plugin call chains (isolation ${isolation})`, () => {
    let s: Scratch;
    let host: Host;
    before(async () => {
      s = scratch();
      callPlugins(s);
      host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, isolation, quarantine: { maxFailures: 1000 } });
      await host.loadAll();
    });
    after(async () => {
      await host.close();
      s.cleanup();
    });

    it("positive control: a chain within the depth limit answers", async () => {
      assert.equal(await host.invoke("t.ping", "go", 3), "bottom");
      assert.equal(await host.invoke("t.self", "again", 3), "bottom");
    });

    it("A → B → A → … stops at the depth limit, and the error names the chain", async () => {
      await assert.rejects(host.invoke("t.ping", "go", 100), (e: Error & { code?: string }) => {
        assert.match(e.message, /more than 4/);
        assert.match(e.message, /t\.ping → t\.pong → t\.ping → t\.pong → t\.ping/, e.message);
        return true;
      });
    });

    it("a plugin calling itself stops at the depth limit", async () => {
      await assert.rejects(host.invoke("t.self", "again", 100), (e: Error) => /more than 4/.test(e.message) && /t\.self → t\.self → t\.self/.test(e.message));
    });
  });
}

describe("outside: what a plugin can call, and what a call tells it", () => {
  let s: Scratch;
  let host: Host;
  before(async () => {
    s = scratch();
    callPlugins(s);
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, quarantine: { maxFailures: 1000 } });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });
  const call = (id: unknown, entry: unknown, input: unknown = {}) => host.invoke("t.attacker", "call", { id, entry, input }) as Promise<Outcome>;

  it("positive control: the granted id and entry answer, with the caller stamped by the host", async () => {
    assert.deepEqual(await call("t.core", "whoami", { a: 1 }), { ok: { caller: "t.attacker", input: { a: 1 } } });
  });

  it("neighbours of a granted id (case, spaces, look-alikes, NUL, wildcards, prefixes, longer ids) are denied", async () => {
    const neighbours = [
      "T.core",
      "t.Core",
      "t.core ",
      " t.core",
      "t.core\n",
      "t.core\u0000",
      "t.cоre",
      "t.ｃore",
      "t.core\u200b",
      "t.cor",
      "t.core.x",
      "t.core.",
      "*",
      "t.*",
      "**",
      "t.",
      "",
      "t.core/..",
      "t.core\\",
      "host",
    ];
    for (const id of neighbours) {
      const r = await call(id, "whoami");
      assert.ok(r.code === "PERMISSION_DENIED" || r.code === "BAD_INPUT", `${JSON.stringify(id)}: ${JSON.stringify(r)}`);
    }
    const odd = (await host.invoke("t.attacker", "oddIds")) as Outcome[];
    assert.equal(odd.length, 6);
    for (const r of odd) assert.equal(r.code, "BAD_INPUT", JSON.stringify(r));
  });

  it("an input with a getter is copied once, in the caller's isolate: the callee gets one plain value", async () => {
    const r = (await host.invoke("t.attacker", "getterInput")) as { r: { caller: string; input: { x: string } }; reads: number };
    assert.equal(r.r.caller, "t.attacker");
    assert.equal(r.reads, 1);
    assert.deepEqual(r.r.input, { x: "checked" });
  });

  it("entry names that are not exported entries (prototype names, hooks, look-alikes) never run anything", async () => {
    const names = [
      "__proto__",
      "constructor",
      "toString",
      "valueOf",
      "hasOwnProperty",
      "__defineGetter__",
      "then",
      "default",
      "onLoad",
      "health",
      "onUnload",
      "onConfigChange",
      "Whoami",
      "whoami ",
      "",
      "whoami\u0000",
    ];
    for (const entry of names) {
      const r = await call("t.core", entry);
      assert.ok(r.code === "ENTRY_NOT_FOUND" || r.code === "BAD_INPUT", `${JSON.stringify(entry)}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(await host.invoke("t.core", "hooks"), [], "no hook of the callee ran");
  });

  it("the caller cannot be forged by the input or by an extra argument", async () => {
    const r = (await host.invoke("t.attacker", "forge")) as Outcome;
    assert.ok(r.code === "BAD_INPUT" || (r.ok as { caller?: string }).caller === "t.attacker", JSON.stringify(r));
    const ok = await call("t.core", "whoami", { caller: "host" });
    assert.deepEqual(ok, { ok: { caller: "t.attacker", input: { caller: "host" } } });
  });

  it("calling a granted plugin that is not running or not installed tells the caller neither its failure nor the host's other plugins", async () => {
    for (const id of ["t.broken", "t.not-installed"]) {
      const r = await call(id, "x");
      assert.equal(r.code, "PLUGIN_ERROR", JSON.stringify(r));
      assert.match(r.message ?? "", new RegExp(`${id.replace(".", "\\.")} is not available`), JSON.stringify(r));
      for (const secret of ["hunter2", "/srv/secret", "t.bystander-secret-name", s.root, "onLoad"]) assert.ok(!(r.message ?? "").includes(secret), `${id}: ${secret} leaked: ${r.message}`);
    }
    // The operator still sees why (status and the host's own invoke are unchanged).
    assert.match(host.status().find((p) => p.id === "t.broken")?.reason ?? "", /hunter2/);
  });

  it("one caller flooding a callee cannot take all of its concurrency: the host's own calls still get through", async () => {
    const flooded = host.invoke("t.attacker", "floodNoWait", { n: 200 });
    assert.equal(await flooded, 200);
    // The attacker's 200 calls are queued or refused; the host application is another caller.
    await until("the attacker's calls to be running", () => (host.status().find((p) => p.id === "t.core")?.load.running ?? 0) > 0);
    assert.equal(await host.invoke("t.core", "quick"), "quick");
    const load = () => host.status().find((p) => p.id === "t.core")?.load;
    assert.ok((load()?.running ?? 0) <= 3 && (load()?.queued ?? 0) <= 16, JSON.stringify(load()));
    await until("the flood to drain", () => load()?.running === 0 && load()?.queued === 0);
    const r = (await host.invoke("t.attacker", "flood", { n: 100 })) as { ok: number; busy: number; other: string[] };
    assert.deepEqual(r.other, []);
    assert.equal(r.ok + r.busy, 100);
    assert.ok(r.busy > 0, "past its share, the flooding caller gets BUSY");
    assert.ok(r.ok >= 18, `positive control: within its share (2 running, 16 waiting) its calls run: ${r.ok}`);
  });
});

describe("outside: channel topics next to the grants", () => {
  let s: Scratch;
  let host: Host;
  before(async () => {
    s = scratch();
    s.plugin("ch", manifest("t.ch", { permissions: { channels: { publish: ["chat.out", "news.*"], subscribe: ["chat.in", "news.*"] } } }), {
      "index.js": `${TRY}
const got = [];
let subs = new Map();
export const publish = ({ topic, data }) => attempt(() => Warden.channels.publish(topic, data));
export const subscribe = ({ pattern }) => attempt(async () => { const s = await Warden.channels.subscribe(pattern, (m) => { got.push({ pattern, topic: m.topic, from: m.from, data: m.data }); }); subs.set(pattern, s); return true; });
export const unsubscribe = ({ pattern }) => attempt(async () => { await subs.get(pattern).unsubscribe(); subs.delete(pattern); return true; });
export const received = () => got;`,
    });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });
  const publish = (topic: unknown, data: unknown = {}) => host.invoke("t.ch", "publish", { topic, data }) as Promise<Outcome>;
  const subscribe = (pattern: unknown) => host.invoke("t.ch", "subscribe", { pattern }) as Promise<Outcome>;

  it("positive control: the granted topics publish and the granted patterns subscribe", async () => {
    const seen: unknown[] = [];
    const sub = host.bus.subscribe("**", (m) => void seen.push(m.topic));
    try {
      assert.deepEqual(await publish("chat.out"), { ok: { delivered: 1 } });
      assert.deepEqual(await publish("news.today"), { ok: { delivered: 1 } });
      assert.deepEqual(await subscribe("news.*"), { ok: true });
      assert.deepEqual(await subscribe("chat.in"), { ok: true });
      for (const pattern of ["news.*", "chat.in"]) assert.deepEqual(await host.invoke("t.ch", "unsubscribe", { pattern }), { ok: true });
      assert.equal(host.bus.subscriptionsOf("t.ch"), 0);
    } finally {
      sub.unsubscribe();
    }
    assert.deepEqual(seen, ["chat.out", "news.today"]);
  });

  it("topics next to a publish grant (case, wildcards of other buses, separators, empty segments, look-alikes, spaces, deeper, long) are refused", async () => {
    const long = `news.${"a".repeat(300)}`;
    const deep = `news.${Array.from({ length: 20 }, () => "a").join(".")}`;
    const topics = [
      "Chat.out",
      "CHAT.OUT",
      "chat.out ",
      " chat.out",
      "chat.out.",
      ".chat.out",
      "chat..out",
      "chat.*",
      "chat.**",
      "*",
      "**",
      "#",
      "chat.#",
      "chat.>",
      ">",
      "chat/out",
      "chat:out",
      "chat.оut",
      "chat.out\u0000",
      "chat.out\n",
      "",
      ".",
      "..",
      "news",
      "news.a.b",
      "news.*",
      "news.",
      long,
      deep,
      "chat.in",
    ];
    for (const topic of topics) {
      const r = await publish(topic);
      assert.ok(r.code === "PERMISSION_DENIED" || r.code === "BAD_INPUT", `${JSON.stringify(topic).slice(0, 80)}: ${JSON.stringify(r).slice(0, 300)}`);
    }
  });

  it("patterns wider than a subscribe grant, or next to it, are refused", async () => {
    const patterns = ["**", "*", "*.*", "news.**", "news.*.*", "*.in", "chat.*", "chat.**", "chat.in.**", "Chat.in", "chat.in ", "#", "chat.#", ">", "chat.>", "news", "", "..", "news.*.**", "**.in"];
    for (const pattern of patterns) {
      const r = await subscribe(pattern);
      assert.ok(r.code === "PERMISSION_DENIED" || r.code === "BAD_INPUT", `${JSON.stringify(pattern)}: ${JSON.stringify(r)}`);
    }
  });

  it("a subscription gets the topics it covers only, with the sender stamped, and nothing after unsubscribe", async () => {
    await subscribe("news.*");
    host.bus.publish("news.a", { from: "t.admin", topic: "admin.secret" });
    host.bus.publish("news.a.b", 2);
    host.bus.publish("newsx.a", 3);
    host.bus.publish("News.a", 4);
    await until("the message on news.a", async () => ((await host.invoke("t.ch", "received")) as unknown[]).length >= 1);
    await host.invoke("t.ch", "unsubscribe", { pattern: "news.*" });
    assert.equal(host.bus.publish("news.b", 5), 0, "nothing is queued for a subscription the plugin gave up");
    const got = (await host.invoke("t.ch", "received")) as Array<{ pattern: string }>;
    assert.deepEqual(
      got.filter((g) => g.pattern === "news.*"),
      [{ pattern: "news.*", topic: "news.a", from: "host", data: { from: "t.admin", topic: "admin.secret" } }],
    );
  });
});

describe("outside: a handler publishing back to its own topic from 100 subscriptions", () => {
  it("its publishes are rate-bounded, and the messages in flight to it never exceed deliveriesInFlight (positive control: more than one at once)", async () => {
    const s = scratch();
    s.plugin("loop", manifest("t.loop", { permissions: { channels: { publish: ["loop.t"], subscribe: ["loop.t"] } } }), {
      "index.js": `let now = 0, most = 0, handled = 0; const subs = [];
export async function start() {
  for (let i = 0; i < 100; i++) subs.push(await Warden.channels.subscribe("loop.t", async () => {
    most = Math.max(most, ++now); handled++;
    await new Promise((r) => setTimeout(r, 5));
    now--;
    for (let j = 0; j < 2; j++) Warden.channels.publish("loop.t", {}).catch(() => {});
  }));
  await Warden.channels.publish("loop.t", {});
  return subs.length;
}
export const seen = () => ({ most, handled });`,
    });
    s.plugin("other", manifest("t.other"), { "index.js": "export const hi = () => 'hi';" });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("t.loop", "start"), 100);
      await until("300 handlers to have run", async () => ((await host.invoke("t.loop", "seen")) as { handled: number }).handled >= 300, 60_000);
      assert.equal(await host.invoke("t.other", "hi"), "hi", "a bystander answers");
      const { most } = (await host.invoke("t.loop", "seen")) as { most: number };
      // 16 is DEFAULTS.channels.deliveriesInFlight (without it: all 100 at once).
      assert.equal(DEFAULTS.channels.deliveriesInFlight, 16);
      assert.ok(most > 1 && most <= 16, `at most 16 handlers at once, saw ${most}`);
      await host.unload("t.loop");
      assert.equal(host.bus.subscriptionsOf("t.loop"), 0);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("outside: deliveries after the subscriber's approval expired", () => {
  it("a subscription made while approved receives nothing once the approval has expired; approved again, it does", async () => {
    const s = scratch();
    s.plugin("listener", manifest("t.listener", { permissions: { channels: { subscribe: ["chat.in"] } } }), {
      "index.js": "const got = [];\nexport async function onLoad() { await Warden.channels.subscribe('chat.in', (m) => { got.push(m.data); }); }\nexport const received = () => got;",
    });
    const clock = new ManualClock();
    const audit: string[] = [];
    const host = await createHost({ pluginsDir: s.root, approvals: "required", logger, healthIntervalMs: 0, clock });
    host.on("event", (e) => {
      if (e.type === "denied") audit.push(JSON.stringify(e));
    });
    try {
      await host.loadAll();
      await host.approve("t.listener", { expires: new Date(clock.now() + 60_000).toISOString() });
      await until("the plugin to subscribe", () => host.bus.subscriptionsOf("t.listener") === 1);
      host.bus.publish("chat.in", 1);
      await until("message 1 (positive control)", async () => ((await host.invoke("t.listener", "received")) as unknown[]).length === 1);
      clock.advance(60_000);
      assert.equal(host.status()[0]?.approval?.state, "expired");
      host.bus.publish("chat.in", 2);
      // The handler would have run by the time a later call of the same plugin answers (one message at a time).
      await until("the bus to settle", () => host.bus.queuedBytes === 0);
      await host.invoke("t.listener", "received");
      assert.deepEqual(await host.invoke("t.listener", "received"), [1], "message 2 reached a plugin whose approval had expired");
      await until("the refused delivery's denial", () => audit.some((d) => d.includes('"op":"channel delivery"') && d.includes('"value":"chat.in"')));
      await host.approve("t.listener");
      await until("the plugin to subscribe again", () => host.bus.subscriptionsOf("t.listener") === 1);
      host.bus.publish("chat.in", 3);
      await until("message 3 after the new approval", async () => ((await host.invoke("t.listener", "received")) as unknown[]).includes(3));
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
