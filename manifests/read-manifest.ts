// Reads <dir>/plugin.json and turns every schema problem into one line naming the field path, the
// plugin directory and what a valid value looks like.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import semver from "semver";
import type { z } from "zod";
import { isWardenError, ManifestInvalidError, escapeText, quote } from "../errors/index.ts";
import { ManifestSchema, type Manifest } from "./schema.ts";
import { lintManifest } from "./lint-manifest.ts";
import { checkGrantRoots } from "./grant-roots.ts";
import { decodeManifestText, keyProblem } from "./json-text.ts";

/** The manifest's file name in a plugin directory. */
export const MANIFEST_FILE = "plugin.json";

/** Largest plugin.json read, in bytes: far more than any real manifest with its schemas needs. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** One problem in a manifest: where it is and what is wrong there. */
export type ManifestProblem = { readonly field: string; readonly message: string };

/** A manifest that passed the schema, with what is needed to audit and load it. */
export type LoadedManifest = {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly main: string;
  readonly sha256: string;
  readonly warnings: readonly ManifestProblem[];
};

/** Render a zod path as `permissions.read[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    // Keys come from the manifest (record keys, unknown keys): escaped, they cannot break a line.
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? escapeText(String(key)) : `.${escapeText(String(key))}`;
  }
  return out === "" ? "(top level)" : out;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  record: "an object",
};

const HINTS: Array<[RegExp, string]> = [
  [/^permissions\.(read|write)\[\d+\]$/, 'expected a string path (e.g. "data/" or "/var/cache/weather")'],
  [/^permissions\.(read|write|net|exec|env)$/, "expected true or a list of strings"],
  [/^permissions\.channels$/, 'expected true or { "publish": [...], "subscribe": [...] }'],
  [/^permissions\.net\[\d+\]$/, 'expected a host string (e.g. "api.example.org:443")'],
  [/^permissions\.exec\[\d+\]$/, 'expected a command name or absolute path string (e.g. "git")'],
  [/^permissions\.env\[\d+\]$/, 'expected a variable name string (e.g. "API_KEY")'],
  [/^id$/, 'expected a plugin id string such as "acme.weather"'],
  [/^name$/, "expected a non-empty string"],
  [/^version$/, 'expected a semantic version string such as "1.2.0"'],
  [/^limits\.memoryMb$/, "expected an integer number of MiB between 8 and 4096 (default 64)"],
  [/^limits\.cpuMs$/, "expected an integer number of milliseconds (default 1000)"],
  [/^limits\.timeoutMs$/, "expected an integer number of milliseconds (default 5000)"],
];

function hintFor(field: string): string | undefined {
  return HINTS.find(([re]) => re.test(field))?.[1];
}

function problemsOf(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[], input: unknown): ManifestProblem[] {
  const out: ManifestProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const field = formatPath(path);
    const value = valueAt(input, path);
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          out.push({ field: formatPath([...path, key]), message: `unknown key ${quote(key)}; plugin.json is strict: remove it or fix its spelling` });
        }
        break;
      case "invalid_union": {
        // A grant list failed: report the failures inside the list rather than "invalid input".
        const nested =
          issue.errors.find((branch) => branch.some((i) => i.path.length > 0)) ??
          (Array.isArray(value) || (typeof value === "object" && value !== null) ? issue.errors.find((b) => b.some((i) => i.code !== "invalid_value" && i.code !== "invalid_type")) : undefined);
        if (nested) out.push(...problemsOf(nested, path, input));
        else out.push({ field, message: `${hintFor(field) ?? "invalid value"}, got ${describeType(value)}` });
        break;
      }
      case "invalid_type":
        if (value === undefined) out.push({ field, message: `is required: ${hintFor(field) ?? `expected ${EXPECTED[issue.expected] ?? issue.expected}`}` });
        else out.push({ field, message: `${hintFor(field) ?? `expected ${EXPECTED[issue.expected] ?? issue.expected}`}, got ${describeType(value)}` });
        break;
      case "too_small":
      case "too_big":
        out.push({ field, message: hintFor(field) ?? issue.message });
        break;
      default:
        out.push({ field, message: typeof value === "string" ? `${quote(value)}: ${issue.message}` : issue.message });
    }
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/**
 * Validate already-parsed JSON as a manifest (`dir` enables directory-aware warnings); returns it
 * or the problems. Pure: where path grants lead on disk is checked by readManifest.
 */
