// Warden.fs write, readDir, stat, mkdir and remove against the real filesystem. Each attack is
// paired with the granted operation that must still work, and each denial must be audited with
// the value asked for and what it resolved to. Swaps "after the check" are made deterministic by
// a port that performs the attacker's rename just before warden opens what it checked.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, type AuditEvent, type Capabilities, type FsPort } from "../../capabilities/index.ts";
import { createNodeFs } from "../../core/sys/node-fs.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let dir: string;
let caps: Capabilities;
const events: AuditEvent[] = [];

async function build(fs: FsPort = createNodeFs()): Promise<Capabilities> {
  return createCapabilities({
    pluginId: "test.writer",
    pluginDir: dir,
    grants: { read: ["data/", "ro/"], write: ["data/"] },
    ports: nodePorts({ fs }),
    audit: { record: (e) => events.push(e) },
    limits: TEST_LIMITS,
  });
}

async function denied(op: string, args: unknown[], expect: RegExp, permission = "write"): Promise<void> {
  const before = events.length;
  await assert.rejects(caps.call(op, args), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    assert.match(e.message, expect);
    assert.match(e.message, new RegExp(`add it to permissions\\.${permission} in plugin\\.json of test\\.writer`));
    return true;
  });
  const rec = events.slice(before).find((r) => r.type === "deny");
  assert.ok(rec, "the denial must be audited");
  assert.equal(rec.value, args[0]);
  assert.equal(rec.permission, permission);
  assert.ok(rec.resolved, "the audit record names what the path resolved to");
}

