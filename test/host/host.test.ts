// createHost: discovery, dependency order, lifecycle with reasons, config, entry schemas,
// invokeAll, plugin-to-plugin calls, events. Seed behaviour IDs are in the test names.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { planDependencies } from "../../core/host/dependency-order.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");

describe("dependency planning (pure)", () => {
  const n = (id: string, dependencies: Record<string, string> = {}, version = "1.0.0") => ({ id, version, dependencies });

  it("MAI-25/AOS-07: dependencies come before their dependents", () => {
    const plan = planDependencies([n("t.api", { "t.core": "^1.0.0", "t.auth": "^1.0.0" }), n("t.auth", { "t.core": "^1.0.0" }), n("t.core")]);
    assert.deepEqual(plan.order, ["t.core", "t.auth", "t.api"]);
    assert.equal(plan.failed.size, 0);
  });

  it("MAI-26: a missing dependency, an incompatible version and a cycle fail those plugins and their dependents only", () => {
    const plan = planDependencies([
      n("t.missing", { "t.nonexistent": "^1.0.0" }),
      n("t.old", { "t.core": "^2.0.0" }),
      n("t.a", { "t.b": "*" }),
      n("t.b", { "t.a": "*" }),
      n("t.needs-a", { "t.a": "*" }),
      n("t.core"),
      n("t.fine", { "t.core": "^1.0.0" }),
    ]);
    assert.deepEqual(plan.order, ["t.core", "t.fine"]);
    assert.match(plan.failed.get("t.missing") ?? "", /needs t\.nonexistent \^1\.0\.0, which is not installed/);
    assert.match(plan.failed.get("t.old") ?? "", /needs t\.core \^2\.0\.0, but t\.core is 1\.0\.0/);
    assert.match(plan.failed.get("t.a") ?? "", /dependency cycle: t\.a → t\.b → t\.a/);
    assert.match(plan.failed.get("t.b") ?? "", /dependency cycle/);
    assert.match(plan.failed.get("t.needs-a") ?? "", /depends on t\.a, which failed/);
  });
});

