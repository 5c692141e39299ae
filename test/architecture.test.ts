// The dependency rule of warden's source, as a table this test holds every import to. The table
// is an order, bottom first: each row is a unit (a folder, or one file where a file stands on its
// own) and the units it may import, all of them rows above it, so no two units can depend on each
// other. The order, in short:
//
//   errors/ defaults/             import nothing from the project; every unit above may import both
//   manifests/ capabilities/ isolate/   errors/ and defaults/ only; never one another
//   core's foundations            version, logger, json-value, limits, install/names, sys, os-sandbox, channels
//   core/runtime/                 engines, their pool, the broker, the runner
//   core's services               audit, containment, install, consent (beside the runtime, not using it)
//   core/plugin.ts                one plugin: its sandbox, audit, containment
//   core/host/                    many plugins
//   core/console/                 the operator's console, over a host
//   core/cli/, core/index.ts      the command line and the library's front door (the only users of the console)
//   test/, benchmarks/, examples/ anything above; nothing imports them
//
// Every relative import of every .ts file is checked against its row (type-only imports too: a
// type names what its importer depends on). Outside errors/, manifests/, capabilities/ and
// isolate/, code reaches them only through their index.ts, their public surface. Files import one
// another without cycles (core/host/host.ts and reload.ts once did). A new folder gets a row here,
// where its imports say it belongs.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { REPO_ROOT } from "./helpers/plugin-dir.ts";

const FOUNDATIONS = ["core/version.ts", "core/logger.ts", "core/json-value.ts", "core/limits.ts", "core/options.ts", "core/install/names.ts", "core/sys", "core/os-sandbox", "core/channels"];

/** The dependency order, bottom first: each unit and the units (above it) it may import. */
const LAYERS: ReadonlyArray<readonly [unit: string, mayImport: readonly string[]]> = [
  ["errors", []],
  // Every default limit, timeout and size (issue 16). A leaf, like errors/: isolate/ and
  // capabilities/ take their defaults and their limit types (Picks of its Limits) from it, so it
  // must sit below them and import nothing; like errors/, every unit that imports anything may
  // import it.
  ["defaults", []],
  ["manifests", ["errors", "defaults"]],
  ["capabilities", ["errors", "defaults"]],
  ["isolate", ["errors", "defaults"]],
  // core's foundations: small parts the runtime and everything above it build on.
  ["core/version.ts", []],
  ["core/logger.ts", ["errors", "defaults"]],
  ["core/json-value.ts", ["errors", "defaults"]],
  ["core/limits.ts", ["errors", "defaults", "manifests"]],
  // The shapes and ranges of createHost's and loadPlugin's options.
  ["core/options.ts", ["errors", "defaults"]],
  // The names of warden's files in a plugins directory, without the installer: the runtime protects them.
  ["core/install/names.ts", []],
  ["core/sys", ["errors", "defaults", "capabilities"]],
  ["core/os-sandbox", ["errors", "defaults", "core/sys"]],
  ["core/channels", ["errors", "defaults", "capabilities"]],
  ["core/runtime", ["errors", "defaults", "manifests", "capabilities", "isolate", "core/limits.ts", "core/install/names.ts", "core/sys", "core/os-sandbox", "core/channels"]],
  // core's services, used by the plugin handle, the host and the CLI; none of them runs plugins.
  ["core/audit", ["errors", "defaults", "manifests", "capabilities"]],
  ["core/containment", ["errors", "defaults", "isolate", "core/logger.ts", "core/audit"]],
  ["core/install", ["errors", "defaults", "manifests", "core/version.ts", "core/limits.ts", "core/install/names.ts"]],
  ["core/consent", ["errors", "defaults", "manifests", "capabilities", "core/version.ts", "core/install/names.ts", "core/install", "core/audit"]],
  [
    "core/plugin.ts",
    [
      "errors",
      "defaults",
      "manifests",
      "capabilities",
      "core/version.ts",
      "core/logger.ts",
      "core/json-value.ts",
      "core/limits.ts",
      "core/options.ts",
      "core/channels",
      "core/runtime",
      "core/audit",
      "core/containment",
    ],
  ],
  [
    "core/host",
    [
      "errors",
      "defaults",
      "manifests",
      "capabilities",
      "core/version.ts",
      "core/logger.ts",
      "core/limits.ts",
      "core/options.ts",
      "core/install/names.ts",
      "core/channels",
      "core/runtime",
      "core/audit",
      "core/containment",
      "core/consent",
      "core/plugin.ts",
    ],
  ],
  ["core/console", ["errors", "defaults", "manifests", "core/audit", "core/consent", "core/host"]],
  ["core/cli", ["errors", "defaults", "manifests", "capabilities", "isolate", ...FOUNDATIONS, "core/audit", "core/install", "core/consent", "core/plugin.ts", "core/host", "core/console"]],
  [
    "core/index.ts",
    [
      "errors",
      "defaults",
      "manifests",
      "capabilities",
      ...FOUNDATIONS,
      "core/runtime",
      "core/audit",
      "core/containment",
      "core/install",
      "core/consent",
      "core/plugin.ts",
      "core/host",
      "core/console",
    ],
  ],
  // Tests, benchmarks and examples exercise the internals they are about ("*": every unit above);
  // no source imports them.
  ["test", ["*"]],
  ["benchmarks", ["*"]],
  ["examples", ["*"]],
];

