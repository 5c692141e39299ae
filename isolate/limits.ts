// Per-plugin resource limits and their defaults (contract: memoryMb 64, cpuMs 1000, timeoutMs 5000).

/** The limits one sandbox runs under. */
export type SandboxLimits = {
  /** Heap limit of the isolate in MiB (isolated-vm's memoryLimit, a soft limit). */
  readonly memoryMb: number;
  /** CPU time a call may use, across awaits and the timers it started, in ms. */
  readonly cpuMs: number;
  /** Wall-clock time a call may take, in ms. */
  readonly timeoutMs: number;
  /** Largest entry result, in characters of its JSON text. */
  readonly resultChars: number;
};

/** The contract's defaults. */
export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryMb: 64,
  cpuMs: 1000,
  timeoutMs: 5000,
  resultChars: 8 * 1024 * 1024,
});

/** Fill in defaults for the limits a manifest or host left out. */
export function resolveLimits(partial: Partial<SandboxLimits> | undefined): SandboxLimits {
  return { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(partial ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Live timers one plugin may have; setTimeout past it throws inside the plugin. */
export const MAX_TIMERS = 1000;

/** Largest argument list (as JSON text) a plugin may pass to one host call, in characters. */
export const MAX_OP_ARGS_CHARS = 16 * 1024 * 1024;

/** Largest entry input (as JSON text) a host may pass to a plugin, in characters. */
export const MAX_INPUT_CHARS = 8 * 1024 * 1024;
