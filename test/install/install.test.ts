// installPlugin as an attacker meets it: every hostile package is refused with its own code and
// changes nothing in the plugins directory (nor anywhere else), and each test has a positive
// control, a package that differs only in the hostile part and installs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { create } from "tar";
import { installPlugin, type InstallOptions, type InstallResult } from "../../core/index.ts";
import { readLockFile } from "../../core/install/lock-file.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { pax, rawTar, snapshot, type RawEntry } from "./tar-helpers.ts";

let s: Scratch;
let pluginsDir: string;
let n = 0;

const INDEX = "export function hi() { return 'hi'; }\n";

function base(id = "test.good", extra: object = {}, prefix = ""): RawEntry[] {
  return [
    { path: `${prefix}plugin.json`, data: JSON.stringify(manifest(id, extra)) },
    { path: `${prefix}index.js`, data: INDEX },
  ];
}

function tgz(entries: readonly RawEntry[] | Buffer): string {
  const file = join(s.root, `pkg-${++n}.tgz`);
  writeFileSync(file, Buffer.isBuffer(entries) ? entries : rawTar(entries));
  return file;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The install is refused with `code` and a message matching `message`; nothing under the scratch root changed. */
async function refused(source: string, code: string, message: RegExp, extra: Partial<InstallOptions> = {}): Promise<void> {
  const before = snapshot(s.root);
  await assert.rejects(installPlugin({ source, pluginsDir, ...extra }), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message ?? "", message);
    return true;
  });
  assert.deepEqual(snapshot(s.root), before, "a refused install changes nothing");
}

async function accepted(source: string, extra: Partial<InstallOptions> = {}): Promise<InstallResult> {
  return installPlugin({ source, pluginsDir, ...extra });
}

