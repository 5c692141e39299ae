// The command line that runs one granted command (Warden.exec, performed by the host) inside
// bubblewrap: it sees the system's programs and libraries, its plugin's read grants read-only and
// write grants read-write, a private capped /tmp, no network unless the plugin may reach one (and
// then no Unix sockets either: socket-filter.ts), and only its own processes. Without this, a granted program runs with all of the host user's rights.
// The view allows no more than the capability bridge: the kernel filesystems a broad grant never
// covers are hidden, and what the host protects from writes is bound read-only inside the write
// grants (the caller passes both from the bridge's own lists, so the two cannot drift).
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { absolutePath, addSystemDirs, createMountPlan, isInside, type MountPlan } from "./mount-plan.ts";
import { BadInputError } from "../../errors/index.ts";
import type { ExecWrap } from "../sys/node-exec.ts";
import { unixSocketFilter } from "./socket-filter.ts";

// The descriptor bwrap reads the seccomp program from: the first of ExecWrap's inputs.
const SECCOMP_FD = "3";

/** Size of the private /tmp a command gets: enough for a sort spill or a shell's here-document, not a way to fill the host's memory. */
export const EXEC_TMP_BYTES = 16 * 1024 * 1024;

// Of /etc, only what programs need to start and that tells nothing about the host: the loader's
// cache and configuration (libraries outside the default directories), the alternatives links
// (/usr/bin/awk -> /etc/alternatives/awk), the time zone. Not passwd or group: programs show
// numeric ids instead (measured: ls, cat, sh, git --version, python3, perl, tar run without /etc).
const ETC_ALWAYS = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"];

// With network access, what name resolution and TLS need.
const ETC_NETWORK = ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates", "/etc/pki"];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How to run one command under bubblewrap. */
export type ExecCommandOptions = {
  readonly bwrap: string;
  /** The program, an absolute path as the host resolved and checked it; bound read-only. */
  readonly file: string;
  readonly args: readonly string[];
  /** Working directory; an empty read-only directory of that name when no grant covers it. */
  readonly cwd: string;
  /** The command's whole environment. */
  readonly env: ReadonlyMap<string, string>;
  /** The plugin's read grants as real paths (fixed at load), bound read-only; one that is now a link, or missing, is skipped. */
  readonly read: readonly string[];
  /** The plugin's write grants as real paths (fixed at load), bound read-write; one that is now a link, or missing, is skipped. */
  readonly write: readonly string[];
  /** Share the host's network namespace (the plugin has a net grant); otherwise a loopback of its own. */
  readonly network: boolean;
  /**
   * Host trees a command never sees, whatever its grants (the bridge's special roots: /proc, /sys,
   * /dev). /proc and /dev are replaced by the sandbox's own; any other becomes an empty read-only
   * directory.
   */
  readonly hidden: readonly string[];
  /** What the host protects from the plugin's writes, as real paths; bound read-only wherever a write grant would make it writable. */
  readonly protected: readonly ProtectedPath[];
  /** The plugin's own directory (real path): its write grants there stay writable under a protected tree. */
  readonly ownDir: string | null;
};

/**
 * A host path no write grant covers: one file (`tree: false`), or a directory where any entry may
 * be protected, new ones included (`tree: true`, e.g. the plugins directory, where a new .js file
 * or <id>.config.json would be loaded), so the whole tree is read-only to a command.
 */
export type ProtectedPath = { readonly path: string; readonly tree: boolean };

/**
 * The command and arguments that run `file` under bubblewrap. Spawn it as node-exec does (detached,
 * so it leads a process group): no --new-session, so killing that group (the host's timeout and
 * unload) reaches bwrap's init in the sandbox, and the kernel then ends every process of the
 * sandbox's pid namespace, including any that left the group with setsid().
 */
