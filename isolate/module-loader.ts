// ESM loading confined to the plugin directory. Relative imports must stay inside the plugin's
// directory (lexically and after symlinks are resolved), bare specifiers resolve only in the
// plugin's own node_modules (package.json exports/module/main, never "node" or "require"), and
// everything else (node:, file:, data:, http:, absolute paths, ../ escapes) is refused by name.
// TypeScript files (.ts, .mts) are stripped of their types first (strip-types.ts). Every file is
// read through a descriptor judged a regular file of bounded size, and the graph has a budget of
// modules, bytes and depth (module-files.ts): the plugin chooses all of it.
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type ivm from "./ivm.ts";
import { cacheOptions, rememberCache } from "./code-cache.ts";
import { ModuleBudget, ModuleFileMissing, readModuleFile, type ModuleBounds } from "./module-files.ts";
import { isTypeScriptFile, stripTypes, TYPESCRIPT_EXTENSIONS } from "./strip-types.ts";
import { PluginError, quote } from "../errors/index.ts";

const CONDITIONS = ["import", "module", "browser", "default"];

/** The file extensions the loader runs as modules (and tries, in order, for a specifier without one). */
export const MODULE_EXTENSIONS: readonly string[] = [".js", ".mjs", ...TYPESCRIPT_EXTENSIONS];

// TypeScript's own convention (moduleResolution "nodenext") imports "./util.js" for util.ts: the
// JavaScript name is tried first, then the TypeScript file it would have been compiled from.
const TS_SOURCE_OF: Readonly<Record<string, string>> = { ".js": ".ts", ".mjs": ".mts" };

/** The directory name bare specifiers resolve in, at any level from the importing file up to the plugin root. */
export const PACKAGES_DIR = "node_modules";

/** Whether a file name has an extension the loader runs as a module. */
export function isModuleFile(name: string): boolean {
  return MODULE_EXTENSIONS.includes(extname(name));
}

/** Raised for an import the loader refuses; becomes PLUGIN_ERROR naming the file and specifier. */
class ImportRefused extends Error {}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

type PackageJson = { name?: string; type?: string; exports?: unknown; module?: unknown; main?: unknown };

/** Resolve a package.json `exports` target for `subpath` ("." or "./x") with our conditions. */
function resolveExports(exportsField: unknown, subpath: string): string | null {
  const pick = (target: unknown): string | null => {
    if (typeof target === "string") return target;
    if (Array.isArray(target)) {
      for (const t of target) {
        const r = pick(t);
        if (r !== null) return r;
      }
      return null;
    }
    if (target !== null && typeof target === "object") {
      for (const [key, value] of Object.entries(target)) {
        if (CONDITIONS.includes(key)) {
          const r = pick(value);
          if (r !== null) return r;
        }
      }
    }
    return null;
  };
  const isSubpathMap = exportsField !== null && typeof exportsField === "object" && !Array.isArray(exportsField) && Object.keys(exportsField).some((k) => k.startsWith("."));
  if (!isSubpathMap) return subpath === "." ? pick(exportsField) : null;
  const map = exportsField as Record<string, unknown>;
  if (subpath in map) return pick(map[subpath]);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const match = subpath.slice(prefix.length, subpath.length - suffix.length);
      const target = pick(value);
      return target === null ? null : target.split("*").join(match);
    }
  }
  return null;
}

/** Options of a plugin's module graph. */
export type ModuleGraphOptions = {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly pluginDir: string;
  readonly main: string;
  /** Told each module's path relative to the plugin directory as it is compiled (warden check lists them). */
  readonly onModule?: (file: string) => void;
  /** The graph's bounds (default DEFAULTS.modules). */
  readonly bounds?: ModuleBounds;
};

