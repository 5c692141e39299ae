// The command line that starts an engine (a Node process holding plugins' isolates) inside
// bubblewrap. The host performs every capability, so an engine needs no network, no environment,
// no writable file, and reads only Node, warden's own code and the plugin directories it hosts.
// If plugin code escapes V8, this is all it finds. Why each flag: the comments below; what each
// one stops: test/os-sandbox/engine-sandbox.test.ts.
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { absolutePath, addSystemDirs, createMountPlan } from "./mount-plan.ts";

/**
 * The stdio an engine is spawned with: no stdin or stdout, stderr piped (V8's OOM reports), and its
 * channel to the host (core/sys/line-channel.ts), a socket pair at descriptor ENGINE_CHANNEL_FD.
 */
export const ENGINE_STDIO = ["ignore", "ignore", "pipe", "pipe"] as const;

/** The descriptor of an engine's channel to the host, in the engine (bwrap passes inherited descriptors through). */
export const ENGINE_CHANNEL_FD = 3;

/** The root of the installed warden package (holding package.json and dist/). */
export function wardenPackageRoot(): string {
  // This file is dist/core/os-sandbox/engine-sandbox.js once built.
  return fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");
}

/**
 * What of warden an engine reads: package.json, dist/, the isolate prelude, every node_modules
 * directory Node's resolution visits from the package root (npm hoists warden's dependencies next
 * to it when it is installed as a dependency), and the targets of linked packages in them (the
 * Node 20 isolated-vm build is a link to native/node20). Not the rest of the root: .git, a
 * .warden/ audit log or an application's files next to node_modules stay out.
 */
export function packageReadPaths(root: string): string[] {
  const out = [join(root, "package.json"), join(root, "dist"), join(root, "isolate", "prelude")];
  const nodeModules: string[] = [];
  for (let dir = root; ; dir = dirname(dir)) {
    if (basename(dir) !== "node_modules") nodeModules.push(join(dir, "node_modules"));
    if (dirname(dir) === dir) break;
  }
  for (const nm of nodeModules) {
    out.push(nm);
    out.push(...linkedPackages(nm));
  }
  return out;
}

// Symlinked entries of one node_modules directory and of its @scope directories (npm link, file:
// dependencies); a missing directory has none.
function linkedPackages(nm: string): string[] {
  const links: string[] = [];
  const scan = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isSymbolicLink()) links.push(join(dir, e.name));
      else if (depth === 0 && e.isDirectory() && e.name.startsWith("@")) scan(join(dir, e.name), 1);
    }
  };
  scan(nm, 0);
  return links;
}

/** How to start one engine under bubblewrap. */
export type EngineCommandOptions = {
  /** The bwrap executable (from probeBubblewrap). */
  readonly bwrap: string;
  /** The Node executable, usually process.execPath; only this file of its installation is bound. */
  readonly node: string;
  /** Node's own flags, e.g. ["--no-node-snapshot"]. */
  readonly nodeArgs: readonly string[];
  /** The engine's main module; bound read-only whether or not it is inside the package. */
  readonly script: string;
  readonly scriptArgs?: readonly string[];
  /** Host paths the engine reads (the plugin directories it hosts); missing ones are skipped. */
  readonly readOnly: readonly string[];
  /** warden's package root; defaults to the one this module belongs to. */
  readonly packageRoot?: string;
};

/**
 * The bwrap flags of an engine, without the command: namespaces, environment and filesystem.
 * Shared by engineCommand and the probe, so what the probe tries is what engines get.
 */
export function engineSandboxArgs(o: Omit<EngineCommandOptions, "bwrap" | "nodeArgs" | "script" | "scriptArgs"> & { readonly script?: string }): string[] {
  const plan = createMountPlan();
  addSystemDirs(plan, ["/lib", "/lib32", "/lib64", "/libx32"]);
  plan.bind(absolutePath("node", o.node), "ro");
  if (o.script !== undefined) plan.bind(absolutePath("script", o.script), "ro");
  for (const p of packageReadPaths(absolutePath("packageRoot", o.packageRoot ?? wardenPackageRoot()))) plan.bind(p, "ro");
  for (const p of o.readOnly) plan.bind(absolutePath("readOnly", p), "ro");
  // A fresh /proc of the engine's own pid namespace (V8 and libuv read /proc/self), minimal /dev;
  // both after the binds so that no bind can bring the host's /proc or /dev back over them.
  plan.raw("--proc", "/proc", "--dev", "/dev");
  // bwrap's root and /dev are tmpfs it can write; nothing in an engine needs to write a file.
  plan.raw("--remount-ro", "/", "--remount-ro", "/dev");
  return [
    // New user, ipc, pid, net, uts and cgroup namespaces; no --share-net, so only a loopback of its own.
    "--unshare-all",
    // Required rather than "try": a bwrap that cannot make one fails here (and in the probe) instead
    // of running the engine with less isolation than the report claims.
    "--unshare-user",
    // A compromised engine cannot make nested user namespaces, the usual way into kernel bugs.
    "--disable-userns",
    // Run by root, bwrap keeps every capability inside the sandbox's user namespace unless told
    // otherwise, and CAP_SYS_ADMIN there remounts a read-only bind writable (measured here).
    "--cap-drop",
    "ALL",
    // The engine goes when the host goes (bwrap's parent), whatever killed the host.
    "--die-with-parent",
    // setsid(): no controlling terminal to push input into (TIOCSTI).
    "--new-session",
    "--clearenv",
    ...plan.args(),
    "--chdir",
    "/",
  ];
}

/** The command and arguments that start an engine under bubblewrap; spawn it with ENGINE_STDIO. */
export function engineCommand(o: EngineCommandOptions): { command: string; args: string[] } {
  const node = absolutePath("node", o.node);
  const script = absolutePath("script", o.script);
  return {
    command: absolutePath("bwrap", o.bwrap),
    args: [
      ...engineSandboxArgs({ node, script, readOnly: o.readOnly, ...(o.packageRoot !== undefined ? { packageRoot: o.packageRoot } : {}) }),
      "--",
      node,
      ...o.nodeArgs,
      script,
      ...(o.scriptArgs ?? []),
    ],
  };
}
