// host.load(dir): one plugin added to a running host, as loadAll would have loaded it (config,
// dependencies, events, audit grant record, watcher), and every refusal leaving the host as it was,
// each next to the load that succeeds.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";

const logger = createDefaultLogger("silent");

type Coded = Error & { code?: string };

/** A rejection check: the code, and the message matching every pattern. */
function coded(code: string, ...patterns: RegExp[]): (e: Coded) => boolean {
  return (e) => {
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
}

describe("host.load: one plugin added to a running host", () => {
  let s: Scratch;
  let host: Host;
  let aDir: string;
  const events: HostEvent[] = [];
  const audit = memoryAuditLog();

  before(async () => {
    s = scratch();
    aDir = s.plugin("a", manifest("t.a", { version: "1.2.0" }), { "index.js": "export const v = () => 'a';" });
    s.plugin("broken", manifest("t.broken", { version: "not-semver" }), { "index.js": "export const v = () => 'fixed';" });
    host = await createHost({ pluginsDir: s.root, logger, auditLog: audit, isolation: "in-process", healthIntervalMs: 0, config: { "t.b": { greeting: "hi" } } });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  const status = (id: string) => host.status().find((p) => p.id === id);
  const grants = (id: string) => audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["type"] === "grant" && r["plugin"] === id);
  const loadEvents = (id: string) => events.filter((e) => e.type === "load" && e.plugin === id);

  /** Everything a refusal must leave as it was: the plugins with their states, the events, the audit log. */
  const snapshot = () => JSON.stringify({ plugins: host.status().map((p) => [p.id, p.dir, p.state, p.reason, p.version]), events: events.length, audit: audit.lines.length });

  it("adds B: its calls work, its status is active, with a load event, an audit grant record and its config from the host's option", async () => {
    const dir = s.plugin("b", manifest("t.b", { config: { type: "object", properties: { greeting: { type: "string" } }, required: ["greeting"] } }), {
      "index.js": "export const hello = () => Warden.config.greeting + ' from b';",
    });
    await assert.rejects(host.invoke("t.b", "hello"), /no plugin t\.b is known to this host/, "not there before the load");
    const st = await host.load(dir);
    assert.equal(st.id, "t.b");
    assert.equal(st.state, "active");
    assert.equal(st.dir, dir);
    assert.equal(st.version, "1.0.0");
    assert.deepEqual(st.entries, ["hello"]);
    assert.equal(await host.invoke("t.b", "hello"), "hi from b");
    assert.equal(loadEvents("t.b").length, 1);
    assert.equal(grants("t.b").length, 1);
    assert.equal(grants("t.b")[0]?.["dir"], dir);
    assert.equal(await host.invoke("t.a", "v"), "a");
  });

  it("a plugin depending on A at a matching range loads (from a path relative to the cwd) and calls A; its config comes from <id>.config.json", async () => {
    const dir = s.plugin("uses-a", manifest("t.uses-a", { dependencies: { "t.a": "^1.0.0" }, permissions: { plugins: ["t.a"] } }), {
      "index.js": "export async function viaA() { return [await Warden.plugins.call('t.a', 'v', {}), Warden.config.n]; }",
    });
    writeFileSync(join(s.root, "t.uses-a.config.json"), JSON.stringify({ n: 7 }));
    const st = await host.load(relative(process.cwd(), dir));
    assert.equal(st.state, "active");
    assert.equal(st.dir, dir, "the host names it by its place in the plugins directory");
    assert.deepEqual(await host.invoke("t.uses-a", "viaA"), ["a", 7]);
  });

  it("a missing, incompatible or inactive dependency is DEPENDENCY_ERROR naming it: the plugin is failed with the reason, A keeps serving, and host.reload starts it once the dependency is loaded", async () => {
    const needsC = s.plugin("needs-c", manifest("t.needs-c", { dependencies: { "t.c": "^1.0.0" } }), { "index.js": "export const v = () => 'needs-c';" });
    await assert.rejects(host.load(needsC), coded("DEPENDENCY_ERROR", /plugin t\.needs-c needs t\.c \^1\.0\.0, which is not installed/, /host\.reload\("t\.needs-c"\) starts it/));
    assert.equal(status("t.needs-c")?.state, "failed");
    assert.match(status("t.needs-c")?.reason ?? "", /needs t\.c \^1\.0\.0, which is not installed/);
    const failedEvent = events.find((e) => e.type === "load-failed" && e.plugin === "t.needs-c");
    assert.equal(failedEvent?.type === "load-failed" && failedEvent.code, "DEPENDENCY_ERROR");

    const needsA2 = s.plugin("needs-a2", manifest("t.needs-a2", { dependencies: { "t.a": "^2.0.0" } }), { "index.js": "export const v = () => 1;" });
    await assert.rejects(host.load(needsA2), coded("DEPENDENCY_ERROR", /plugin t\.needs-a2 needs t\.a \^2\.0\.0, but t\.a is 1\.2\.0/));
    assert.match(status("t.needs-a2")?.reason ?? "", /but t\.a is 1\.2\.0/);

    const onNeedsC = s.plugin("on-needs-c", manifest("t.on-needs-c", { dependencies: { "t.needs-c": "*" } }), { "index.js": "export const v = () => 'on-needs-c';" });
    await assert.rejects(host.load(onNeedsC), coded("DEPENDENCY_ERROR", /plugin t\.on-needs-c depends on t\.needs-c, which failed: needs t\.c/));

    // A plugin that fails to start is registered as failed too, and the load rejects with its error.
    const crashy = s.plugin("crashy", manifest("t.crashy"), { "index.js": "export function onLoad() { throw new Error('no database'); } export const v = () => 'crashy';" });
    await assert.rejects(host.load(crashy), coded("PLUGIN_ERROR", /no database/));
    assert.equal(status("t.crashy")?.state, "failed");
    const onTop = s.plugin("on-top", manifest("t.on-top", { dependencies: { "t.crashy": "*" } }), { "index.js": "export const v = () => 'on-top';" });
    await assert.rejects(host.load(onTop), coded("DEPENDENCY_ERROR", /plugin t\.on-top depends on t\.crashy, which is not active: PLUGIN_ERROR: .*no database/));
    assert.equal(status("t.on-top")?.state, "failed");

    assert.equal(await host.invoke("t.a", "v"), "a", "A keeps serving");
    assert.equal(status("t.a")?.state, "active");

    // Positive control: with its dependency loaded, the same plugin starts.
    assert.equal((await host.load(s.plugin("c", manifest("t.c"), { "index.js": "export const v = () => 'c';" }))).state, "active");
    await host.reload("t.needs-c");
    await host.reload("t.on-needs-c");
    assert.equal(status("t.needs-c")?.state, "active");
    assert.equal(await host.invoke("t.on-needs-c", "v"), "on-needs-c");
    writeFileSync(join(crashy, "index.js"), "export const v = () => 'crashy';");
    await host.reload("t.crashy");
    await host.reload("t.on-top");
    assert.equal(await host.invoke("t.on-top", "v"), "on-top");
  });

  it("an invalid manifest is MANIFEST_INVALID with the field path, a directory without plugin.json is refused too, and nothing is registered; the fixed manifest loads", async () => {
    const dir = s.plugin("bad", manifest("t.bad", { version: "one", permissions: { read: [5] } }), { "index.js": "export const v = () => 'bad';" });
    mkdirSync(join(s.root, "notes"));
    const before = snapshot();
    await assert.rejects(host.load(dir), coded("MANIFEST_INVALID", /bad\/plugin\.json: version: "one"/, /permissions\.read\[0\]: expected a string path/));
    await assert.rejects(host.load(join(s.root, "notes")), coded("MANIFEST_INVALID", /plugin\.json not found/));
    await assert.rejects(host.load(join(s.root, "missing")), coded("MANIFEST_INVALID", /missing" does not exist/));
    assert.equal(snapshot(), before, "nothing registered, no event, no audit record");
    assert.equal(status("t.bad"), undefined);

    writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.bad")));
    assert.equal((await host.load(dir)).state, "active");
    assert.equal(await host.invoke("t.bad", "v"), "bad");
  });

  it("a manifest that was invalid when loadAll ran, fixed since, loads in place of its failed entry", async () => {
    assert.equal(status("broken")?.state, "failed");
    const dir = join(s.root, "broken");
    writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.broken")));
    assert.equal((await host.load(dir)).state, "active");
    assert.equal(status("broken"), undefined, "the failed placeholder is gone");
    assert.deepEqual(
      host
        .status()
        .filter((p) => p.dir === dir)
        .map((p) => p.id),
      ["t.broken"],
    );
    assert.equal(await host.invoke("t.broken", "v"), "fixed");
  });

  it("an id the host holds is refused naming both directories, the same directory again points to reload, whatever its state; nothing changes (positive control: a new id loads)", async () => {
    const copy = s.plugin("a-copy", manifest("t.a", { version: "1.3.0" }), { "index.js": "export const v = () => 'copy';" });
    const failing = s.plugin("failing", manifest("t.failing", { dependencies: { "t.nowhere": "*" } }), { "index.js": "export const v = () => 1;" });
    await assert.rejects(host.load(failing), coded("DEPENDENCY_ERROR"));
    const stoppable = s.plugin("stoppable", manifest("t.stoppable"), { "index.js": "export const v = () => 'stoppable';" });
    await host.load(stoppable);
    await host.unload("t.stoppable");
    const before = snapshot();
    await assert.rejects(
      host.load(copy),
      coded("MANIFEST_INVALID", new RegExp(`duplicate plugin id t\\.a: claimed by ${aDir} \\(loaded on this host, active\\) and ${copy}; rename one of them`), /host\.reload\("t\.a"\)/),
    );
    await assert.rejects(host.load(aDir), coded("PLUGIN_ERROR", new RegExp(`plugin t\\.a is already loaded from ${aDir} \\(active\\); to load its current files use host\\.reload\\("t\\.a"\\)`)));
    await assert.rejects(host.load(failing), coded("PLUGIN_ERROR", /plugin t\.failing is already loaded from .*failing \(failed\)/));
    await assert.rejects(host.load(stoppable), coded("PLUGIN_ERROR", /plugin t\.stoppable is already loaded from .*stoppable \(stopped\); to load its current files use host\.reload/));
    assert.equal(snapshot(), before, "nothing registered, no event, no audit record");
    assert.equal(await host.invoke("t.a", "v"), "a", "the first directory keeps the id");

    await host.reload("t.stoppable");
    assert.equal(await host.invoke("t.stoppable", "v"), "stoppable");

    const fresh = s.plugin("fresh", manifest("t.fresh"), { "index.js": "export const v = () => 'fresh';" });
    assert.equal((await host.load(fresh)).state, "active");
  });

  it("a directory outside the plugins directory, nested in one, hidden or linked is refused with the fix; the same plugin copied in loads", async () => {
    const elsewhere = scratch();
    try {
      const outside = elsewhere.plugin("ext", manifest("t.ext"), { "index.js": "export const v = () => 'ext';" });
      const nested = s.plugin("holder/inner", manifest("t.inner"), { "index.js": "export const v = () => 1;" });
      const hidden = s.plugin(".hidden", manifest("t.hidden"), { "index.js": "export const v = () => 1;" });
      symlinkSync(outside, join(s.root, "ext-link"));
      const before = snapshot();
      await assert.rejects(
        host.load(outside),
        coded("BAD_INPUT", /not directly inside the host's plugins directory/, /watcher/, new RegExp(`copy or install the plugin into ${s.root} \\(as ${join(s.root, "ext")}\\)`)),
      );
      await assert.rejects(host.load(nested), coded("BAD_INPUT", /not directly inside the host's plugins directory/));
      await assert.rejects(host.load(s.root), coded("BAD_INPUT", /not directly inside/));
      await assert.rejects(host.load(hidden), coded("BAD_INPUT", /hidden directories are not plugins/));
      await assert.rejects(host.load(join(s.root, "ext-link")), coded("BAD_INPUT", /ext-link is a symbolic link; .*copy or install the plugin into/));
      assert.equal(snapshot(), before);

      cpSync(outside, join(s.root, "ext"), { recursive: true });
      assert.equal((await host.load(join(s.root, "ext"))).state, "active");
      assert.equal(await host.invoke("t.ext", "v"), "ext");
    } finally {
      elsewhere.cleanup();
    }
  });

  it("two concurrent loads of one directory load it once: the second is refused as already loaded", async () => {
    const dir = s.plugin("twice", manifest("t.twice"), { "index.js": "export const v = () => 'twice';" });
    const [first, second] = await Promise.allSettled([host.load(dir), host.load(dir)]);
    assert.equal(first.status === "fulfilled" && first.value.state, "active");
    assert.equal(second.status, "rejected");
    assert.match(second.status === "rejected" ? String(second.reason) : "", /plugin t\.twice is already loaded from/);
    assert.equal(host.status().filter((p) => p.id === "t.twice").length, 1);
    assert.equal(loadEvents("t.twice").length, 1);
    assert.equal(grants("t.twice").length, 1, "one sandbox was started");
    assert.equal(await host.invoke("t.twice", "v"), "twice");
  });
});

describe("host.load and the host's lifecycle", () => {
  it("before loadAll it is refused; during loadAll it waits and finds the plugin loaded; after close() it rejects and registers nothing (positive control: a load in between works)", async () => {
    const s = scratch();
    const p = s.plugin("p", manifest("t.p"), { "index.js": "export const v = () => 'p';" });
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    const loads: string[] = [];
    host.on("event", (e) => {
      if (e.type === "load") loads.push(e.plugin);
    });
    try {
      await assert.rejects(host.load(p), coded("PLUGIN_ERROR", /call host\.loadAll\(\) first/));
      assert.deepEqual(host.status(), []);
      const all = host.loadAll();
      const during = host.load(p);
      await all;
      await assert.rejects(during, coded("PLUGIN_ERROR", /plugin t\.p is already loaded/));
      assert.deepEqual(loads, ["t.p"]);

      const q = s.plugin("q", manifest("t.q"), { "index.js": "export const v = () => 'q';" });
      assert.equal((await host.load(q)).state, "active");
      assert.equal(await host.invoke("t.q", "v"), "q");

      const r = s.plugin("r", manifest("t.r"), { "index.js": "export const v = () => 'r';" });
      await host.close();
      await assert.rejects(host.load(r), coded("PLUGIN_ERROR", /the host is closed/));
      await assert.rejects(host.load(join(s.root, "nowhere")), coded("PLUGIN_ERROR", /the host is closed/), "closed is the first thing said");
      assert.equal(
        host.status().find((x) => x.id === "t.r"),
        undefined,
      );
      assert.deepEqual(loads, ["t.p", "t.q"]);
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("a load in progress when close() begins is awaited and stopped with the others; the load rejects saying so", async () => {
    const s = scratch();
    const host = await createHost({ pluginsDir: s.root, logger, isolation: "in-process", healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const slow = s.plugin("slow", manifest("t.slow"), { "index.js": "export async function onLoad() { await new Promise((r) => setTimeout(r, 1500)); } export const v = () => 1;" });
      const loading = host.load(slow);
      await until("the plugin is loading", () => host.status().find((x) => x.id === "t.slow")?.state === "loading");
      await host.close();
      await assert.rejects(loading, coded("PLUGIN_ERROR", /plugin t\.slow loaded while the host was closing, and is stopped with it/));
      const st = host.status().find((x) => x.id === "t.slow");
      assert.equal(st?.state, "stopped");
      assert.equal(st?.reason, "the host closed");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("host.load and reload", () => {
  it("a reload asked for while the plugin is loading waits for that load, so that one sandbox is started at a time and none is left without an owner", async () => {
    const s = scratch();
    const audit = memoryAuditLog();
    const host = await createHost({ pluginsDir: s.root, logger, auditLog: audit, isolation: "in-process", healthIntervalMs: 0 });
    const order: string[] = [];
    host.on("event", (e) => {
      if ((e.type === "load" || e.type === "reload") && e.plugin === "t.slow") order.push(e.type);
    });
    const grants = () => audit.lines.filter((l) => (JSON.parse(l) as Record<string, unknown>)["type"] === "grant").length;
    try {
      await host.loadAll();
      const slow = s.plugin("slow", manifest("t.slow"), { "index.js": "export async function onLoad() { await new Promise((r) => setTimeout(r, 1000)); } export const v = () => 1;" });
      const loading = host.load(slow);
      await until("the plugin is loading", () => host.status().find((x) => x.id === "t.slow")?.state === "loading");
      const reloading = host.reload("t.slow");
      assert.equal((await loading).state, "active");
      assert.equal(grants(), 1, "the reload had not started a second sandbox while the first was loading");
      await reloading;
      assert.equal(grants(), 2);
      assert.deepEqual(order, ["load", "reload"]);
      assert.equal(await host.invoke("t.slow", "v"), 1);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("host.load and the watcher", () => {
  it("default isolation: the watcher reloads a plugin added by host.load when its index.js changes", async () => {
    const s = scratch();
    s.plugin("a", manifest("t.a"), { "index.js": "export const v = () => 'a';" });
    const host = await createHost({ pluginsDir: s.root, logger, watch: true, healthIntervalMs: 0 });
    const reloads: string[] = [];
    host.on("event", (e) => {
      if (e.type === "reload") reloads.push(e.plugin);
    });
    try {
      await host.loadAll();
      const dir = s.plugin("b", manifest("t.b"), { "index.js": "export const v = () => 1;" });
      assert.equal((await host.load(dir)).state, "active");
      assert.equal(await host.invoke("t.b", "v"), 1);
      writeFileSync(join(dir, "index.js"), "export const v = () => 2;");
      await until("the watcher reloaded t.b with its new code", async () => (await host.invoke("t.b", "v")) === 2);
      assert.ok(reloads.includes("t.b"), reloads.join(","));
      assert.equal(host.status().find((x) => x.id === "t.b")?.state, "active");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
