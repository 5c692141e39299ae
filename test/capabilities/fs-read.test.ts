// Warden.fs.readTextFile against the real filesystem: each attack (bypass IDs in docs/security.md)
// next to the granted read that must still work, and each denial present in the audit records.
import assert from "node:assert/strict";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCapabilities, type AuditEvent, type Capabilities } from "../../capabilities/index.ts";
import { nodePorts, TEST_LIMITS } from "../helpers/ports.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;
let dir: string;
let caps: Capabilities;
const events: AuditEvent[] = [];

async function denied(path: string, expect: RegExp): Promise<void> {
  const before = events.length;
  await assert.rejects(caps.call("fs.readTextFile", [path]), (e: Error & { code?: string; name: string }) => {
    assert.equal(e.code, "PERMISSION_DENIED");
    assert.equal(e.name, "PermissionDenied");
    assert.match(e.message, expect);
    assert.match(e.message, /add it to permissions\.read in plugin\.json of test\.reader/);
    return true;
  });
  const rec = events.slice(before).find((r) => r.type === "deny");
  assert.ok(rec, "the denial must be audited");
  assert.equal(rec.value, path);
  assert.equal(rec.permission, "read");
}

describe("fs read capability", () => {
  before(async () => {
    s = scratch();
    dir = s.plugin("reader", {}, { "data/ok.txt": "granted text", "data/sub/deep.txt": "deep", "data-evil/secret.txt": "sibling", "outside.txt": "outside" });
    writeFileSync(join(s.root, "secret.txt"), "top secret");
    symlinkSync(join(s.root, "secret.txt"), join(dir, "data/link-out"));
    symlinkSync("ok.txt", join(dir, "data/link-in"));
    mkdirSync(join(dir, "data/dir"));
    caps = await createCapabilities({
      pluginId: "test.reader",
      pluginDir: dir,
      grants: { read: ["data/"] },
      ports: nodePorts(),
      audit: { record: (e) => events.push(e) },
      limits: TEST_LIMITS,
    });
  });
  after(() => s.cleanup());

  it("positive control: reads a granted file and audits the use", async () => {
    assert.equal(await caps.call("fs.readTextFile", ["data/ok.txt"]), "granted text");
    assert.equal(await caps.call("fs.readTextFile", [join(dir, "data/sub/deep.txt")]), "deep");
    assert.equal(await caps.call("fs.readTextFile", ["data/link-in"]), "granted text", "a symlink inside the grant to a file inside it is fine");
    const use = events.find((e) => e.type === "use");
    assert.equal(use?.resolved, join(dir, "data/ok.txt"));
    assert.equal(use?.rule, "data/");
  });

  it("denies traversal with .. (N1)", () => denied("data/../outside.txt", /requires read access to ".*\/reader\/outside\.txt" \(resolved from "data\/\.\.\/outside\.txt"\)/));
  it("denies a sibling with the grant as its prefix (N12)", () => denied("data-evil/secret.txt", /data-evil\/secret\.txt/));
  it("denies an absolute path outside", () => denied("/etc/passwd", /requires read access to "\/etc\/passwd"/));
  it("denies a symlink inside the grant pointing outside (N10)", () =>
    denied("data/link-out", /"data\/link-out"; a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers \(where it leads is in the host's audit log\)/));
  it("denies /proc/self/environ even though it exists (D10)", () => denied("/proc/self/environ", /paths under \/proc are covered only by a grant that names a path under \/proc/));

  it("denies a symlinked parent directory swapped in after the grant was compiled", async () => {
    mkdirSync(join(dir, "data/swap"));
    writeFileSync(join(dir, "data/swap/f.txt"), "inside");
    assert.equal(await caps.call("fs.readTextFile", ["data/swap/f.txt"]), "inside");
    renameSync(join(dir, "data/swap"), join(dir, "data/swap-old"));
    symlinkSync(s.root, join(dir, "data/swap"));
    await denied("data/swap/secret.txt", /secret\.txt/);
  });

  it("reports non-denials with a code, not a host stack", async () => {
    await assert.rejects(caps.call("fs.readTextFile", ["data/missing.txt"]), { name: "NotFound", code: "NotFound" });
    await assert.rejects(caps.call("fs.readTextFile", ["data/dir"]), { name: "IsDirectory", code: "IsDirectory" });
    writeFileSync(join(dir, "data/big.txt"), "x".repeat(2048));
    await assert.rejects(caps.call("fs.readTextFile", ["data/big.txt"]), (e: Error & { code?: string }) => e.code === "TooLarge" && /limits\.readBytes/.test(e.message));
  });

  it("a dangling symlink pointing outside is denied, not reported as NotFound (no existence oracle)", async () => {
    symlinkSync(join(s.root, "does-not-exist.txt"), join(dir, "data/dangling"));
    await denied("data/dangling", /"data\/dangling"; a symbolic link on its way leads outside the plugin's directory and what permissions\.read covers \(where it leads is in the host's audit log\)/);
    assert.equal(events.at(-1)?.resolved, join(s.root, "does-not-exist.txt"), "the audit record says where it led");
  });

  it("rejects a malformed argument with BAD_INPUT", async () => {
    for (const bad of [[42], [""], ["a\0b"], [{ toString: "x" }]]) {
      await assert.rejects(caps.call("fs.readTextFile", bad), { code: "BAD_INPUT" });
    }
    await assert.rejects(caps.call("fs.readTextFile", []), { code: "BAD_INPUT" });
    await assert.rejects(caps.call("fs.nope", ["x"]), { code: "BAD_INPUT" });
  });

  it("answers permission queries for read, and rejects malformed descriptors with BAD_INPUT", async () => {
    assert.deepEqual(await caps.call("permissions.query", [{ name: "read", path: "data/ok.txt" }]), { state: "granted", rule: "data/", source: "permissions.read[0]" });
    assert.deepEqual(await caps.call("permissions.query", [{ name: "read", path: "data/link-out" }]), { state: "denied" });
    assert.deepEqual(await caps.call("permissions.query", [{ name: "read" }]), { state: "denied" });
    assert.deepEqual(await caps.call("permissions.query", [{ name: "write", path: "data/ok.txt" }]), { state: "denied" });
    await assert.rejects(caps.call("permissions.query", [{ name: "read", path: "" }]), { code: "BAD_INPUT" });
    await assert.rejects(caps.call("permissions.query", [{ name: "teleport" }]), { code: "BAD_INPUT" });
    await assert.rejects(caps.call("permissions.query", ["read"]), { code: "BAD_INPUT" });
  });
});
