// Every reference in the repository must lead somewhere a reader of a clone can follow: a behaviour
// ID of another plugin host (MAI-nn, NEKO-nn, LURK-nn, AOS-nn) to its entry in docs/behaviours.md,
// a bypass ID (D2, N1, O1...) to the table in docs/security.md, and a cited file to a file that
// exists. Comments and test names once pointed at notes that never were in the repository.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

const BEHAVIOUR_ID = /\b(?:MAI|NEKO|LURK|AOS)-\d+\b/g;
// A bypass ID as citations write it: "(N1)", "(D26, N2)", "D6/D30:", "D21-D25". A bare "D1 and"
// (a variable's name in a test) is not a citation.
const BYPASS_ID = /(?<=^|[\s("'`/,*-])[DNO]\d{1,2}(?=[)/,:;*-])/gm;
// A file name with an extension a reader would open, with or without directories before it.
const CITED_PATH = /(?<![\w./-])(?:\.\.?\/)*(?:[\w.-]+\/)*\w[\w.-]*\.(?:md|ts|js)\b/g;

/** The repository's own files (sources, tests, documents), not dependencies or build output. */
function repositoryFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "dist") continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (/\.(?:ts|mts|js|mjs|md)$/.test(e.name)) out.push(path);
    }
  };
  walk(root);
  return out;
}

/** What the repository has to resolve citations against. */
type Index = { readonly root: string; readonly topDirs: ReadonlySet<string>; readonly names: ReadonlySet<string> };

function indexOf(root: string, files: readonly string[]): Index {
  const topDirs = new Set(
    readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules" && e.name !== "dist")
      .map((e) => e.name),
  );
  return { root, topDirs, names: new Set(files.map((f) => basename(f))) };
}