export function validateManifest(json: unknown, wardenVersion: string, dir?: string): { ok: true; manifest: Manifest; warnings: ManifestProblem[] } | { ok: false; problems: ManifestProblem[] } {
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) return { ok: false, problems: problemsOf(parsed.error.issues, [], json) };
  const manifest = parsed.data;
  const range = manifest.engines?.warden;
  if (range !== undefined && !semver.satisfies(wardenVersion, range, { includePrerelease: true })) {
    return {
      ok: false,
      problems: [{ field: "engines.warden", message: `this plugin needs warden ${quote(range)} but this is warden ${wardenVersion}; install a matching warden or update the plugin` }],
    };
  }
  return { ok: true, manifest, warnings: lintManifest(manifest, dir) };
}

/** Render problems as lines `<dir>/plugin.json: <field>: <message>`. */
export function formatProblems(dir: string, problems: readonly ManifestProblem[]): string {
  return problems.map((p) => `${join(dir, MANIFEST_FILE)}: ${p.field}: ${p.message}`).join("\n");
}

/**
 * Read and validate <dir>/plugin.json, including where its path grants lead on disk (a grant
 * written inside the plugin must stay inside its real directory); throws MANIFEST_INVALID naming
 * the directory and every problem. Loading, reloading, discovery and `warden check` all use it.
 */
export async function readManifest(dirInput: string, wardenVersion: string): Promise<LoadedManifest> {
  const dir = resolve(dirInput);
  const fail = (problems: ManifestProblem[]): never => {
    throw new ManifestInvalidError(`invalid plugin manifest:\n${formatProblems(dir, problems)}`, {
      pluginDir: dir,
      problems: problems.map((p) => `${p.field}: ${p.message}`),
    });
  };
  const info = await stat(dir).catch(() => null);
  if (!info) fail([{ field: "(directory)", message: `plugin directory ${quote(dir)} does not exist` }]);
  else if (!info.isDirectory()) fail([{ field: "(directory)", message: `${quote(dir)} is not a directory; pass the plugin's directory, which holds plugin.json` }]);
  let raw: Buffer;
  try {
    // The plugin ships this file: opened without blocking (a FIFO would hang the host) and judged
    // by its descriptor (a link to /dev/zero is not a regular file; a 100 MB manifest is refused
    // before it is read, parsed and validated on the host's thread).
    const file = await open(join(dir, MANIFEST_FILE), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await file.stat();
      if (!st.isFile()) return fail([{ field: "(file)", message: "plugin.json is not a regular file; ship the manifest as a plain file" }]);
      if (st.size > MAX_MANIFEST_BYTES)
        return fail([{ field: "(file)", message: `plugin.json is ${st.size} bytes, more than ${MAX_MANIFEST_BYTES}; a manifest declares grants and schemas, not data` }]);
      raw = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (e) {
    if (isWardenError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    return fail([{ field: "(file)", message: code === "ENOENT" ? "plugin.json not found; every plugin directory needs one" : `cannot read plugin.json (${code ?? "error"})` }]);
  }
  if (raw.byteLength > MAX_MANIFEST_BYTES) return fail([{ field: "(file)", message: `plugin.json is larger than ${MAX_MANIFEST_BYTES} bytes` }]);
  const decoded = decodeManifestText(raw);
  if (!decoded.ok) return fail([decoded.problem]);
  let json: unknown;
  try {
    json = JSON.parse(decoded.text);
  } catch (e) {
    return fail([{ field: "(file)", message: `plugin.json is not valid JSON: ${(e as Error).message}` }]);
  }
  // What JSON.parse and the schema make of the text must be what a reader of the file sees.
  const keys = keyProblem(decoded.text);
  if (keys !== null) return fail([keys]);
  const result = validateManifest(json, wardenVersion, dir);
  if (!result.ok) return fail(result.problems);
  const roots = await checkGrantRoots(result.manifest, dir);
  if (roots.problems.length > 0) return fail(roots.problems);
  const sha256 = createHash("sha256").update(raw).digest("hex");
  return { dir, manifest: result.manifest, main: result.manifest.main ?? "index.js", sha256, warnings: [...result.warnings, ...roots.warnings] };
}