export function execCommand(o: ExecCommandOptions): { command: string; args: string[]; inputs: Uint8Array[] } {
  const file = absolutePath("file", o.file);
  const cwd = absolutePath("cwd", o.cwd);
  // A grant is bound only while it is still the directory or file it was at load: a command with a
  // write grant could replace a path below it with a link (to "/", say) that a bind would follow.
  // The capability treats a grant that has since led elsewhere the same way: it grants nothing.
  const write = o.write.map((p) => absolutePath("write", p)).filter(isRealPath);
  // A path inside a write grant is writable already, and replaceable: only the write grant is bound.
  const insideWrite = (p: string) => write.some((w) => isInside(p, w));
  const read = o.read
    .map((p) => absolutePath("read", p))
    .filter(isRealPath)
    .filter((p) => !insideWrite(p));
  if (insideWrite(file) || insideWrite(realPathOf(file))) {
    throw new BadInputError(
      `exec: the program ${JSON.stringify(file)} is inside a write grant, so a command could replace it before the next run; grant a program from a directory outside permissions.write`,
    );
  }
  const plan = createMountPlan();
  addSystemDirs(plan, ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]);
  for (const p of [...ETC_ALWAYS, ...(o.network ? ETC_NETWORK : [])]) plan.bind(p, "ro");
  // Before the grants, so that a grant under /tmp is bound over it.
  plan.raw("--size", String(EXEC_TMP_BYTES), "--perms", "1777", "--tmpfs", "/tmp");
  // Parents before children, reads before writes: a write grant inside a read grant stays writable.
  const byDepth = (a: string, b: string) => a.split("/").length - b.split("/").length;
  for (const p of [...read].sort(byDepth)) plan.bind(p, "ro");
  const writeRoots = [...write].sort(byDepth).filter((p, i, all) => !all.slice(0, i).some((w) => w !== p && isInside(p, w)));
  for (const p of writeRoots) plan.bind(p, "rw");
  protectInsideWrites(plan, writeRoots, write, o.protected, o.ownDir === null ? null : absolutePath("ownDir", o.ownDir));
  if (!statIsFile(file)) throw new BadInputError(`exec: the program ${JSON.stringify(file)} is not a regular file`);
  plan.bind(file, "ro");
  if (plan.modeAt(cwd) === null) plan.raw("--dir", cwd);
  plan.raw("--proc", "/proc", "--dev", "/dev");
  // After every bind, so no grant ("/" under read: true) brings the host's tree back over them, and
  // before the root is made read-only (bwrap makes their mount points in it).
  const hidden = o.hidden.map((p) => absolutePath("hidden", p)).filter((h) => h !== "/proc" && h !== "/dev");
  for (const h of hidden) plan.raw("--tmpfs", h);
  plan.raw("--remount-ro", "/", "--remount-ro", "/dev");
  for (const h of hidden) plan.raw("--remount-ro", h);
  const env: string[] = [];
  for (const [k, v] of o.env) {
    if (!ENV_NAME.test(k)) throw new BadInputError(`exec: ${JSON.stringify(k)} is not an environment variable name (letters, digits and _, not starting with a digit)`);
    env.push("--setenv", k, v);
  }
  // Without a net grant, no Unix sockets either (socket-filter.ts); built here, so an architecture
  // the filter does not know refuses the command instead of running it without.
  const inputs = o.network ? [] : [unixSocketFilter()];
  return {
    command: absolutePath("bwrap", o.bwrap),
    args: [
      "--unshare-all",
      "--unshare-user",
      "--disable-userns",
      "--cap-drop",
      "ALL",
      ...(o.network ? ["--share-net"] : []),
      "--die-with-parent",
      "--clearenv",
      ...env,
      ...(inputs.length > 0 ? ["--seccomp", SECCOMP_FD] : []),
      ...plan.args(),
      "--chdir",
      cwd,
      "--",
      file,
      ...o.args,
    ],
    inputs,
  };
}

/**
 * Bind what the host protects read-only over the write grants, in three passes whose order matters
 * (bwrap applies mounts in order, a later one hiding what is below it):
 * 1. A protected tree inside a write grant is bound read-only; a write grant inside a protected
 *    tree becomes read-only, unless it is in the plugin's own directory.
 * 2. The plugin's write grants in its own directory are bound writable again (a command may rewrite
 *    the plugin's own data and code, as documented; never another plugin's directory, which is not
 *    inside ownDir by real path).
 * 3. Protected files (the plugin's own manifest, the audit log) still writable are bound
 *    read-only; one that does not exist yet takes its directory, so it cannot be created either.
 */
function protectInsideWrites(plan: MountPlan, writeRoots: readonly string[], write: readonly string[], protectedPaths: readonly ProtectedPath[], ownDir: string | null): void {
  const own = (p: string) => ownDir !== null && isInside(p, ownDir);
  for (const t of protectedPaths.filter((t) => t.tree)) {
    const tree = absolutePath("protected", t.path);
    // The plugin's own protected trees (its code) stay as its write grants say: pass 2 would reopen them.
    if (own(tree)) continue;
    for (const w of writeRoots) {
      if (isInside(tree, w)) plan.bind(tree, "ro");
      else if (isInside(w, tree) && !own(w)) plan.bind(w, "ro");
    }
  }
  if (ownDir !== null) {
    for (const w of write) {
      const target = isInside(w, ownDir) ? w : isInside(ownDir, w) ? ownDir : null;
      if (target !== null && plan.modeAt(target) === "ro") plan.bind(target, "rw");
    }
  }
  for (const f of protectedPaths.filter((t) => !t.tree).map((t) => absolutePath("protected", t.path))) {
    if (plan.modeAt(f) !== "rw") continue;
    if (existsSync(f)) plan.bind(f, "ro");
    else if (plan.modeAt(dirname(f)) === "rw") plan.bind(dirname(f), "ro");
  }
}

function realPathOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function isRealPath(p: string): boolean {
  try {
    return realpathSync(p) === p;
  } catch {
    return false;
  }
}

function statIsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The grants one plugin's commands run with, for execWrap. */
export type ExecSandboxGrants = Pick<ExecCommandOptions, "bwrap" | "read" | "write" | "network" | "hidden" | "protected" | "ownDir">;

/** A createNodeExec wrap that runs every command of one plugin under bubblewrap with `grants`. */
export function execWrap(grants: ExecSandboxGrants | (() => ExecSandboxGrants)): ExecWrap {
  return (r) => {
    const g = typeof grants === "function" ? grants() : grants;
    const c = execCommand({ ...g, file: r.command.file, args: r.args, cwd: r.command.cwd, env: r.env });
    // bwrap itself needs no environment: the command's goes through --setenv.
    return { file: c.command, args: c.args, env: new Map(), inputs: c.inputs };
  };
}
