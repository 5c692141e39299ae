// The filesystem a bubblewrap sandbox sees, as an ordered list of bwrap operations. bwrap starts
// from an empty tmpfs and applies mounts in argument order, a later mount hiding whatever an
// earlier one put below it; so this module keeps the order and knows, for any path, which bind
// is in effect there. Host paths are resolved to their real paths here: a path that does not
// exist is skipped, and a symlinked path is bound at its real path, with a symlink to it at the
// name it was given (unless that name is inside a bound tree, where the host's link is visible).
// A link, not a second bind: a relative link below it ("../native/node20" in a linked
// node_modules) must resolve from the real parent, as it does on the host.
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { BadInputError } from "../../errors/index.ts";

/** Whether a bind is read-only or read-write inside the sandbox. */
export type BindMode = "ro" | "rw";

/** A sandbox's filesystem under construction: raw operations and binds, in the order bwrap applies them. */
export type MountPlan = {
  /** Append bwrap arguments as they are (a --symlink, --tmpfs, --proc...). */
  raw(...args: string[]): void;
  /** Make `name` a symlink to `target` inside the sandbox (as the host has it). */
  link(target: string, name: string): void;
  /** Bind the host path `path` (file or directory) with `mode`; false when it does not exist (nothing is added). */
  bind(path: string, mode: BindMode): boolean;
  /** The mode in effect at `path` (followed through links as on the host) inside the sandbox, or null when no bind covers it. */
  modeAt(path: string): BindMode | null;
  /** Every argument so far, in order. */
  args(): string[];
};

/** Whether `p` is `root` or below it (both absolute and normalised). */
export function isInside(p: string, root: string): boolean {
  return p === root || p.startsWith(root === "/" ? "/" : `${root}/`);
}

/** An absolute, normalised path, or BAD_INPUT naming `what` (a relative bind would depend on bwrap's cwd). */
export function absolutePath(what: string, p: string): string {
  if (typeof p !== "string" || !isAbsolute(p) || p.includes("\0")) {
    throw new BadInputError(`${what}: ${JSON.stringify(p)} is not an absolute path; pass the path a sandbox should see, e.g. "/srv/plugins/notes"`);
  }
  const n = normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** A new, empty mount plan. */
export function createMountPlan(): MountPlan {
  const ops: string[] = [];
  // Destinations of binds in the order applied; the last one containing a path is the one in effect there.
  const roots: { dest: string; mode: BindMode }[] = [];
  // Symlinks made in the sandbox (paths below them resolve through them, as on the host).
  const links: string[] = [];
  const link = (target: string, name: string) => {
    ops.push("--symlink", target, name);
    links.push(name);
  };

  const effective = (p: string) => roots.findLast((r) => isInside(p, r.dest)) ?? null;

  return {
    raw(...args) {
      ops.push(...args);
    },
    link,
    bind(path, mode) {
      const given = absolutePath("bind", path);
      let real: string;
      try {
        real = realpathSync(given);
      } catch {
        return false;
      }
      const flag = mode === "ro" ? "--ro-bind" : "--bind";
      // Already visible with this mode (inside /usr, or a tree bound before): another mount adds nothing.
      if (effective(real)?.mode !== mode) {
        ops.push(flag, real, real);
        roots.push({ dest: real, mode });
      }
      // The name it was given: inside a bound tree (or a link made here) its links resolve as on the
      // host, to the real path just bound; elsewhere bwrap would find nothing there.
      if (given !== real && effective(given) === null && !links.some((l) => isInside(given, l))) link(real, given);
      return true;
    },
    modeAt(p) {
      let real = p;
      try {
        real = realpathSync(p);
      } catch {
        // judged by its name
      }
      return effective(real)?.mode ?? null;
    },
    args() {
      return [...ops];
    },
  };
}

/**
 * The top-level system directories a program's loader needs besides /usr, as this host lays them
 * out: on a merged-/usr system (Debian 12, Ubuntu) /lib, /lib64, /bin are symlinks into /usr and are
 * recreated as the same symlinks; on an older layout they are real directories and bound read-only.
 */
export function addSystemDirs(plan: MountPlan, names: readonly string[]): void {
  plan.bind("/usr", "ro");
  for (const name of names) {
    let isLink: boolean;
    try {
      isLink = lstatSync(name).isSymbolicLink();
    } catch {
      continue;
    }
    if (isLink) plan.link(readlinkSync(name), name);
    else plan.bind(name, "ro");
  }
}