describe("createHost", () => {
  let s: Scratch;
  let host: Host;
  const events: HostEvent[] = [];

  before(async () => {
    s = scratch();
    s.plugin("core", manifest("t.core", { version: "1.2.0" }), { "index.js": "export const version = () => Warden.plugin.version; export const whoami = (input, ctx) => ctx.caller;" });
    s.plugin("api", manifest("t.api", { dependencies: { "t.core": "^1.0.0" }, permissions: { plugins: ["t.core"] } }), {
      "index.js": `export async function viaCore() { return Warden.plugins.call("t.core", "whoami", {}); }
export async function forbidden() { try { await Warden.plugins.call("t.configured", "show", {}); return "called"; } catch (e) { return e.code; } }`,
    });
    s.plugin("dup-one", manifest("t.dup"), { "index.js": "export const x = () => 1;" });
    s.plugin("dup-two", manifest("t.dup"), { "index.js": "export const x = () => 2;" });
    s.plugin("needs-dup", manifest("t.needs-dup", { dependencies: { "t.dup": "*" } }), { "index.js": "export const x = () => 1;" });
    s.plugin("cycle-a", manifest("t.cycle-a", { dependencies: { "t.cycle-b": "*" } }), { "index.js": "export const x = () => 1;" });
    s.plugin("cycle-b", manifest("t.cycle-b", { dependencies: { "t.cycle-a": "*" } }), { "index.js": "export const x = () => 1;" });
    s.plugin("broken", { id: "t.broken", name: "b", version: "not-semver" }, { "index.js": "" });
    s.plugin(
      "configured",
      manifest("t.configured", {
        config: { type: "object", properties: { greeting: { type: "string", default: "hello" }, times: { type: "integer", minimum: 1, default: 1 } }, additionalProperties: false },
        entries: { shout: { input: { type: "object", properties: { text: { type: "string", maxLength: 10 } }, required: ["text"] } } },
      }),
      {
        "index.js": `let seenAtLoad = null; let changes = [];
export function onLoad() { seenAtLoad = Warden.config; }
export function onConfigChange(next, previous) { changes.push({ next, previous, visible: Warden.config }); }
export const show = () => ({ seenAtLoad, now: Warden.config, changes });
export const shout = ({ text }) => text.toUpperCase();`,
      },
    );
    s.plugin("file-config", manifest("t.file-config", { config: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } }), {
      "index.js": "export const show = () => Warden.config;",
    });
    writeFileSync(join(s.root, "t.file-config.config.json"), JSON.stringify({ n: 7 }));
    s.plugin("bad-config", manifest("t.bad-config", { config: { type: "object", properties: { port: { type: "integer" } }, required: ["port"] } }), { "index.js": "export const x = () => 1;" });
    s.plugin("slow-start", manifest("t.slow-start", { limits: { timeoutMs: 100 } }), {
      "index.js": "export async function onLoad() { await new Promise((r) => setTimeout(r, 300)); } export const ok = () => 'started';",
    });
    s.plugin("ready-gate", manifest("t.ready-gate", { permissions: { channels: { publish: ["gate.t"], subscribe: ["gate.t"] } } }), {
      "index.js": `let ready = false; const seen = [];
export async function onLoad() {
  await Warden.channels.subscribe("gate.t", () => { seen.push(ready); });
  await Warden.channels.publish("gate.t", {});
  await new Promise((r) => setTimeout(r, 100));
  ready = true;
}
export const seenReady = () => seen;`,
    });
    s.plugin("sick", manifest("t.sick"), { "index.js": "let calls = 0; export function health() { return ++calls < 2; } export const x = () => 1;" });
    s.plugin("racers", manifest("t.racers"), { "index.js": "export async function poll(i) { await new Promise((r) => setTimeout(r, 50)); return 'racers'; }" });
    s.plugin("failer", manifest("t.failer", { limits: { timeoutMs: 200 } }), { "index.js": "export async function poll() { await new Promise(() => {}); }" });
    s.plugin("ping", manifest("t.ping", { permissions: { plugins: ["t.pong"] } }), { "index.js": "export const go = (n) => Warden.plugins.call('t.pong', 'go', n + 1);" });
    s.plugin("pong", manifest("t.pong", { permissions: { plugins: ["t.ping"] } }), { "index.js": "export const go = (n) => Warden.plugins.call('t.ping', 'go', n + 1);" });
    host = await createHost({ pluginsDir: s.root, logger, config: { "t.configured": { greeting: "hi" } }, healthIntervalMs: 0, quarantine: { maxFailures: 1000 } });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  const status = (id: string) => host.status().find((p) => p.id === id);

  it("MAI-25/AOS-07: loads dependencies first", () => {
    const loads = events.filter((e) => e.type === "load").map((e) => e.plugin);
    assert.ok(loads.indexOf("t.core") < loads.indexOf("t.api"), loads.join(","));
    assert.equal(status("t.api")?.state, "active");
  });

  it("MAI-27: two directories with the same id are both rejected, naming both paths; a dependent fails with a reason", () => {
    const dups = host.status().filter((p) => p.id === "t.dup" || p.dir.includes("dup-"));
    assert.ok(dups.every((p) => p.state === "failed"));
    const reason = status("t.dup")?.reason ?? "";
    assert.match(reason, /duplicate plugin id t\.dup: claimed by .*dup-one and .*dup-two/);
    assert.equal(status("t.needs-dup")?.state, "failed");
    assert.match(status("t.needs-dup")?.reason ?? "", /needs t\.dup \*, which is not installed/);
  });

  it("MAI-26 / MaiBot#1957: a cycle and an invalid manifest fail with their reasons; the rest load", () => {
    assert.match(status("t.cycle-a")?.reason ?? "", /dependency cycle/);
    assert.equal(status("broken")?.state, "failed");
    assert.match(status("broken")?.reason ?? "", /version: "not-semver": expected a semantic version/);
    const failedLoads = events.filter((e) => e.type === "load-failed");
    assert.ok(failedLoads.every((e) => e.type === "load-failed" && e.reason.length > 0));
    assert.equal(status("t.core")?.state, "active");
  });

  it("MAI-31: config (with schema defaults) is Warden.config before onLoad; <id>.config.json is read; an invalid config fails with field paths", async () => {
    const shown = (await host.invoke("t.configured", "show")) as { seenAtLoad: unknown };
    assert.deepEqual(shown.seenAtLoad, { greeting: "hi", times: 1 });
    assert.deepEqual(await host.invoke("t.file-config", "show"), { n: 7 });
    assert.equal(status("t.bad-config")?.state, "failed");
    assert.match(status("t.bad-config")?.reason ?? "", /BAD_INPUT: plugin t\.bad-config: invalid config:\\nconfig\.port: must have required property 'port'/, "one line: the reason is escaped");
  });

  it("MAI-33: updateConfig swaps the config, then onConfigChange(next, previous) sees it; an invalid update changes nothing", async () => {
    await host.updateConfig("t.configured", { greeting: "hey", times: 2 });
    const after = (await host.invoke("t.configured", "show")) as { now: unknown; changes: Array<{ next: unknown; previous: unknown; visible: unknown }> };
    assert.deepEqual(after.now, { greeting: "hey", times: 2 });
    assert.deepEqual(after.changes, [{ next: { greeting: "hey", times: 2 }, previous: { greeting: "hi", times: 1 }, visible: { greeting: "hey", times: 2 } }]);
    await assert.rejects(host.updateConfig("t.configured", { times: 0 }), (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /config\.times: must be >= 1/.test(e.message));
    assert.deepEqual(((await host.invoke("t.configured", "show")) as { now: unknown }).now, { greeting: "hey", times: 2 }, "nothing changed");
  });

  it("entry input schemas: a mismatch is BAD_INPUT with the field path, and the plugin never runs", async () => {
    assert.equal(await host.invoke("t.configured", "shout", { text: "hi" }), "HI");
    await assert.rejects(
      host.invoke("t.configured", "shout", { text: "far too long text" }),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /input\.text: must NOT have more than 10 characters/.test(e.message),
    );
    await assert.rejects(host.invoke("t.configured", "shout", {}), (e: Error & { code?: string }) => /input\.text: must have required property 'text'/.test(e.message));
  });

  it("NEKO-19: onLoad has its own startup budget, longer than an entry's timeoutMs", async () => {
    assert.equal(status("t.slow-start")?.state, "active");
    assert.equal(await host.invoke("t.slow-start", "ok"), "started");
  });

  it("NEKO-25: a channel handler subscribed in onLoad runs only after onLoad succeeded", async () => {
    for (let i = 0; i < 50; i++) {
      if (((await host.invoke("t.ready-gate", "seenReady")) as boolean[]).length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(await host.invoke("t.ready-gate", "seenReady"), [true]);
  });

  it("health is polled and a failing plugin is marked degraded with a reason", async () => {
    await host.checkHealth();
    assert.equal(status("t.sick")?.health, "ok");
    await host.checkHealth();
    assert.equal(status("t.sick")?.health, "degraded");
    assert.equal(status("t.sick")?.reason, "health() answered false");
  });

  it("LurkBot execute_plugins: invokeAll runs every plugin exporting the entry; a hanging one fails alone", async () => {
    const results = await host.invokeAll("poll", 1);
    assert.deepEqual([...results.keys()].sort(), ["t.failer", "t.racers"]);
    assert.deepEqual(results.get("t.racers"), { ok: true, value: "racers" });
    const failed = results.get("t.failer");
    assert.equal(failed?.ok, false);
    assert.equal(failed?.ok === false && failed.error.code, "TIMEOUT");
  });

  it("MAI-10: a plugin calls another only with a grant, and the callee sees the caller's id stamped by the host", async () => {
    assert.equal(await host.invoke("t.api", "viaCore"), "t.api");
    assert.equal(await host.invoke("t.core", "whoami"), "host");
    assert.equal(await host.invoke("t.api", "forbidden"), "PERMISSION_DENIED");
  });

  it("two plugins calling each other stop at the depth limit instead of recursing forever", async () => {
    await assert.rejects(host.invoke("t.ping", "go", 0), (e: Error & { code?: string }) => /more than 4; plugins calling each other must not recurse/.test(e.message));
    assert.equal(status("t.ping")?.state, "active");
  });

  it("events carry invoke duration and CPU time, and status counts calls", async () => {
    const inv = events.filter((e) => e.type === "invoke" && e.plugin === "t.configured" && e.ok);
    assert.ok(inv.length > 0);
    assert.ok((status("t.configured")?.counters.calls ?? 0) >= inv.length);
    // A call that waits 50 ms on a timer: its duration covers the wait, its CPU time does not.
    const before = events.length;
    assert.equal(await host.invoke("t.racers", "poll", 0), "racers");
    const e = events.slice(before).find((x) => x.type === "invoke" && x.plugin === "t.racers") as Extract<HostEvent, { type: "invoke" }> | undefined;
    assert.ok(e !== undefined && e.ok);
    assert.ok(e.ms >= 45, `ms ${e.ms}`);
    assert.ok(e.cpuMs > 0 && e.cpuMs < e.ms / 2, `cpuMs ${e.cpuMs} of ms ${e.ms}`);
  });

  it("unloading a plugin first unloads its dependents, each with a reason", async () => {
    await host.unload("t.core");
    assert.equal(status("t.core")?.state, "stopped");
    assert.equal(status("t.api")?.state, "stopped");
    assert.equal(status("t.api")?.reason, "its dependency t.core was unloaded");
    await assert.rejects(host.invoke("t.api", "viaCore"), (e: Error & { code?: string }) => /plugin t\.api is stopped: its dependency t\.core was unloaded/.test(e.message));
  });
});

describe("createHost: unloading a plugin that will not stop", () => {
  it("onUnload runs with a timeout and the sandbox is ended whatever it does", async () => {
    const s = scratch();
    s.plugin("stubborn", manifest("t.stubborn", { limits: { timeoutMs: 300 } }), { "index.js": "export async function onUnload() { await new Promise(() => {}); } export const x = () => 1;" });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("t.stubborn", "x"), 1);
      const t0 = Date.now();
      await host.unload("t.stubborn");
      assert.ok(Date.now() - t0 < 5000, "bounded by the plugin's timeout, not by the plugin");
      assert.equal(host.status()[0]?.state, "stopped");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("createHost: startup budget", () => {
  it("NEKO-19: an onLoad slower than startupTimeoutMs fails the plugin with TIMEOUT and a reason; others load", async () => {
    const s = scratch();
    s.plugin("sleepy", manifest("t.sleepy"), { "index.js": "export async function onLoad() { await new Promise((r) => setTimeout(r, 2000)); } export const x = () => 1;" });
    s.plugin("quick", manifest("t.quick"), { "index.js": "export const x = () => 'quick';" });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, startupTimeoutMs: 200 });
    try {
      await host.loadAll();
      const sleepy = host.status().find((p) => p.id === "t.sleepy");
      assert.equal(sleepy?.state, "failed");
      assert.match(sleepy?.reason ?? "", /^TIMEOUT: .*onLoad\(\) did not settle within timeoutMs \(200 ms\)/);
      assert.equal(await host.invoke("t.quick", "x"), "quick");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("createHost: plugin-declared patterns and other costly schema constructs (issue 11, class 6)", () => {
  // The attacker writes the schema and sends the input: one plugin declares `^(a+)+$` for its
  // entry, another (or the host) sends "aaaa…a!". With JavaScript's backtracking RegExp this held
  // the host's event loop for minutes (26 a's: ~6 s, doubling per character), charged to nobody.
  let s: Scratch;
  let host: Host;
  const status = (id: string) => host.status().find((p) => p.id === id);
  const evil = "^(a+)+$";

  before(async () => {
    s = scratch();
    s.plugin(
      "regex",
      manifest("t.regex", {
        entries: {
          check: { input: { type: "object", properties: { word: { type: "string", pattern: evil }, tag: { type: "string", pattern: "^[a-z]{1,8}$" } }, required: ["word"] } },
          keys: { input: { type: "object", patternProperties: { "^(x+x+)+y$": { type: "number" } }, propertyNames: { pattern: "^(b|bb)+$|^(x+x+)+y$" } } },
          big: { input: { type: "object", properties: { s: { type: "string", pattern: "^a[ab]{1000}$" } } } },
          unique: { input: { type: "array", uniqueItems: true } },
          many: { input: { type: "array", items: { type: "string" } } },
        },
      }),
      {
        "index.js":
          "export const check = (i) => i; export const keys = (i) => Object.keys(i).length; export const big = (i) => i.s.length; export const unique = (a) => a.length; export const many = (a) => a.length;",
      },
    );
    s.plugin("regex-caller", manifest("t.regex-caller", { permissions: { plugins: ["t.regex"] } }), {
      "index.js": `const call = async (entry, input) => { try { return { ok: await Warden.plugins.call("t.regex", entry, input) }; } catch (e) { return { code: e.code, message: e.message }; } };
export const attack = (n) => call("check", { word: "a".repeat(n) + "!" });
export const attackKeys = (n) => call("keys", { ["x".repeat(n)]: 1, ["b".repeat(n) + "!"]: 2 });
export const attackBig = (n) => call("big", { s: "ab".repeat(n) + "!" });
export const attackUnique = (n) => call("unique", Array.from({ length: n }, (_, i) => ({ i })));
export const attackMany = (n) => call("many", new Array(n).fill(0));
export const legit = () => call("check", { word: "aaaa", tag: "ok" });
export const legitWrong = () => call("check", { word: "aaab" });`,
    });
    s.plugin("backref", manifest("t.backref", { entries: { go: { input: { type: "string", pattern: "^(a)\\1$" } } } }), { "index.js": "export const go = () => 1;" });
    s.plugin("lookahead", manifest("t.lookahead", { entries: { go: { input: { type: "object", patternProperties: { "^(?=x)": { type: "number" } } } } } }), {
      "index.js": "export const go = () => 1;",
    });
    s.plugin("lookbehind-config", manifest("t.lookbehind-config", { config: { type: "object", properties: { name: { type: "string", pattern: "(?<!a)b" } } } }), {
      "index.js": "export const go = () => 1;",
    });
    s.plugin("huge-pattern", manifest("t.huge-pattern", { entries: { go: { input: { type: "string", pattern: "[ab]{1000}[cd]{1000}[ef]{1000}[gh]{1000}[ij]{1000}" } } } }), {
      "index.js": "export const go = () => 1;",
    });
    s.plugin("same-id-a", manifest("t.same-id-a", { entries: { go: { input: { $id: "https://example.org/shared", type: "string" } } } }), { "index.js": "export const go = (x) => x;" });
    s.plugin("same-id-b", manifest("t.same-id-b", { entries: { go: { input: { $id: "https://example.org/shared", type: "number" } } } }), { "index.js": "export const go = (x) => x;" });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0, quarantine: { maxFailures: 1000 } });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  /** The longest the host's event loop was held while `run` ran, in ms. */
  async function maxLagDuring(run: () => Promise<unknown>): Promise<number> {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    try {
      await run();
      await new Promise((r) => setTimeout(r, 30));
    } finally {
      h.disable();
    }
    return h.max / 1e6;
  }

  it("an exponential pattern against 32 a's and a '!' holds the host's loop well under a second, from the host and from another plugin", async () => {
    let fromHost: unknown;
    let fromPlugin: { code?: string; message?: string } = {};
    const lag = await maxLagDuring(async () => {
      fromHost = await host.invoke("t.regex", "check", { word: `${"a".repeat(32)}!` }).catch((e: Error & { code?: string }) => e);
      fromPlugin = (await host.invoke("t.regex-caller", "attack", 32)) as typeof fromPlugin;
    });
    assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms`);
    assert.equal((fromHost as { code?: string }).code, "BAD_INPUT");
    assert.match((fromHost as Error).message, /input\.word: must match pattern "\^\(a\+\)\+\$"/);
    assert.equal(fromPlugin.code, "BAD_INPUT");
    assert.match(fromPlugin.message ?? "", /input\.word: must match pattern/);
  });

  it("positive control: a matching input is accepted and runs; a non-matching one is BAD_INPUT naming the field", async () => {
    assert.deepEqual(await host.invoke("t.regex", "check", { word: "aaaa", tag: "ok" }), { word: "aaaa", tag: "ok" });
    assert.deepEqual(await host.invoke("t.regex-caller", "legit"), { ok: { word: "aaaa", tag: "ok" } });
    const wrong = (await host.invoke("t.regex-caller", "legitWrong")) as { code?: string; message?: string };
    assert.equal(wrong.code, "BAD_INPUT");
    assert.match(wrong.message ?? "", /invalid input for check\(\):\ninput\.word: must match pattern "\^\(a\+\)\+\$"/);
    await assert.rejects(
      host.invoke("t.regex", "check", { word: "aaaa", tag: "NOT-LOWER" }),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /input\.tag: must match pattern/.test(e.message),
    );
  });

  it("the same through patternProperties and propertyNames (keys are tested too)", async () => {
    const lag = await maxLagDuring(async () => {
      const r = (await host.invoke("t.regex-caller", "attackKeys", 40)) as { code?: string };
      assert.equal(r.code, "BAD_INPUT");
    });
    assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms`);
    assert.equal(await host.invoke("t.regex", "keys", { xxy: 1, bbb: 2 }), 2, "positive control: matching keys pass");
    await assert.rejects(host.invoke("t.regex", "keys", { xxy: "not a number" }), (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /input\.xxy: must be number/.test(e.message));
  });

  it("linear is not enough: a big pattern program against a long string is refused by a step budget, not run for minutes", async () => {
    // ^a[ab]{1000}$ is about 1000 RE2 instructions; 1 MiB of "ab" would be ~10^9 steps on the host's thread.
    let r: { code?: string; message?: string } = {};
    const lag = await maxLagDuring(async () => {
      r = (await host.invoke("t.regex-caller", "attackBig", 512 * 1024)) as typeof r;
    });
    assert.ok(lag < 1000, `the host's event loop was held for ${lag.toFixed(0)} ms`);
    assert.equal(r.code, "BAD_INPUT");
    assert.match(r.message ?? "", /against pattern "\^a\[ab\]\{1000\}\$" \(\d+ RE2 instructions\) would take this validation past 16777216 steps/);
    assert.equal(await host.invoke("t.regex", "big", { s: `a${"b".repeat(1000)}` }), 1001, "positive control: a string of the pattern's own size passes");
  });

  it("uniqueItems on objects is linear (ajv compares every pair), and a failing input yields one problem, not one per item", async () => {
    // 100 000 distinct objects: ~5·10^9 deep comparisons with ajv's uniqueItems.
    const r = (await host.invoke("t.regex-caller", "attackUnique", 100_000)) as { ok?: number };
    assert.equal(r.ok, 100_000);
    await assert.rejects(
      host.invoke("t.regex", "unique", [{ a: 1, b: [1, { c: 2 }] }, 3, { b: [1, { c: 2 }], a: 1 }]),
      (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /must NOT have duplicate items \(items ## 0 and 2 are identical\)/.test(e.message),
    );
    assert.equal(await host.invoke("t.regex", "unique", [1, "1", [1], { 1: 1 }, null, true, "true", 0.5]), 8, "positive control: different kinds of equal-looking items are distinct");
    // A million wrong items: allErrors would build a million error objects on the host.
    const many = (await host.invoke("t.regex-caller", "attackMany", 1_000_000)) as { code?: string; message?: string };
    assert.equal(many.code, "BAD_INPUT");
    assert.equal((many.message ?? "").split("\n").length, 2, many.message?.slice(0, 300));
    assert.equal(await host.invoke("t.regex", "many", ["a", "b"]), 2);
  });

  it("a schema with backreferences, lookaround or an oversized pattern fails at load with MANIFEST_INVALID naming the field and saying RE2 is required", () => {
    for (const [id, field, what] of [
      ["t.backref", "entries.go.input", /pattern "\^\(a\)\\1\$" is not RE2 syntax \(.*invalid escape sequence/],
      ["t.lookahead", "entries.go.input", /pattern "\^\(\?=x\)" is not RE2 syntax/],
      ["t.lookbehind-config", "config", /pattern "\(\?<!a\)b" is not RE2 syntax/],
      ["t.huge-pattern", "entries.go.input", /compiles to \d+ RE2 instructions, more than 4096/],
    ] as const) {
      const st = status(id);
      assert.equal(st?.state, "failed", id);
      assert.match(st?.reason ?? "", new RegExp(`^MANIFEST_INVALID: plugin ${id.replace(/\./g, "\\.")}: ${field.replace(/\./g, "\\.")}: the JSON Schema is invalid: `), id);
      assert.match(st?.reason ?? "", what, id);
      if (!/huge/.test(id)) assert.match(st?.reason ?? "", /RE2 so that matching takes linear time: backreferences \(\\1\), lookahead and lookbehind/, id);
    }
  });

  it("two plugins may use the same $id: each plugin's schemas are compiled apart", async () => {
    assert.equal(await host.invoke("t.same-id-a", "go", "text"), "text");
    assert.equal(await host.invoke("t.same-id-b", "go", 5), 5);
    await assert.rejects(host.invoke("t.same-id-b", "go", "text"), { code: "BAD_INPUT", message: /t\.same-id-b/ });
  });
});
