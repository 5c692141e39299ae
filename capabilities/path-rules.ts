// PURE path matching with Deno's semantics (N1, N11, N12, D10 in docs/security.md): lexical
// normalisation, component-wise prefix match, and a guard that keeps /proc, /sys and /dev out of
// broad grants. No filesystem access here: real paths are computed by the caller and matched with
// the same rules.
import { isAbsolute, resolve, sep } from "node:path";
import type { GrantList } from "./grants.ts";

/**
 * One compiled path grant: what the manifest said, where (permissions.read[0]), and the absolute
 * path it stands for. `named` is the grant's own normalised text: the /proc, /sys and /dev guard
 * judges what a grant names, never where a symlink on its way happened to lead. `confine`, when
 * set, is a directory the rule never covers anything outside of (the plugin's real directory, for
 * a grant written inside the plugin).
 */
export type PathRule = {
  readonly source: string;
  readonly field: string;
  readonly path: string;
  readonly named: string;
  readonly confine?: string;
};

/** Compiled path grants of one kind (read or write). `all` is a `true` grant. */
export type PathRules = { readonly all: boolean; readonly field: string; readonly rules: readonly PathRule[] };

/** Kernel filesystems a broad grant never covers (manifests/permission-diff.ts keeps a copy; a test compares them). */
export const SPECIAL_ROOTS: readonly string[] = ["/proc", "/sys", "/dev"];

/** Lexically normalise `path` to an absolute path; relative paths resolve against `baseDir`. */
export function normalizePath(path: string, baseDir: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(baseDir, path);
}

/** True when `path` equals `base` or lies below it, compared component by component. */
export function isWithin(path: string, base: string): boolean {
  if (path === base) return true;
  const prefix = base.endsWith(sep) ? base : base + sep;
  return path.startsWith(prefix);
}

/** The special root (/proc, /sys, /dev) that `path` lies in, or null. */
export function specialRoot(path: string): string | null {
  return SPECIAL_ROOTS.find((root) => isWithin(path, root)) ?? null;
}

/** Compile a grant list against the plugin directory; `field` is where it is (permissions.read). */
export function compilePathRules(grants: GrantList | undefined, pluginDir: string, field: string): PathRules {
  if (grants === undefined) return { all: false, field, rules: [] };
  if (grants === true) return { all: true, field, rules: [] };
  return {
    all: false,
    field,
    rules: grants.map((source, i) => {
      const path = normalizePath(source, pluginDir);
      return { source, field: `${field}[${i}]`, path, named: path };
    }),
  };
}

/**
 * The rule that covers an absolute, normalised `path`, or null. The most specific rule wins. A path
 * under /proc, /sys or /dev is covered only by a rule that itself names a path under that root (its
 * text, so `/tmp/x` → `/proc/self` never makes /proc/self/environ reachable), and a confined rule
 * never covers anything outside its `confine` directory.
 */
export function matchPath(rules: PathRules, path: string): PathRule | null {
  const special = specialRoot(path);
  let best: PathRule | null = null;
  for (const rule of rules.rules) {
    if (!isWithin(path, rule.path)) continue;
    if (special !== null && !(isWithin(rule.named, special) && isWithin(rule.path, special))) continue;
    if (rule.confine !== undefined && !isWithin(path, rule.confine)) continue;
    if (best === null || rule.path.length > best.path.length) best = rule;
  }
  if (best !== null) return best;
  if (rules.all && special === null) return { source: "true", field: rules.field, path: "/", named: "/" };
  return null;
}
