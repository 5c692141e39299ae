// Dependencies point one way: manifests/, capabilities/ and isolate/ never import one another, and
// from core/ they may import only the leaves core/errors.ts and core/escape-text.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "./helpers/plugin-dir.ts";

const LAYERS = ["manifests", "capabilities", "isolate"];
const LEAVES = ["core/errors.ts", "core/escape-text.ts"];

function tsFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .map((d) => relative(REPO_ROOT, join(d.parentPath, d.name)));
}

describe("architecture", () => {
  it("lower layers import only themselves and the core leaves", () => {
    const violations: string[] = [];
    for (const layer of LAYERS) {
      for (const file of tsFiles(layer)) {
        const text = readFileSync(join(REPO_ROOT, file), "utf8");
        for (const m of text.matchAll(/from\s+"(\.[^"]+)"/g)) {
          const target = relative(REPO_ROOT, resolve(dirname(join(REPO_ROOT, file)), m[1] ?? ""));
          if (target.startsWith(`${layer}/`) || LEAVES.includes(target)) continue;
          violations.push(`${file} imports ${target}`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  it("core leaves import nothing from the project", () => {
    for (const leaf of LEAVES) assert.doesNotMatch(readFileSync(join(REPO_ROOT, leaf), "utf8"), /from\s+"\./);
  });

  it("test processes run with --no-node-snapshot (isolated-vm needs it)", () => {
    assert.ok(process.execArgv.includes("--no-node-snapshot"), process.execArgv.join(" "));
  });
});
