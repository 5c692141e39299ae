// Whether bubblewrap can sandbox engines on this machine, found out by trying: having bwrap
// installed says nothing about whether the kernel, a container runtime or an AppArmor policy lets
// it make user namespaces. The probe starts `node -e` with the engines' own flags and stdio, and
// trusts the result only if the child answers over the engines' channel from namespaces other
// than warden's.
import { execFile, spawn } from "node:child_process";
import { readlinkSync } from "node:fs";
import type { Duplex } from "node:stream";
import { LineChannel } from "../sys/line-channel.ts";
import { createNodeExec } from "../sys/node-exec.ts";
import { ENGINE_CHANNEL_FD, ENGINE_STDIO, engineSandboxArgs } from "./engine-sandbox.ts";

/** What the probe found. `reason` says why the sandbox is unavailable and what to do, or what was verified. */
export type SandboxProbe = { readonly available: boolean; readonly path: string | null; readonly version: string | null; readonly reason: string };

/** Where to look for bwrap and what to run under it; every field defaults to this process's. */
export type ProbeOptions = {
  /** bwrap's path; otherwise it is looked up on `searchPath`. */
  readonly path?: string;
  /** The PATH searched for bwrap (default: this process's PATH). */
  readonly searchPath?: string;
  /** The Node executable engines run (default: process.execPath). */
  readonly node?: string;
};

const INSTALL_HINT = "install the bubblewrap package (apt-get install bubblewrap; dnf install bubblewrap)";

// A safety net for a bwrap that hangs; it normally answers in well under a second.
const PROBE_DEADLINE_MS = 20_000;

// The namespaces an engine must not share with warden (cgroup is "if possible" in --unshare-all).
const NAMESPACES = ["user", "mnt", "pid", "net", "ipc", "uts"] as const;

// Runs inside the sandbox: reports its namespaces, environment and pid as one line on the engines' channel.
const PROBE_SCRIPT = `const fs = require("node:fs");
const ns = {};
for (const n of ${JSON.stringify(NAMESPACES)}) ns[n] = fs.readlinkSync("/proc/self/ns/" + n);
fs.writeSync(${ENGINE_CHANNEL_FD}, JSON.stringify({ ns, env: Object.keys(process.env), pid: process.pid }) + "\\n");`;

// The probe's answer is a few hundred bytes.
const PROBE_REPLY_BYTES = 64 * 1024;

const cache = new Map<string, Promise<SandboxProbe>>();

/** Find bwrap and try it once with the engines' flags; the answer is cached per process and options. */
export function probeBubblewrap(o: ProbeOptions = {}): Promise<SandboxProbe> {
  const key = JSON.stringify([o.path ?? null, o.searchPath ?? null, o.node ?? null]);
  let p = cache.get(key);
  if (p === undefined) {
    p = probe(o);
    cache.set(key, p);
  }
  return p;
}

async function probe(o: ProbeOptions): Promise<SandboxProbe> {
  const searchPath = o.searchPath ?? process.env["PATH"] ?? "";
  const lookup = createNodeExec(searchPath);
  const path = o.path !== undefined ? await lookup.executable(o.path) : await lookup.which("bwrap");
  if (path === null) {
    const where = o.path !== undefined ? `${o.path} is not an executable file` : `bwrap is not on PATH (${searchPath === "" ? "empty" : searchPath})`;
    return { available: false, path: null, version: null, reason: `${where}: ${INSTALL_HINT}` };
  }
  const version = await bwrapVersion(path);
  const tried = await tryEngine(path, o.node ?? process.execPath);
  return { available: tried.ok, path, version, reason: tried.reason };
}

function bwrapVersion(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: PROBE_DEADLINE_MS, env: {} }, (err, stdout) => {
      const m = /(\d+\.\d+(?:\.\d+)?)/.exec(String(stdout));
      resolve(err === null && m !== null ? (m[1] ?? null) : null);
    });
  });
}

type ProbeReply = { ns?: Record<string, unknown>; env?: unknown; pid?: unknown };

function tryEngine(bwrap: string, node: string): Promise<{ ok: boolean; reason: string }> {
  return new Promise((resolve) => {
    let args: string[];
    try {
      args = [...engineSandboxArgs({ node, readOnly: [] }), "--", node, "--no-node-snapshot", "-e", PROBE_SCRIPT];
    } catch (e) {
      resolve({ ok: false, reason: `could not build the engine's sandbox: ${(e as Error).message}` });
      return;
    }
    const child = spawn(bwrap, args, { stdio: [...ENGINE_STDIO], env: {} });
    let reply: ProbeReply | null = null;
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), PROBE_DEADLINE_MS);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    new LineChannel(child.stdio[ENGINE_CHANNEL_FD] as Duplex, PROBE_REPLY_BYTES, {
      onMessage: (m) => {
        reply = typeof m === "object" && m !== null ? m : {};
      },
      onViolation: () => {
        reply = {};
      },
      onClose: () => {},
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `could not start ${bwrap} (${(e as NodeJS.ErrnoException).code ?? e.message})` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve(judge(bwrap, reply, code, signal, stderr));
    });
  });
}

function judge(bwrap: string, reply: ProbeReply | null, code: number | null, signal: NodeJS.Signals | null, stderr: string): { ok: boolean; reason: string } {
  const line = stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  if (reply === null || code !== 0) {
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
    const said = line !== "" ? `: ${JSON.stringify(line.slice(0, 300))}` : " without a message";
    const fix = /unknown option|unrecognized option/i.test(line)
      ? "this bubblewrap is too old for warden's flags (--disable-userns needs bubblewrap 0.8.0 or later): upgrade the bubblewrap package"
      : "check that user namespaces are allowed (sysctl user.max_user_namespaces > 0; kernel.unprivileged_userns_clone=1 on older Debian; on Ubuntu 23.10+ AppArmor's kernel.apparmor_restrict_unprivileged_userns needs a profile for bwrap), and that a container runs warden with them allowed (Docker's default seccomp profile refuses them)";
    return { ok: false, reason: `${bwrap} could not start a sandboxed engine (it ${how}${said}); ${fix}` };
  }
  const shared = NAMESPACES.filter((n) => {
    const inside = reply?.ns?.[n];
    return typeof inside !== "string" || inside === ownNamespace(n);
  });
  if (shared.length > 0) {
    return { ok: false, reason: `${bwrap} ran the probe without isolating it (same ${shared.join(", ")} namespace as warden); it is not bubblewrap, or it ignored warden's flags: ${INSTALL_HINT}` };
  }
  const env = Array.isArray(reply.env) ? reply.env : [];
  if (env.some((k) => k !== "PWD")) return { ok: false, reason: `${bwrap} passed environment variables into the sandbox (${env.slice(0, 5).join(", ")}) despite --clearenv` };
  return { ok: true, reason: `a probe engine ran in its own ${NAMESPACES.join(", ")} namespaces, with no environment and no network, and answered over its channel` };
}

function ownNamespace(n: string): string | null {
  try {
    return readlinkSync(`/proc/self/ns/${n}`);
  } catch {
    return null;
  }
}
