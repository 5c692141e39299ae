// exec: run a granted command, never through a shell. Grants are resolved through the HOST's PATH
// once, when the plugin loads; at call time the requested command is resolved the same way and
// the two absolute paths must be equal. The child gets only the environment the plugin passes (as
// far as exec-env-policy.ts allows) plus a minimal PATH, and the whole process group is killed when
// the call's time runs out. A plugin has at most `maxConcurrent` commands alive at once.
import { isAbsolute } from "node:path";
import { BadInputError, quote } from "../errors/index.ts";
import { optionsArg, stringArg, stringArrayArg, stringMapArg } from "./arguments.ts";
import { permissionDenied } from "./denial.ts";
import { overLong, refuseOverLong } from "./value-bounds.ts";
import { checkExecEnv, MINIMAL_PATH } from "./exec-env-policy.ts";
import { createCommandCheck, type ExecRule } from "./exec-check.ts";
import type { FsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";
import { beforeEffect } from "./effect-guard.ts";
import { OperationError } from "./operation-error.ts";
import type { AuditSink, CallContext, ExecPort } from "./ports.ts";

export type { ExecRule } from "./exec-check.ts";

/** Options of the exec capability of one plugin. */
export type ExecCapabilityOptions = {
  readonly pluginId: string;
  readonly pluginDir: string;
  readonly grants: Grants;
  readonly exec: ExecPort;
  readonly fs: FsCapability;
  readonly audit: AuditSink;
  /** Cap on stdout and on stderr, each, in bytes. */
  readonly execOutputBytes: number;
  /** Most commands of this plugin alive at once (a command counts until it has exited and its group was killed). */
  readonly maxConcurrent: number;
};

/** The exec capability of one plugin. */
export type ExecCapability = {
  /** Every exec grant as resolved at load. */
  readonly rules: readonly ExecRule[];
  /** Grants whose command was not found on PATH at load (they grant nothing). */
  readonly unresolved: readonly ExecRule[];
  run(cmd: unknown, args: unknown, options: unknown, ctx: CallContext): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  query(command: unknown): Promise<{ state: "granted" | "denied"; rule?: string; source?: string }>;
};

/** Build the exec capability; resolves every granted command name now. */
export async function createExecCapability(o: ExecCapabilityOptions): Promise<ExecCapability> {
  const grants = o.grants.exec;
  const commands = await createCommandCheck(o.exec, grants, o.pluginDir);
  const rules = commands.rules;

  function validateCommand(api: string, cmd: unknown): string {
    const c = stringArg(api, "the command", cmd, o.pluginId);
    if (c.includes("/") && !isAbsolute(c)) {
      throw new BadInputError(`${api}: ${quote(c)} is neither a command name ("git") nor an absolute path ("/usr/bin/git")`, { pluginId: o.pluginId, permission: "exec" });
    }
    return c;
  }

  // Commands of this plugin between the check of the cap and the end of the port's run(), which
  // settles only once the command has exited and its process group was killed.
  let running = 0;

  function deny(api: string, cmd: string, resolved: string | undefined, reason: string): never {
    o.audit.record({ type: "deny", op: api, permission: "exec", value: cmd, ...(resolved ? { resolved } : {}), decision: "denied", reason });
    throw permissionDenied({ pluginId: o.pluginId, api, permission: "exec", value: cmd, resolved, reason, field: "permissions.exec" });
  }

  return {
    rules,
    unresolved: rules.filter((r) => r.path === null),

    async run(cmdArg, argsArg, optionsArg_, ctx) {
      const api = "Warden.exec()";
      refuseOverLong(cmdArg, { pluginId: o.pluginId, api, permission: "exec", field: "permissions.exec", what: "the command", kind: "commandChars", audit: o.audit });
      const cmd = validateCommand(api, cmdArg);
      const args = stringArrayArg(api, "args", argsArg, o.pluginId);
      const opts = optionsArg(api, optionsArg_, ["cwd", "env", "stdin"], o.pluginId);
      const env = stringMapArg(api, "options.env", opts["env"], o.pluginId);
      // One rule for everything the env policy refuses (a malformed name such as "NODE_OPTIONS=x",
      // a refused variable such as LD_PRELOAD, two names differing only in case, NUL in a value):
      // the plugin gets BAD_INPUT, since no grant could allow it and PERMISSION_DENIED would tell
      // it to add one; and the operator gets a deny record of exec naming the variable, since an
      // attempt to steer a granted command is exactly what the audit log is for. Shape errors
      // (options.env not an object, a value not a string) are plain BAD_INPUT, like any argument.
      const problem = checkExecEnv(env);
      if (problem !== null) {
        o.audit.record({ type: "deny", op: api, permission: "exec", value: cmd, decision: "denied", reason: problem.message, envKey: problem.name });
        throw new BadInputError(`${api}: ${problem.message}`, { pluginId: o.pluginId, permission: "exec" });
      }
      const stdin = opts["stdin"] === undefined || opts["stdin"] === null ? null : new TextEncoder().encode(stringArg(api, "options.stdin", opts["stdin"], o.pluginId, true));
      const d = await commands.decide(cmd);
      if (!d.ok) {
        return deny(
          api,
          cmd,
          d.resolved ?? undefined,
          d.resolved === null ? `${cmd} is not an executable on the host's PATH and no rule in permissions.exec names it` : `no rule in permissions.exec resolves to ${d.resolved}`,
        );
      }
      // The working directory must be readable by the plugin; it is checked like any read, and the
      // command carries what was checked (the port takes its directory from the command only).
      const command = opts["cwd"] === undefined || opts["cwd"] === null ? d.command : d.command.in(await o.fs.check(opts["cwd"], "read", api));
      // No await between this check and the increment, so concurrent calls cannot all pass it.
      if (running >= o.maxConcurrent) {
        throw new OperationError("Busy", `${api}: this plugin already has ${o.maxConcurrent} commands running (the most it may have at once); wait for one to finish`);
      }
      // The cwd check awaited: a revoke, an unload or the deadline may have come meanwhile.
      beforeEffect(ctx.signal, `${api}: starting ${quote(cmd)}`);
      running++;
      let result: Awaited<ReturnType<ExecPort["run"]>>;
      try {
        const childEnv = new Map([...env, ["PATH", MINIMAL_PATH]]);
        result = await o.exec.run({
          command,
          args,
          env: childEnv,
          stdin,
          maxOutputBytes: o.execOutputBytes,
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, Math.ceil(ctx.deadline - Date.now())))]),
        });
      } catch (e) {
        throw new OperationError("Io", `${api}: ${quote(cmd)} could not be started (${(e as NodeJS.ErrnoException).code ?? "error"})`);
      } finally {
        running--;
      }
      // The names the plugin passed, never their values (a value may be a secret).
      const envKeys = [...env.keys()].sort();
      o.audit.record({
        type: "use",
        op: api,
        permission: "exec",
        value: [cmd, ...args].map((a) => JSON.stringify(a)).join(" "),
        resolved: d.command.file,
        decision: "granted",
        rule: d.command.rule,
        source: d.command.source,
        envKeys,
      });
      if (result.overflow) throw new OperationError("TooLarge", `${api}: ${quote(cmd)} wrote more than limits.execOutputBytes (${o.execOutputBytes} bytes) to stdout or stderr and was killed`);
      if (result.signal === "SIGKILL" && (ctx.signal.aborted || Date.now() >= ctx.deadline)) {
        throw new OperationError("Timeout", `${api}: ${quote(cmd)} was still running when the call's time ran out; its process group was killed`);
      }
      const decoder = new TextDecoder("utf-8");
      return { code: result.code, signal: result.signal, stdout: decoder.decode(result.stdout), stderr: decoder.decode(result.stderr) };
    },

    async query(command) {
      if (command === undefined) return grants === true ? { state: "granted", rule: "true", source: "permissions.exec" } : { state: "denied" };
      if (overLong(command, "commandChars")) return { state: "denied" };
      const cmd = validateCommand("Warden.permissions.query()", command);
      const d = await commands.decide(cmd);
      return d.ok ? { state: "granted", rule: d.command.rule, source: d.command.source } : { state: "denied" };
    },
  };
}