/** The folders whose code others reach only through their index.ts. */
const SURFACES = ["errors", "defaults", "manifests", "capabilities", "isolate"];

/** Imports past a folder's index.ts from source code, each with why the index will not do. */
const DEEP_IMPORTS: ReadonlyArray<readonly [from: string, to: string]> = [
  // `warden doctor` loads the isolated-vm build alone, lazily, to report whether it loads and its
  // version; the isolate index does not export the build (nothing else outside isolate/ needs it).
  ["core/cli/doctor.ts", "isolate/ivm.ts"],
];

const SOURCE_DIRS = ["errors", "defaults", "manifests", "capabilities", "isolate", "core"];
const ALL_DIRS = [...SOURCE_DIRS, "test", "benchmarks", "examples"];

function tsFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .map((d) => relative(REPO_ROOT, join(d.parentPath, d.name)));
}

/** Project files: plugins (examples/plugins/, test/fixtures/) are not, they run inside the sandbox. */
function projectFiles(dirs: readonly string[]): string[] {
  return dirs.flatMap(tsFiles).filter((f) => !f.startsWith("examples/plugins/") && !f.startsWith("test/fixtures/"));
}

/** The row a file belongs to: the longest unit that is the file or a folder holding it. */
function unitOf(file: string): string | undefined {
  let best: string | undefined;
  for (const [unit] of LAYERS) if ((file === unit || file.startsWith(`${unit}/`)) && (best === undefined || unit.length > best.length)) best = unit;
  return best;
}

/** Every relative import of `file` (static, type-only, re-exports and import()), as repository paths; comments and strings are not imports. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(REPO_ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(REPO_ROOT, resolve(dirname(join(REPO_ROOT, file)), name)));
}

describe("architecture", () => {
  it("the table is an order: each unit may import only units listed above it", () => {
    const seen = new Set<string>();
    const wrong: string[] = [];
    for (const [unit, mayImport] of LAYERS) {
      for (const dep of mayImport) if (dep !== "*" && !seen.has(dep)) wrong.push(`${unit} may import ${dep}, which is not above it`);
      seen.add(unit);
    }
    assert.deepEqual(wrong, []);
  });

  it("every file has a row in the table", () => {
    const homeless = projectFiles(ALL_DIRS).filter((f) => unitOf(f) === undefined);
    assert.deepEqual(homeless, [], "give the new folder or file a row in LAYERS, where its imports say it belongs");
  });

  it("every relative import follows the table (the folder order is the dependency rule)", () => {
    // "*" is every unit above the row.
    const allowed = new Map(LAYERS.map(([unit, may], i) => [unit, may.includes("*") ? LAYERS.slice(0, i).map(([above]) => above) : may]));
    const violations: string[] = [];
    for (const file of projectFiles(ALL_DIRS)) {
      const from = unitOf(file);
      if (from === undefined) continue;
      const may = allowed.get(from) ?? [];
      for (const target of importsOf(file)) {
        const to = unitOf(target);
        if (to === from || (to !== undefined && may.includes(to))) continue;
        violations.push(`${file} imports ${target}: ${from} may import only ${may.join(", ") || "nothing of the project"}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("outside errors/, defaults/, manifests/, capabilities/ and isolate/, code imports them only through their index.ts", () => {
    const violations: string[] = [];
    for (const file of projectFiles(SOURCE_DIRS)) {
      for (const target of importsOf(file)) {
        const surface = SURFACES.find((s) => target.startsWith(`${s}/`) && !file.startsWith(`${s}/`));
        if (surface === undefined || target === `${surface}/index.ts`) continue;
        if (DEEP_IMPORTS.some(([f, t]) => f === file && t === target)) continue;
        violations.push(`${file} imports ${target}: import ${surface}/index.ts (export the name there)`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("no import cycle between files (core/host/host.ts and reload.ts once imported each other)", () => {
    const graph = new Map(projectFiles(SOURCE_DIRS).map((f) => [f, importsOf(f)]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]): void => {
      state.set(file, "open");
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
        else if (state.get(next) === undefined) visit(next, path);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (state.get(file) === undefined) visit(file, []);
    assert.deepEqual(cycles, []);
    // core/host/ in particular: the host-entry module is what host.ts and reload.ts share.
    assert.ok(!(graph.get("core/host/reload.ts") ?? []).includes("core/host/host.ts"), "reload.ts must not import host.ts: what both need of an entry is in host-entry.ts");
  });

  it("isolated-vm is loaded only through isolate/ivm.ts (the build for the running Node line)", () => {
    const offenders: string[] = [];
    for (const dir of ALL_DIRS) {
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
    for (const dir of ALL_DIRS) {
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
