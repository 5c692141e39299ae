// `warden install` as a user runs it: exit status 0 installed, 1 refused, 2 usage; exactly one JSON
// object on stdout with --json; a refused install leaves the plugins directory as it was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";
import { rawTar, snapshot } from "./tar-helpers.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");
let s: Scratch;

function warden(...args: string[]): { status: number | null; stdout: string; stderr: string; json: { ok: boolean; [k: string]: unknown } | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: s.root });
  let json = null;
  try {
    json = JSON.parse(r.stdout) as { ok: boolean };
  } catch {
    // not JSON output
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

function pkg(name: string, entries: Parameters<typeof rawTar>[0]): string {
  writeFileSync(join(s.root, name), rawTar(entries));
  return name;
}

const good = [
  { path: "plugin.json", data: JSON.stringify(manifest("test.cli")) },
  { path: "index.js", data: "export function hi() { return 1; }\n" },
];

describe("warden install", () => {
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("installs a pinned tarball (exit 0, one JSON object), then updates it", () => {
    const file = pkg("good.tgz", good);
    const pin = createHash("sha256")
      .update(readFileSync(join(s.root, file)))
      .digest("hex");
    const r = warden("install", file, "--plugins-dir", "plugins", "--sha256", pin, "--json");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1);
    assert.equal(r.json?.ok, true);
    assert.equal(r.json?.action, "installed");
    assert.equal(r.json?.id, "test.cli");
    assert.deepEqual(r.json?.integrity, { algorithm: "sha256", of: "tarball", digest: pin });
    const again = warden("install", file, "--plugins-dir", "plugins");
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^updated test\.cli 1\.0\.0 \(was 1\.0\.0\) into plugins\/test\.cli$/m);
    assert.match(again.stdout, /recorded in plugins\/warden-lock\.json/);
  });

  it("refuses (exit 1) a pin mismatch, a hostile entry and an invalid manifest, naming the package; nothing changes", () => {
    const before = snapshot(join(s.root, "plugins"));
    const mismatch = warden("install", pkg("m.tgz", good), "--plugins-dir", "plugins", "--sha256", "a".repeat(64), "--json");
    assert.equal(mismatch.status, 1);
    assert.equal((mismatch.json?.error as { code: string }).code, "INTEGRITY_MISMATCH");
    const evil = warden("install", pkg("evil.tgz", [...good, { path: "x", type: "2", linkpath: "/etc/passwd" }]), "--plugins-dir", "plugins");
    assert.equal(evil.status, 1);
    assert.match(evil.stderr, /^error PACKAGE_UNSAFE: cannot install evil\.tgz: entry "x" is a symbolic link to the absolute path "\/etc\/passwd"/);
    const bad = warden("install", pkg("bad.tgz", [{ path: "plugin.json", data: JSON.stringify({ id: "test.cli" }) }]), "--plugins-dir", "plugins", "--json");
    assert.equal(bad.status, 1);
    assert.equal((bad.json?.error as { code: string }).code, "MANIFEST_INVALID");
    assert.ok((bad.json?.error as { problems: string[] }).problems.some((p) => p.startsWith("name:")));
    assert.deepEqual(snapshot(join(s.root, "plugins")), before);
  });

  it("usage errors exit 2: a missing file, a malformed --sha256, no source, an unknown option; --help exits 0", () => {
    const missing = warden("install", "nope.tgz", "--plugins-dir", "plugins", "--json");
    assert.equal(missing.status, 2);
    assert.match((missing.json?.error as { message: string }).message, /nope\.tgz: no such file or directory/);
    const sha = warden("install", "good.tgz", "--sha256", "xyz");
    assert.equal(sha.status, 2);
    assert.match(sha.stderr, /--sha256 must be 64 hexadecimal digits/);
    assert.equal(warden("install").status, 2);
    assert.equal(warden("install", "good.tgz", "--pin", "x").status, 2);
    const help = warden("install", "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: warden install/);
    assert.match(warden("--help").stdout, /warden install <plugin-dir \| file\.tgz>/);
  });
});
