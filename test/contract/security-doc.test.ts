// docs/security.md must match the tests: every test file it cites exists, and every attack-suite
// file is cited, so the threat model cannot drift from what is actually tested.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

describe("docs/security.md", () => {
  const doc = readFileSync(join(REPO_ROOT, "docs/security.md"), "utf8");
  const cited = new Set([...doc.matchAll(/`(?:test\/[\w/-]+\/)?([\w-]+\.test\.ts)`/g)].map((m) => m[1] as string));
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".test.ts")) files.set(e.name, join(dir, e.name));
    }
  };
  walk(join(REPO_ROOT, "test"));

  it("cites only test files that exist", () => {
    for (const name of cited) assert.ok(files.has(name), `docs/security.md cites ${name}, which does not exist`);
  });

  it("cites every file of the attack suite and the fuzz tests", () => {
    for (const dir of ["test/attacks", "test/fuzz"]) {
      for (const name of readdirSync(join(REPO_ROOT, dir)).filter((n) => n.endsWith(".test.ts"))) {
        assert.ok(cited.has(name), `${dir}/${name} is not in docs/security.md's table`);
      }
    }
    assert.ok(existsSync(join(REPO_ROOT, "examples/plugins/burglar")));
  });
});
