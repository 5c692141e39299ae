// Messages between a host and an engine (a JSON line each over the engine's channel,
// core/sys/line-channel.ts, or copied in the host's process for isolation "in-process"). An engine holds many plugins, one per slot: every message
// names its slot. The slot is the host's own number for the plugin it placed there; the host never
// takes a plugin's identity from anything else an engine sends.
import type { ErrorDescriptor } from "../../errors/index.ts";
import type { ChannelMessage, Grants } from "../../capabilities/index.ts";
import type { CpuCharge, PluginLogLevel } from "../../isolate/index.ts";
import type { ProcessLimits } from "../limits.ts";

/** Files of the host a plugin's write grants never cover (see core/runtime/own-files.ts). */
export type HostFiles = { readonly pluginsDir?: string; readonly files?: readonly string[] };

/** What the host needs to run a plugin: the engine's part, and the grants the host's broker enforces. */
export type LoadSpec = EngineLoad & {
  readonly grants: Grants;
  /** Files of the host that no plugin may write: the plugins directory's manifests, code and configs, the audit log. */
  readonly hostFiles?: HostFiles;
};

/**
 * What an engine is told to load. No grants, no environment, no secrets: the engine runs the
 * plugin's isolate and forwards every capability call to the host, which checks and performs it.
 */
export type EngineLoad = {
  readonly pluginId: string;
  readonly version: string;
  readonly pluginDir: string;
  readonly main: string;
  readonly config: unknown;
  readonly limits: ProcessLimits;
  /** Time onLoad may take, its own budget (NEKO-19), ms. */
  readonly startupTimeoutMs: number;
  /**
   * The plugin's CPU charges still inside its cpuMsPerMinute window, from its earlier sandboxes
   * (before a reload or a restart), as (ms ago, ns): ages, so the two processes' clocks never meet.
   */
  readonly cpuHistory?: readonly CpuCharge[];
};

/** A message for one plugin's runner in an engine. */
export type ToRunner =
  | { readonly t: "load"; readonly callId: number; readonly spec: EngineLoad }
  | { readonly t: "invoke"; readonly callId: number; readonly name: string; readonly inputJson?: string; readonly caller: string; readonly timeoutMs?: number }
  | { readonly t: "hook"; readonly callId: number; readonly name: string; readonly args: readonly unknown[]; readonly timeoutMs: number }
  | { readonly t: "config"; readonly callId: number; readonly config: unknown; readonly timeoutMs: number }
  | { readonly t: "unload"; readonly callId: number }
  | { readonly t: "deliver"; readonly callId: number; readonly subscriptionId: number; readonly message: ChannelMessage }
  /** The answer to a capability operation or a host request the runner made. */
  | { readonly t: "host-result"; readonly reqId: number; readonly ok: boolean; readonly value?: unknown; readonly error?: ErrorDescriptor }
  /** CPU another sandbox of the same plugin spent (the version beside it during a reload), ns. */
  | { readonly t: "cpu"; readonly ns: number };

/** A message to an engine: for the runner in `slot`, or "free" once that plugin is unloaded. */
export type ToEngine = (ToRunner & { readonly slot: number }) | { readonly t: "free"; readonly slot: number };

/**
 * A request of a plugin's runner to the host. `op` is a capability operation the host's broker
 * checks against the plugin's grants, audits and performs; the others steer the plugin's channel
 * subscriptions. The host answers with "host-result".
 */
export type HostRequest =
  | { readonly op: "capability"; readonly name: string; readonly args: unknown; readonly timeLeftMs: number }
  | { readonly op: "subscribe"; readonly subscriptionId: number; readonly pattern: string }
  | { readonly op: "unsubscribe"; readonly subscriptionId: number }
  | { readonly op: "reset" };

// `charged` on a result: CPU charged to the plugin's window since the last report (this call's and
// any background work's), folded into the answer so no extra message crosses per call.
export type FromRunner =
  | { readonly t: "result"; readonly callId: number; readonly ok: true; readonly value: unknown; readonly cpuNs?: number; readonly charged?: number }
  | { readonly t: "result"; readonly callId: number; readonly ok: false; readonly error: ErrorDescriptor; readonly charged?: number }
  /** CPU charged to the plugin's window by work no result answers yet (timers, handlers), ns. */
  | { readonly t: "cpu"; readonly ns: number }
  | { readonly t: "log"; readonly lines: readonly { readonly level: PluginLogLevel; readonly text: string }[]; readonly dropped: number }
  | { readonly t: "limit"; readonly error: ErrorDescriptor }
  | { readonly t: "host-request"; readonly reqId: number; readonly request: HostRequest }
  /** The runner gave up a capability operation it asked for (its call ended): the host aborts it. */
  | { readonly t: "cancel"; readonly reqId: number };

/** A message from an engine: from the runner in `slot`. */
export type FromEngine = FromRunner & { readonly slot: number };