/** Compile and instantiate the plugin's module graph; throws PLUGIN_ERROR naming the file or specifier. */
export function loadModuleGraph(o: ModuleGraphOptions): ivm.Module {
  const lexicalRoot = resolve(o.pluginDir);
  let realRoot: string;
  try {
    realRoot = realpathSync(lexicalRoot);
  } catch {
    throw new PluginError(`plugin directory ${quote(lexicalRoot)} cannot be read`);
  }
  const byPath = new Map<string, ivm.Module>();
  const pathOf = new Map<ivm.Module, string>();
  // How deep in the import graph each module was first reached (the entry module is 0).
  const depthOf = new Map<ivm.Module, number>();
  const budget = new ModuleBudget(o.bounds);
  const rel = (p: string): string => relative(realRoot, p).split(sep).join("/");

  /** The package.json of the package in `pkgReal` (its real directory, confined), or null if it has none. */
  function readPackageJson(pkgReal: string, name: string): PackageJson | null {
    const lexical = join(pkgReal, "package.json");
    let file: string;
    try {
      lstatSync(lexical);
      file = realpathSync(lexical);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && !isLink(lexical)) return null;
      throw new ImportRefused(`the package.json of package ${quote(name)} is a symbolic link that leads nowhere inside the plugin directory; a plugin can import only its own files`);
    }
    if (!within(file, realRoot))
      throw new ImportRefused(`the package.json of package ${quote(name)} resolves outside the plugin directory (through a symlink); a plugin can import only its own files`);
    let text: string;
    try {
      text = readModuleFile(file, rel(file), `the package.json of package ${quote(name)}`, budget.bounds.packageJsonBytes, "a package.json describes a package; it holds no data");
    } catch (e) {
      if (e instanceof ModuleFileMissing) return null;
      throw e;
    }
    budget.addBytes(rel(file), Buffer.byteLength(text));
    try {
      const json = JSON.parse(text) as unknown;
      return json !== null && typeof json === "object" && !Array.isArray(json) ? json : {};
    } catch {
      throw new ImportRefused(`${rel(file)} is not valid JSON`);
    }
  }

  /**
   * The real directory of the package at `pkgDir`, confined to the plugin before anything in it is
   * read (its package.json included); null when there is nothing at `pkgDir`.
   */
  function packageDir(pkgDir: string, specifier: string, from: string, name: string): string | null {
    try {
      lstatSync(pkgDir);
    } catch {
      return null;
    }
    let real: string;
    try {
      real = realpathSync(pkgDir);
    } catch {
      // A link that leads nowhere (under the OS sandbox, a link out dangles): named for what it is.
      throw new ImportRefused(`${from} imports ${quote(specifier)}: package ${quote(name)} is a symbolic link that leads nowhere inside the plugin directory; a plugin can import only its own files`);
    }
    if (!within(real, realRoot)) {
      throw new ImportRefused(`${from} imports ${quote(specifier)}: package ${quote(name)} resolves outside the plugin directory (through a symlink); a plugin can import only its own files`);
    }
    return real;
  }

  /** Confirm a candidate file lies inside the plugin directory after symlinks; return its real path. */
  function confine(candidate: string, specifier: string, from: string): string {
    const real = realpathSync(candidate);
    if (!within(real, realRoot)) {
      throw new ImportRefused(`${from} imports ${quote(specifier)}, which resolves outside the plugin directory (through a symlink); a plugin can import only its own files`);
    }
    return real;
  }

  // Under the OS sandbox an engine cannot see outside the plugins directory, so a link leading out
  // dangles there: it is still named for what it is, a link out, not a missing file.
  function linksOutside(base: string): boolean {
    for (const candidate of [base, ...MODULE_EXTENSIONS.map((e) => `${base}${e}`)]) {
      try {
        if (!lstatSync(candidate).isSymbolicLink()) continue;
        const target = resolve(dirname(candidate), readlinkSync(candidate));
        if (!within(target, realRoot) && !within(target, lexicalRoot)) return true;
      } catch {
        // not there
      }
    }
    return false;
  }

  function withExtensions(base: string): string | null {
    for (const candidate of [base, ...MODULE_EXTENSIONS.map((e) => `${base}${e}`), ...MODULE_EXTENSIONS.map((e) => join(base, `index${e}`))]) {
      if (isFile(candidate)) return candidate;
    }
    const ext = extname(base);
    const tsSource = TS_SOURCE_OF[ext];
    if (tsSource !== undefined && isFile(`${base.slice(0, -ext.length)}${tsSource}`)) return `${base.slice(0, -ext.length)}${tsSource}`;
    return null;
  }

  function checkLoadable(real: string, specifier: string, from: string, cjsHint: string | null): void {
    const ext = extname(real);
    if (ext === ".cjs" || ext === ".cts" || cjsHint !== null) {
      throw new ImportRefused(`${from} imports ${quote(specifier)}, ${cjsHint ?? "a CommonJS file"}; only ES modules run inside a plugin`);
    }
    if (ext === ".json") throw new ImportRefused(`${from} imports ${quote(specifier)}: JSON modules are not supported; read the file with Warden.fs.readTextFile() or inline it in a .js module`);
    if (ext === ".node") throw new ImportRefused(`${from} imports ${quote(specifier)}: native addons cannot run inside a plugin`);
    if (!isModuleFile(real)) throw new ImportRefused(`${from} imports ${quote(specifier)}: only ${MODULE_EXTENSIONS.join(", ")} files can be imported`);
  }

  function resolveBare(specifier: string, referrerReal: string, from: string): string {
    const parts = specifier.split("/");
    const nameLength = specifier.startsWith("@") ? 2 : 1;
    const name = parts.slice(0, nameLength).join("/");
    if (parts.length < nameLength || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new ImportRefused(`${from} imports ${quote(specifier)}, which is not a valid package specifier`);
    }
    const subpath = parts.length > nameLength ? `./${parts.slice(nameLength).join("/")}` : ".";
    // Walk up from the importing file to the plugin root, as Node does, but never above it.
    let dir = dirname(referrerReal);
    for (;;) {
      const pkgDir = join(dir, PACKAGES_DIR, name);
      const pkgReal = packageDir(pkgDir, specifier, from, name);
      if (pkgReal !== null) {
        const pkg = readPackageJson(pkgReal, name) ?? {};
        let target: string | null = null;
        let cjsHint: string | null = null;
        if (pkg.exports !== undefined) {
          target = resolveExports(pkg.exports, subpath);
          if (target === null)
            throw new ImportRefused(`${from} imports ${quote(specifier)}: package ${quote(name)} does not export ${quote(subpath)} for ES modules (conditions: ${CONDITIONS.join(", ")})`);
        } else if (subpath !== ".") {
          target = subpath;
        } else if (typeof pkg.module === "string") {
          target = pkg.module;
        } else {
          target = typeof pkg.main === "string" ? pkg.main : "index.js";
          if (pkg.type !== "module" && !target.endsWith(".mjs")) cjsHint = `package ${quote(name)} is CommonJS only (no "exports", "module" or "type": "module")`;
        }
        const candidate = resolve(pkgDir, target);
        if (!within(candidate, resolve(pkgDir))) throw new ImportRefused(`${from} imports ${quote(specifier)}: package ${quote(name)} points outside itself (${quote(target)})`);
        const file = withExtensions(candidate);
        if (file === null) throw new ImportRefused(`${from} imports ${quote(specifier)}: ${quote(target)} does not exist in package ${quote(name)}`);
        const real = confine(file, specifier, from);
        if (cjsHint === null && extname(real) === ".js" && pkg.type !== "module" && pkg.exports === undefined && typeof pkg.module !== "string") {
          cjsHint = `package ${quote(name)} is CommonJS only (no "exports", "module" or "type": "module")`;
        }
        checkLoadable(real, specifier, from, cjsHint);
        return real;
      }
      if (dir === realRoot || !within(dir, realRoot)) break;
      dir = dirname(dir);
    }
    throw new ImportRefused(`${from} imports ${quote(specifier)}, but package ${quote(name)} is not installed in the plugin's node_modules`);
  }

  function resolveSpecifier(specifier: string, referrerReal: string): string {
    const from = rel(referrerReal);
    if (specifier.startsWith("node:")) throw new ImportRefused(`${from} imports ${quote(specifier)}: Node built-in modules are not available inside a plugin; use the Warden API`);
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier))
      throw new ImportRefused(`${from} imports ${quote(specifier)}: URL imports are not allowed; a plugin can import only its own files and its node_modules`);
    if (isAbsolute(specifier)) throw new ImportRefused(`${from} imports ${quote(specifier)}: absolute paths are not allowed; use a relative path inside the plugin directory`);
    if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
      const lexical = resolve(dirname(referrerReal), specifier);
      if (!within(lexical, realRoot)) throw new ImportRefused(`${from} imports ${quote(specifier)}, which is outside the plugin directory; a plugin can import only its own files`);
      const file = withExtensions(lexical);
      if (file === null && linksOutside(lexical)) {
        throw new ImportRefused(`${from} imports ${quote(specifier)}, which resolves outside the plugin directory (through a symlink); a plugin can import only its own files`);
      }
      if (file === null) throw new ImportRefused(`${from} imports ${quote(specifier)}, which does not exist`);
      const real = confine(file, specifier, from);
      checkLoadable(real, specifier, from, null);
      return real;
    }
    return resolveBare(specifier, referrerReal, from);
  }

  function compile(real: string, depth: number): ivm.Module {
    const existing = byPath.get(real);
    if (existing !== undefined) return existing;
    const file = rel(real);
    budget.checkDepth(file, depth);
    budget.addModule(file);
    const typeScript = isTypeScriptFile(real);
    let source: string;
    try {
      source = typeScript
        ? readModuleFile(
            real,
            file,
            "TypeScript module",
            budget.bounds.typeScriptFileBytes,
            "warden strips TypeScript on load, and this much costs seconds and memory it never returns: compile it to JavaScript (tsc, esbuild) and ship the .js",
          )
        : readModuleFile(real, file, "module", budget.bounds.fileBytes, "ship data as files the plugin reads, not as code");
    } catch (e) {
      if (e instanceof ModuleFileMissing) throw new PluginError(`${file} disappeared while the plugin was loading`, { file });
      throw e;
    }
    budget.addBytes(file, Buffer.byteLength(source));
    if (typeScript) budget.addTypeScript(file, Buffer.byteLength(source));
    let mod: ivm.Module;
    try {
      const code = typeScript ? stripTypes(file, source) : source;
      const cached = cacheOptions("module", real, code);
      mod = o.isolate.compileModuleSync(code, { filename: rel(real), ...cached.options });
      rememberCache(cached.key, mod as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean });
    } catch (e) {
      if (e instanceof PluginError) throw e;
      throw new PluginError(`${rel(real)}: ${(e as Error).message}`, { file: rel(real) });
    }
    byPath.set(real, mod);
    pathOf.set(mod, real);
    depthOf.set(mod, depth);
    o.onModule?.(rel(real));
    return mod;
  }

  const mainLexical = resolve(lexicalRoot, o.main);
  if (!within(mainLexical, lexicalRoot)) throw new PluginError(`main ${quote(o.main)} is outside the plugin directory`);
  if (!isFile(mainLexical)) throw new PluginError(`the entry module ${quote(o.main)} does not exist in ${quote(lexicalRoot)}; create it or set "main" in plugin.json`);
  let root: ivm.Module;
  try {
    const mainReal = confine(mainLexical, o.main, "plugin.json main");
    checkLoadable(mainReal, o.main, "plugin.json main", null);
    root = compile(mainReal, 0);
    root.instantiateSync(o.context, (specifier, referrer) => {
      const referrerReal = pathOf.get(referrer) ?? realRoot;
      return compile(resolveSpecifier(specifier, referrerReal), (depthOf.get(referrer) ?? 0) + 1);
    });
  } catch (e) {
    if (e instanceof PluginError) throw e;
    throw new PluginError(`cannot load the plugin's modules: ${(e as Error).message}`);
  }
  return root;
}
