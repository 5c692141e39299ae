// Outside attack suite: what a granted, non-interpreter command (cat, curl, tee) can reach under
// the OS sandbox (bubblewrap) compared with what the same plugin's capability bridge allows. The
// command's view is built from the grant lists (core/runtime/broker.ts grantPaths ->
// core/os-sandbox/exec-sandbox.ts execCommand) without the rules the fs capability adds to them:
// the /proc, /sys and /dev guard, the host's file protections, and "no socket paths without net".
// Each attack sits next to a positive control (the same call on an allowed value succeeds) and
// the bridge's own denial of the same target; the attack assertions state the SECURE behaviour,
// so a test that fails here is a confirmed bypass.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const probe = await probeBubblewrap();
const skip = probe.available ? false : `bubblewrap cannot sandbox here: ${probe.reason}`;

const ENTRIES = `
export const read = (path) => Warden.fs.readTextFile(path);
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const fetchIt = (url) => fetch(url).then((r) => r.text());
export const run = ({ cmd, args, stdin }) => Warden.exec(cmd, args, stdin === undefined ? {} : { stdin });
export const who = () => "victim";`;

type RunResult = { code: number | null; stdout: string; stderr: string };

async function denied(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === "PERMISSION_DENIED", what);
}

describe("outside: a granted command sees more than the plugin's grants allow (exec sandbox view)", { skip }, () => {
  let s: Scratch;
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("/sys: `true` never covers /sys for the bridge, but a command run with read: true reads the host's sysfs", async () => {
    const file = join(s.root, "plain.txt");
    writeFileSync(file, "plain\n");
    const dir = s.plugin("sysreader", manifest("t.sysreader", { permissions: { read: true, exec: ["cat"] } }), { "index.js": ENTRIES });
    const p: PluginHandle = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
    try {
      // Positive controls: the bridge reads a plain file; cat reads it too under the sandbox.
      assert.equal(await p.invoke("read", file), "plain\n");
      const ok = (await p.invoke("run", { cmd: "cat", args: [file] })) as RunResult;
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "plain\n");
      // The bridge's rule: /sys needs a grant naming a path under it; `true` does not.
      await denied(p.invoke("read", "/sys/devices/system/cpu/online"), "bridge read of /sys");
      // Secure behaviour: the command must not see the host's /sys either.
      const r = (await p.invoke("run", { cmd: "cat", args: ["/sys/devices/system/cpu/online", "/sys/class/net/lo/address"] })) as RunResult;
      assert.notEqual(r.code, 0, `cat read the host's sysfs with read: true: ${JSON.stringify(r.stdout)}`);
    } finally {
      await p.close();
    }
  });

  it("Unix socket: with no net grant, a command connects to a host service through a socket in a read grant", async () => {
    const sockDir = join(s.root, "sockets");
    mkdirSync(sockDir);
    writeFileSync(join(sockDir, "readme.txt"), "readme\n");
    const sock = join(sockDir, "service.sock");
    let hits = 0;
    const server: Server = createServer((_req, res) => {
      hits++;
      res.end("host-only-service-answer");
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const dir = s.plugin("socketeer", manifest("t.socketeer", { permissions: { read: [sockDir], exec: ["curl"] } }), { "index.js": ENTRIES });
    const p: PluginHandle = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
    try {
      // Positive controls: the read grant reads; curl runs.
      assert.equal(await p.invoke("read", join(sockDir, "readme.txt")), "readme\n");
      const v = (await p.invoke("run", { cmd: "curl", args: ["--version"] })) as RunResult;
      assert.equal(v.code, 0, v.stderr);
      // The bridge's rule: no net grant, no request (and fetch has no socket paths, D25/N14).
      await denied(p.invoke("fetchIt", "http://localhost/"), "fetch without a net grant");
      // Secure behaviour: the command has no network, so the host's service is not reachable.
      const r = (await p.invoke("run", { cmd: "curl", args: ["-s", "--max-time", "3", "--unix-socket", sock, "http://x/"] })) as RunResult;
      assert.equal(hits, 0, `curl reached the host's Unix-socket service without a net grant: ${JSON.stringify(r.stdout)}`);
      assert.doesNotMatch(r.stdout, /host-only-service-answer/);
    } finally {
      await p.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("outside: a granted command writes the host's protected files (another plugin's code)", { skip }, () => {
  let s: Scratch;
  let host: Host;
  let victimDir: string;
  before(async () => {
    s = scratch();
    // t.writer may write the whole plugins directory (an absolute grant) and run tee, which is
    // not an interpreter. The host's protections say no write grant covers another plugin's code.
    s.plugin("writer", manifest("t.writer", { permissions: { read: [s.root], write: [s.root], exec: ["tee"] } }), { "index.js": ENTRIES });
    victimDir = s.plugin("victim", manifest("t.victim", { permissions: { env: ["VICTIM_SECRET"] } }), {
      "index.js": `${ENTRIES}\nexport const secret = () => Warden.env.get("VICTIM_SECRET");`,
    });
    host = await createHost({ pluginsDir: s.root, logger, healthIntervalMs: 0 });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  it("positive controls: the writer writes its data through the bridge and through tee", async () => {
    await host.invoke("t.writer", "write", { path: join(s.root, "writer", "notes.txt"), text: "a" });
    assert.equal(readFileSync(join(s.root, "writer", "notes.txt"), "utf8"), "a");
    const r = (await host.invoke("t.writer", "run", { cmd: "tee", args: [join(s.root, "writer", "notes2.txt")], stdin: "b" })) as RunResult;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(s.root, "writer", "notes2.txt"), "utf8"), "b");
  });

  it("the bridge refuses the victim's index.js; tee must be refused too (then a reload runs it with the victim's grants)", async () => {
    const target = join(victimDir, "index.js");
    const before = readFileSync(target, "utf8");
    await denied(host.invoke("t.writer", "write", { path: target, text: "x" }), "bridge write of another plugin's code");
    const evil = `export const who = () => "pwned by t.writer";\nexport const secret = () => Warden.env.get("VICTIM_SECRET");`;
    const r = (await host.invoke("t.writer", "run", { cmd: "tee", args: [target], stdin: evil })) as RunResult;
    const after = readFileSync(target, "utf8");
    // What it leads to: the same permissions, new code, so a reload accepts it and the writer's
    // code runs as t.victim with t.victim's grants (its env secret).
    let consequence = "";
    if (after !== before) {
      process.env["VICTIM_SECRET"] = "s3cret";
      try {
        await host.reload("t.victim");
        consequence = `; after host.reload, t.victim.who() = ${JSON.stringify(await host.invoke("t.victim", "who"))}, secret() = ${JSON.stringify(await host.invoke("t.victim", "secret"))}`;
      } catch (e) {
        consequence = `; reload: ${(e as Error).message}`;
      } finally {
        delete process.env["VICTIM_SECRET"];
      }
    }
    assert.equal(after, before, `tee (code ${r.code}) rewrote another plugin's code, which a write grant never covers${consequence}`);
  });

  it("the bridge refuses <id>.config.json and warden-* files of the plugins directory; tee must be refused too", async () => {
    const cfg = join(s.root, "t.victim.config.json");
    await denied(host.invoke("t.writer", "write", { path: cfg, text: "{}" }), "bridge write of a config file");
    const r = (await host.invoke("t.writer", "run", { cmd: "tee", args: [cfg, join(s.root, "warden-approvals.json")], stdin: "{}" })) as RunResult;
    let wrote = false;
    try {
      readFileSync(cfg);
      wrote = true;
    } catch {
      // not created: the secure outcome
    }
    assert.equal(wrote, false, `tee (code ${r.code}) created the host's ${cfg}`);
  });
});
