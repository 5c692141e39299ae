// `warden run --approvals required` and `warden install` beside an approvals file, as an operator
// uses them from a shell: the run refuses what is not approved (control: the same plugin approved
// runs), and an install says whether the version it put in place waits for approval.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { approveGrants } from "../../core/consent/grant-decisions.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");

describe("warden run --approvals required", () => {
  let s: Scratch;
  const warden = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: s.root, env: { ...process.env, WARDEN_TEST_HOME: "/home/op" } });
  before(() => {
    s = scratch();
    s.plugin("src", manifest("test.run", { permissions: { env: ["WARDEN_TEST_HOME"] } }), { "index.js": 'export function home() { return Warden.env.get("WARDEN_TEST_HOME"); }\n' });
  });
  after(() => s.cleanup());

  it("refuses an unapproved plugin with APPROVAL_REQUIRED naming the commands; runs it once approved", async () => {
    const installed = warden("install", "src", "--plugins-dir", "plugins");
    assert.equal(installed.status, 0, installed.stderr);
    const refused = warden("run", "plugins/test.run", "home", "--approvals", "required", "--json");
    assert.equal(refused.status, 1);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "APPROVAL_REQUIRED");
    assert.match(error.message, /test\.run 1\.0\.0 is not approved yet; see what it asks for: warden grants diff test\.run --plugins-dir .*plugins/);
    // Control: approvals off (the default) runs it.
    assert.equal(warden("run", "plugins/test.run", "home").stdout.trim(), '"/home/op"');
    await approveGrants({ pluginsDir: join(s.root, "plugins"), id: "test.run" });
    const ran = warden("run", "plugins/test.run", "home", "--approvals", "required");
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), '"/home/op"');
    const bad = warden("run", "plugins/test.run", "home", "--approvals", "maybe");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--approvals must be "required" or "off", got "maybe"/);
  });

  it("an install that asks for more says it waits for approval, and what grew; the run keeps refusing it", () => {
    writeFileSync(join(s.root, "src/plugin.json"), JSON.stringify(manifest("test.run", { version: "1.1.0", permissions: { env: ["WARDEN_TEST_HOME", "WARDEN_OTHER"] } })));
    const updated = warden("install", "src", "--plugins-dir", "plugins");
    assert.equal(updated.status, 0, updated.stderr);
    assert.match(
      updated.stdout,
      /approval: pending on a host with approvals required; it asks for more:\n {2}\+ permissions\.env\[1\] "WARDEN_OTHER" is new\nto approve: warden grants diff test\.run/,
    );
    const refused = warden("run", "plugins/test.run", "home", "--approvals", "required");
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /APPROVAL_REQUIRED: plugin test\.run 1\.1\.0 needs approval: permissions grew since the approval of 1\.0\.0: permissions\.env\[1\] "WARDEN_OTHER" is new/);
  });
});
