// Issue 11, class 3: self-modification. A plugin whose write grant reaches its own directory
// (`write: ["."]`; a link such as `data -> .` no longer loads) must not rewrite its plugin.json, its modules or
// its node_modules, by any spelling; and a reload whose permissions or limits grew (whoever edited
// plugin.json) is refused while the old version keeps serving. Real runtime throughout: loadPlugin
// and createHost with a real plugins directory and the file watcher.
import assert from "node:assert/strict";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { ManualClock } from "../helpers/manual-clock.ts";
import { watcherCaughtUp } from "../helpers/watch-marker.ts";

const logger = createDefaultLogger("silent");
const OWN = /the plugin's own manifest and code cannot be written by the plugin/;

const FS_ENTRIES = `
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const read = (path) => Warden.fs.readTextFile(path);
export const mkdir = ({ path, recursive }) => Warden.fs.mkdir(path, { recursive: !!recursive });
export const remove = ({ path, recursive }) => Warden.fs.remove(path, { recursive: !!recursive });`;

const FILES = {
  "index.js": `import { x } from "./lib/x.js"; import { y } from "./lib/y.mjs"; import { p } from "pkg";
export const parts = () => [x, y, p];${FS_ENTRIES}`,
  "lib/x.js": "export const x = 'x';",
  "lib/y.mjs": "export const y = 'y';",
  "node_modules/pkg/package.json": JSON.stringify({ name: "pkg", type: "module", exports: "./index.js" }),
  "node_modules/pkg/index.js": "export const p = 'p';",
  "notes.txt": "notes",
};