describe("fs write capability", () => {
  before(async () => {
    s = scratch();
    dir = s.plugin("writer", {}, { "data/keep.txt": "keep", "ro/readme.txt": "read only", "outside.txt": "outside" });
    writeFileSync(join(s.root, "victim.txt"), "victim");
    symlinkSync(join(s.root, "victim.txt"), join(dir, "data/link-out"));
    symlinkSync(s.root, join(dir, "data/dirlink-out"));
    caps = await build();
  });
  after(() => s.cleanup());

  it("positive control: writes, appends, reads back, lists, stats, makes and removes inside the grant", async () => {
    await caps.call("fs.writeTextFile", ["data/new.txt", "hello"]);
    await caps.call("fs.writeTextFile", ["data/new.txt", " world", { append: true }]);
    assert.equal(await caps.call("fs.readTextFile", ["data/new.txt"]), "hello world");
    await caps.call("fs.writeTextFile", ["data/new.txt", "short"]);
    assert.equal(readFileSync(join(dir, "data/new.txt"), "utf8"), "short", "a plain write truncates");
    await caps.call("fs.mkdir", ["data/a/b/c", { recursive: true }]);
    await caps.call("fs.mkdir", ["data/a/b/c", { recursive: true }]);
    await caps.call("fs.writeTextFile", ["data/a/b/c/f.txt", "deep"]);
    const listing = (await caps.call("fs.readDir", ["data"])) as { name: string; isDirectory: boolean; isSymlink: boolean }[];
    assert.deepEqual(listing.map((e) => e.name).sort(), ["a", "dirlink-out", "keep.txt", "link-out", "new.txt"]);
    assert.equal(listing.find((e) => e.name === "link-out")?.isSymlink, true);
    const st = (await caps.call("fs.stat", ["data/new.txt"])) as { isFile: boolean; size: number; mtimeMs: number };
    assert.equal(st.isFile, true);
    assert.equal(st.size, 5);
    assert.ok(st.mtimeMs > 0);
    await caps.call("fs.remove", ["data/a", { recursive: true }]);
    assert.equal(existsSync(join(dir, "data/a")), false);
    await caps.call("fs.remove", ["data/new.txt"]);
    assert.equal(existsSync(join(dir, "data/new.txt")), false);
    const use = events.filter((e) => e.type === "use" && e.op === "Warden.fs.writeTextFile()").at(-1);
    assert.equal(use?.rule, "data/");
    assert.equal(use?.source, "permissions.write[0]");
  });

  it("a read grant does not allow writing", () => denied("fs.writeTextFile", ["ro/readme.txt", "x"], /requires write access to ".*\/ro\/readme\.txt"/));
  it("denies writing through .. out of the grant (N1)", () => denied("fs.writeTextFile", ["data/../outside.txt", "x"], /outside\.txt" \(resolved from "data\/\.\.\/outside\.txt"\)/));
  it("denies writing through a symlink that points outside (N10)", async () => {
    await denied(
      "fs.writeTextFile",
      ["data/link-out", "pwned"],
      /"data\/link-out"; a symbolic link on its way leads outside the plugin's directory and what permissions\.write covers \(where it leads is in the host's audit log\)/,
    );
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
  });
  it("denies creating a file under a symlinked directory that points outside", async () => {
    await denied("fs.writeTextFile", ["data/dirlink-out/planted.txt", "x"], /planted\.txt/);
    assert.equal(existsSync(join(s.root, "planted.txt")), false);
  });
  it("denies mkdir and remove outside the grant, and leaves the target alone", async () => {
    await denied("fs.mkdir", ["data/../evil-dir"], /evil-dir/);
    assert.equal(existsSync(join(dir, "evil-dir")), false);
    await denied("fs.remove", ["data/../outside.txt"], /outside\.txt/);
    assert.equal(existsSync(join(dir, "outside.txt")), true);
  });
  it("removing a symlink removes the link, never its target outside the grant", async () => {
    symlinkSync(join(s.root, "victim.txt"), join(dir, "data/link-tmp"));
    await caps.call("fs.remove", ["data/link-tmp"]);
    assert.equal(existsSync(join(dir, "data/link-tmp")), false);
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
  });
  it("a recursive remove does not follow a symlinked directory out of the grant", async () => {
    mkdirSync(join(dir, "data/tree"));
    symlinkSync(s.root, join(dir, "data/tree/escape"));
    writeFileSync(join(dir, "data/tree/f.txt"), "f");
    await caps.call("fs.remove", ["data/tree", { recursive: true }]);
    assert.equal(existsSync(join(dir, "data/tree")), false);
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim", "the link's target survives");
  });
  it("readDir and stat need read access", async () => {
    await denied("fs.readDir", ["/etc"], /requires read access to "\/etc"/, "read");
    await denied("fs.stat", ["data/../outside.txt"], /outside\.txt/, "read");
    await denied("fs.stat", ["/proc/self/environ"], /paths under \/proc/, "read");
  });
  it("reports non-denials with a code", async () => {
    await assert.rejects(caps.call("fs.stat", ["data/missing"]), { code: "NotFound" });
    await assert.rejects(caps.call("fs.mkdir", ["data/keep.txt"]), { code: "AlreadyExists" });
    await assert.rejects(caps.call("fs.mkdir", ["data/x/y"]), (e: Error & { code?: string }) => e.code === "NotFound" && /recursive: true/.test(e.message));
    mkdirSync(join(dir, "data/full"));
    writeFileSync(join(dir, "data/full/f"), "f");
    await assert.rejects(caps.call("fs.remove", ["data/full"]), { code: "NotEmpty" });
    await assert.rejects(caps.call("fs.writeTextFile", ["data/full", "x"]), { code: "IsDirectory" });
    await assert.rejects(caps.call("fs.writeTextFile", ["data/nope.txt", "x", { create: false }]), { code: "NotFound" });
    await assert.rejects(caps.call("fs.writeTextFile", ["data/k.txt", "x", { truncate: true }]), { code: "BAD_INPUT" });
    await assert.rejects(caps.call("fs.writeTextFile", ["data/k.txt", 42]), { code: "BAD_INPUT" });
  });

  it("a parent directory swapped for a symlink after the check is refused (N2: check and use are one)", async () => {
    mkdirSync(join(dir, "data/swap"));
    const real = createNodeFs();
    let armed = true;
    // The attacker's move lands exactly between warden's check and its open of the parent.
    const racing: FsPort = {
      ...real,
      openParent: async (p) => {
        if (armed && dirname(p.real).endsWith("/data/swap")) {
          armed = false;
          renameSync(join(dir, "data/swap"), join(dir, "data/swap-old"));
          symlinkSync(s.root, join(dir, "data/swap"));
        }
        return real.openParent(p);
      },
    };
    caps = await build(racing);
    try {
      await denied("fs.writeTextFile", ["data/swap/planted.txt", "x"], /replaced by a symlink|changed while being checked/);
      assert.equal(existsSync(join(s.root, "planted.txt")), false, "nothing was created outside the grant");
    } finally {
      caps = await build();
    }
  });

  it("a grandparent swapped after the check is caught by the descriptor's real path", async () => {
    mkdirSync(join(dir, "data/g/p"), { recursive: true });
    mkdirSync(join(s.root, "elsewhere/p"), { recursive: true });
    const real = createNodeFs();
    let armed = true;
    const racing: FsPort = {
      ...real,
      openParent: async (p) => {
        if (armed && dirname(p.real).endsWith("/data/g/p")) {
          armed = false;
          renameSync(join(dir, "data/g"), join(dir, "data/g-old"));
          symlinkSync(join(s.root, "elsewhere"), join(dir, "data/g"));
        }
        return real.openParent(p);
      },
    };
    caps = await build(racing);
    try {
      await denied("fs.writeTextFile", ["data/g/p/planted.txt", "x"], /changed while being checked/);
      assert.equal(existsSync(join(s.root, "elsewhere/p/planted.txt")), false);
    } finally {
      caps = await build();
    }
  });

  it("a file swapped for a symlink after the check is not followed when writing", async () => {
    writeFileSync(join(dir, "data/target.txt"), "mine");
    const real = createNodeFs();
    let armed = true;
    const racing: FsPort = {
      ...real,
      openWrite: async (p, parent, o) => {
        if (armed) {
          armed = false;
          renameSync(join(dir, "data/target.txt"), join(dir, "data/target-old.txt"));
          symlinkSync(join(s.root, "victim.txt"), join(dir, "data/target.txt"));
        }
        return real.openWrite(p, parent, o);
      },
    };
    caps = await build(racing);
    try {
      await denied("fs.writeTextFile", ["data/target.txt", "pwned"], /replaced by a symlink/);
      assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
    } finally {
      caps = await build();
    }
  });
});
