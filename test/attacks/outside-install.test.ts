// Outside attacker: a malicious package author. The package installs cleanly (every entry passes
// install's rules) but ships a HARD link inside its data directory to its own plugin.json or
// index.js. A hard link's real path is its own name, so a write grant over data/ covers it by
// both lexical and real path, and the write lands in the protected inode: the plugin rewrites its
// own manifest and code, which the README says no write grant can do.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { installPlugin } from "../../core/index.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { gzipSync } from "node:zlib";
import { DEFAULTS } from "../../defaults/index.ts";
import { pax, rawTar, type RawEntry } from "../install/tar-helpers.ts";

const logger = createDefaultLogger("silent");

const CODE = `export const version = () => "v1";
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const read = (path) => Warden.fs.readTextFile(path);
`;
const EVIL_CODE = `export const version = () => "EVIL";
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);
export const read = (path) => Warden.fs.readTextFile(path);
`;
const ID = "evil.hardlink";
const MANIFEST = JSON.stringify(manifest(ID, { permissions: { read: ["data/"], write: ["data/"] } }));
const EVIL_MANIFEST = JSON.stringify(manifest(ID, { version: "6.6.6", permissions: { read: true, write: ["data/"], net: true, exec: ["sh"] } }));

let s: Scratch;
let pluginsDir: string;
let n = 0;

function tgz(entries: readonly RawEntry[]): string {
  const file = join(s.root, `pkg-${++n}.tgz`);
  writeFileSync(file, rawTar(entries));
  return file;
}

function pkg(extra: RawEntry[]): RawEntry[] {
  return [{ path: "plugin.json", data: MANIFEST }, { path: "index.js", data: CODE }, { path: "data/", type: "5" }, { path: "data/plain.txt", data: "plain" }, ...extra];
}

