// exec: run a granted command, never through a shell. Grants are resolved through the HOST's PATH
// once, when the plugin loads; at call time the requested command is resolved the same way and
// the two absolute paths must be equal. The child gets only the environment the plugin passes plus
// a minimal PATH, and the whole process group is killed when the call's time runs out.
import { isAbsolute, normalize } from "node:path";
import { BadInputError } from "../core/errors.ts";
import { quote } from "../core/escape-text.ts";
import { optionsArg, stringArg, stringArrayArg, stringRecordArg } from "./arguments.ts";
import { permissionDenied } from "./denial.ts";
import type { FsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";
import { OperationError } from "./operation-error.ts";
import type { AuditSink, CallContext, ExecPort } from "./ports.ts";

/** The PATH a child process gets. The plugin cannot change it. */
export const MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin";

/** One exec grant, resolved at load: what was written, where, and the executable it names (null: not found). */
export type ExecRule = { readonly source: string; readonly field: string; readonly path: string | null };

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

/** An environment variable name the child must never receive from a plugin, or null if it is fine. */
export function refusedEnvName(name: string): string | null {
  if (name.startsWith("LD_") || name.startsWith("DYLD_")) return `${name} changes how the dynamic linker loads code`;
  if (name === "NODE_OPTIONS") return "NODE_OPTIONS changes what a node child runs";
  if (name === "PATH") return `PATH is set by warden (${MINIMAL_PATH}); commands are resolved through the host's PATH`;
  return null;
}

/** Build the exec capability; resolves every granted command name now. */
export async function createExecCapability(o: ExecCapabilityOptions): Promise<ExecCapability> {
  const grants = o.grants.exec;
  const rules: ExecRule[] = grants === undefined || grants === true
    ? []
    : await Promise.all(grants.map(async (source, i) => ({ source, field: `permissions.exec[${i}]`, path: await resolveCommand(source) })));

  async function resolveCommand(cmd: string): Promise<string | null> {
    return isAbsolute(cmd) ? o.exec.executable(normalize(cmd)) : o.exec.which(cmd);
  }

  function validateCommand(api: string, cmd: unknown): string {
    const c = stringArg(api, "the command", cmd, o.pluginId);
    if (c.includes("/") && !isAbsolute(c)) {
      throw new BadInputError(`${api}: ${quote(c)} is neither a command name ("git") nor an absolute path ("/usr/bin/git")`, { pluginId: o.pluginId, permission: "exec" });
    }
    return c;
  }

  /** Resolve and match; `resolved` is the one absolute path that will run. */
  async function decide(cmd: string): Promise<{ ok: true; resolved: string; rule: string; source: string } | { ok: false; resolved: string | null }> {
    const resolved = await resolveCommand(cmd);
    if (resolved === null) return { ok: false, resolved: null };
    if (grants === true) return { ok: true, resolved, rule: "true", source: "permissions.exec" };
    const rule = rules.find((r) => r.path !== null && r.path === resolved);
    return rule ? { ok: true, resolved, rule: rule.source, source: rule.field } : { ok: false, resolved };
  }

  function deny(api: string, cmd: string, resolved: string | undefined, reason: string): never {
    o.audit.record({ type: "deny", op: api, permission: "exec", value: cmd, ...(resolved ? { resolved } : {}), decision: "denied", reason });
    throw permissionDenied({ pluginId: o.pluginId, api, permission: "exec", value: cmd, resolved, reason, field: "permissions.exec" });
  }

  return {
    rules,
    unresolved: rules.filter((r) => r.path === null),

    async run(cmdArg, argsArg, optionsArg_, ctx) {
      const api = "Warden.exec()";
      const cmd = validateCommand(api, cmdArg);
      const args = stringArrayArg(api, "args", argsArg, o.pluginId);
      const opts = optionsArg(api, optionsArg_, ["cwd", "env", "stdin"], o.pluginId);
      const env = stringRecordArg(api, "options.env", opts["env"], o.pluginId);
      for (const name of Object.keys(env)) {
        const why = refusedEnvName(name);
        if (why !== null) throw new BadInputError(`${api}: options.env cannot set ${name}: ${why}`, { pluginId: o.pluginId, permission: "exec" });
      }
      const stdin = opts["stdin"] === undefined || opts["stdin"] === null ? null : new TextEncoder().encode(stringArg(api, "options.stdin", opts["stdin"], o.pluginId, true));
      const d = await decide(cmd);
      if (!d.ok) {
        return deny(api, cmd, d.resolved ?? undefined, d.resolved === null
          ? `${cmd} is not an executable on the host's PATH and no rule in permissions.exec names it`
          : `no rule in permissions.exec resolves to ${d.resolved}`);
      }
      // The working directory must be readable by the plugin; it is checked like any read.
      const cwd = opts["cwd"] === undefined || opts["cwd"] === null ? o.pluginDir : (await o.fs.check(opts["cwd"], "read", api)).real;
      const result = await o.exec.run({ file: d.resolved, argv0: cmd, args, cwd, env: { ...env, PATH: MINIMAL_PATH }, stdin, maxOutputBytes: o.execOutputBytes, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, Math.ceil(ctx.deadline - Date.now())))]) })
        .catch((e: unknown) => {
          throw new OperationError("Io", `${api}: ${quote(cmd)} could not be started (${(e as NodeJS.ErrnoException).code ?? "error"})`);
        });
      o.audit.record({ type: "use", op: api, permission: "exec", value: [cmd, ...args].map((a) => JSON.stringify(a)).join(" "), resolved: d.resolved, decision: "granted", rule: d.rule, source: d.source });
      if (result.overflow) throw new OperationError("TooLarge", `${api}: ${quote(cmd)} wrote more than limits.execOutputBytes (${o.execOutputBytes} bytes) to stdout or stderr and was killed`);
      if (result.signal === "SIGKILL" && (ctx.signal.aborted || Date.now() >= ctx.deadline)) {
        throw new OperationError("Timeout", `${api}: ${quote(cmd)} was still running when the call's time ran out; its process group was killed`);
      }
      const decoder = new TextDecoder("utf-8");
      return { code: result.code, signal: result.signal, stdout: decoder.decode(result.stdout), stderr: decoder.decode(result.stderr) };
    },

    async query(command) {
      if (command === undefined) return grants === true ? { state: "granted", rule: "true", source: "permissions.exec" } : { state: "denied" };
      const cmd = validateCommand("Warden.permissions.query()", command);
      const d = await decide(cmd);
      return d.ok ? { state: "granted", rule: d.rule, source: d.source } : { state: "denied" };
    },
  };
}
