// Outside attacker: a malicious package author. The package installs cleanly (every entry passes
// install's rules) but ships a HARD link inside its data directory to its own plugin.json or
// index.js. A hard link's real path is its own name, so a write grant over data/ covers it by
// both lexical and real path, and the write lands in the protected inode: the plugin rewrites its
// own manifest and code, which the README says no write grant can do.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { installPlugin } from "../../core/index.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { rawTar, type RawEntry } from "../install/tar-helpers.ts";

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
