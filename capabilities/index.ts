// The capability bridge of one plugin. The plugin's identity is bound here, when its sandbox is
// built, and never read from anything the plugin passes. `call` is the one entry point: it checks
// the operation name and the argument count, then hands over to the capability that checks the
// permission, audits, and performs the operation.
import { BadInputError, isWardenError, quote } from "../errors/index.ts";
import { DEFAULTS, pick, type Limits } from "../defaults/index.ts";
import { createChannelCapability } from "./channel-capability.ts";
import { CONSENT_KINDS, type ConsentGate, type ConsentKind } from "./consent-gate.ts";
import { createEnvCapability } from "./env-capability.ts";
import { createExecCapability, type ExecRule } from "./exec-capability.ts";
import { createFsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";
import { createNetCapability } from "./net-capability.ts";
import { createPluginsCapability } from "./plugins-capability.ts";
import type { AuditSink, CallContext, Ports } from "./ports.ts";
import { justThis, type Protection } from "./protected-paths.ts";
import { queryPermission, queryPermissionSync } from "./query.ts";

export type { Grants, GrantList } from "./grants.ts";
export type * from "./ports.ts";
export { OperationError } from "./operation-error.ts";
import { OperationError } from "./operation-error.ts";
export { CheckedPath } from "./path-check.ts";
export { HardLinkedFileError, hasOtherNames } from "./hard-links.ts";
export { CheckedTarget } from "./net-check.ts";
export { CheckedCommand, createCommandCheck, type CommandCheck, type CommandDecision } from "./exec-check.ts";
export { justThis, protectionOf, type Protection } from "./protected-paths.ts";
export { SPECIAL_ROOTS } from "./path-rules.ts";
export { type ExecRule } from "./exec-capability.ts";
export {
  checkExecEnv,
  EXEC_ENV_POLICY,
  execEnvPolicyMarkdown,
  execEnvPolicyPatterns,
  isEnvName,
  MINIMAL_PATH,
  refusedEnvName,
  type EnvException,
  type EnvProblem,
  type EnvRefusal,
  type EnvRule,
} from "./exec-env-policy.ts";
export { patternProblem, topicMatches, topicProblem, patternCovers } from "./topic-rules.ts";
export { canonicalAddress, compileNetRules, decideAddress, matchName, specialRange } from "./net-rules.ts";
export { matchChannel } from "./channel-capability.ts";
export { matchEnv } from "./env-capability.ts";
export { matchPlugin } from "./plugins-capability.ts";
export { ConsentGate, CONSENT_KINDS, type ConsentGateOptions, type ConsentKind, type ConsentQuotas, type ConsentTerms, type ConsentUsage } from "./consent-gate.ts";

/** Caps the capabilities enforce, per plugin. */
export type CapabilityLimits = Pick<Limits, "readBytes" | "netBytes" | "execOutputBytes" | "messageBytes">;

/** Default caps (bytes): what a plugin gets when its manifest does not say (DEFAULTS.limits). */
export const DEFAULT_CAPABILITY_LIMITS: CapabilityLimits = Object.freeze(pick(DEFAULTS.limits, ["readBytes", "netBytes", "execOutputBytes", "messageBytes"]));

/** Most fetches one plugin may have in flight. */
export const MAX_CONCURRENT_FETCHES = 8;

/** Most commands one plugin may have alive at once (each counts until it has exited and its process group was killed). */
export const MAX_CONCURRENT_EXECS = 8;

/** Everything needed to build the capabilities of one plugin. */
export type CapabilityOptions = {
  readonly pluginId: string;
  readonly pluginDir: string;
  readonly grants: Grants;
  readonly ports: Ports;
  readonly audit: AuditSink;
  readonly limits: CapabilityLimits;
  /** Paths no write grant covers (the plugin's own manifest and code; core decides which). */
  readonly protect?: readonly Protection[];
  /**
   * The operator's approval of the plugin (expiry, quotas, the kill switch), checked before every
   * capability use; it belongs to the plugin's load, so it outlives this bridge (a rebuilt isolate
   * gets a new bridge and the same gate).
   */
  readonly consent?: ConsentGate;
};

/** The operations a plugin can ask for, by name, with their [min, max] argument counts. */
export const OPERATIONS = {
  "fs.readTextFile": [1, 1],
  "fs.writeTextFile": [2, 3],
  "fs.readDir": [1, 1],
  "fs.stat": [1, 1],
  "fs.mkdir": [1, 2],
  "fs.remove": [1, 2],
  fetch: [1, 2],
  exec: [1, 3],
  "env.get": [1, 1],
  "channels.publish": [2, 2],
  "channels.subscribe": [2, 2],
  "channels.unsubscribe": [1, 1],
  "permissions.query": [1, 1],
  "plugins.call": [2, 3],
} as const satisfies Record<string, readonly [number, number]>;
export type Operation = keyof typeof OPERATIONS;

// Every operation says whether the operator's approval gates it (a new one must decide).
const consentKinds: Record<Operation, ConsentKind | null> = CONSENT_KINDS;
void consentKinds;

/** The bridge of one plugin: `call(op, args, ctx)` resolves to a JSON-compatible value or rejects. */
export type Capabilities = {
  readonly pluginId: string;
  /** exec grants whose command was not found on the host's PATH (they grant nothing). */
  readonly unresolvedExec: readonly ExecRule[];
  call(op: string, args: unknown, ctx?: CallContext): Promise<unknown>;
  /**
   * Perform `op` synchronously if it needs no I/O (env.get, most queries): `{ value }`, or a thrown
   * error; null when it must go through `call`. The sandbox answers these inside the crossing, the
   * only fast path isolated-vm has (benchmarks/README.md).
   */
  callSync(op: string, args: unknown): { value: unknown } | null;
};

const NO_CONTEXT_MS = 30_000;

/** Build the capability bridge for one plugin. */
export async function createCapabilities(o: CapabilityOptions): Promise<Capabilities> {
  const { pluginId, grants, audit } = o;
  const fs = await createFsCapability({ pluginId, pluginDir: o.pluginDir, grants, fs: o.ports.fs, audit, readBytes: o.limits.readBytes });
  const consent = o.consent;
  const net = createNetCapability({
    pluginId,
    grants,
    dns: o.ports.dns,
    http: o.ports.http,
    audit,
    netBytes: o.limits.netBytes,
    maxConcurrent: MAX_CONCURRENT_FETCHES,
    ...(consent !== undefined ? { onTransfer: (bytes: number) => consent.account("net", bytes) } : {}),
  });
  const exec = await createExecCapability({ pluginId, pluginDir: o.pluginDir, grants, exec: o.ports.exec, fs, audit, execOutputBytes: o.limits.execOutputBytes, maxConcurrent: MAX_CONCURRENT_EXECS });
  // A program the plugin may run must not be one it can rewrite (D20: binary hijack); nor may the
  // plugin rewrite what it was loaded from. Each root is guarded by its lexical and its real path.
  const programs = exec.rules.flatMap((rule): Protection[] =>
    rule.path === null
      ? []
      : [
          {
            path: rule.path,
            covers: justThis,
            because: `it is the program granted in ${rule.field}; a plugin may not replace a command it can run`,
          },
        ],
  );
  for (const p of [...(o.protect ?? []), ...programs]) {
    fs.protect(p);
    const real = await o.ports.fs.realpath(p.path).catch(() => null);
    if (real !== null && real !== p.path) fs.protect({ ...p, path: real });
  }
  const env = createEnvCapability({ pluginId, grants, env: o.ports.env, audit });
  const channels = createChannelCapability({ pluginId, grants, channels: o.ports.channels, audit, messageBytes: o.limits.messageBytes });
  const plugins = createPluginsCapability({ pluginId, grants, plugins: o.ports.plugins, audit });
  const targets = { fs, net, exec, env, channels };

  const handlers: Record<Operation, (a: unknown[], ctx: CallContext) => unknown> = {
    "fs.readTextFile": (a) => fs.readTextFile(a[0]),
    "fs.writeTextFile": async (a, ctx) => {
      const done = await fs.writeTextFile(a[0], a[1], a[2], ctx.signal);
      // Only what was written counts (the text was checked to be a string by then).
      if (typeof a[1] === "string") consent?.account("write", Buffer.byteLength(a[1], "utf8"));
      return done;
    },
    "fs.readDir": (a) => fs.readDir(a[0]),
    "fs.stat": (a) => fs.stat(a[0]),
    "fs.mkdir": (a, ctx) => fs.mkdir(a[0], a[1], ctx.signal),
    "fs.remove": (a, ctx) => fs.remove(a[0], a[1], ctx.signal),
    fetch: (a, ctx) => net.fetch(a[0], a[1], ctx),
    exec: (a, ctx) => exec.run(a[0], a[1], a[2], ctx),
    "env.get": (a) => env.get(a[0]),
    "channels.publish": (a) => channels.publish(a[0], a[1]),
    "channels.subscribe": (a) => channels.subscribe(a[0], a[1]),
    "channels.unsubscribe": (a) => channels.unsubscribe(a[0]),
    "permissions.query": (a) => queryPermission(a[0], grants, targets, pluginId),
    "plugins.call": (a) => plugins.call(a[0], a[1], a[2]),
  };

  const syncHandlers: Partial<Record<Operation, (a: unknown[]) => { value: unknown } | null>> = {
    "env.get": (a) => ({ value: env.get(a[0]) }),
    "permissions.query": (a) => {
      const r = queryPermissionSync(a[0], grants, targets, pluginId);
      return r === null ? null : { value: r };
    },
  };

  function validate(op: string, args: unknown): unknown[] {
    if (!Object.hasOwn(OPERATIONS, op)) throw new BadInputError(`unknown operation ${quote(op)}`, { pluginId });
    const [min, max] = OPERATIONS[op as Operation];
    if (!Array.isArray(args)) throw new BadInputError(`${op}: expected an argument list`, { pluginId });
    if (args.length < min || args.length > max) {
      throw new BadInputError(`${op}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`, { pluginId });
    }
    return args;
  }

  function contain(op: string, e: unknown): never {
    if (isWardenError(e) || e instanceof OperationError) throw e;
    // Anything else is a fault in warden or the host, not an answer: the plugin gets a coded
    // error with the message only (never a host stack or a host error class).
    throw new OperationError("Io", `${op} failed inside warden: ${e instanceof Error ? e.message : String(e)}`);
  }

  /**
   * Run an admitted call so that a revocation ends it at once: its handler sees the gate's signal
   * (fetch and exec abort), and the call rejects as soon as the gate is revoked even when its
   * handler cannot be stopped (a file operation, a call into another plugin, whose effect may
   * still happen). A call revoked in flight is a denial, whatever the handler answered.
   */
  async function gated(consent: ConsentGate, admitted: AbortSignal, op: string, a: unknown[], context: CallContext): Promise<unknown> {
    const signal = AbortSignal.any([context.signal, admitted]);
    // One denial (and one audit record) per call, whichever of the paths below sees it first.
    let denial: Error | null = null;
    const deny = (): Error => (denial ??= consent.revokedInFlight(op, a, admitted, audit));
    let onAbort = (): void => undefined;
    const revoked = new Promise<never>((_, reject) => {
      onAbort = () => {
        if (admitted.aborted) reject(deny());
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    // The handler's own failure after a revocation is replaced by the revocation's denial.
    revoked.catch(() => undefined);
    try {
      const work = Promise.resolve().then(() => handlers[op as Operation](a, { deadline: context.deadline, signal }));
      work.catch(() => undefined);
      const value = await Promise.race([work, revoked]);
      if (admitted.aborted) throw deny();
      return value;
    } catch (e) {
      if (admitted.aborted) throw deny();
      return contain(op, e);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  return {
    pluginId,
    unresolvedExec: exec.unresolved,
    callSync(op, args) {
      const handler = syncHandlers[op as Operation];
      if (handler === undefined) return null;
      try {
        const a = validate(op, args);
        // The fast path is gated exactly like `call` (env.get must not bypass a revocation).
        consent?.admit(op, a, audit);
        return handler(a);
      } catch (e) {
        return contain(op, e);
      }
    },
    async call(op, args, ctx) {
      const a = validate(op, args);
      const context = ctx ?? { deadline: Date.now() + NO_CONTEXT_MS, signal: new AbortController().signal };
      const admitted = consent?.admit(op, a, audit) ?? null;
      if (consent === undefined || admitted === null) {
        try {
          return await handlers[op as Operation](a, context);
        } catch (e) {
          return contain(op, e);
        }
      }
      return gated(consent, admitted, op, a, context);
    },
  };
}
