// The command line that runs one granted command (Warden.exec, performed by the host) inside
// bubblewrap: it sees the system's programs and libraries, its plugin's read grants read-only and
// write grants read-write, a private capped /tmp, no network unless the plugin may reach one, and
// only its own processes. Without this, a granted program runs with all of the host user's rights.
import { realpathSync, statSync } from "node:fs";
import { absolutePath, addSystemDirs, createMountPlan, isInside } from "./mount-plan.ts";
import { BadInputError } from "../../errors/index.ts";
import type { ExecWrap } from "../sys/node-exec.ts";

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
};

/**
 * The command and arguments that run `file` under bubblewrap. Spawn it as node-exec does (detached,
 * so it leads a process group): no --new-session, so killing that group (the host's timeout and
 * unload) reaches bwrap's init in the sandbox, and the kernel then ends every process of the
 * sandbox's pid namespace, including any that left the group with setsid().
 */
export function execCommand(o: ExecCommandOptions): { command: string; args: string[] } {
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
  for (const p of [...write].sort(byDepth).filter((p, i, all) => !all.slice(0, i).some((w) => w !== p && isInside(p, w)))) plan.bind(p, "rw");
  if (!statIsFile(file)) throw new BadInputError(`exec: the program ${JSON.stringify(file)} is not a regular file`);
  plan.bind(file, "ro");
  if (plan.modeAt(cwd) === null) plan.raw("--dir", cwd);
  plan.raw("--proc", "/proc", "--dev", "/dev", "--remount-ro", "/", "--remount-ro", "/dev");
  const env: string[] = [];
  for (const [k, v] of o.env) {
    if (!ENV_NAME.test(k)) throw new BadInputError(`exec: ${JSON.stringify(k)} is not an environment variable name (letters, digits and _, not starting with a digit)`);
    env.push("--setenv", k, v);
  }
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
      ...plan.args(),
      "--chdir",
      cwd,
      "--",
      file,
      ...o.args,
    ],
  };
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
export type ExecSandboxGrants = { readonly bwrap: string; readonly read: readonly string[]; readonly write: readonly string[]; readonly network: boolean };

/** A createNodeExec wrap that runs every command of one plugin under bubblewrap with `grants`. */
export function execWrap(grants: ExecSandboxGrants | (() => ExecSandboxGrants)): ExecWrap {
  return (r) => {
    const g = typeof grants === "function" ? grants() : grants;
    const c = execCommand({ bwrap: g.bwrap, file: r.command.file, args: r.args, cwd: r.command.cwd, env: r.env, read: g.read, write: g.write, network: g.network });
    // bwrap itself needs no environment: the command's goes through --setenv.
    return { file: c.command, args: c.args, env: new Map() };
  };
}
