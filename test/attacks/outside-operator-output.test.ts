// Attacker: a plugin author, through the text an operator reads before approving it. The grants a
// manifest asks for are the plugin's own strings: `warden grants diff` must not let one look
// narrower than it is (a long path whose `..` falls in the part cut for display), and `warden
// grants ls` must not let one grant look like two (a path containing ", ").
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { approveGrants, grantsDiff } from "../../core/consent/grant-decisions.ts";
import { manifest, REPO_ROOT, scratch, type Scratch } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");

describe("outside: grants as the operator reads them", () => {
  let s: Scratch;
  let plugins: string;
  const write = (read: string[]) => writeFileSync(join(plugins, "t.grow/plugin.json"), JSON.stringify(manifest("t.grow", { version: "1.1.0", permissions: { read } })));

  before(async () => {
    s = scratch();
    plugins = join(s.root, "plugins");
    s.plugin("plugins/t.grow", manifest("t.grow", { permissions: { read: ["data/"] } }), { "index.js": "export const hi = () => 1;\n", "data/x": "x" });
    await approveGrants({ pluginsDir: plugins, id: "t.grow" });
  });
  after(() => s.cleanup());

  it("a new path grant whose `..` lies past the display cut is shown as what it reaches", async () => {
    const sneaky = `/srv/${"a".repeat(300)}/../../etc/`;
    write(["data/", sneaky, "/srv/plain"]);
    const d = await grantsDiff(plugins, "t.grow");
    assert.equal(d.grew.length, 2, d.grew.join("\n"));
    assert.match(d.grew[0] ?? "", /\(that is "\/etc\/"\) is new$/, d.grew[0]);
    // Positive control: a plain new grant is shown as written, with nothing added.
    assert.equal(d.grew[1], 'permissions.read[2] "/srv/plain" is new');
    const cli = spawnSync(process.execPath, [BIN, "grants", "diff", "t.grow", "--plugins-dir", plugins], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /that is "\/etc\/"/);
  });

  it("one grant containing a comma is shown as one item in warden grants ls", () => {
    write(["data/, /etc/", "data/"]);
    const cli = spawnSync(process.execPath, [BIN, "grants", "ls", "--plugins-dir", plugins], { encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^ {2}read: "data\/, \/etc\/", data\/$/m, cli.stdout);
  });
});
