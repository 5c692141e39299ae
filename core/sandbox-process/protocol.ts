// Messages between a host and its sandbox process (JSON over the fork IPC channel).
import type { ErrorDescriptor } from "../errors.ts";
import type { AuditEvent, ChannelMessage, Grants } from "../../capabilities/index.ts";
import type { CpuCharge, PluginLogLevel } from "../../isolate/index.ts";

/** Limits a sandbox process applies to one plugin. */
export type ProcessLimits = {
  readonly memoryMb: number;
  readonly cpuMs: number;
  readonly timeoutMs: number;
  readonly cpuMsPerMinute: number;
  readonly resultChars: number;
  readonly readBytes: number;
  readonly netBytes: number;
  readonly execOutputBytes: number;
  readonly messageBytes: number;
};

/** Files of the host a plugin's write grants never cover (see core/own-files.ts). */
export type HostFiles = { readonly pluginsDir?: string; readonly files?: readonly string[] };

/** What the host tells the sandbox process to load. */
export type LoadSpec = {
  readonly pluginId: string;
  readonly version: string;
  readonly pluginDir: string;
  readonly main: string;
  readonly grants: Grants;
  readonly config: unknown;
  readonly limits: ProcessLimits;
  /** Time onLoad may take, its own budget (NEKO-19), ms. */
  readonly startupTimeoutMs: number;
  /** Files of the host that no plugin may write: the plugins directory's manifests, code and configs, the audit log. */
  readonly hostFiles?: HostFiles;
  /**
   * The plugin's CPU charges still inside its cpuMsPerMinute window, from its earlier sandboxes
   * (before a reload or a restart), as (ms ago, ns): ages, so the two processes' clocks never meet.
   */
  readonly cpuHistory?: readonly CpuCharge[];
};

export type ToChild =
  | { readonly t: "load"; readonly callId: number; readonly spec: LoadSpec }
  | { readonly t: "invoke"; readonly callId: number; readonly name: string; readonly inputJson?: string; readonly caller: string; readonly depth: number; readonly timeoutMs?: number }
  | { readonly t: "hook"; readonly callId: number; readonly name: string; readonly args: readonly unknown[]; readonly timeoutMs: number }
  | { readonly t: "config"; readonly callId: number; readonly config: unknown; readonly timeoutMs: number }
  | { readonly t: "unload"; readonly callId: number }
  | { readonly t: "deliver"; readonly callId: number; readonly subscriptionId: number; readonly message: ChannelMessage }
  | { readonly t: "host-result"; readonly reqId: number; readonly ok: boolean; readonly value?: unknown; readonly error?: ErrorDescriptor }
  /** CPU another sandbox of the same plugin spent (the version beside it during a reload), ns. */
  | { readonly t: "cpu"; readonly ns: number };

/** A request from the sandbox process to the host's channel bus. The host stamps the sender. */
export type HostRequest =
  | { readonly op: "publish"; readonly topic: string; readonly data: unknown }
  | { readonly op: "subscribe"; readonly subscriptionId: number; readonly pattern: string }
  | { readonly op: "unsubscribe"; readonly subscriptionId: number }
  | { readonly op: "reset" }
  | { readonly op: "plugin-call"; readonly target: string; readonly entry: string; readonly input: unknown; readonly depth: number };

// `charged` on a result: CPU charged to the plugin's window since the last report (this call's and
// any background work's), folded into the answer so no extra message crosses per call.
export type ToHost =
  | { readonly t: "result"; readonly callId: number; readonly ok: true; readonly value: unknown; readonly cpuNs?: number; readonly charged?: number }
  | { readonly t: "result"; readonly callId: number; readonly ok: false; readonly error: ErrorDescriptor; readonly charged?: number }
  /** CPU charged to the plugin's window by work no result answers yet (timers, handlers), ns. */
  | { readonly t: "cpu"; readonly ns: number }
  | { readonly t: "audit"; readonly events: readonly AuditEvent[] }
  | { readonly t: "log"; readonly lines: readonly { readonly level: PluginLogLevel; readonly text: string }[]; readonly dropped: number }
  | { readonly t: "limit"; readonly error: ErrorDescriptor }
  | { readonly t: "host-request"; readonly reqId: number; readonly request: HostRequest }
  | { readonly t: "pgroup"; readonly pgid: number; readonly running: boolean };
