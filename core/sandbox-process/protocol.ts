// Messages between a host and its sandbox process (JSON over the fork IPC channel).
import type { ErrorDescriptor } from "../errors.ts";
import type { AuditEvent, Grants } from "../../capabilities/index.ts";
import type { PluginLogLevel } from "../../isolate/index.ts";

/** Limits a sandbox process applies to one plugin. */
export type ProcessLimits = {
  readonly memoryMb: number;
  readonly cpuMs: number;
  readonly timeoutMs: number;
  readonly resultChars: number;
  readonly readBytes: number;
};

/** What the host tells the sandbox process to load. */
export type LoadSpec = {
  readonly pluginId: string;
  readonly version: string;
  readonly pluginDir: string;
  readonly main: string;
  readonly grants: Grants;
  readonly config: unknown;
  readonly limits: ProcessLimits;
};

export type ToChild =
  | { readonly t: "load"; readonly callId: number; readonly spec: LoadSpec }
  | { readonly t: "invoke"; readonly callId: number; readonly name: string; readonly input: unknown }
  | { readonly t: "unload"; readonly callId: number };

export type ToHost =
  | { readonly t: "result"; readonly callId: number; readonly ok: true; readonly value: unknown }
  | { readonly t: "result"; readonly callId: number; readonly ok: false; readonly error: ErrorDescriptor }
  | { readonly t: "audit"; readonly event: AuditEvent }
  | { readonly t: "log"; readonly level: PluginLogLevel; readonly text: string }
  | { readonly t: "limit"; readonly error: ErrorDescriptor };
