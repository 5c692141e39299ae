// Issue 11, class 2: grant roots the plugin ships. A plugin package can contain symlinks, so a
// grant such as `read: ["data/"]` may really be a grant of /, /proc/self or another plugin. Each
// attack is a hostile package loaded through the real runtime (loadPlugin, createHost, the CLI),
// next to the legitimate neighbour that must keep working.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities } from "../../capabilities/index.ts";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type HostEvent } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const CODE = `export const read = (p) => Warden.fs.readTextFile(p);
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const version = () => "v1";`;

let s: Scratch;
let outside: string;
const handles: PluginHandle[] = [];

async function load(dir: string): Promise<PluginHandle> {
  const p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
  handles.push(p);
  return p;
}

/** A plugin whose manifest must be refused: MANIFEST_INVALID, every pattern in the message. */
async function refused(name: string, permissions: object, links: Record<string, string>, expect: RegExp[]): Promise<void> {
  const dir = s.plugin(name, manifest(`t.${name}`, { permissions }), { "index.js": CODE }, links);
  await assert.rejects(load(dir), (e: Error & { code?: string }) => {
    assert.equal(e.code, "MANIFEST_INVALID", e.message);
    for (const re of expect) assert.match(e.message, re);
    return true;
  });
}

async function deniedCall(p: PluginHandle, entry: string, input: unknown, expect?: RegExp): Promise<void> {
  await assert.rejects(p.invoke(entry, input), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    if (expect) assert.match(e.message, expect);
    return true;
  });
}

describe("grant roots the plugin ships (issue 11, class 2)", () => {
  before(() => {
    s = scratch();
    outside = join(s.root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.txt"), "outside secret");
  });
  after(async () => {
    await Promise.all(handles.map((h) => h.close()));
    s.cleanup();
  });

  it("positive controls: a real data/ directory, a link to another place inside the plugin, and an absolute grant outside all work", async () => {
    const dir = s.plugin(
      "fine",
      manifest("t.fine", { permissions: { read: ["data/", "store/", outside], write: ["data/"] } }),
      {
        "index.js": CODE,
        "data/a.txt": "data a",
        "alt/b.txt": "alt b",
      },
      { store: "alt" },
    );
    const p = await load(dir);
    assert.equal(await p.invoke("read", "data/a.txt"), "data a");
    await p.invoke("write", { path: "data/new.txt", text: "written" });
    assert.equal(await p.invoke("read", "data/new.txt"), "written");
    assert.equal(await p.invoke("read", "store/b.txt"), "alt b", "store -> alt stays inside the plugin");
    assert.equal(await p.invoke("read", join(outside, "secret.txt")), "outside secret", "an absolute grant is the operator's explicit choice");
  });

  it("positive control: a plugin directory reached through a symlink (a host may link its plugins dir) is judged by its real path", async () => {
    const real = s.plugin("linked-real", manifest("t.linked", { permissions: { read: ["data/"] } }), { "index.js": CODE, "data/a.txt": "via link" });
    const hostDir = join(s.root, "host-plugins");
    symlinkSync(s.root, hostDir);
    const p = await load(join(hostDir, "linked-real"));
    assert.equal(await p.invoke("read", "data/a.txt"), "via link");
    assert.equal(p.dir, join(hostDir, "linked-real"));
    assert.ok(real);
  });

  it("data -> / is refused, naming the grant, the link and its target", () =>
    refused("root-link", { read: ["data/"] }, { data: "/" }, [
      /permissions\.read\[0\]: "data\/" leads outside the plugin directory through a symlink \("data" → "\/"\) to "\/"/,
      /point the link inside the plugin, or grant the absolute path/,
    ]));

  it("data -> /proc/self (the sandbox's own environment) is refused", () =>
    refused("proc-link", { read: ["data/"] }, { data: "/proc/self" }, [/permissions\.read\[0\]: "data\/" leads outside .*"data" → "\/proc\/self"/]));

  it("data -> .. (the plugins directory, every other plugin) is refused", () => refused("parent-link", { read: ["data/"] }, { data: ".." }, [/"data" → "\.\."\) to ".*warden-test-[^/"]*"/]));

  it("a chain data -> a -> /etc is refused, naming every link", () => refused("chain", { read: ["data/"] }, { data: "a", a: "/etc" }, [/through symlinks \("data" → "a", "a" → "\/etc"\) to "\/etc"/]));

  it("an intermediate component that is a link (x/ssl/ with x -> /etc) is refused", () =>
    refused("middle", { read: ["x/ssl/"] }, { x: "/etc" }, [/permissions\.read\[0\]: "x\/ssl\/" leads outside .*"x" → "\/etc"\) to "\/etc\/ssl"/]));

  it("a grant that does not exist yet is judged by its nearest existing ancestor (data/new/ with data -> /tmp)", () =>
    refused("missing-tail", { write: ["data/new/"] }, { data: tmpdir() }, [new RegExp(`permissions\\.write\\[0\\]: "data/new/" leads outside .* to "${tmpdir()}/new"`)]));

  it("a dangling link is judged by where it points", () =>
    refused("dangling", { read: ["data/"] }, { data: "/nonexistent-warden-target/x" }, [/"data" → "\/nonexistent-warden-target\/x"\) to "\/nonexistent-warden-target\/x"/]));

  it("a write grant through a link out is refused the same way", () =>
    refused("write-link", { read: ["data/"], write: ["data/"] }, { data: outside }, [/permissions\.read\[0\]/, /permissions\.write\[0\]: "data\/" leads outside/]));

  it("an absolute grant written inside the plugin is held to the same rule", () =>
    refused("abs-inside", { read: [join(s.root, "abs-inside", "data")] }, { data: "/" }, [/permissions\.read\[0\]: ".*abs-inside\/data" leads outside/]));

  it("a relative grant that leaves the plugin lexically (../other-plugin/) is refused with the way to ask for it", async () => {
    s.plugin("other-plugin", manifest("t.other"), { "index.js": CODE, "data/private.txt": "other's data" });
    await refused("dotdot", { read: ["../other-plugin/"] }, {}, [/permissions\.read\[0\]: "\.\.\/other-plugin\/" leaves the plugin directory/, /write it as an absolute path/]);
    // Positive control: a relative grant with .. that stays inside, and a name that merely starts with "..".
    const dir = s.plugin("dotdot-ok", manifest("t.dotdot-ok", { permissions: { read: ["data/../data/", "..cache/"] } }), { "index.js": CODE, "data/a.txt": "a", "..cache/c.txt": "c" });
    const p = await load(dir);
    assert.equal(await p.invoke("read", "data/a.txt"), "a");
    assert.equal(await p.invoke("read", "..cache/c.txt"), "c");
  });

  it("an absolute grant through a link into /proc makes nothing under /proc readable (text and real path both judged)", async () => {
    const procLink = join(s.root, "proc-abs");
    symlinkSync("/proc/self", procLink);
    const dir = s.plugin("abs-proc", manifest("t.abs-proc", { permissions: { read: [procLink, outside] } }), { "index.js": CODE });
    const p = await load(dir);
    // Where the link led (the host's pid under /proc) is the audit log's, not the plugin's.
    await deniedCall(
      p,
      "read",
      join(procLink, "environ"),
      /a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers \(where it leads is in the host's audit log\)/,
    );
    await deniedCall(p, "read", join(procLink, "status"));
    await deniedCall(p, "read", "/proc/self/environ");
    assert.equal(await p.invoke("read", join(outside, "secret.txt")), "outside secret", "positive control: its other absolute grant works");
  });

  it("a link swapped in after load cannot widen a grant: data/ stays the directory it was when the plugin loaded", async () => {
    const dir = s.plugin("swap", manifest("t.swap", { permissions: { read: ["data/"], write: ["data/"] } }), { "index.js": CODE, "data/a.txt": "before" });
    const p = await load(dir);
    assert.equal(await p.invoke("read", "data/a.txt"), "before", "positive control before the swap");
    renameSync(join(dir, "data"), join(dir, "data-old"));
    symlinkSync("/", join(dir, "data"));
    await deniedCall(
      p,
      "read",
      "data/etc/hostname",
      /requires read access to "data\/etc\/hostname"; a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers \(where it leads is in the host's audit log\)/,
    );
    await deniedCall(p, "write", { path: "data/tmp/warden-planted.txt", text: "x" });
    await deniedCall(p, "read", `data${outside}/secret.txt`);
    unlinkSync(join(dir, "data"));
    symlinkSync("/proc/self", join(dir, "data"));
    await deniedCall(p, "read", "data/environ");
    unlinkSync(join(dir, "data"));
    renameSync(join(dir, "data-old"), join(dir, "data"));
    assert.equal(await p.invoke("read", "data/a.txt"), "before", "positive control after the directory is back");
  });

  it("a link swapped in between the manifest check and the capability's compile leaves the grant granting nothing", async () => {
    // The manifest check runs in the host, the capability is built in the sandbox process: a link
    // that changes in between must not count. Built directly, as the sandbox process builds it.
    const dir = s.plugin("race", {}, { "alt/ok.txt": "inside" }, { data: outside, store: "alt" });
    const caps = await createCapabilities({ pluginId: "t.race", pluginDir: dir, grants: { read: ["data/", "store/"] }, ports: nodePorts(), audit: { record: () => undefined }, limits: TEST_LIMITS });
    await assert.rejects(caps.call("fs.readTextFile", ["data/secret.txt"]), (e: Error & { code?: string }) => {
      assert.equal(e.code, "PERMISSION_DENIED");
      assert.match(e.message, /permissions\.read\[0\] "data\/" led outside the plugin's directory .* so it grants nothing/);
      return true;
    });
    assert.deepEqual(await caps.call("permissions.query", [{ name: "read", path: "data/secret.txt" }]), { state: "denied" });
    assert.equal(await caps.call("fs.readTextFile", ["store/ok.txt"]), "inside", "positive control: the link that stays inside works");
  });

  it("a grant inside the plugin that leads to a directory holding what it names (data -> ., data -> ./, a/b -> .., a chain) is refused: it would grant more than it says", async () => {
    await refused("dot-link", { read: ["data/"], write: ["data/"] }, { data: "." }, [
      /permissions\.read\[0\]: "data\/" leads through a symlink \("data" → "\."\) to "\.", a directory that holds the path it names, so it would grant more than it says \(the whole plugin directory\)/,
      /permissions\.write\[0\]: "data\/" leads through a symlink/,
      /write the grant as "\."/,
    ]);
    await refused("dot-slash-link", { write: ["data/"] }, { data: "./" }, [/permissions\.write\[0\]: "data\/" leads through a symlink \("data" → "\.\/"\) to "\."/]);
    await refused("up-link", { write: ["a/b/"] }, { "a/b": ".." }, [/permissions\.write\[0\]: "a\/b\/" leads through a symlink .* to "\.", a directory that holds/]);
    await refused("chain-link", { read: ["data/"] }, { data: "x", x: "." }, [/through symlinks \("data" → "x", "x" → "\."\) to "\.", a directory that holds/]);
  });

  it("at run time, a grant whose link was made to hold what it names after the manifest check grants nothing (positive control: a sibling link works)", async () => {
    const dir = s.plugin("dot-race", {}, { "index.js": CODE, "own.txt": "the plugin's own file", "alt/ok.txt": "inside" }, { data: ".", store: "alt" });
    const caps = await createCapabilities({
      pluginId: "t.dot-race",
      pluginDir: dir,
      grants: { read: ["data/", "store/"], write: ["data/"] },
      ports: nodePorts(),
      audit: { record: () => undefined },
      limits: TEST_LIMITS,
    });
    for (const [op, args] of [
      ["fs.readTextFile", ["data/own.txt"]],
      ["fs.writeTextFile", ["data/planted.txt", "x"]],
      ["fs.readDir", ["data/"]],
    ] as const) {
      await assert.rejects(caps.call(op, [...args]), (e: Error & { code?: string }) => {
        assert.equal(e.code, "PERMISSION_DENIED", e.message);
        assert.match(e.message, /"data\/" led to a directory that holds the path it names, so it would grant more than it says .* so it grants nothing/);
        return true;
      });
    }
    assert.equal(await caps.call("fs.readTextFile", ["store/ok.txt"]), "inside", "positive control: a link to a sibling inside the plugin works");
  });

  it("createHost: discovery refuses the hostile plugin with the reason and loads its neighbour; a reload after a swap is refused and the old version keeps serving", async () => {
    const root = join(s.root, "host-root");
    mkdirSync(root);
    const mk = (name: string, links: Record<string, string>, files: Record<string, string> = {}) => {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest(`t.${name}`, { permissions: { read: ["data/"] } })));
      writeFileSync(join(dir, "index.js"), CODE);
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(join(dir, rel, ".."), { recursive: true });
        writeFileSync(join(dir, rel), text);
      }
      for (const [rel, target] of Object.entries(links)) symlinkSync(target, join(dir, rel));
      return dir;
    };
    mk("evil", { data: "/proc/self" });
    const goodDir = mk("good", {}, { "data/a.txt": "good data" });
    const host = await createHost({ pluginsDir: root, logger, healthIntervalMs: 0 });
    const events: HostEvent[] = [];
    host.on("event", (e) => events.push(e));
    try {
      await host.loadAll();
      const failed = events.find((e) => e.type === "load-failed" && e.plugin === "evil");
      assert.ok(failed && failed.type === "load-failed", JSON.stringify(events));
      assert.equal(failed.code, "MANIFEST_INVALID");
      assert.match(failed.reason, /permissions\.read\[0\]: "data\/" leads outside .*"data" → "\/proc\/self"/);
      assert.equal(await host.invoke("t.good", "read", "data/a.txt"), "good data", "positive control: the neighbour loads and reads");
      renameSync(join(goodDir, "data"), join(goodDir, "data-old"));
      symlinkSync("/", join(goodDir, "data"));
      await assert.rejects(host.reload("t.good"), /leads outside the plugin directory/);
      assert.ok(events.some((e) => e.type === "reload-failed" && e.plugin === "t.good" && /"data" → "\/"/.test(e.reason)));
      assert.equal(await host.invoke("t.good", "version"), "v1", "the old version keeps serving");
      await assert.rejects(host.invoke("t.good", "read", "data/etc/hostname"), { code: "PERMISSION_DENIED" });
      assert.match(host.status().find((p) => p.id === "t.good")?.reason ?? "", /reload refused, still running 1\.0\.0: [\s\S]*permissions\.read\[0\]: "data\/" leads outside/);
    } finally {
      await host.close();
    }
  });

  it("warden check shows the problem and exits 2; a clean plugin is still valid; an absolute grant through a link is a warning", () => {
    const bin = join(REPO_ROOT, "bin/warden.js");
    const check = (...args: string[]) => spawnSync(process.execPath, [bin, "check", ...args], { encoding: "utf8", cwd: s.root });
    const evil = s.plugin("check-evil", manifest("t.check-evil", { permissions: { read: ["data/"] } }), { "index.js": CODE }, { data: "/" });
    const r = check(evil);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /error: .*check-evil\/plugin\.json: permissions\.read\[0\]: "data\/" leads outside the plugin directory through a symlink \("data" → "\/"\)/);
    const j = check(evil, "--json");
    const out = JSON.parse(j.stdout) as { ok: boolean; error: { code: string; problems: string[] } };
    assert.equal(out.ok, false);
    assert.equal(out.error.code, "MANIFEST_INVALID");
    assert.match(out.error.problems[0] ?? "", /^permissions\.read\[0\]: "data\/" leads outside/);
    const procLink = join(s.root, "proc-abs-check");
    symlinkSync("/proc/self", procLink);
    const clean = s.plugin("check-clean", manifest("t.check-clean", { permissions: { read: ["data/", procLink] } }), { "index.js": CODE, "data/a.txt": "a" });
    const ok = check(clean);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^read +data\/ +permissions\.read\[0\] +.*check-clean\/data \(inside the plugin\)/m);
    assert.match(ok.stdout, /warning: .*permissions\.read\[1\]: ".*proc-abs-check" goes through symlinks \(".*proc-abs-check" → "\/proc\/self", .*\) and leads to "\/proc\/\d+" now/);
  });
});
