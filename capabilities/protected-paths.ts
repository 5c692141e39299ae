// Paths a write grant never covers, whatever it says: a program the plugin may exec (D20) and the
// plugin's own manifest and code (so a plugin cannot rewrite itself into new permissions or new
// code). A protection is a root and a test on what lies below it, so one shape guards a single
// file, a whole subtree, or every entry of some name under a directory. PURE: callers register
// both the lexical and the real path of a root and ask about both forms of a path.
import { sep } from "node:path";
import { isWithin } from "./path-rules.ts";

/** One protected set of paths and why writing to it is refused. */
export type Protection = {
  /** An absolute path. */
  readonly path: string;
  /** Whether an entry is protected, given its components below `path` ([] for `path` itself). */
  readonly covers: (below: readonly string[]) => boolean;
  /** What a denial says. */
  readonly because: string;
};

/** `covers` for exactly the root path (one file). */
export function justThis(below: readonly string[]): boolean {
  return below.length === 0;
}

/** The reason `path` (absolute, normalised) is protected, or null. */
export function protectionOf(list: readonly Protection[], path: string): string | null {
  for (const p of list) {
    if (!isWithin(path, p.path)) continue;
    const rest = path === p.path ? "" : path.slice(p.path.endsWith(sep) ? p.path.length : p.path.length + 1);
    if (p.covers(rest === "" ? [] : rest.split(sep))) return p.because;
  }
  return null;
}
