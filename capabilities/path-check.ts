// The path check, and the only maker of CheckedPath. The fs port acts on nothing but a CheckedPath,
// so the value the check returned is the value the operation uses (Deno's CheckedPath): code
// outside this module cannot construct one, and a structural look-alike is not one.
import { basename, dirname, join, relative, resolve } from "node:path";
import { quote } from "../errors/index.ts";
import { cachedDecision } from "./decision-cache.ts";
import type { Grants } from "./grants.ts";
import { compilePathRules, isWithin, matchPath, normalizePath, type PathRule, type PathRules } from "./path-rules.ts";
import { protectionOf, type Protection } from "./protected-paths.ts";

/** The access kinds of the filesystem. */
export type FsAccess = "read" | "write";

/** What fstat/lstat say about one file. */
export type FileInfo = {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  readonly size: number;
  readonly mtimeMs: number;
  readonly dev: number;
  readonly ino: number;
  /** How many names (hard links) the file has: a write to one changes them all. */
  readonly nlink: number;
};

/**
 * What the check itself asks of the filesystem about paths it has not judged yet (its input):
 * metadata only. Nothing here opens, reads, writes or removes a file; those take a CheckedPath.
 */
export interface PathLookups {
  /** The real path (symlinks resolved); rejects with an errno error (ENOENT, ENOTDIR, ELOOP, ...). */
  realpath(path: string): Promise<string>;
  /** The target of `path` if it is a symbolic link (as written in the link), else null. */
  readlinkIfSymlink(path: string): Promise<string | null>;
  /** Identity of a path without following a final symlink (used where /proc/self/fd is missing). */
  identity(path: string): Promise<{ dev: number; ino: number }>;
  /** lstat: the entry itself, a final symlink not followed. */
  lstat(path: string): Promise<FileInfo>;
}

// The one way to make a CheckedPath; assigned by the class's static block, reachable only here.
let mint: (lexical: string, real: string, exists: boolean, rule: string, source: string) => CheckedPath;

/** A path that passed the lexical and the real-path check of one access kind. Only this module makes one. */
export class CheckedPath {
  readonly #brand = true;
  /** The lexically normalised absolute path the plugin asked for. */
  readonly lexical: string;
  /** Its real path at check time; the operation must act on exactly this file. */
  readonly real: string;
  /** Whether the real path existed at check time. */
  readonly exists: boolean;
  /** The manifest rule that granted it, as written. */
  readonly rule: string;
  /** Where that rule is in plugin.json (permissions.read[0]). */
  readonly source: string;
  private constructor(lexical: string, real: string, exists: boolean, rule: string, source: string) {
    this.lexical = lexical;
    this.real = real;
    this.exists = exists;
    this.rule = rule;
    this.source = source;
  }
  static {
    mint = (lexical, real, exists, rule, source) => new CheckedPath(lexical, real, exists, rule, source);
  }
  /** True for instances made by this module (a structural look-alike is not a CheckedPath). */
  static is(value: unknown): value is CheckedPath {
    return typeof value === "object" && value !== null && #brand in value;
  }
}

/** The answer to "may this path be accessed", with the rule that decided it. */
export type PathDecision =
  | { readonly ok: true; readonly checked: CheckedPath }
  | {
      readonly ok: false;
      readonly resolved: string;
      readonly reason?: string;
      readonly fix?: string;
      /**
       * What a symlink led to lies outside the plugin's own directory and grants, so the plugin is
       * not told where (or why it could not be followed): a link to / would otherwise map the host's
       * files, and /proc/self its working directory, open files and pid. The audit record keeps it.
       */
      readonly hidden?: string;
    };

/** A path a recursive write reaches (a directory mkdir creates, an entry remove deletes): checked, or why not. */
export type BelowDecision = { readonly ok: true; readonly checked: CheckedPath } | { readonly ok: false; readonly protection: string | null };

// `leftOut`: grants written inside the plugin that, when the check was built, led outside its real
// directory or to a directory holding the path they name (`data -> .`: the whole plugin); they
// cover nothing, and a denial says why (by field).
type Compiled = { lexical: PathRules; real: PathRules; leftOut: Map<string, { real: string; why: string }> };

