// An approval is of places, not of spellings: `write: ["data/"]` approved while data/ was a real
// directory must not silently become a grant of wherever a symlink swapped in later points (an
// update that ships `data -> alt`, an absolute grant whose link an attacker re-pointed). The
// approval keeps where each path grant led; a grant that leads elsewhere now waits for a new one.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readApprovals, writeApprovals } from "../../core/consent/approvals-file.ts";
import { approveGrants, grantsDiff, listGrants } from "../../core/consent/grant-decisions.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { manifest, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const CODE = `export const read = (p) => Warden.fs.readTextFile(p);
export const write = ({ path, text }) => Warden.fs.writeTextFile(path, text);`;
const logger = createDefaultLogger("silent");

async function stateOf(root: string, id: string): Promise<{ state: string; reason: string }> {
  const { plugins } = await listGrants(root);
  const p = plugins.find((x) => x.id === id);
  assert.ok(p !== undefined, `${id} is listed`);
  return { state: p.state, reason: JSON.stringify(p) };
}

describe("an approval keeps where each path grant led", () => {
  let s: Scratch;
  let elsewhere: string;
  before(() => {
    s = scratch();
    elsewhere = join(s.root, "..", `${join(s.root).split("/").pop() ?? "x"}-elsewhere`);
    mkdirSync(join(elsewhere, "a"), { recursive: true });
    mkdirSync(join(elsewhere, "b"), { recursive: true });
    writeFileSync(join(elsewhere, "b", "secret.txt"), "b's secret");
  });
  after(() => {
    s.cleanup();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it("a data/ directory replaced by a link to a sibling after approval needs a new approval; the host does not load it; approved again, it runs", async () => {
    const dir = s.plugin("swap", manifest("t.swap", { permissions: { read: ["data/"], write: ["data/"] } }), { "index.js": CODE, "data/a.txt": "a", "keys/k.txt": "the plugin's key" });
    await approveGrants({ pluginsDir: s.root, id: "t.swap", by: "test" });
    const approval = (await readApprovals(s.root)).plugins["t.swap"];
    assert.deepEqual(approval?.leads, { read: { "data/": "data" }, write: { "data/": "data" } }, "kept relative to the plugin");
    assert.equal((await stateOf(s.root, "t.swap")).state, "approved", "positive control: nothing changed");

    renameSync(join(dir, "data"), join(dir, "data-old"));
    symlinkSync("keys", join(dir, "data"));
    const after = await stateOf(s.root, "t.swap");
    assert.equal(after.state, "pending", after.reason);
    const diff = await grantsDiff(s.root, "t.swap");
    assert.ok(diff.grew.includes(`permissions.read[0] "data/" now leads to "keys"; when approved it led to "data" (a symlink on its way changed)`), diff.grew.join("\n"));
    assert.ok(
      diff.grew.some((l) => l.startsWith(`permissions.write[0] "data/" now leads to "keys"`)),
      diff.grew.join("\n"),
    );

    const host = await createHost({ pluginsDir: s.root, approvals: "required", logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const st = host.status().find((p) => p.id === "t.swap");
      assert.equal(st?.state, "pending");
      assert.match(st?.reason ?? "", /permissions grew since the approval of 1\.0\.0: permissions\.read\[0\] "data\/" now leads to "keys"; when approved it led to "data"/);
      await assert.rejects(host.invoke("t.swap", "read", "data/k.txt"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "PLUGIN_ERROR", e.message);
        assert.match(e.message, /plugin t\.swap is pending/);
        return true;
      });
      // Approved again, with the link in place: the operator has seen where it leads.
      await host.approve("t.swap");
      assert.deepEqual((await readApprovals(s.root)).plugins["t.swap"]?.leads, { read: { "data/": "keys" }, write: { "data/": "keys" } });
      assert.equal(await host.invoke("t.swap", "read", "data/k.txt"), "the plugin's key");
    } finally {
      await host.close();
    }
  });

  it("the plugins directory moving as a whole keeps its approvals (leads inside a plugin are relative to it)", async () => {
    const s2 = scratch();
    try {
      s2.plugin("mover", manifest("t.mover", { permissions: { read: ["data/", "store/"] } }), { "index.js": CODE, "data/a.txt": "a", "alt/b.txt": "b" }, { store: "alt" });
      await approveGrants({ pluginsDir: s2.root, id: "t.mover", by: "test" });
      const moved = `${s2.root}-moved`;
      renameSync(s2.root, moved);
      try {
        assert.equal((await stateOf(moved, "t.mover")).state, "approved");
      } finally {
        renameSync(moved, s2.root);
      }
    } finally {
      s2.cleanup();
    }
  });

  it("an absolute grant through a link re-pointed after approval needs a new approval (control: the same link pointing where it did stays approved)", async () => {
    const link = join(elsewhere, "current");
    symlinkSync("a", link);
    s.plugin("abs", manifest("t.abs", { permissions: { read: [link] } }), { "index.js": CODE });
    await approveGrants({ pluginsDir: s.root, id: "t.abs", by: "test" });
    assert.equal((await stateOf(s.root, "t.abs")).state, "approved");
    unlinkSync(link);
    symlinkSync("b", link);
    const diff = await grantsDiff(s.root, "t.abs");
    assert.equal((await stateOf(s.root, "t.abs")).state, "pending");
    assert.ok(
      diff.grew.some((l) => l.includes(`permissions.read[0] "${link}" now leads to "${join(elsewhere, "b")}"`)),
      diff.grew.join("\n"),
    );
    unlinkSync(link);
    symlinkSync("a", link);
    assert.equal((await stateOf(s.root, "t.abs")).state, "approved", "pointing back where it led, it is approved again");
  });

  it("an approval written before leads were kept gets them at its next re-pin, from a load its permissions covered", async () => {
    const dir = s.plugin("legacy", manifest("t.legacy", { permissions: { read: ["data/"] } }), { "index.js": CODE, "data/a.txt": "a" });
    await approveGrants({ pluginsDir: s.root, id: "t.legacy", by: "test" });
    const file = await readApprovals(s.root);
    const { leads: _dropped, ...old } = file.plugins["t.legacy"] ?? assert.fail("approved");
    await writeApprovals(s.root, { ...file, plugins: { ...file.plugins, "t.legacy": old } });
    assert.equal((await readApprovals(s.root)).plugins["t.legacy"]?.leads, undefined);
    // A new version (a new hash) asking for no more is re-pinned by the host, leads recorded.
    writeFileSync(join(dir, "plugin.json"), JSON.stringify(manifest("t.legacy", { version: "1.0.1", permissions: { read: ["data/"] } })));
    const host = await createHost({ pluginsDir: s.root, approvals: "required", logger, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      assert.equal(await host.invoke("t.legacy", "read", "data/a.txt"), "a");
    } finally {
      await host.close();
    }
    const now = (await readApprovals(s.root)).plugins["t.legacy"];
    assert.equal(now?.version, "1.0.1");
    assert.deepEqual(now?.leads, { read: { "data/": "data" } });
    assert.match(readFileSync(join(s.root, "warden-consent.jsonl"), "utf8"), /"re-pinned"/);
  });
});
