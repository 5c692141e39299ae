// ExecPort on Node: PATH lookup on the host's PATH, and spawn without a shell in a new process
// group, so a timeout or an unload kills the command and everything it started.
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import type { Writable } from "node:stream";
import { CheckedCommand, type ExecPort, type ExecRun } from "../../capabilities/index.ts";

/** Process groups of running commands, so a supervisor can kill them if the sandbox dies. */
export type ProcessGroupTracker = { started(pgid: number): void; ended(pgid: number): void };

export type { ExecRun } from "../../capabilities/index.ts";

/**
 * Rewrites a checked command into what is spawned instead (an OS sandbox such as bubblewrap that
 * then runs it): the replacement runs in the command's cwd, in its own process group, with `env`.
 * `inputs`, if any, are written to descriptors 3, 4, ... of the replacement (each closed after its
 * bytes), e.g. a seccomp program bwrap reads before it starts the command.
 */
export type ExecWrap = (r: ExecRun) => {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: ReadonlyMap<string, string>;
  readonly inputs?: readonly Uint8Array[];
};

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

// Node's spawn copies every enumerable key of `env`, inherited ones included: a null prototype
// keeps anything added to Object.prototype out of the child's environment.
function childEnv(env: ReadonlyMap<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of env) out[k] = v;
  return out;
}

/** The ExecPort warden uses outside tests. `hostPath` is the host's PATH at load time; `wrap`, if given, rewrites each command before it is spawned. */
export function createNodeExec(hostPath: string = process.env["PATH"] ?? "", tracker?: ProcessGroupTracker, wrap?: ExecWrap): ExecPort {
  const dirs = hostPath.split(delimiter).filter((d) => d !== "" && isAbsolute(d));
  return {
    async which(name) {
      for (const dir of dirs) {
        const candidate = join(dir, name);
        if (await isExecutableFile(candidate)) return candidate;
      }
      return null;
    },
    async executable(path) {
      return (await isExecutableFile(path)) ? path : null;
    },
    run(r) {
      // The type already refuses anything else; this refuses a look-alike the compiler did not see.
      if (!CheckedCommand.is(r.command)) return Promise.reject(new TypeError("the exec port runs only a CheckedCommand made by the exec check"));
      return new Promise((resolve, reject) => {
        // A wrapper is spawned under its own name (argv0 belongs to the command it runs); if it
        // refuses the command, its error rejects this promise.
        const w = wrap?.(r);
        // The checked command is unwrapped here, at the spawn, and nowhere before it.
        const child = spawn(w?.file ?? r.command.file, [...(w?.args ?? r.args)], {
          ...(w === undefined ? { argv0: r.command.argv0 } : {}),
          cwd: r.command.cwd,
          env: childEnv(w?.env ?? r.env),
          shell: false,
          detached: true,
          stdio: ["pipe", "pipe", "pipe", ...(w?.inputs ?? []).map(() => "pipe" as const)],
          windowsHide: true,
        });
        const pid = child.pid;
        if (pid !== undefined) tracker?.started(pid);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let outBytes = 0;
        let errBytes = 0;
        let overflow = false;
        const onAbort = () => killGroup(pid);
        r.signal.addEventListener("abort", onAbort, { once: true });
        if (r.signal.aborted) onAbort();
        const take = (which: "out" | "err") => (chunk: Buffer) => {
          if (which === "out") outBytes += chunk.byteLength;
          else errBytes += chunk.byteLength;
          if (outBytes > r.maxOutputBytes || errBytes > r.maxOutputBytes) {
            if (!overflow) {
              overflow = true;
              killGroup(pid);
            }
            return;
          }
          (which === "out" ? out : err).push(chunk);
        };
        child.stdout.on("data", take("out"));
        child.stderr.on("data", take("err"));
        child.stdin.on("error", () => undefined);
        (w?.inputs ?? []).forEach((bytes, i) => {
          const fd = child.stdio[3 + i] as Writable | null | undefined;
          fd?.on("error", () => undefined);
          fd?.end(Buffer.from(bytes));
        });
        if (r.stdin !== null) child.stdin.end(Buffer.from(r.stdin));
        else child.stdin.end();
        child.on("error", (e) => {
          r.signal.removeEventListener("abort", onAbort);
          if (pid !== undefined) tracker?.ended(pid);
          reject(e);
        });
        // When the command exits, whatever it left running in its group goes too (and releases the pipes).
        child.on("exit", () => killGroup(pid));
        child.on("close", (code, signal) => {
          r.signal.removeEventListener("abort", onAbort);
          if (pid !== undefined) tracker?.ended(pid);
          resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), overflow });
        });
      });
    },
  };
}