// What a denial of a protected path says instead of "add it to permissions.write".
const NO_GRANT_COVERS = "no write grant can allow it";

/**
 * The real path of `path`, or of its nearest existing parent joined with the missing rest. A
 * dangling symlink on the way is followed to where it points, so a link to a missing file outside
 * the grant is judged by its target (no existence oracle outside the grant).
 */
export async function realPathOrNearest(fs: PathLookups, path: string, depth = 0): Promise<{ real: string; exists: boolean }> {
  const missing: string[] = [];
  let cur = path;
  for (;;) {
    try {
      const real = await fs.realpath(cur);
      return { real: missing.length === 0 ? real : join(real, ...missing.reverse()), exists: missing.length === 0 };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(cur) === cur) throw e;
      const target = await fs.readlinkIfSymlink(cur);
      if (target !== null) {
        if (depth >= 40) throw Object.assign(new Error("too many symbolic links"), { code: "ELOOP" });
        const followed = await realPathOrNearest(fs, resolve(dirname(cur), target), depth + 1);
        return { real: missing.length === 0 ? followed.real : join(followed.real, ...missing.reverse()), exists: false };
      }
      missing.push(basename(cur));
      cur = dirname(cur);
    }
  }
}

/**
 * The real-path rules of `lexical`, resolved once, now: a grant is judged by where it led when the
 * plugin loaded, so a link swapped in later does not move it. A grant written inside the plugin
 * (`data/`) must lead to a path inside the plugin's real directory and is confined to it; one that
 * leads out, or to a directory holding the very path it names (`data -> .` would make `data/` the
 * whole plugin), is left out and grants nothing (the manifest check refuses both, but links can
 * change between that check and this moment).
 */
async function compileReal(fs: PathLookups, lexical: PathRules, pluginDir: string, pluginReal: string): Promise<Compiled> {
  const rules: PathRule[] = [];
  const leftOut = new Map<string, { real: string; why: string }>();
  for (const r of lexical.rules) {
    const real = (await realPathOrNearest(fs, r.path).catch(() => ({ real: r.path }))).real;
    if (!isWithin(r.path, pluginDir)) {
      rules.push({ ...r, path: real });
      continue;
    }
    // Where the grant would be without links: its text, inside the plugin's real directory.
    const named = join(pluginReal, relative(pluginDir, r.path));
    if (!isWithin(real, pluginReal)) leftOut.set(r.field, { real, why: "outside the plugin's directory" });
    else if (real !== named && isWithin(named, real)) leftOut.set(r.field, { real, why: "to a directory that holds the path it names, so it would grant more than it says" });
    else rules.push({ ...r, path: real, confine: pluginReal });
  }
  return { lexical, real: { all: lexical.all, field: lexical.field, rules }, leftOut };
}

/** What a plugin is told of a path whose symlinks led outside its directory and grants. */
const LED_OUTSIDE = (access: FsAccess): string => `a symbolic link on its way leads outside the plugin's directory and what permissions.${access} covers (where it leads is in the host's audit log)`;

/** The path check of one plugin: the only code that turns a path into a CheckedPath. */
export type PathCheck = {
  /**
   * Lexical then real-path check. With `follow`, a final symlink is resolved (the operation acts on
   * its target); without it, the entry itself is what is checked and acted on (remove, mkdir).
   */
  decide(value: string, access: FsAccess, follow?: boolean): Promise<PathDecision>;
  /**
   * Check a path a recursive write reaches beyond what was asked (every directory mkdir creates,
   * every entry below a recursive remove): covered by a write rule, and not protected.
   */
  below(lexical: string, real: string, exists: boolean): BelowDecision;
  /** Refuse every write to what `p` covers (judged on the lexical and the real path). */
  protect(p: Protection): void;
};

