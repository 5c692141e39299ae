// The host's half of a plugin's capability calls. An engine forwards each call of the plugin in a
// slot; the broker checks it against that plugin's grants, writes the audit record, performs it
// with the host's own file system, network, commands and environment, and answers. So an engine
// holds no rights at all: a V8 bug in one of its isolates hands an attacker at most what its
// tenants' grants allow, through this check, and an engine that dies cannot take with it the
// record of an effect that already happened (the host wrote it before the effect).
import { createCapabilities, type AuditEvent, type Capabilities, type ChannelPort, type ConsentGate, type PluginsPort } from "../../capabilities/index.ts";
import { operationErrorDescriptor, valueProblem } from "../../isolate/index.ts";
import { BadInputError } from "../../errors/index.ts";
import { hostFileProtections, ownFileProtections } from "./own-files.ts";
import { execWrap } from "../os-sandbox/exec-sandbox.ts";
import { execView } from "./exec-view.ts";
import { createNodeEnv } from "../sys/node-env.ts";
import { createNodeExec } from "../sys/node-exec.ts";
import { createNodeFs } from "../sys/node-fs.ts";
import { createNodeDns, createNodeHttp } from "../sys/node-net.ts";
import type { LoadSpec } from "./protocol.ts";

/** What the broker needs from the plugin's slot: where records go, its channels, its plugin calls. */
export type BrokerHooks = {
  readonly record: (event: AuditEvent) => void;
  readonly channels: ChannelPort;
  readonly plugins: PluginsPort;
  /** Process groups of the commands the plugin runs, so they die with the plugin. */
  readonly processGroups: { started(pgid: number): void; ended(pgid: number): void };
  /** bubblewrap's path when the plugin's commands run under the OS sandbox (its engines do). */
  readonly bwrap?: string;
  /** The operator's approval of the plugin, checked before every capability use (the same gate for every broker of one load). */
  readonly consent?: ConsentGate;
};

/** The plugin's capability bridge, built in the host with the host's real ports. */
export function createBroker(spec: LoadSpec, hooks: BrokerHooks): Promise<Capabilities> {
  const protect = [...ownFileProtections(spec.pluginDir), ...hostFileProtections(spec.hostFiles ?? {})];
  return createCapabilities({
    pluginId: spec.pluginId,
    pluginDir: spec.pluginDir,
    grants: spec.grants,
    ports: {
      fs: createNodeFs(),
      dns: createNodeDns(),
      http: createNodeHttp(),
      // Under the OS sandbox a command sees only the plugin's read (read-only) and write grants,
      // less what the bridge keeps from them (special roots; protected files read-only), a
      // network only if the plugin has a net grant, and its own processes.
      exec: createNodeExec(
        process.env["PATH"] ?? "",
        hooks.processGroups,
        hooks.bwrap === undefined ? undefined : execWrap(execView({ bwrap: hooks.bwrap, grants: spec.grants, pluginDir: spec.pluginDir, protect })),
      ),
      env: createNodeEnv(),
      channels: hooks.channels,
      plugins: hooks.plugins,
    },
    audit: { record: hooks.record },
    limits: spec.limits,
    protect,
    ...(hooks.consent !== undefined ? { consent: hooks.consent } : {}),
  });
}

/** The answer to one forwarded call: a value, or the error as the plugin will see it (name, code, message). */
export type BrokerAnswer = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: { name: string; code: string; message: string } };

/**
 * Perform one capability call an engine forwarded for `pluginId`. Everything in it came from the
 * engine and is treated as the plugin's own data: the operation name and argument list are
 * checked by the bridge, and the arguments are walked (bounded, no recursion) before host code
 * reads them. Calls that need no I/O (an environment variable, a permission query, a publish) are
 * answered here and now; the others return `later`, which performs them (abortable by `signal`).
 */
export function performForwarded(
  caps: Capabilities,
  pluginId: string,
  name: unknown,
  args: unknown,
  timeLeftMs: unknown,
): BrokerAnswer | { readonly later: (signal: AbortSignal) => Promise<BrokerAnswer> } {
  try {
    if (typeof name !== "string") throw new BadInputError(`plugin ${pluginId}: a capability call without an operation name`, { pluginId });
    const problem = valueProblem(args);
    if (problem !== null) throw new BadInputError(`plugin ${pluginId}: the arguments of ${name} are ${problem}`, { pluginId });
    const left = typeof timeLeftMs === "number" && Number.isFinite(timeLeftMs) && timeLeftMs >= 0 ? timeLeftMs : 0;
    // Answered by the synchronous path when it needs no I/O, exactly as inside an in-process crossing.
    const sync = caps.callSync(name, args);
    if (sync !== null) return { ok: true, value: sync.value ?? null };
    const deadline = Date.now() + left;
    return {
      later: async (signal) => {
        try {
          const value = await caps.call(name, args, { deadline, signal });
          return { ok: true, value: value ?? null };
        } catch (e) {
          return { ok: false, error: operationErrorDescriptor(e) };
        }
      },
    };
  } catch (e) {
    return { ok: false, error: operationErrorDescriptor(e) };
  }
}
