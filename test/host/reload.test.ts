// Hot reload: transactional, beside the old version, dependents in order, rolled back on any
// failure, never unloading first; and the opt-in watcher.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { until } from "../helpers/until.ts";
import { watcherCaughtUp } from "../helpers/watch-marker.ts";

const logger = createDefaultLogger("silent");

function writePlugin(dir: string, id: string, version: string, body: string, extra: object = {}): void {
  writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest(id, { version, ...extra })));
  writeFileSync(join(dir, "index.js"), body);
}

describe("hot reload", () => {
  let s: Scratch;
  let host: Host;
  let baseDir: string;
  let topDir: string;
  const events: HostEvent[] = [];

  before(async () => {
    s = scratch();
    baseDir = s.plugin("base", manifest("t.base", { version: "1.0.0" }), {
      "index.js": "export const v = () => 'base 1'; export async function slow(ms) { await new Promise((r) => setTimeout(r, ms)); return 'old finished'; }",
    });
    s.plugin("mid", manifest("t.mid", { version: "1.0.0", dependencies: { "t.base": "^1.0.0" } }), { "index.js": "let loadedAt = Date.now(); export const born = () => loadedAt;" });
    topDir = s.plugin("top", manifest("t.top", { version: "1.0.0", dependencies: { "t.mid": "^1.0.0" } }), { "index.js": "let loadedAt = Date.now(); export const born = () => loadedAt;" });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("MAI-36: a new version is loaded beside the old, switched atomically, and its dependents reloaded in order; a call in flight finishes on the old version", async () => {
    const inFlight = host.invoke("t.base", "slow", 300);
    const bornBefore = [await host.invoke("t.mid", "born"), await host.invoke("t.top", "born")];
    writePlugin(baseDir, "t.base", "1.1.0", "export const v = () => 'base 1.1'; export async function slow() { return 'new'; }");
    await host.reload("t.base");
    assert.equal(await host.invoke("t.base", "v"), "base 1.1");
    assert.equal(await inFlight, "old finished", "the old version finished the call it had");
    const reloads = events.filter((e) => e.type === "reload").map((e) => e.plugin);
    assert.deepEqual(reloads, ["t.base", "t.mid", "t.top"]);
    const bornAfter = [await host.invoke("t.mid", "born"), await host.invoke("t.top", "born")];
    assert.ok((bornAfter[0] as number) > (bornBefore[0] as number) && (bornAfter[1] as number) > (bornBefore[1] as number), "dependents are fresh instances");
    assert.equal(host.status().find((p) => p.id === "t.base")?.version, "1.1.0");
  });

  it("MAI-37/MAI-39/LURK-19: a syntax error in the new version blocks the reload; the old version keeps serving and the status says why", async () => {
    writeFileSync(join(baseDir, "index.js"), "export const v = ( => broken");
    await assert.rejects(host.reload("t.base"), (e: Error & { code?: string }) => /reload failed/.test(e.message));
    assert.equal(await host.invoke("t.base", "v"), "base 1.1", "never unloaded first");
    const st = host.status().find((p) => p.id === "t.base");
    assert.equal(st?.state, "active");
    assert.match(st?.reason ?? "", /reload refused, still running 1\.1\.0: index\.js: Unexpected token/);
    assert.ok(events.some((e) => e.type === "reload-failed" && e.plugin === "t.base"));
  });

  it("a broken plugin.json blocks the reload too", async () => {
    writeFileSync(join(baseDir, "plugin.json"), "{ not json");
    await assert.rejects(host.reload("t.base"), /plugin\.json is not valid JSON/);
    assert.equal(await host.invoke("t.base", "v"), "base 1.1");
  });

  it("MAI-37: when a dependent fails to load under the new version, everything rolls back", async () => {
    writePlugin(baseDir, "t.base", "1.2.0", "export const v = () => 'base 1.2';");
    writeFileSync(join(topDir, "index.js"), "throw new Error('top cannot start');");
    await assert.rejects(host.reload("t.base"), /dependent t\.top: .*top cannot start/);
    assert.equal(await host.invoke("t.base", "v"), "base 1.1", "the base rolled back too");
    assert.equal(host.status().find((p) => p.id === "t.top")?.state, "active");
    writeFileSync(join(topDir, "index.js"), "let loadedAt = Date.now(); export const born = () => loadedAt;");
  });

  it("a new version that breaks a dependent's range is refused as a whole", async () => {
    writePlugin(baseDir, "t.base", "2.0.0", "export const v = () => 'base 2';");
    await assert.rejects(host.reload("t.base"), /dependent t\.mid needs t\.base \^1\.0\.0, not 2\.0\.0/);
    assert.equal(await host.invoke("t.base", "v"), "base 1.1");
  });
});

describe("file watcher", () => {
  it("NEKO-11/LURK-18: a change to a module reloads the plugin (debounced); other files do not", async () => {
    const s = scratch();
    const dir = s.plugin("watched", manifest("t.watched", { version: "1.0.0" }), { "index.js": "export const v = () => 1;", "notes.txt": "x" });
    const marker = s.plugin("marker", manifest("t.marker"), { "index.js": "export const v = () => 0;" });
    const clock = new ManualClock();
    const host = await createHost({ pluginsDir: s.root, logger, watch: true, healthIntervalMs: 0, spareEngines: 0, clock });
    const reloads: Array<[string, string]> = [];
    host.on("event", (e) => {
      if (e.type === "reload") reloads.push([e.plugin, e.to]);
    });
    try {
      await host.loadAll();
      writeFileSync(join(dir, "notes.txt"), "not a module");
      await watcherCaughtUp(clock, marker, 1);
      assert.equal(clock.pending.length, 1, "a change to a non-module file schedules nothing (the one timer is the marker's)");
      clock.advance(DEFAULTS.host.watchDebounceMs);
      await until("the marker's reload", () => reloads.length === 1);
      assert.deepEqual(reloads, [["t.marker", "1.0.0"]]);

      writeFileSync(join(dir, "index.js"), "export const v = () => 2;");
      writeFileSync(join(dir, "index.js"), "export const v = () => 3;");
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.watched", { version: "1.0.1" })));
      await watcherCaughtUp(clock, marker, 2);
      assert.equal(clock.pending.length, 2, "three rapid changes, one timer (and the marker's)");
      clock.advance(DEFAULTS.host.watchDebounceMs - 1);
      assert.equal(reloads.length, 1, "not before the burst has been quiet for the debounce");
      clock.advance(1);
      await until("both reloads", () => reloads.length === 3);
      assert.deepEqual(
        reloads.filter(([id]) => id === "t.watched"),
        [["t.watched", "1.0.1"]],
        "three rapid changes, one reload",
      );
      assert.deepEqual(clock.pending, [], "nothing more is scheduled");
      assert.equal(await host.invoke("t.watched", "v"), 3);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("reload and channels", () => {
  it("during a reload every message is answered exactly once, by the old version before the switch and the new one after", async () => {
    const s = scratch();
    const body = (v: string) => `export async function onLoad() { await Warden.channels.subscribe("q.in", (m) => Warden.channels.publish("q.out", { n: m.data.n, v: "${v}" })); }`;
    const dir = s.plugin("bot", manifest("t.bot", { version: "1.0.0", permissions: { channels: { subscribe: ["q.in"], publish: ["q.out"] } } }), { "index.js": body("old") });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const answers: Array<{ n: number; v: string }> = [];
      host.bus.subscribe("q.out", (m) => void answers.push(m.data as { n: number; v: string }));
      writePlugin(dir, "t.bot", "1.1.0", body("new"), { permissions: { channels: { subscribe: ["q.in"], publish: ["q.out"] } } });
      let n = 0;
      let done = false;
      const talk = (async () => {
        for (let after = 0; after < 5;) {
          if (done) after++;
          host.bus.publish("q.in", { n: n++ });
          await new Promise((r) => setTimeout(r, 15));
        }
      })();
      await host.reload("t.bot");
      done = true;
      await talk;
      for (let i = 0; i < 100 && answers.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      const byN = new Map<number, string[]>();
      for (const a of answers) byN.set(a.n, [...(byN.get(a.n) ?? []), a.v]);
      for (let i = 0; i < n; i++) assert.equal(byN.get(i)?.length, 1, `message ${i} answered once (${JSON.stringify(byN.get(i))})`);
      const versions = answers.sort((a, b) => a.n - b.n).map((a) => a.v);
      assert.equal(versions.at(-1), "new");
      assert.ok(versions.indexOf("new") > 0 && versions.lastIndexOf("old") < versions.indexOf("new"), versions.join(","));
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});
