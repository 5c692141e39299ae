// The type strippers the typescript part compares, each loaded on demand (its load time is part of
// what is measured) and each allowed to be missing: esbuild is a devDependency a checkout may not
// have installed, and node:module's stripTypeScriptTypes exists only from Node 22.13 / 23.2 on.
import * as nodeModule from "node:module";
import { join, resolve } from "node:path";

/** JavaScript from the text of a TypeScript module. */
export type Strip = (source: string, file: string) => string;

/** The strippers compared, by the key the worker takes, with the name the table shows. */
export const STRIPPERS = {
  amaro: "amaro (strip-only)",
  esbuild: "esbuild transformSync, inline source map",
  "esbuild-nomap": "esbuild transformSync, no source map",
  node: "node:module stripTypeScriptTypes",
} as const;

/** A key of STRIPPERS. */
export type StripperKey = keyof typeof STRIPPERS;

/** A stripper ready to call, or why this machine has none. */
export type Loaded = { readonly strip: Strip } | { readonly unavailable: string };

type Amaro = { transformSync(code: string, options: { mode: "strip-only"; filename: string }): { code: string } };
type Esbuild = { transformSync(code: string, options: { loader: "ts"; format: "esm"; sourcefile: string; sourcemap?: "inline" }): { code: string } };
type NodeStrip = (code: string, options: { mode: "strip" }) => string;

// esbuild is resolved like a CommonJS package (it is one), from the directory named by
// WARDEN_BENCH_ESBUILD when set (one where `npm install esbuild` was run; ESM imports ignore
// NODE_PATH, a require made for a file there does not), else from the project's node_modules.
function requireEsbuild(): Esbuild {
  const dir = process.env["WARDEN_BENCH_ESBUILD"];
  const from = dir ? join(resolve(dir), "package.json") : import.meta.url;
  return nodeModule.createRequire(from)("esbuild") as Esbuild;
}

function loadEsbuild(sourcemap: boolean): Loaded {
  let esbuild: Esbuild;
  try {
    esbuild = requireEsbuild();
  } catch (e) {
    if ((e as { code?: unknown }).code !== "MODULE_NOT_FOUND") throw e;
    return { unavailable: "esbuild not installed (a devDependency; or set WARDEN_BENCH_ESBUILD to a directory where it is installed)" };
  }
  return { strip: (source, file) => esbuild.transformSync(source, { loader: "ts", format: "esm", sourcefile: file, ...(sourcemap ? { sourcemap: "inline" as const } : {}) }).code };
}

/** Load one stripper (amaro and esbuild are required here, so the call's time is their load time). */
export function loadStripper(key: StripperKey): Loaded {
  switch (key) {
    case "amaro": {
      const amaro = nodeModule.createRequire(import.meta.url)("amaro") as Amaro;
      // The options warden's isolate/strip-types.ts uses.
      return { strip: (source, file) => amaro.transformSync(source, { mode: "strip-only", filename: file }).code };
    }
    case "esbuild":
      return loadEsbuild(true);
    case "esbuild-nomap":
      return loadEsbuild(false);
    case "node": {
      const strip = (nodeModule as unknown as { stripTypeScriptTypes?: NodeStrip }).stripTypeScriptTypes;
      if (typeof strip !== "function") return { unavailable: `not in Node ${process.version} (Node 22.13+, 23.2+ and 24 have it): row skipped` };
      // "strip" mode is amaro's strip-only inside Node (types become spaces, positions kept).
      return { strip: (source) => strip(source, { mode: "strip" }) };
    }
  }
}

/** How many of the source's `return`s stand at the same line and column in the output (what a stack trace without a source map needs). */
export function positionsKept(source: string, output: string): { kept: number; of: number } {
  const at = (text: string) => text.split("\n").flatMap((line, i) => [...line.matchAll(/\breturn\b/g)].map((m) => `${i}:${m.index}`));
  const want = at(source);
  const have = new Set(at(output));
  return { kept: want.filter((p) => have.has(p)).length, of: want.length };
}
