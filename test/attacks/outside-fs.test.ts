// Outside attack suite, files: neighbours of the spellings the path check blocks, through the real
// runtime (loadPlugin, the Node fs port): magic links (/proc/self/root, /proc/self/cwd,
// /proc/<pid>/root, /dev/fd, /dev/stdin), trailing slashes and dots, NUL, backslashes, `~`,
// unicode look-alikes, case, very long paths, and links planted at run time by a granted command
// (ln under the OS sandbox) inside a write grant. Each denial sits next to a positive control.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin, type PluginHandle } from "../../core/plugin.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const logger = createDefaultLogger("silent");
const ENTRIES = `
export const read = (path) => Warden.fs.readTextFile(path);
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const list = (path) => Warden.fs.readDir(path).then((e) => e.map((x) => x.name));
export const stat = (path) => Warden.fs.stat(path);
export const remove = ({ path, recursive }) => Warden.fs.remove(path, { recursive: !!recursive });
export const mkdir = (path) => Warden.fs.mkdir(path, { recursive: true });
export const run = ({ cmd, args, cwd }) => Warden.exec(cmd, args, cwd ? { cwd } : {});`;

describe("outside: path spellings against the real runtime", () => {
  let s: Scratch;
  let dir: string;
  let outside: string;
  let p: PluginHandle;

  async function denied(entry: string, input: unknown): Promise<void> {
    await assert.rejects(
      p.invoke(entry, input),
      (e: Error & { code?: string }) => {
        assert.ok(e.code === "PERMISSION_DENIED" || e.code === "BAD_INPUT", `${entry} ${JSON.stringify(input)}: ${e.code} ${e.message}`);
        return true;
      },
      `${entry} ${JSON.stringify(input)}`,
    );
  }

  before(async () => {
    s = scratch();
    outside = join(s.root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.txt"), "secret");
    dir = s.plugin("pathy", manifest("t.pathy", { permissions: { read: ["data"], write: ["data"], exec: ["ln", "cat"] } }), { "index.js": ENTRIES, "data/ok.txt": "ok", "private.txt": "private" });
    p = await loadPlugin(dir, { audit: memoryAuditLog(), logger });
  });
  after(async () => {
    await p.close();
    s.cleanup();
  });

  it("positive controls: reads, writes, lists, stats inside the grant; ln and cat run", async () => {
    assert.equal(await p.invoke("read", "data/ok.txt"), "ok");
    assert.equal(await p.invoke("read", "./data//ok.txt"), "ok");
    await p.invoke("write", { path: "data/new.txt", text: "n" });
    assert.equal(readFileSync(join(dir, "data/new.txt"), "utf8"), "n");
    assert.ok(((await p.invoke("list", "data")) as string[]).includes("ok.txt"));
    const r = (await p.invoke("run", { cmd: "cat", args: ["ok.txt"], cwd: "data" })) as { code: number; stdout: string };
    assert.equal(r.stdout, "ok");
  });

  it("magic links and spellings that lead outside are denied", async () => {
    const abs = (rel: string) => join(dir, rel);
    for (const path of [
      "/proc/self/root" + join(outside, "secret.txt"),
      "/proc/self/cwd/" + join(dir, "private.txt"),
      `/proc/${process.pid}/root${join(outside, "secret.txt")}`,
      "/proc/thread-self/root" + join(outside, "secret.txt"),
      "/dev/fd/0",
      "/dev/stdin",
      "data/../private.txt",
      "data/./../private.txt",
      "data/ok.txt/../../private.txt",
      "data\\..\\private.txt",
      "~/private.txt",
      "DATA/../private.txt",
      "private.txt/",
      "private.txt\0data/ok.txt",
      "data/ok.txt\0/../../private.txt",
      abs("data") + "/../private.txt",
      "data/" + "x/".repeat(2000) + "../".repeat(2001) + "private.txt",
      join(outside, "secret.txt"),
    ]) {
      await denied("read", path);
      await denied("stat", path);
    }
    // A look-alike of "/" (U+2215) is a name inside the grant, not a separator: NotFound, nothing leaks.
    await assert.rejects(p.invoke("read", "data/..\u2215private.txt"), (e: Error & { code?: string }) => e.code === "PLUGIN_ERROR" && /NotFound|no such file/.test(e.message));
    await denied("write", { path: "data/../private.txt", text: "x" });
    await denied("write", { path: `/proc/self/root${join(outside, "secret.txt")}`, text: "x" });
    assert.equal(readFileSync(join(outside, "secret.txt"), "utf8"), "secret");
  });

  it("links planted at run time by a granted command (ln) inside the write grant are judged by where they lead", async () => {
    // Under the OS sandbox ln sees only the write grant, but a symbolic link's text is free.
    for (const [name, target] of [
      ["data/root", "/"],
      ["data/up", ".."],
      ["data/sec", join(outside, "secret.txt")],
      ["data/self", "/proc/self/root"],
      ["data/fd", "/dev/fd"],
    ] as const) {
      const r = (await p.invoke("run", { cmd: "ln", args: ["-s", target, join(dir, name)] })) as { code: number; stderr: string };
      assert.equal(r.code, 0, r.stderr);
    }
    await denied("read", "data/root" + join(outside, "secret.txt"));
    await denied("read", "data/up/private.txt");
    await denied("read", "data/sec");
    await denied("read", "data/self" + join(outside, "secret.txt"));
    await denied("read", "data/fd/0");
    await denied("list", "data/up");
    await denied("write", { path: "data/up/private.txt", text: "x" });
    await denied("write", { path: "data/sec", text: "x" });
    await denied("write", { path: "data/root" + join(outside, "new.txt"), text: "x" });
    await denied("mkdir", "data/up/newdir");
    await denied("run", { cmd: "cat", args: ["private.txt"], cwd: "data/up" });
    assert.equal(readFileSync(join(outside, "secret.txt"), "utf8"), "secret");
    assert.equal(readFileSync(join(dir, "private.txt"), "utf8"), "private");
    assert.equal(existsSync(join(dir, "newdir")), false);
    // A recursive remove of the grant unlinks the planted links, never what they point at.
    await p.invoke("remove", { path: "data/up" });
    assert.ok(existsSync(join(dir, "private.txt")));
    // Hard links: under the sandbox the command sees only the write grant, so it cannot link a
    // file from outside it (EXDEV or not found); a link to a file inside the grant is harmless.
    const h = (await p.invoke("run", { cmd: "ln", args: [join(outside, "secret.txt"), join(dir, "data/hard")] })) as { code: number };
    assert.notEqual(h.code, 0, "ln made a hard link to a file outside the grants");
    assert.equal(existsSync(join(dir, "data/hard")), false);
  });
});
