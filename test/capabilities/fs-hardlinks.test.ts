// Writes to a file with more than one name (a hard link). The path check judges names, and a hard
// link in a write grant may be another name of a file no grant reaches (the plugin's plugin.json,
// a file outside the grant): writing it, appending to it or truncating it would change that file.
// The Node fs port refuses to open such a file for writing, and the fs capability denies it
// (audited) on the descriptor it is about to write, even through a port that did not refuse.
// Each case has its positive control: a single-link file beside it is written as before.
import assert from "node:assert/strict";
import { constants, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, HardLinkedFileError, type AuditEvent, type Capabilities, type FsPort, type OpenedWritable } from "../../capabilities/index.ts";
import { createNodeFs } from "../../core/sys/node-fs.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let dir: string;
const events: AuditEvent[] = [];
const WHY = /has 2 hard links: writing it would change another file too; no write grant can allow it; to make the file writable, give it a name of its own/;

async function build(fs: FsPort = createNodeFs()): Promise<Capabilities> {
  return createCapabilities({
    pluginId: "test.linked",
    pluginDir: dir,
    grants: { read: ["data/"], write: ["data/"] },
    ports: nodePorts({ fs }),
    audit: { record: (e) => events.push(e) },
    limits: TEST_LIMITS,
  });
}

/** The write is PERMISSION_DENIED saying why, and audited as a write denial of `path`. */
async function refused(caps: Capabilities, args: unknown[]): Promise<void> {
  const before = events.length;
  await assert.rejects(caps.call("fs.writeTextFile", args), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED", e.message);
    assert.match(e.message, /^Warden\.fs\.writeTextFile\(\) requires write access to /);
    assert.match(e.message, WHY);
    return true;
  });
  const rec = events.slice(before).find((r) => r.type === "deny");
  assert.ok(rec, "the denial is audited");
  assert.equal(rec.value, args[0]);
  assert.equal(rec.permission, "write");
  assert.equal(rec.resolved, join(dir, String(args[0])));
  assert.match(rec.reason ?? "", /has 2 hard links/);
}

/** A port whose openWrite does not refuse linked files (an FsPort other than Node's): the capability must. */
function lenientPort(): FsPort {
  const real = createNodeFs();
  return {
    ...real,
    async openWrite(p, parent, o): Promise<OpenedWritable> {
      const handle = await open(parent.entry(basename(p.real)), constants.O_WRONLY | constants.O_NOFOLLOW | (o.create ? constants.O_CREAT : 0) | (o.append ? constants.O_APPEND : 0), 0o644);
      return {
        openedPath: async () => null,
        async stat() {
          const st = await handle.stat();
          return { isFile: st.isFile(), isDirectory: st.isDirectory(), isSymlink: false, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, nlink: st.nlink };
        },
        close: () => handle.close(),
        truncate: () => handle.truncate(0),
        write: async (data) => {
          await handle.write(data);
        },
      };
    },
  };
}

describe("fs writes to a file with other names, hard links (O3)", () => {
  before(() => {
    s = scratch();
    dir = s.plugin("linked", {}, { "index.js": "export const x = 1;\n", "data/single.txt": "single" });
    writeFileSync(join(s.root, "victim.txt"), "victim");
    linkSync(join(s.root, "victim.txt"), join(dir, "data/out.txt"));
    linkSync(join(dir, "plugin.json"), join(dir, "data/notes.txt"));
    linkSync(join(dir, "index.js"), join(dir, "data/cache.txt"));
  });
  after(() => s.cleanup());

  const manifest = () => readFileSync(join(dir, "plugin.json"), "utf8");

  it("writing, appending to or truncating a linked file is denied and changes nothing (control: a single-link file in the grant is written)", async () => {
    const caps = await build();
    const was = manifest();
    await refused(caps, ["data/notes.txt", "{}"]);
    await refused(caps, ["data/notes.txt", "{}", { append: true }]);
    await refused(caps, ["data/notes.txt", "", { create: false }]);
    await refused(caps, ["data/cache.txt", "export const x = 2;\n"]);
    await refused(caps, ["data/out.txt", "pwned"]);
    assert.equal(manifest(), was, "plugin.json is as it was, not truncated");
    assert.equal(readFileSync(join(dir, "index.js"), "utf8"), "export const x = 1;\n");
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
    // Reading a linked file changes nothing, and stays allowed.
    assert.equal(await caps.call("fs.readTextFile", ["data/out.txt"]), "victim");
    // Positive controls: a single-link file, written, appended, truncated; a new file created.
    await caps.call("fs.writeTextFile", ["data/single.txt", "changed"]);
    await caps.call("fs.writeTextFile", ["data/single.txt", "!", { append: true }]);
    assert.equal(readFileSync(join(dir, "data/single.txt"), "utf8"), "changed!");
    await caps.call("fs.writeTextFile", ["data/new.txt", "new"]);
    assert.equal(readFileSync(join(dir, "data/new.txt"), "utf8"), "new");
  });

  it("the Node fs port refuses by itself: openWrite rejects with HardLinkedFileError before anything is written", async () => {
    const real = createNodeFs();
    const seen: unknown[] = [];
    const recording: FsPort = {
      ...real,
      openWrite: async (p, parent, o) => {
        try {
          return await real.openWrite(p, parent, o);
        } catch (e) {
          seen.push(e);
          throw e;
        }
      },
    };
    const caps = await build(recording);
    await refused(caps, ["data/out.txt", "pwned"]);
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof HardLinkedFileError);
    assert.equal(seen[0].nlink, 2);
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
    // Control: the same port opens a single-link file.
    await caps.call("fs.writeTextFile", ["data/single.txt", "port"]);
    assert.equal(seen.length, 1);
  });

  it("the capability denies on the descriptor even through a port that does not refuse (control: that port writes a single-link file)", async () => {
    const caps = await build(lenientPort());
    const was = manifest();
    await refused(caps, ["data/notes.txt", "{}"]);
    await refused(caps, ["data/out.txt", "pwned", { append: true }]);
    assert.equal(manifest(), was);
    assert.equal(readFileSync(join(s.root, "victim.txt"), "utf8"), "victim");
    await caps.call("fs.writeTextFile", ["data/single.txt", "lenient"]);
    assert.equal(readFileSync(join(dir, "data/single.txt"), "utf8"), "lenient");
  });

  it("once the other name is gone, the file is an ordinary file again and is written", async () => {
    const caps = await build();
    unlinkSync(join(s.root, "victim.txt"));
    await caps.call("fs.writeTextFile", ["data/out.txt", "mine now"]);
    assert.equal(readFileSync(join(dir, "data/out.txt"), "utf8"), "mine now");
  });
});
