// Dependencies point one way: manifests/, capabilities/ and isolate/ never import one another, and
// outside themselves they may import only errors/ (through its index), which imports nothing.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "./helpers/plugin-dir.ts";

const LAYERS = ["manifests", "capabilities", "isolate"];
const LEAVES = ["errors/index.ts"];

function tsFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .map((d) => relative(REPO_ROOT, join(d.parentPath, d.name)));
}

describe("architecture", () => {
  it("lower layers import only themselves and errors/", () => {
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

  it("only the CLI (and the library's index) imports the console (core/console/ sits above the host, never below it)", () => {
    const offenders: string[] = [];
    for (const dir of ["core", "isolate", "capabilities", "manifests"]) {
      for (const file of tsFiles(dir)) {
        // core/index.ts is the library's front door: it may export the console one day.
        if (file.startsWith("core/console/") || file.startsWith("core/cli/") || file === "core/index.ts") continue;
        const text = readFileSync(join(REPO_ROOT, file), "utf8");
        for (const m of text.matchAll(/from\s+"(\.[^"]+)"/g)) {
          const target = relative(REPO_ROOT, resolve(dirname(join(REPO_ROOT, file)), m[1] ?? ""));
          if (target.startsWith("core/console/")) offenders.push(`${file} imports ${target}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  it("errors/ imports nothing from the project", () => {
    for (const file of tsFiles("errors")) assert.doesNotMatch(readFileSync(join(REPO_ROOT, file), "utf8"), /from\s+"\.\.\//);
  });

  it("isolated-vm is loaded only through isolate/ivm.ts (the build for the running Node line)", () => {
    const offenders: string[] = [];
    for (const dir of ["errors", "core", "isolate", "capabilities", "manifests", "test", "benchmarks", "examples"]) {
      for (const file of tsFiles(dir)) {
        const text = readFileSync(join(REPO_ROOT, file), "utf8");
        for (const line of text.split("\n")) {
          if (!/(?:from|import\(|require\()\s*["'`](?:isolated-vm|warden-isolated-vm-node20)/.test(line)) continue;
          if (/^\s*(?:\/\/|\*)/.test(line) || (file === "isolate/ivm.ts" && line.startsWith("import type "))) continue;
          offenders.push(`${file}: ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(offenders, [], "import isolated-vm from isolate/ivm.ts, never by package name: each Node line has its own build");
  });

  it("no code or test reads outside the repository (a bare clone must pass)", () => {
    const offenders: string[] = [];
    for (const dir of ["errors", "core", "isolate", "capabilities", "manifests", "test", "benchmarks", "examples"]) {
      for (const file of tsFiles(dir)) {
        const text = readFileSync(join(REPO_ROOT, file), "utf8");
        if (/["'`]\.\.\/shared\//.test(text) || /REPO_ROOT,\s*["'`]\.\./.test(text)) offenders.push(file);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it("test processes run with --no-node-snapshot (isolated-vm needs it)", () => {
    assert.ok(process.execArgv.includes("--no-node-snapshot"), process.execArgv.join(" "));
  });
});