/** Build the path check of one plugin; resolves the real paths of its grants once. */
export async function createPathCheck(fs: PathLookups, pluginDirArg: string, grants: Grants): Promise<PathCheck> {
  const pluginDir = resolve(pluginDirArg);
  const pluginReal = await fs.realpath(pluginDir).catch(() => pluginDir);
  const compiled: Record<FsAccess, Compiled> = {
    read: await compileReal(fs, compilePathRules(grants.read, pluginDir, "permissions.read"), pluginDir, pluginReal),
    write: await compileReal(fs, compilePathRules(grants.write, pluginDir, "permissions.write"), pluginDir, pluginReal),
  };
  const protections: Protection[] = [];
  /** Why the plugin may not write `lexical` (or its real path `real`), or null. */
  const guarded = (lexical: string, real: string): string | null => protectionOf(protections, lexical) ?? protectionOf(protections, real);
  // The matching itself is pure; only resolving real paths touches the filesystem (never cached).
  const match = {
    read: { lexical: cachedDecision((p) => matchPath(compiled.read.lexical, p)), real: cachedDecision((p) => matchPath(compiled.read.real, p)) },
    write: { lexical: cachedDecision((p) => matchPath(compiled.write.lexical, p)), real: cachedDecision((p) => matchPath(compiled.write.real, p)) },
  };

  async function decide(value: string, access: FsAccess, follow = true): Promise<PathDecision> {
    const lexical = normalizePath(value, pluginDir);
    const lexicalRule = match[access].lexical(lexical);
    if (lexicalRule === null) return { ok: false, resolved: lexical };
    let resolved: { real: string; exists: boolean };
    try {
      if (follow || dirname(lexical) === lexical) resolved = await realPathOrNearest(fs, lexical);
      else {
        const parent = await realPathOrNearest(fs, dirname(lexical));
        const real = join(parent.real, basename(lexical));
        resolved = {
          real,
          exists:
            parent.exists &&
            (await fs.lstat(real).then(
              () => true,
              () => false,
            )),
        };
      }
    } catch (e) {
      return { ok: false, resolved: lexical, reason: `its real path cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"})`, hidden: LED_OUTSIDE(access) };
    }
    const realRule = match[access].real(resolved.real);
    if (realRule === null) {
      const led = compiled[access].leftOut.get(lexicalRule.field);
      // Where a link led is the plugin's to know only inside its own directory.
      const hidden = resolved.real !== lexical && !isWithin(resolved.real, pluginReal) ? LED_OUTSIDE(access) : undefined;
      if (led === undefined) return { ok: false, resolved: resolved.real, ...(hidden !== undefined ? { hidden } : {}) };
      const grantNothing = `${lexicalRule.field} ${quote(lexicalRule.source)} led ${led.why}`;
      return {
        ok: false,
        resolved: resolved.real,
        reason: `${grantNothing} (to ${quote(led.real)}) when the plugin loaded, so it grants nothing; a grant written inside the plugin must lead to the path it names, inside the plugin`,
        ...(hidden !== undefined || !isWithin(led.real, pluginReal)
          ? { hidden: `${grantNothing} when the plugin loaded, so it grants nothing; a grant written inside the plugin must lead to the path it names, inside the plugin` }
          : {}),
      };
    }
    const reason = access === "write" ? guarded(lexical, resolved.real) : null;
    if (reason !== null) return { ok: false, resolved: resolved.real, reason, fix: NO_GRANT_COVERS };
    return { ok: true, checked: mint(lexical, resolved.real, resolved.exists, realRule.source, realRule.field) };
  }

  function below(lexical: string, real: string, exists: boolean): BelowDecision {
    // Grants only add, so everything below a granted path is granted; this re-check keeps that an
    // explicit invariant (and holds /proc-style carve-outs and confinement) rather than an assumption.
    const rule = matchPath(compiled.write.real, real);
    if (rule === null) return { ok: false, protection: null };
    const reason = guarded(lexical, real);
    if (reason !== null) return { ok: false, protection: reason };
    return { ok: true, checked: mint(lexical, real, exists, rule.source, rule.field) };
  }

  return {
    decide,
    below,
    protect: (p) => void protections.push(p),
  };
}
