// A real host's engines under bubblewrap, inspected from inside (through /proc of the engine's Node
// process, as root sees it): its own network, pid and user namespaces, no environment, and a file
// system holding only Node, warden and the host's plugins directory; and a granted command that
// sees only its plugin's grants. Each with the positive control that would fail a sandbox that
// hides everything.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { createHost, type Host } from "../../core/host/host.ts";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { commandLine, descendants } from "../helpers/process-tree.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const probe = await probeBubblewrap();
const skip = probe.available ? false : `bubblewrap is not usable here: ${probe.reason}`;

describe("engines under bubblewrap", { skip }, () => {
  let s: Scratch;
  let host: Host;
  let dir: string;

  before(async () => {
    s = scratch();
    dir = join(s.root, "plugins");
    s.plugin("plugins/plain", manifest("sbx.plain"), { "index.js": "export const ok = () => 'ok';" });
    s.plugin("plugins/cmd", manifest("sbx.cmd", { permissions: { exec: ["cat", "sh"], read: ["data/"] } }), {
      "index.js": `export async function run(input) { const r = await Warden.exec(input.cmd, input.args); return { code: r.code, out: r.stdout.trim(), err: r.stderr.trim().slice(0, 200) }; }`,
      "data/note.txt": "granted text",
    });
    host = await createHost({ pluginsDir: dir, auditLog: memoryAuditLog(), logger: createDefaultLogger("silent"), healthIntervalMs: 0, sandbox: "require" });
    await host.loadAll();
  });
  after(async () => {
    await host.close();
    s.cleanup();
  });

  /** The engine's Node process (inside bwrap) hosting `id`. */
  function engineNode(id: string): number {
    const pid = host.status().find((p) => p.id === id)?.engine?.pid;
    assert.ok(pid !== undefined, `${id} has an engine`);
    assert.match(commandLine(pid), /bwrap/, "the engine process is bubblewrap");
    const node = descendants(pid).find((p) => commandLine(p).includes("engine-main.js"));
    assert.ok(node !== undefined, "the engine's Node process runs inside it");
    return node;
  }

  it("the host says so", () => {
    assert.equal(host.sandboxed, true);
    assert.equal(host.status().find((p) => p.id === "sbx.plain")?.state, "active");
  });

  it("its own network, pid and user namespaces; an empty environment", () => {
    const node = engineNode("sbx.plain");
    for (const ns of ["net", "pid", "user", "mnt", "ipc", "uts"]) assert.notEqual(readlinkSync(`/proc/${node}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), ns);
    const env = readFileSync(`/proc/${node}/environ`, "utf8")
      .split("\0")
      .filter((x) => x !== "")
      .map((v) => v.split("=")[0]);
    assert.deepEqual(env, []);
  });

  it("sees the plugins directory and warden, not the host's files", () => {
    const root = `/proc/${engineNode("sbx.plain")}/root`;
    // Positive controls: what it must read to work.
    assert.ok(existsSync(join(root, dir, "plain/index.js")), "the plugins directory");
    assert.ok(existsSync(join(root, process.execPath)), "Node");
    // What it must not see.
    for (const p of ["/etc/passwd", "/etc/shadow", "/root", "/home", join(s.root, "plugins-elsewhere"), process.cwd() + "/package-lock.json", "/var/log"]) {
      assert.equal(existsSync(join(root, p)), false, p);
    }
  });

  it("a granted command sees its read grant, and nothing of the host it was not granted", async () => {
    assert.deepEqual(await host.invoke("sbx.cmd", "run", { cmd: "cat", args: [join(dir, "cmd/data/note.txt")] }), { code: 0, out: "granted text", err: "" });
    const passwd = (await host.invoke("sbx.cmd", "run", { cmd: "cat", args: ["/etc/passwd"] })) as { code: number };
    assert.notEqual(passwd.code, 0, "/etc/passwd is not there");
    const write = (await host.invoke("sbx.cmd", "run", { cmd: "sh", args: ["-c", `echo x > ${join(dir, "cmd/data/new.txt")}`] })) as { code: number };
    assert.notEqual(write.code, 0, "a read grant is read-only");
    assert.equal(existsSync(join(dir, "cmd/data/new.txt")), false);
    const pids = (await host.invoke("sbx.cmd", "run", { cmd: "sh", args: ["-c", "ls /proc | grep -c '^[0-9]'"] })) as { out: string };
    assert.ok(Number(pids.out) < 10, `its own processes only (${pids.out})`);
  });
});