describe("installPlugin", () => {
  beforeEach(async () => {
    s = scratch();
    pluginsDir = join(s.root, "plugins");
    // A bystander, so that the lock file exists and "unchanged" means something.
    const other = s.plugin("src-other", manifest("test.other"), { "index.js": INDEX });
    await installPlugin({ source: other, pluginsDir });
  });
  afterEach(() => s.cleanup());

  it("installs a good tarball made by node-tar into the directory named by its id, and records it", async () => {
    const src = s.plugin("src-good", manifest("test.good", { permissions: { read: ["data/"] } }), { "index.js": INDEX, "data/a.txt": "a" }, { "data/self.js": "../index.js" });
    const file = join(s.root, "good.tgz");
    await create({ gzip: true, file, cwd: src, portable: true }, ["."]);
    const r = await accepted(file);
    assert.equal(r.action, "installed");
    assert.equal(r.id, "test.good");
    assert.equal(r.dir, join(pluginsDir, "test.good"));
    assert.equal(r.previous, null);
    assert.equal(readFileSync(join(pluginsDir, "test.good/data/a.txt"), "utf8"), "a");
    assert.equal(readlinkSync(join(pluginsDir, "test.good/data/self.js")), "../index.js");
    const lock = await readLockFile(pluginsDir);
    const entry = lock.plugins["test.good"];
    assert.ok(entry);
    assert.equal(entry.version, "1.0.0");
    assert.equal(entry.dir, "test.good");
    assert.deepEqual(entry.source, { kind: "tarball", path: file });
    assert.deepEqual(entry.integrity, { algorithm: "sha256", of: "tarball", digest: sha256(readFileSync(file)) });
    assert.equal(entry.manifestSha256, sha256(readFileSync(join(src, "plugin.json"))));
    assert.deepEqual(entry.permissions, { read: ["data/"] });
    assert.ok(lock.plugins["test.other"], "the other plugin's entry stays");
    // The same plugin from its directory: the files' digest is the same whichever way it came.
    const again = await accepted(src);
    assert.equal(again.action, "updated");
    assert.deepEqual(again.entry.integrity, { algorithm: "sha256", of: "files", digest: entry.filesSha256 });
    // The lock file's text has its keys sorted at every level.
    const text = readFileSync(join(pluginsDir, "warden-lock.json"), "utf8");
    assert.deepEqual(Object.keys(JSON.parse(text) as object), ["lockfileVersion", "plugins"]);
    assert.ok(text.indexOf('"dir"') < text.indexOf('"id"') && text.indexOf('"id"') < text.indexOf('"version"'));
    assert.deepEqual(
      Object.keys(snapshot(pluginsDir)).filter((p) => p.startsWith(".")),
      [],
      "no staging directory or temporary lock file is left behind",
    );
  });

  it("installs a good directory, and a directory pinned to its files' digest; a wrong pin is refused and the installed version stays", async () => {
    const src = s.plugin("src-dir", manifest("test.dir"), { "index.js": INDEX, "lib/util.js": "export const x = 1;\n" });
    const r = await accepted(src);
    assert.equal(r.entry.source.kind, "directory");
    assert.equal(r.entry.integrity.of, "files");
    assert.equal(r.entry.integrity.digest, r.entry.filesSha256);
    assert.equal(readFileSync(join(pluginsDir, "test.dir/lib/util.js"), "utf8"), "export const x = 1;\n");
    await accepted(src, { sha256: r.entry.filesSha256.toUpperCase() });
    writeFileSync(join(src, "lib/util.js"), "export const x = 2;\n");
    await refused(src, "INTEGRITY_MISMATCH", /not the pinned/, { sha256: r.entry.filesSha256 });
    assert.equal(readFileSync(join(pluginsDir, "test.dir/lib/util.js"), "utf8"), "export const x = 1;\n");
  });

  it("a tarball whose sha256 is not the pin is refused before it is parsed; the right pin installs", async () => {
    const file = tgz(base());
    await refused(file, "INTEGRITY_MISMATCH", /its sha256 is [0-9a-f]{64}, not the pinned 0{64}/, { sha256: "0".repeat(64) });
    // Not even parsed: garbage with a wrong pin is a mismatch, not an unreadable archive.
    const garbage = tgz(Buffer.from("this is not a tarball"));
    await refused(garbage, "INTEGRITY_MISMATCH", /not the pinned/, { sha256: "1".repeat(64) });
    await refused(garbage, "PACKAGE_INVALID", /not a readable tar archive/);
    const r = await accepted(file, { sha256: sha256(readFileSync(file)) });
    assert.equal(r.entry.integrity.digest, sha256(readFileSync(file)));
  });

  it("refuses entries with '..' anywhere and leaves nothing beside the plugins directory; a plain name installs", async () => {
    await refused(tgz([...base(), { path: "../escaped.txt", data: "x" }]), "PACKAGE_UNSAFE", /"\.\.\/escaped\.txt" has a '\.\.' component/);
    await refused(tgz([...base(), { path: "data/../../../escaped.txt", data: "x" }]), "PACKAGE_UNSAFE", /'\.\.' component/);
    assert.equal(existsSync(join(s.root, "escaped.txt")), false);
    await accepted(tgz([...base(), { path: "escaped.txt", data: "x" }]));
    assert.equal(readFileSync(join(pluginsDir, "test.good/escaped.txt"), "utf8"), "x");
  });

  it("refuses absolute entry paths; the same name relative installs", async () => {
    const abs = join(s.root, "abs-target.txt");
    await refused(tgz([...base(), { path: abs, data: "x" }]), "PACKAGE_UNSAFE", /is an absolute path/);
    assert.equal(existsSync(abs), false);
    await refused(tgz([...base(), { path: "C:/x.txt", data: "x" }]), "PACKAGE_UNSAFE", /drive letter/);
    await refused(tgz([...base(), { path: "..\\x.txt", data: "x" }]), "PACKAGE_UNSAFE", /backslash/);
    await accepted(tgz([...base(), { path: "abs-target.txt", data: "x" }]));
  });

  it("refuses symbolic links that lead out (absolute, by '..', through another link); a link inside installs", async () => {
    await refused(tgz([...base(), { path: "passwd", type: "2", linkpath: "/etc/passwd" }]), "PACKAGE_UNSAFE", /symbolic link to the absolute path "\/etc\/passwd"/);
    await refused(tgz([...base(), { path: "data/", type: "5" }, { path: "data/passwd", type: "2", linkpath: "../../../etc/passwd" }]), "PACKAGE_UNSAFE", /leads out of the plugin/);
    await refused(tgz([...base(), { path: "up", type: "2", linkpath: ".." }]), "PACKAGE_UNSAFE", /leads out of the plugin/);
    // A link to "." makes a lexical check of "d/../x" wrong: refused, in whichever order they come.
    await refused(tgz([...base(), { path: "d", type: "2", linkpath: "." }, { path: "l", type: "2", linkpath: "d/../../x" }]), "PACKAGE_UNSAFE", /passes through the symbolic link "d"/);
    await refused(tgz([...base(), { path: "l", type: "2", linkpath: "d/.." }, { path: "d", type: "2", linkpath: "." }]), "PACKAGE_UNSAFE", /passes through the symbolic link "d"/);
    // Writing through a link: "d -> /tmp" then "d/x" (refused for the link alone; this one for the path too).
    await refused(tgz([...base(), { path: "d", type: "2", linkpath: "sub" }, { path: "d/x", data: "x" }]), "PACKAGE_UNSAFE", /"d\/x" passes through the symbolic link "d"/);
    await accepted(tgz([...base(), { path: "data/", type: "5" }, { path: "data/self.js", type: "2", linkpath: "../index.js" }, { path: "d", type: "2", linkpath: "." }]));
    assert.equal(readlinkSync(join(pluginsDir, "test.good/data/self.js")), "../index.js");
  });

  it("refuses hard links to anything but an earlier file of the plugin; a hard link to index.js installs", async () => {
    await refused(tgz([...base(), { path: "passwd", type: "1", linkpath: "/etc/passwd" }]), "PACKAGE_UNSAFE", /absolute path/);
    await refused(tgz([...base(), { path: "passwd", type: "1", linkpath: "../../../../etc/passwd" }]), "PACKAGE_UNSAFE", /'\.\.' component/);
    await refused(tgz([...base(), { path: "early", type: "1", linkpath: "late.js" }, { path: "late.js", data: "x" }]), "PACKAGE_UNSAFE", /not a regular file earlier in the plugin/);
    await refused(tgz([...base(), { path: "l", type: "2", linkpath: "index.js" }, { path: "h", type: "1", linkpath: "l" }]), "PACKAGE_UNSAFE", /not a regular file earlier/);
    await accepted(tgz([...base(), { path: "copy.js", type: "1", linkpath: "index.js" }]));
    assert.equal(readFileSync(join(pluginsDir, "test.good/copy.js"), "utf8"), INDEX);
    assert.equal(lstatSync("/etc/passwd").nlink, 1, "no link to the host's files was made");
  });

  it("unpacks a hard link as an independent copy of its target: no two installed paths share an inode (control: a package without links installs as before)", async () => {
    const MANIFEST = JSON.stringify(manifest("test.good", { permissions: { read: ["data/"], write: ["data/"] } }));
    const links: RawEntry[] = [
      { path: "plugin.json", data: MANIFEST },
      { path: "index.js", data: INDEX },
      { path: "data/", type: "5" },
      { path: "data/notes.txt", type: "1", linkpath: "plugin.json" },
      { path: "data/cache.txt", type: "1", linkpath: "./index.js" },
      // A link whose directory has no entry of its own: made, as node-tar makes it for a file.
      { path: "deep/er/copy.js", type: "1", linkpath: "index.js" },
    ];
    await accepted(tgz(links));
    const dir = join(pluginsDir, "test.good");
    for (const [copy, of] of [
      ["data/notes.txt", "plugin.json"],
      ["data/cache.txt", "index.js"],
      ["deep/er/copy.js", "index.js"],
    ] as const) {
      const a = lstatSync(join(dir, copy));
      const b = lstatSync(join(dir, of));
      assert.ok(a.isFile(), copy);
      assert.notEqual(a.ino, b.ino, `${copy} is its own file, not ${of}`);
      assert.equal(a.nlink, 1, copy);
      assert.equal(b.nlink, 1, of);
      assert.equal(a.mode, b.mode, `${copy} has the mode of ${of}`);
      assert.equal(readFileSync(join(dir, copy), "utf8"), readFileSync(join(dir, of), "utf8"));
    }
    // Writing the copy leaves the manifest as it was.
    writeFileSync(join(dir, "data/notes.txt"), "{}");
    assert.equal(readFileSync(join(dir, "plugin.json"), "utf8"), MANIFEST);
    // Control: the same package without the links.
    await accepted(tgz([...links.slice(0, 3), { path: "data/notes.txt", data: "notes" }]));
    assert.equal(readFileSync(join(dir, "data/notes.txt"), "utf8"), "notes");
    assert.equal(readFileSync(join(dir, "plugin.json"), "utf8"), MANIFEST);
    assert.equal(existsSync(join(dir, "data/cache.txt")), false);
  });

  it("counts a hard link's copy towards limits.totalBytes; within the cap installs", async () => {
    const big: RawEntry = { path: "big.bin", data: Buffer.alloc(4000) };
    const link = (i: number): RawEntry => ({ path: `copy${i}.bin`, type: "1", linkpath: "big.bin" });
    await refused(tgz([...base(), big, link(1), link(2)]), "PACKAGE_TOO_LARGE", /add up to more than 10000 bytes .*limits\.totalBytes/, { limits: { totalBytes: 10_000 } });
    await accepted(tgz([...base(), big, link(1)]), { limits: { totalBytes: 10_000 } });
  });

  it("refuses devices, FIFOs and unknown entry types; the same name as a file installs", async () => {
    await refused(tgz([...base(), { path: "null", type: "3" }]), "PACKAGE_UNSAFE", /is a CharacterDevice/);
    await refused(tgz([...base(), { path: "sda", type: "4" }]), "PACKAGE_UNSAFE", /is a BlockDevice/);
    await refused(tgz([...base(), { path: "fifo", type: "6" }]), "PACKAGE_UNSAFE", /is a FIFO/);
    await refused(tgz([...base(), { path: "odd", type: "Z" }]), "PACKAGE_UNSAFE", /unsupported type/);
    await accepted(tgz([...base(), { path: "fifo", data: "" }]));
  });

  it("refuses an entry that appears twice (a file replaced by a link); once installs", async () => {
    await refused(tgz([...base(), { path: "data.txt", data: "a" }, { path: "./data.txt", type: "2", linkpath: "index.js" }]), "PACKAGE_UNSAFE", /appears twice/);
    await accepted(tgz([...base(), { path: "data.txt", data: "a" }]));
  });

  it("refuses more entries than limits.files; exactly the limit installs", async () => {
    const files = (k: number): RawEntry[] => Array.from({ length: k }, (_, i) => ({ path: `f${i}.txt`, data: "x" }));
    await refused(tgz([...base(), ...files(4)]), "PACKAGE_TOO_LARGE", /more than 5 entries \(limits\.files\)/, { limits: { files: 5 } });
    await accepted(tgz([...base(), ...files(3)]), { limits: { files: 5 } });
  });

  it("refuses a file too large, by its declared size and by the data it really has; within the cap installs", async () => {
    await refused(tgz([...base(), { path: "big.bin", data: "x".repeat(2000) }]), "PACKAGE_TOO_LARGE", /"big\.bin" is 2000 bytes, more than the 1000 .*limits\.fileBytes/, {
      limits: { fileBytes: 1000 },
    });
    // Declared 4 GiB with no data at all: refused by the header, nothing allocated or written.
    await refused(tgz([...base(), { path: "huge.bin", size: 4 * 1024 ** 3 }]), "PACKAGE_TOO_LARGE", /"huge\.bin" is 4294967296 bytes/);
    // A pax header declares 10 bytes, the ustar header and the data 5000: node-tar reads 10 (the
    // pax size wins) and the rest is not a header, so the whole archive is refused. (The count of
    // bytes actually read, past the declared size, is tested on EntryChecker in entries.test.ts.)
    await refused(tgz([...base(), pax({ size: "10" }), { path: "liar.bin", data: "x".repeat(5000) }]), "PACKAGE_INVALID", /not a readable tar archive/, { limits: { fileBytes: 1000 } });
    // A pax header declaring more than the ustar header: the pax size is the declared size.
    await refused(tgz([...base(), pax({ size: "5000" }), { path: "liar.bin", data: "x".repeat(5000), size: 10 }]), "PACKAGE_TOO_LARGE", /"liar\.bin" is 5000 bytes/, { limits: { fileBytes: 1000 } });
    // Many files within the per-file cap, too many bytes together (a gzip bomb stops here).
    const zeros = (i: number): RawEntry => ({ path: `z${i}.bin`, data: Buffer.alloc(4000) });
    await refused(tgz([...base(), zeros(1), zeros(2), zeros(3)]), "PACKAGE_TOO_LARGE", /add up to more than 10000 bytes .*limits\.totalBytes/, { limits: { totalBytes: 10_000 } });
    await refused(tgz([...base(), zeros(1)]), "PACKAGE_TOO_LARGE", /limits\.packageBytes/, { limits: { packageBytes: 100 } });
    await accepted(tgz([...base(), pax({ size: "1000" }), { path: "ok.bin", data: "x".repeat(1000) }, zeros(1)]), { limits: { fileBytes: 4000, totalBytes: 10_000 } });
  });

  it("refuses a package without plugin.json, or with plugin.json as a link; with it, installs", async () => {
    await refused(tgz([{ path: "index.js", data: INDEX }]), "MANIFEST_INVALID", /no plugin\.json at its top/);
    await refused(
      tgz([
        { path: "real.json", data: JSON.stringify(manifest("test.good")) },
        { path: "plugin.json", type: "2", linkpath: "real.json" },
      ]),
      "MANIFEST_INVALID",
      /plugin\.json is invalid/,
    );
    await refused(
      tgz([
        { path: "a/plugin.json", data: JSON.stringify(manifest("test.good")) },
        { path: "b/index.js", data: INDEX },
      ]),
      "MANIFEST_INVALID",
      /no plugin\.json/,
    );
    await accepted(tgz(base()));
  });

  it("refuses a manifest that fails validation, naming the package and the field; a valid one installs", async () => {
    const bad = (m: object): RawEntry[] => [
      { path: "plugin.json", data: JSON.stringify(m) },
      { path: "index.js", data: INDEX },
    ];
    await refused(tgz(bad({ ...manifest("test.good"), permisions: {} })), "MANIFEST_INVALID", /pkg-\d+\.tgz: plugin\.json: permisions: unknown key/);
    await refused(tgz(bad(manifest("../../etc"))), "MANIFEST_INVALID", /plugin\.json: id:/);
    await refused(tgz(bad({ ...manifest("test.good"), engines: { warden: ">=99.0.0" } })), "MANIFEST_INVALID", /engines\.warden/);
    await refused(tgz([{ path: "plugin.json", data: "{ not json" }]), "MANIFEST_INVALID", /not valid JSON/);
    await accepted(tgz(bad(manifest("test.good"))));
  });

  it("names the directory by the id, never by the package's top-level directory", async () => {
    const r = await accepted(tgz(base("test.good", {}, "evil/")));
    assert.equal(r.dir, join(pluginsDir, "test.good"));
    assert.equal(existsSync(join(pluginsDir, "evil")), false);
    assert.equal(readFileSync(join(pluginsDir, "test.good/index.js"), "utf8"), INDEX);
    await refused(tgz([...base("test.good", {}, "evil/"), { path: "outside.txt", data: "x" }]), "MANIFEST_INVALID", /no plugin\.json/);
  });

  it("updates an installed plugin by replacing it; a bad new version (manifest, entry, refused hook) leaves the old one and its lock entry", async () => {
    await accepted(tgz([...base(), { path: "v1-only.txt", data: "1" }]));
    const v2 = await accepted(tgz([...base("test.good", { version: "2.0.0", permissions: { net: ["example.org"] } }), { path: "v2-only.txt", data: "2" }]));
    assert.equal(v2.action, "updated");
    assert.equal(v2.previous?.version, "1.0.0");
    assert.deepEqual(v2.previous?.permissions, {});
    assert.deepEqual(v2.next.permissions, { net: ["example.org"] });
    assert.equal(v2.locked?.version, "1.0.0");
    assert.equal(existsSync(join(pluginsDir, "test.good/v1-only.txt")), false);
    assert.equal(readFileSync(join(pluginsDir, "test.good/v2-only.txt"), "utf8"), "2");
    assert.equal((await readLockFile(pluginsDir)).plugins["test.good"]?.version, "2.0.0");
    await refused(tgz([{ path: "plugin.json", data: JSON.stringify({ ...manifest("test.good"), version: "nope" }) }]), "MANIFEST_INVALID", /version/);
    await refused(tgz([...base("test.good", { version: "3.0.0" }), { path: "x", type: "2", linkpath: "/etc" }]), "PACKAGE_UNSAFE", /absolute path/);
    let seen: unknown = null;
    await refused(tgz(base("test.good", { version: "3.0.0", permissions: { exec: ["sh"] } })), "PERMISSION_DENIED", /not approved/, {
      beforeCommit: (change) => {
        seen = change;
        throw Object.assign(new Error("not approved"), { code: "PERMISSION_DENIED" });
      },
    });
    assert.deepEqual((seen as { previous: { version: string }; next: { permissions: object } }).previous.version, "2.0.0");
    assert.deepEqual((seen as { next: { permissions: object } }).next.permissions, { exec: ["sh"] });
    assert.equal(readFileSync(join(pluginsDir, "test.good/v2-only.txt"), "utf8"), "2");
  });

  it("refuses an id another directory holds, or a place taken by something else; the free place installs", async () => {
    mkdirSync(join(pluginsDir, "hand-placed"));
    writeFileSync(join(pluginsDir, "hand-placed/plugin.json"), JSON.stringify(manifest("test.good")));
    await refused(tgz(base()), "INSTALL_CONFLICT", /hand-placed" already holds plugin test\.good/);
    mkdirSync(join(pluginsDir, "test.taken"));
    writeFileSync(join(pluginsDir, "test.taken/plugin.json"), JSON.stringify(manifest("test.somebody")));
    await refused(tgz(base("test.taken")), "INSTALL_CONFLICT", /holds plugin test\.somebody/);
    writeFileSync(join(pluginsDir, "test.file"), "x");
    await refused(tgz(base("test.file")), "INSTALL_CONFLICT", /is not a directory/);
    await accepted(tgz(base("test.free")));
  });

  it("refuses directories with links out or FIFOs, by the same rules as tarballs", async () => {
    const out = s.plugin("src-out", manifest("test.out"), { "index.js": INDEX }, { passwd: "/etc/passwd" });
    await refused(out, "PACKAGE_UNSAFE", /"passwd" is a symbolic link to the absolute path/);
    const fifo = s.plugin("src-fifo", manifest("test.fifo"), { "index.js": INDEX });
    spawnSync("mkfifo", [join(fifo, "pipe")]);
    await refused(fifo, "PACKAGE_UNSAFE", /"pipe" is a FIFO/);
    await accepted(s.plugin("src-in", manifest("test.in"), { "index.js": INDEX }, { "self.js": "index.js" }));
  });

  it("copies a directory's hard links as independent files: the installed manifest and code share no inode with data/ (control: the source's links are left as they are)", async () => {
    const src = s.plugin("src-links", manifest("test.links", { permissions: { write: ["data/"] } }), { "index.js": INDEX, "data/keep.txt": "keep" });
    linkSync(join(src, "plugin.json"), join(src, "data/notes.txt"));
    linkSync(join(src, "index.js"), join(src, "data/cache.txt"));
    await accepted(src);
    const dir = join(pluginsDir, "test.links");
    for (const name of ["plugin.json", "index.js", "data/notes.txt", "data/cache.txt", "data/keep.txt"]) assert.equal(lstatSync(join(dir, name)).nlink, 1, name);
    assert.notEqual(lstatSync(join(dir, "data/notes.txt")).ino, lstatSync(join(dir, "plugin.json")).ino);
    assert.equal(readFileSync(join(dir, "data/notes.txt"), "utf8"), readFileSync(join(src, "plugin.json"), "utf8"));
    assert.equal(lstatSync(join(src, "plugin.json")).nlink, 2, "the source is not changed");
  });

  it("refuses bad arguments and an unreadable lock file, changing nothing", async () => {
    await refused(join(s.root, "missing.tgz"), "BAD_INPUT", /missing\.tgz: no such file or directory/);
    await refused(tgz(base()), "BAD_INPUT", /--sha256 must be 64 hexadecimal digits/, { sha256: "abc" });
    await refused(tgz(base()), "BAD_INPUT", /limits\.files must be a positive integer/, { limits: { files: 0 } });
    await refused(pluginsDir, "BAD_INPUT", /inside the plugins directory/);
    writeFileSync(join(pluginsDir, "warden-lock.json"), "{ broken");
    await refused(tgz(base()), "LOCK_FILE_INVALID", /warden-lock\.json.*not valid JSON/);
    writeFileSync(join(pluginsDir, "warden-lock.json"), JSON.stringify({ lockfileVersion: 1, plugins: { "test.x": { id: "test.x" } } }));
    await refused(tgz(base()), "LOCK_FILE_INVALID", /plugins\.test\.x\.version/);
  });

  it("refuses a truncated or corrupt tarball; the whole one installs", async () => {
    const whole = rawTar(base(), false);
    await refused(tgz(whole.subarray(0, 700)), "PACKAGE_INVALID", /not a readable tar archive/);
    const corrupt = Buffer.from(whole);
    corrupt[0] = 0x41; // the checksum no longer matches
    await refused(tgz(corrupt), "PACKAGE_INVALID", /not a readable tar archive/);
    await accepted(tgz(whole));
  });

  it("a plugins directory the install created is removed again when the install is refused", async () => {
    pluginsDir = join(s.root, "fresh");
    await refused(tgz([...base(), { path: "../x", data: "x" }]), "PACKAGE_UNSAFE", /'\.\.'/);
    assert.equal(existsSync(pluginsDir), false);
    await accepted(tgz(base()));
    assert.ok(existsSync(join(pluginsDir, "warden-lock.json")));
  });
});