/** Every file under `dir` with its content, to prove an attempt changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name).slice(dir.length + 1)] = readFileSync(join(e.parentPath, e.name), "utf8");
  }
  return out;
}

describe("self-modification: write grants never cover the plugin's own manifest and code (issue 11, class 3a)", () => {
  let s: Scratch;
  let dir: string;
  let p: PluginHandle;
  let audit: ReturnType<typeof memoryAuditLog>;

  async function denied(entry: string, input: unknown, expect: RegExp = OWN): Promise<void> {
    await assert.rejects(
      p.invoke(entry, input),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "PERMISSION_DENIED", `${JSON.stringify(input)}: ${e.message}`);
        assert.match(e.message, expect);
        return true;
      },
      JSON.stringify(input),
    );
  }

  before(async () => {
    s = scratch();
    dir = s.plugin("selfish", manifest("t.selfish", { permissions: { read: ["."], write: ["."] } }), { ...FILES, "data/keep.txt": "keep" });
    audit = memoryAuditLog();
    p = await loadPlugin(dir, { audit, logger });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it('positive controls: with write: ["."] the plugin still writes, makes and removes its data and notes', async () => {
    assert.deepEqual(await p.invoke("parts"), ["x", "y", "p"]);
    await p.invoke("write", { path: "notes.txt", text: "new notes" });
    assert.equal(readFileSync(join(dir, "notes.txt"), "utf8"), "new notes");
    await p.invoke("write", { path: "data/report.json", text: "{}" });
    await p.invoke("write", { path: "data/script.sh", text: "echo" });
    await p.invoke("mkdir", { path: "data/sub/deeper", recursive: true });
    await p.invoke("write", { path: "data/sub/deeper/f.txt", text: "f" });
    await p.invoke("remove", { path: "data/sub", recursive: true });
    await p.invoke("write", { path: "scratch.txt", text: "tmp" });
    await p.invoke("remove", { path: "scratch.txt" });
    assert.equal(existsSync(join(dir, "data/sub")), false);
    assert.equal(await p.invoke("read", "plugin.json"), readFileSync(join(dir, "plugin.json"), "utf8"), "reading its own files is still a read grant's business");
    // Linux is case-sensitive: PLUGIN.JSON is another file, and warden reads only plugin.json.
    await p.invoke("write", { path: "PLUGIN.JSON", text: "{}" });
    assert.equal((JSON.parse(readFileSync(join(dir, "plugin.json"), "utf8")) as { id: string }).id, "t.selfish");
  });

  it("plugin.json cannot be written, by any spelling", async () => {
    const before = snapshot(dir);
    const grown = JSON.stringify(manifest("t.selfish", { permissions: { read: true, write: true, net: true } }));
    for (const path of ["plugin.json", "./plugin.json", "data/../plugin.json", "lib/../plugin.json", join(dir, "plugin.json"), `${dir}//plugin.json`]) {
      await denied("write", { path, text: grown });
    }
    assert.deepEqual(snapshot(dir), before);
  });

  it("the plugin's modules cannot be written: main, its relative imports (.js and .mjs), by any spelling", async () => {
    const before = snapshot(dir);
    for (const path of ["index.js", "./index.js", "data/../index.js", "lib/x.js", "lib/y.mjs", join(dir, "lib/x.js")]) {
      await denied("write", { path, text: "export const parts = () => 'pwned';" });
    }
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(await p.invoke("parts"), ["x", "y", "p"]);
  });

  it("new module files that an import could pick up next time are refused too (shadowing)", async () => {
    // ./lib/y.mjs is imported with its extension, but "./lib" would try lib.js before lib/index.js,
    // and a bare "pkg" is looked up in lib/node_modules before node_modules for a file in lib/.
    for (const path of ["lib/new.js", "lib.js", "lib/index.mjs", "data/tool.mjs", "lib/node_modules/pkg/index.js"]) {
      await denied("write", { path, text: "export const p = 'shadow';" });
    }
    assert.equal(existsSync(join(dir, "lib.js")), false);
    assert.equal(existsSync(join(dir, "lib/node_modules")), false);
  });

  it("node_modules is protected as a whole subtree: no write, no mkdir, no remove", async () => {
    const before = snapshot(dir);
    await denied("write", { path: "node_modules/pkg/index.js", text: "export const p = 'pwned';" });
    await denied("write", { path: "node_modules/pkg/package.json", text: "{}" });
    await denied("write", { path: "node_modules/pkg/README", text: "not code, still the package" });
    await denied("mkdir", { path: "node_modules/evil" });
    await denied("mkdir", { path: "node_modules/evil/lib", recursive: true });
    await denied("mkdir", { path: "data/node_modules/evil", recursive: true });
    await denied("remove", { path: "node_modules/pkg/index.js" });
    await denied("remove", { path: "node_modules", recursive: true });
    assert.equal(existsSync(join(dir, "node_modules/evil")), false);
    assert.equal(existsSync(join(dir, "data/node_modules")), false);
    assert.deepEqual(snapshot(dir), before);
  });

  it("removing plugin.json (to write a new one) or a module is refused", async () => {
    await denied("remove", { path: "plugin.json" });
    await denied("remove", { path: "./index.js" });
    await denied("remove", { path: "lib/y.mjs" });
    assert.ok(existsSync(join(dir, "plugin.json")) && existsSync(join(dir, "lib/y.mjs")));
  });

  it("a recursive remove of a directory holding protected files is refused before anything is deleted", async () => {
    const before = snapshot(dir);
    await denied("remove", { path: ".", recursive: true }, /a recursive remove would delete a protected path: the plugin's own manifest and code/);
    await denied("remove", { path: dir, recursive: true });
    await denied("remove", { path: "lib", recursive: true });
    assert.deepEqual(snapshot(dir), before, "nothing was half-removed (notes.txt and data/ are still there)");
  });

  it("each refusal is audited with the rule, and says no grant can allow it", async () => {
    await denied("write", { path: "plugin.json", text: "{}" }, /no write grant can allow it/);
    const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const denial = records.filter((r) => r["type"] === "deny" && r["value"] === "plugin.json").at(-1);
    assert.ok(denial, "the denial is in the audit log");
    assert.match(String(denial["reason"]), OWN);
    assert.equal(denial["resolved"], join(dir, "plugin.json"));
  });
});

describe("self-modification through links inside the plugin", () => {
  let s: Scratch;
  let p: PluginHandle;
  let dir: string;
  before(async () => {
    s = scratch();
    dir = s.plugin("linked", manifest("t.linked", { permissions: { read: ["data/", "cache/"], write: ["data/", "cache/"] } }), { ...FILES, "data/keep.txt": "keep" }, { cache: "node_modules/pkg" });
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it('data -> . with write: ["data/"] does not load (it would grant the whole plugin); write: ["."] is where protections by real path are tested above', async () => {
    const linked = s.plugin("dot", manifest("t.dot", { permissions: { write: ["data/"] } }), FILES, { data: "." });
    const before = readFileSync(join(linked, "plugin.json"), "utf8");
    await assert.rejects(loadPlugin(linked, { audit: memoryAuditLog(), logger }), (e: Error & { code?: string }) => {
      assert.equal(e.code, "MANIFEST_INVALID", e.message);
      assert.match(e.message, /permissions\.write\[0\]: "data\/" leads through a symlink \("data" → "\."\) to "\.", a directory that holds the path it names/);
      return true;
    });
    assert.equal(readFileSync(join(linked, "plugin.json"), "utf8"), before);
    await p.invoke("write", { path: "data/notes.txt", text: "a real data directory" });
    assert.equal(readFileSync(join(dir, "data", "notes.txt"), "utf8"), "a real data directory", "positive control");
  });

  it("cache -> node_modules/pkg: any file there is the package's, refused even without a module extension", async () => {
    await assert.rejects(p.invoke("write", { path: "cache/README", text: "x" }), (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED" && OWN.test(e.message));
    await assert.rejects(p.invoke("write", { path: "cache/index.js", text: "x" }), { code: "PERMISSION_DENIED" });
    assert.equal(await p.invoke("read", "cache/index.js"), "export const p = 'p';", "positive control: reading through it is fine");
  });
});

describe("self-modification through hard links in a plugin placed by hand (not by warden install, which copies them)", () => {
  let s: Scratch;
  let p: PluginHandle;
  let dir: string;
  before(async () => {
    s = scratch();
    dir = s.plugin("hard", manifest("t.hard", { permissions: { read: ["data/"], write: ["data/"] } }), { ...FILES, "data/plain.txt": "plain" });
    // A hard link's real path is its own name: the path check alone sees an ordinary data file.
    linkSync(join(dir, "plugin.json"), join(dir, "data/notes.txt"));
    linkSync(join(dir, "index.js"), join(dir, "data/cache.txt"));
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("data/notes.txt linked to plugin.json and data/cache.txt to index.js cannot be written or appended to; data/plain.txt can (control)", async () => {
    const before = snapshot(dir);
    for (const path of ["data/notes.txt", "data/cache.txt"]) {
      await assert.rejects(
        p.invoke("write", { path, text: "{}" }),
        (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED" && /has 2 hard links: writing it would change another file too/.test(e.message),
        path,
      );
    }
    assert.deepEqual(snapshot(dir), before, "nothing changed, nothing was truncated");
    await p.invoke("write", { path: "data/plain.txt", text: "changed" });
    assert.equal(readFileSync(join(dir, "data/plain.txt"), "utf8"), "changed", "positive control");
  });
});

/** Wait (bounded) until `events` has one matching `test`; the assertion is on what arrived, not on when. */
async function eventually(events: HostEvent[], test: (e: HostEvent) => boolean): Promise<HostEvent> {
  for (let i = 0; i < 200; i++) {
    const hit = events.find(test);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no such event; got ${JSON.stringify(events.map((e) => e.type))}`);
}

describe("a reload whose permissions grew is refused (issue 11, class 3b)", () => {
  let s: Scratch;
  let host: Host;
  let dir: string;
  let outside: string;
  const events: HostEvent[] = [];
  const code = (v: string) => `export const version = () => "${v}";
export const peek = (path) => Warden.fs.readTextFile(path);
export const grow = () => Warden.fs.writeTextFile("plugin.json", ${JSON.stringify(JSON.stringify(manifest("t.grower", { version: "9.0.0", permissions: { read: true, write: ["."], net: true } })))});`;
  const writeManifest = (version: string, extra: object) => writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.grower", { version, ...extra })));
  const status = () => host.status().find((x) => x.id === "t.grower");

  before(async () => {
    s = scratch();
    // Outside the watched plugins directory, as a host's other files would be.
    outside = mkdtempSync(join(tmpdir(), "warden-outside-"));
    writeFileSync(join(outside, "secret.txt"), "outside secret");
    dir = s.plugin("grower", manifest("t.grower", { permissions: { read: ["data/"], write: ["."] } }), { "index.js": code("v1"), "data/a.txt": "a" });
    host = await createHost({ pluginsDir: s.root, logger, watch: true, healthIntervalMs: 0 });
    host.on("event", (e) => events.push(e));
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });

  it("the plugin cannot grow its own permissions through the watcher: its write to plugin.json is refused", async () => {
    const before = readFileSync(join(dir, "plugin.json"), "utf8");
    await assert.rejects(host.invoke("t.grower", "grow"), (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED" && OWN.test(e.message));
    assert.equal(readFileSync(join(dir, "plugin.json"), "utf8"), before);
    assert.equal(status()?.version, "1.0.0");
    assert.equal(await host.invoke("t.grower", "version"), "v1");
  });

  it("plugin.json edited on disk with new grants: the watcher's reload fails, the reason says what grew, the old version serves with its old permissions", async () => {
    writeManifest("1.1.0", { permissions: { read: ["data/", outside], write: ["."], net: ["evil.example"] } });
    writeFileSync(join(dir, "index.js"), code("v2"));
    const failed = await eventually(events, (e) => e.type === "reload-failed" && e.plugin === "t.grower");
    assert.ok(failed.type === "reload-failed");
    assert.match(failed.reason, /^permissions grew: permissions\.read\[1\] ".*warden-outside-[^"]*" is new; permissions\.net\[0\] "evil\.example" is new; needs approval/);
    assert.match(failed.reason, /unload the plugin and load it again \(host\.unload\("t\.grower"\) then host\.reload\("t\.grower"\)\), or restart the host/);
    assert.match(status()?.reason ?? "", /^reload refused, still running 1\.0\.0: permissions grew: permissions\.read\[1\]/);
    assert.equal(status()?.state, "active");
    assert.equal(status()?.version, "1.0.0");
    assert.equal(await host.invoke("t.grower", "version"), "v1", "the old version keeps serving");
    await assert.rejects(host.invoke("t.grower", "peek", join(outside, "secret.txt")), { code: "PERMISSION_DENIED" }, "with its old permissions");
    assert.equal(await host.invoke("t.grower", "peek", "data/a.txt"), "a");
    assert.ok(!events.some((e) => e.type === "reload" && e.plugin === "t.grower"));
  });

  it("positive control: identical permissions and new code reload through the watcher", async () => {
    events.length = 0;
    writeManifest("1.2.0", { permissions: { read: ["./data"], write: ["."] } });
    writeFileSync(join(dir, "index.js"), code("v2"));
    const reload = await eventually(events, (e) => e.type === "reload" && e.plugin === "t.grower");
    assert.ok(reload.type === "reload" && reload.to === "1.2.0", JSON.stringify(events));
    assert.equal(await host.invoke("t.grower", "version"), "v2");
    assert.equal(status()?.reason, null);
  });

  it("positive control: fewer permissions reload", async () => {
    writeManifest("1.3.0", { permissions: { write: ["data/"] } });
    await host.reload("t.grower");
    assert.equal(status()?.version, "1.3.0");
    await assert.rejects(host.invoke("t.grower", "peek", "data/a.txt"), { code: "PERMISSION_DENIED" }, "the read grant is gone");
  });

  it("raised limits and `true` where there was a list are refused the same way", async () => {
    writeManifest("1.4.0", { permissions: { write: ["data/"] }, limits: { memoryMb: 128 } });
    await assert.rejects(host.reload("t.grower"), /limits grew: limits\.memoryMb 64 → 128; needs approval/);
    writeManifest("1.4.0", { permissions: { write: true } });
    await assert.rejects(host.reload("t.grower"), /permissions grew: permissions\.write: true \(the running version has \["data\/"\]\)/);
    assert.equal(status()?.version, "1.3.0");
  });

  it("the operator's way forward: unload, then load again, takes the new permissions", async () => {
    writeManifest("2.0.0", { permissions: { read: ["data/", outside], write: ["data/"] } });
    writeFileSync(join(dir, "index.js"), code("v3"));
    await assert.rejects(host.reload("t.grower"), /permissions grew/);
    await host.unload("t.grower");
    await host.reload("t.grower");
    assert.equal(status()?.state, "active");
    assert.equal(await host.invoke("t.grower", "version"), "v3");
    assert.equal(await host.invoke("t.grower", "peek", join(outside, "secret.txt")), "outside secret");
  });
});

describe("a dependent whose permissions grew blocks the reload of what it depends on", () => {
  it("the whole transaction rolls back and names the dependent", async () => {
    const s = scratch();
    const baseDir = s.plugin("base", manifest("t.base", { version: "1.0.0" }), { "index.js": "export const v = () => 'base 1';" });
    const depDir = s.plugin("dep", manifest("t.dep", { dependencies: { "t.base": "^1.0.0" } }), { "index.js": "export const v = () => 'dep 1';" });
    const host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      writeFileSync(join(baseDir, "plugin.json"), JSON.stringify(manifest("t.base", { version: "1.1.0" })));
      writeFileSync(join(baseDir, "index.js"), "export const v = () => 'base 1.1';");
      writeFileSync(join(depDir, "plugin.json"), JSON.stringify(manifest("t.dep", { dependencies: { "t.base": "^1.0.0" }, permissions: { env: ["HOME"] } })));
      await assert.rejects(host.reload("t.base"), /dependent t\.dep: permissions grew: permissions\.env\[0\] "HOME" is new/);
      assert.equal(await host.invoke("t.base", "v"), "base 1", "the base rolled back too");
      // Positive control: once the dependent's manifest is back, the same reload goes through.
      writeFileSync(join(depDir, "plugin.json"), JSON.stringify(manifest("t.dep", { dependencies: { "t.base": "^1.0.0" } })));
      await host.reload("t.base");
      assert.equal(await host.invoke("t.base", "v"), "base 1.1");
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("the baseline of a reload is what the host last accepted, running or not", () => {
  it("a plugin that failed to start cannot come back through the watcher with more permissions; the same permissions can (control)", async () => {
    const s = scratch();
    const dir = s.plugin("flaky", manifest("t.flaky", { permissions: { read: ["data/"] } }), {
      "index.js": "export function onLoad() { throw new Error('not yet'); } export const v = () => 1;",
      "data/a.txt": "a",
    });
    const host = await createHost({ pluginsDir: s.root, logger, watch: true, healthIntervalMs: 0 });
    const events: HostEvent[] = [];
    host.on("event", (e) => events.push(e));
    try {
      await host.loadAll();
      assert.equal(host.status().find((p) => p.id === "t.flaky")?.state, "failed");
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.flaky", { version: "1.0.1", permissions: { read: true, net: true } })));
      writeFileSync(join(dir, "index.js"), "export const v = () => 2;");
      const failed = await eventually(events, (e) => e.type === "reload-failed" && e.plugin === "t.flaky");
      assert.ok(failed.type === "reload-failed" && /^permissions grew: permissions\.read: true/.test(failed.reason), JSON.stringify(failed));
      assert.notEqual(host.status().find((p) => p.id === "t.flaky")?.state, "active");
      events.length = 0;
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.flaky", { version: "1.0.2", permissions: { read: ["data/"] } })));
      await eventually(events, (e) => e.type === "reload" && e.plugin === "t.flaky");
      assert.equal(await host.invoke("t.flaky", "v"), 2);
    } finally {
      await host.close();
      s.cleanup();
    }
  });

  it("a plugin the host stopped is not started again by a file change; the operator's reload starts it (control)", async () => {
    const s = scratch();
    const dir = s.plugin("stopped", manifest("t.stopped"), { "index.js": "export const v = () => 1;" });
    const marker = s.plugin("marker", manifest("t.marker"), { "index.js": "export const v = () => 0;" });
    const clock = new ManualClock();
    const host = await createHost({ pluginsDir: s.root, logger, watch: true, healthIntervalMs: 0, spareEngines: 0, clock });
    const events: HostEvent[] = [];
    host.on("event", (e) => events.push(e));
    try {
      await host.loadAll();
      await host.unload("t.stopped");
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.stopped", { version: "2.0.0", permissions: { read: true } })));
      writeFileSync(join(dir, "index.js"), "export const v = () => 2;");
      // Seen by the watcher once the marker written after them is; only the marker's reload is scheduled.
      await watcherCaughtUp(clock, marker, 1);
      assert.equal(clock.pending.length, 1);
      clock.advance(DEFAULTS.host.watchDebounceMs);
      await eventually(events, (e) => e.type === "reload" && e.plugin === "t.marker");
      assert.ok(!events.some((e) => (e.type === "reload" || e.type === "reload-failed") && e.plugin === "t.stopped"), JSON.stringify(events));
      assert.equal(host.status().find((p) => p.id === "t.stopped")?.state, "stopped");
      await host.reload("t.stopped");
      assert.equal(await host.invoke("t.stopped", "v"), 2);
    } finally {
      await host.close();
      s.cleanup();
    }
  });
});

describe("no plugin writes the host's files: other plugins' manifests and code, config files, the audit log", () => {
  it("a plugin granted the whole plugins directory and the audit log's directory cannot rewrite a neighbour, a config file or the log; data there stays writable (control)", async () => {
    const s = scratch();
    const logDir = mkdtempSync(join(tmpdir(), "warden-log-"));
    const auditFile = join(logDir, "audit.jsonl");
    try {
      const neighbour = s.plugin("neighbour", manifest("t.neighbour", { permissions: { read: ["/"] } }), { "index.js": "export const v = () => 'mine';" });
      s.plugin("writer", manifest("t.writer", { permissions: { write: [s.root, logDir] } }), {
        "index.js": `export async function put({ path, text }) { try { await Warden.fs.writeTextFile(path, text); return "written"; } catch (e) { return e.code; } }
export async function drop(path) { try { await Warden.fs.remove(path, { recursive: true }); return "removed"; } catch (e) { return e.code; } }`,
      });
      const host = await createHost({ pluginsDir: s.root, auditLog: auditFile, logger, healthIntervalMs: 0 });
      try {
        await host.loadAll();
        const put = (path: string, text = "x") => host.invoke("t.writer", "put", { path, text });
        assert.equal(await put(join(neighbour, "index.js"), "export const v = () => 'hijacked';"), "PERMISSION_DENIED");
        assert.equal(await put(join(neighbour, "plugin.json"), "{}"), "PERMISSION_DENIED");
        assert.equal(await put(join(neighbour, "lib", "new.mjs")), "PERMISSION_DENIED");
        assert.equal(await put(join(neighbour, "node_modules", "pkg", "index.js")), "PERMISSION_DENIED");
        assert.equal(await put(join(s.root, "t.neighbour.config.json"), '{"admin":true}'), "PERMISSION_DENIED");
        assert.equal(await put(join(s.root, "warden-lock.json"), '{"lockfileVersion":1,"plugins":{}}'), "PERMISSION_DENIED", "warden install's lock file");
        mkdirSync(join(s.root, ".warden-install-x1y2z3", "new"), { recursive: true });
        assert.equal(await put(join(s.root, ".warden-install-x1y2z3", "new", "data.txt")), "PERMISSION_DENIED", "a version being installed");
        assert.equal(await put(auditFile, ""), "PERMISSION_DENIED");
        assert.equal(await host.invoke("t.writer", "drop", neighbour), "PERMISSION_DENIED", "a recursive remove of a neighbour holding code");
        assert.equal(await host.invoke("t.writer", "drop", auditFile), "PERMISSION_DENIED");
        assert.equal(await host.invoke("t.neighbour", "v"), "mine");
        // Controls: data next to them is the writer's to write, as granted.
        assert.equal(await put(join(neighbour, "shared.txt")), "written");
        assert.equal(await put(join(logDir, "notes.txt")), "written");
      } finally {
        await host.close();
      }
    } finally {
      s.cleanup();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});
