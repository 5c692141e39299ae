// TypeScript plugins: types are erased, not compiled. amaro (Node's own type stripper, SWC built to
// WebAssembly) replaces every annotation with spaces, so each line and column of the output is the
// line and column of the author's .ts file: V8's stack traces name the TypeScript positions with no
// source map. Measured against esbuild (benchmarks/README.md, "TypeScript plugins"): 2.4-12x faster
// per file (esbuild needs a source map to keep positions), no native binary and no helper process
// (an OS-sandboxed engine cannot spawn one); its one-time WebAssembly compile costs more than
// esbuild's start (~0.2 s against ~0.13 s per process that meets TypeScript).
// Syntax that needs a compiler (enum, namespace, parameter properties, <T>x casts) is refused with
// where and what to write instead; type errors are the author's tool's business, never the host's.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { LRUCache } from "lru-cache";
import { PluginError, escapeText } from "../errors/index.ts";

type Amaro = { transformSync(code: string, options: { mode: "strip-only"; filename?: string }): { code: string } };

// Loaded on the first TypeScript file only: compiling its WebAssembly costs ~0.2 s once per
// process, which a host of JavaScript plugins never pays.
let amaro: Amaro | undefined;
function stripper(): Amaro {
  amaro ??= createRequire(import.meta.url)("amaro") as Amaro;
  return amaro;
}

/** The file extensions stripped as TypeScript before they run. */
export const TYPESCRIPT_EXTENSIONS: readonly string[] = [".ts", ".mts"];

/** Whether a file name is a TypeScript module warden strips. */
export function isTypeScriptFile(name: string): boolean {
  return TYPESCRIPT_EXTENSIONS.some((e) => name.endsWith(e));
}

// The stripped text keyed by the sha256 of the TypeScript text: a rebuild after a limit, a reload
// of an unchanged file or another plugin shipping the same file strips nothing again.
const stripped = new LRUCache<string, string>({ max: 1024, maxSize: 64 * 1024 * 1024, sizeCalculation: (v) => Math.max(1, v.length) });

type StripFailure = { code?: unknown; message?: unknown; startLine?: unknown; startColumn?: unknown };

const NEEDS_COMPILER =
  'warden erases types and runs the rest as JavaScript, so only erasable syntax works: use a const object instead of an enum, a module instead of a namespace, plain fields instead of parameter properties, and "x as T" instead of "<T>x"; "erasableSyntaxOnly": true in tsconfig.json makes your editor flag these';

/** The JavaScript of a TypeScript module (types replaced by spaces, positions kept); PLUGIN_ERROR naming file:line:column when it cannot be stripped. */
export function stripTypes(file: string, source: string): string {
  const key = createHash("sha256").update(source).digest("hex");
  const hit = stripped.get(key);
  if (hit !== undefined) return hit;
  let code: string;
  try {
    code = stripper().transformSync(source, { mode: "strip-only", filename: file }).code;
  } catch (e) {
    const f = (e ?? {}) as StripFailure;
    const line = typeof f.startLine === "number" ? f.startLine : undefined;
    // amaro counts columns from 0; editors and V8's stack traces count from 1.
    const column = typeof f.startColumn === "number" ? f.startColumn + 1 : undefined;
    const where = line === undefined ? file : `${file}:${line}${column === undefined ? "" : `:${column}`}`;
    const what = escapeText(typeof f.message === "string" ? f.message.slice(0, 500) : String(e).slice(0, 500));
    const fix = f.code === "UnsupportedSyntax" ? `; ${NEEDS_COMPILER}` : "";
    throw new PluginError(`${where}: ${what}${fix}`, { file, ...(line !== undefined ? { line } : {}), ...(column !== undefined ? { column } : {}) });
  }
  stripped.set(key, code);
  return code;
}