describe("outside: a package's hard link turns a data write grant into a write of its own manifest and code", () => {
  beforeEach(() => {
    s = scratch();
    pluginsDir = join(s.root, "plugins");
  });
  afterEach(() => s.cleanup());

  it("positive control: the same package without the links installs, and the plugin writes its data", async () => {
    await installPlugin({ source: tgz(pkg([])), pluginsDir });
    const host = await createHost({ pluginsDir, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      await host.invoke(ID, "write", { path: "data/plain.txt", text: "changed" });
      assert.equal(readFileSync(join(pluginsDir, ID, "data/plain.txt"), "utf8"), "changed");
      await assert.rejects(host.invoke(ID, "write", { path: "plugin.json", text: EVIL_MANIFEST }), { code: "PERMISSION_DENIED" });
      await assert.rejects(host.invoke(ID, "write", { path: "index.js", text: EVIL_CODE }), { code: "PERMISSION_DENIED" });
    } finally {
      await host.close();
    }
  });

  /** Install the package with the links and let the plugin write through them; false when install refused it (secure). */
  async function attack(): Promise<boolean> {
    try {
      await installPlugin({
        source: tgz(
          pkg([
            { path: "data/notes.txt", type: "1", linkpath: "plugin.json" },
            { path: "data/cache.txt", type: "1", linkpath: "index.js" },
          ]),
        ),
        pluginsDir,
      });
    } catch (e) {
      // Refusing such a package at install is one secure outcome.
      assert.equal((e as { code?: string }).code, "PACKAGE_UNSAFE");
      return false;
    }
    const host = await createHost({ pluginsDir, logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke(ID, "version"), "v1");
      // The plugin rewrites its manifest and code through the links (a write grant over data/).
      await host.invoke(ID, "write", { path: "data/notes.txt", text: EVIL_MANIFEST }).catch(() => undefined);
      await host.invoke(ID, "write", { path: "data/cache.txt", text: EVIL_CODE }).catch(() => undefined);
    } finally {
      await host.close();
    }
    return true;
  }

  it("data/notes.txt hard-linked to plugin.json and data/cache.txt to index.js: the plugin must not be able to rewrite its manifest or code", async () => {
    if (!(await attack())) return;
    const dir = join(pluginsDir, ID);
    assert.equal(readFileSync(join(dir, "plugin.json"), "utf8"), MANIFEST, "the plugin rewrote its own plugin.json through a hard link");
    assert.equal(readFileSync(join(dir, "index.js"), "utf8"), CODE, "the plugin rewrote its own index.js through a hard link");
  });

  it("the consequence at the next host start (approvals off, the default): its own code, with the permissions it wrote itself", async () => {
    if (!(await attack())) return;
    const host2 = await createHost({ pluginsDir, logger, healthIntervalMs: 0 });
    try {
      await host2.loadAll();
      assert.deepEqual(host2.manifestOf(ID)?.manifest.permissions, { read: ["data/"], write: ["data/"] }, "the permissions the plugin wrote itself");
      assert.equal(await host2.invoke(ID, "version"), "v1", "the code the plugin wrote runs");
    } finally {
      await host2.close();
    }
  });
});

describe("outside: a package's tar stream costs the installer what its files are worth, not what its headers and trailing bytes say", () => {
  beforeEach(() => {
    s = scratch();
    pluginsDir = join(s.root, "plugins");
  });
  afterEach(() => s.cleanup());

  const files = (id = ID): RawEntry[] => [
    { path: "plugin.json", data: JSON.stringify(manifest(id)) },
    { path: "index.js", data: CODE },
  ];
  function file(bytes: Buffer): string {
    const f = join(s.root, `pkg-${++n}.tgz`);
    writeFileSync(f, bytes);
    return f;
  }
  async function refused(source: string): Promise<{ code: string; message: string }> {
    try {
      await installPlugin({ source, pluginsDir });
    } catch (e) {
      assert.equal(existsSync(join(pluginsDir, ID)), false);
      return { code: String((e as { code?: unknown }).code), message: (e as Error).message };
    }
    return assert.fail("installed");
  }

  it("positive control: a package with pax headers on its entries, GNU tar's zero padding and a git-archive global header installs", async () => {
    const tar = rawTar([{ ...pax({ comment: "git commit" }), type: "g" }, pax({ mtime: "1700000000.5" }), ...files()], false);
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
    const r = await installPlugin({ source: file(gzipSync(padded)), pluginsDir });
    assert.equal(r.id, ID);
  });

  it("bytes after the archive's end are never decompressed or parsed: a package with megabytes of them installs", async () => {
    const tar = rawTar(files(), false);
    // The tar in one gzip member, then a second member of 64 MiB of junk (64 KiB compressed).
    const tail = gzipSync(Buffer.alloc(64 << 20, 0xff));
    const r = await installPlugin({ source: file(Buffer.concat([gzipSync(tar), tail])), pluginsDir });
    assert.equal(r.id, ID);
    // One gzip member: the tar, its end, then 32 MiB of junk that compresses ~500:1 (node-tar's
    // ratio check passes it). Read after the end, it was appended to a buffer 16 KiB at a time.
    const junk = Buffer.alloc(32 << 20);
    for (let i = 0; i < junk.length; i += 500) junk[i] = (i / 500) & 0xff;
    const r2 = await installPlugin({ source: file(gzipSync(Buffer.concat([tar, junk]), { level: 1 })), pluginsDir: join(s.root, "plugins2") });
    assert.equal(existsSync(join(s.root, "plugins2", ID, "index.js")), true);
    assert.equal(r2.id, ID);
  });

  it("a plain tar with 8 MiB after its end installs (node-tar copied the whole tail again for every 16 KiB of it)", async () => {
    const r = await installPlugin({ source: file(Buffer.concat([rawTar(files(), false), Buffer.alloc(8 << 20, 0x41)])), pluginsDir });
    assert.equal(r.id, ID);
  });

  it("a flood of headers without files (global pax headers before the plugin's entries) stops at the overhead bound", async () => {
    const flood = Array.from({ length: Math.ceil((DEFAULTS.install.files * DEFAULTS.tar.overheadBytesPerEntry) / 1024) + 10 }, () => ({ ...pax({ comment: "x" }), type: "g" }));
    const r = await refused(file(rawTar([...flood, ...files()])));
    assert.equal(r.code, "PACKAGE_TOO_LARGE", r.message);
    assert.match(r.message, /overheadBytesPerEntry|headers/);
  });

  it("a pax record larger than the bound is refused", async () => {
    const r = await refused(file(rawTar([pax({ comment: "x".repeat(DEFAULTS.tar.metaEntryBytes) }), ...files()])));
    assert.ok(["PACKAGE_UNSAFE", "PACKAGE_TOO_LARGE"].includes(r.code), r.message);
  });

  it("a gzip inside the gzip, or a zstd stream, is refused rather than decompressed past the count", async () => {
    const inner = rawTar(files());
    assert.equal((await refused(file(gzipSync(inner)))).code, "PACKAGE_INVALID");
    const zstdMagic = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600)]);
    assert.equal((await refused(file(zstdMagic))).code, "PACKAGE_INVALID");
  });

  it("entries renamed or doubled past the check: pax and GNU long names, global headers, case-only and Unicode-normalisation twins, a link spelled in another case, 10 000-character paths, devices and FIFOs", async () => {
    const other = (path: string, data = "x"): RawEntry => ({ path, data });
    const cases: Array<[string, RawEntry[], string]> = [
      ["a pax path ../", [pax({ path: "../evil.js" }), other("ok.js")], "PACKAGE_UNSAFE"],
      ["a pax path absolute", [pax({ path: "/tmp/evil.js" }), other("ok.js")], "PACKAGE_UNSAFE"],
      ["a pax path renaming a later entry to plugin.json", [pax({ path: "plugin.json" }), other("data.json", JSON.stringify(manifest("evil.other")))], "PACKAGE_UNSAFE"],
      ["a GNU long name ../", [{ path: "././@LongLink", type: "L", data: "../evil.js\0" }, other("ok.js")], "PACKAGE_UNSAFE"],
      [
        "a GNU long link name out",
        [
          { path: "././@LongLink", type: "K", data: "../../etc\0" },
          { path: "l", type: "2", linkpath: "x" },
        ],
        "PACKAGE_UNSAFE",
      ],
      ["a pax linkpath out", [pax({ linkpath: "../../etc/passwd" }), { path: "l", type: "2", linkpath: "index.js" }], "PACKAGE_UNSAFE"],
      ["Index.js beside index.js", [other("Index.js")], "PACKAGE_UNSAFE"],
      ["PLUGIN.JSON beside plugin.json", [other("PLUGIN.JSON", JSON.stringify(manifest("evil.other", { permissions: { read: true } })))], "PACKAGE_UNSAFE"],
      ["café in NFC and NFD", [other("caf\u00e9.js", "1"), other("cafe\u0301.js", "2")], "PACKAGE_UNSAFE"],
      ["a link Lib -> . and a file lib/x.js", [{ path: "Lib", type: "2", linkpath: "." }, other("lib/x.js")], "PACKAGE_UNSAFE"],
      [
        "a directory, then a symlink of the same name",
        [
          { path: "d/", type: "5" },
          { path: "d", type: "2", linkpath: "." },
        ],
        "PACKAGE_UNSAFE",
      ],
      ["a file, then a directory of the same name", [other("f"), { path: "f/", type: "5" }], "PACKAGE_UNSAFE"],
      ["a 10 000-character path", [pax({ path: `${"d/".repeat(4999)}x.js` }), other("y")], "PACKAGE_UNSAFE"],
      ["a 300-byte name", [pax({ path: "n".repeat(300) }), other("y")], "PACKAGE_UNSAFE"],
      ["a FIFO", [{ path: "p", type: "6" }], "PACKAGE_UNSAFE"],
      ["a character device", [{ path: "z", type: "3" }], "PACKAGE_UNSAFE"],
      ["a sparse file", [{ path: "s", type: "S", data: "x" }], "PACKAGE_UNSAFE"],
    ];
    for (const [what, extra, code] of cases) {
      const r = await refused(file(rawTar([...files(), ...extra])));
      assert.equal(r.code, code, `${what}: ${r.message}`);
    }
    // Neighbours that are fine: a global header's path is not an entry's, two names differing by more than case.
    const ok = await installPlugin({ source: file(rawTar([{ ...pax({ path: "../evil.js" }), type: "g" }, ...files(), other("lib/index.js"), other("lib/index2.js")])), pluginsDir });
    assert.equal(ok.id, ID);
    assert.equal(existsSync(join(pluginsDir, "evil.js")), false);
    assert.equal(existsSync(join(s.root, "evil.js")), false);
  });

  it("a package whose id names one of warden's own files in the plugins directory (warden-approvals.json) is refused; its neighbour installs", async () => {
    for (const id of ["warden-approvals.json", "warden-lock.json", "warden-consent.jsonl", "warden-anything.x"]) {
      const r = await refused(file(rawTar(files(id))));
      assert.equal(r.code, "MANIFEST_INVALID", r.message);
      assert.equal(existsSync(join(pluginsDir, id)), false);
    }
    assert.equal((await installPlugin({ source: file(rawTar(files("acme.warden-approvals"))), pluginsDir })).id, "acme.warden-approvals");
  });
});