/** Why `cited`, found in `file`, leads nowhere; null when it leads to a file of the repository. */
function deadEnd(cited: string, file: string, ix: Index): string | null {
  if (/(?:^|\/)shared\/reference\//.test(cited)) return "is outside the repository";
  const first = cited.split("/")[0] ?? "";
  if (ix.topDirs.has(first)) {
    // A compiled name (dist's .js) is cited by its source too.
    const found = existsSync(join(ix.root, cited)) || (cited.endsWith(".js") && existsSync(join(ix.root, cited.replace(/\.js$/, ".ts"))));
    return found ? null : "does not exist";
  }
  if (cited.startsWith(".") && cited.endsWith(".md")) {
    const target = resolve(dirname(file), cited);
    if (relative(ix.root, target).startsWith(`..${sep}`)) return "is outside the repository";
    return existsSync(target) ? null : "does not exist";
  }
  if (!cited.includes("/") && (cited.endsWith(".md") || cited.endsWith(".test.ts"))) {
    return existsSync(join(dirname(file), cited)) || ix.names.has(cited) ? null : "is no file of the repository";
  }
  // Other relative names (./x.js, lib/util.ts) are imports, which the compiler checks, or test fixtures.
  return null;
}

/** Each citation in `text` (of `file`) as `file:line: what`. */
function citations(text: string, file: string, ix: Index): { behaviours: Array<[string, string]>; bypasses: Array<[string, string]>; deadEnds: string[] } {
  const behaviours: Array<[string, string]> = [];
  const bypasses: Array<[string, string]> = [];
  const deadEnds: string[] = [];
  const shown = relative(ix.root, file);
  text.split("\n").forEach((line, i) => {
    const where = `${shown}:${i + 1}`;
    for (const m of line.matchAll(BEHAVIOUR_ID)) behaviours.push([m[0], where]);
    for (const m of line.matchAll(BYPASS_ID)) bypasses.push([m[0], where]);
    for (const m of line.matchAll(CITED_PATH)) {
      const why = deadEnd(m[0], file, ix);
      if (why !== null) deadEnds.push(`${where}: ${m[0]} ${why}`);
    }
  });
  return { behaviours, bypasses, deadEnds };
}

/** The behaviour IDs docs/behaviours.md has an entry (a heading of its own) for. */
function documentedBehaviours(doc: string): Set<string> {
  return new Set([...doc.matchAll(/^#{2,4} ((?:MAI|NEKO|LURK|AOS)-\d+)\s*$/gm)].map((m) => m[1] as string));
}

/** The bypass IDs of the table under docs/security.md's "Bypass IDs" heading. */
function documentedBypasses(doc: string): Set<string> {
  const section = doc.split(/^## Bypass IDs\s*$/m)[1]?.split(/^## /m)[0] ?? "";
  return new Set([...section.matchAll(/^\| \*\*([DNO]\d{1,2})\*\* \|/gm)].map((m) => m[1] as string));
}

describe("references lead somewhere", () => {
  // This file is left out: its positive control plants bad references on purpose.
  const files = repositoryFiles(REPO_ROOT).filter((f) => f !== join(REPO_ROOT, "test", "contract", "references.test.ts"));
  const ix = indexOf(REPO_ROOT, files);
  const found = files.map((f) => citations(readFileSync(f, "utf8"), f, ix));
  const behavioursDoc = readFileSync(join(REPO_ROOT, "docs/behaviours.md"), "utf8");
  const securityDoc = readFileSync(join(REPO_ROOT, "docs/security.md"), "utf8");

  it("every behaviour ID cited in a comment, a test name or a document has an entry in docs/behaviours.md", () => {
    const documented = documentedBehaviours(behavioursDoc);
    assert.ok(documented.size > 0, "docs/behaviours.md has entries");
    const missing = found.flatMap((c) => c.behaviours.filter(([id]) => !documented.has(id)).map(([id, where]) => `${where}: ${id}`));
    assert.deepEqual(missing, [], "cited without an entry in docs/behaviours.md");
  });

  it("every entry of docs/behaviours.md is cited somewhere else in the repository", () => {
    const behavioursFile = join(REPO_ROOT, "docs/behaviours.md");
    const cited = new Set(found.flatMap((c, i) => (files[i] === behavioursFile ? [] : c.behaviours.map(([id]) => id))));
    const orphans = [...documentedBehaviours(behavioursDoc)].filter((id) => !cited.has(id));
    assert.deepEqual(orphans, [], "entries nothing cites");
  });

  it("every bypass ID cited has a row in docs/security.md's Bypass IDs table", () => {
    const documented = documentedBypasses(securityDoc);
    assert.ok(documented.size > 0, "docs/security.md has a Bypass IDs table");
    const missing = found.flatMap((c) => c.bypasses.filter(([id]) => !documented.has(id)).map(([id, where]) => `${where}: ${id}`));
    assert.deepEqual(missing, [], "cited without a row under docs/security.md's Bypass IDs");
  });

  it("every cited .md, .ts or .js file of the repository exists, and none is outside it", () => {
    assert.deepEqual(
      found.flatMap((c) => c.deadEnds),
      [],
    );
  });

  it("positive control: a planted ID, a missing file and a note outside the repository are all found", () => {
    const file = join(REPO_ROOT, "core", "planted.ts");
    const planted = [
      "// MAI-999 says so (see ../shared/reference/seed-behaviours.md and contract.md);",
      "// tested in test/core/no-such.test.ts and no-such.test.ts; bypass (D99)",
      "// fine: docs/security.md, security-doc.test.ts, ./lib/util.js, MAI-10, (N1)",
    ].join("\n");
    const c = citations(planted, file, ix);
    assert.deepEqual(
      c.behaviours.map(([id]) => id),
      ["MAI-999", "MAI-10"],
    );
    assert.equal(documentedBehaviours(behavioursDoc).has("MAI-999"), false);
    assert.deepEqual(
      c.bypasses.map(([id]) => id),
      ["D99", "N1"],
    );
    assert.equal(documentedBypasses(securityDoc).has("D99"), false);
    assert.deepEqual(c.deadEnds, [
      "core/planted.ts:1: ../shared/reference/seed-behaviours.md is outside the repository",
      "core/planted.ts:1: contract.md is no file of the repository",
      "core/planted.ts:2: test/core/no-such.test.ts does not exist",
      "core/planted.ts:2: no-such.test.ts is no file of the repository",
    ]);
  });
});
