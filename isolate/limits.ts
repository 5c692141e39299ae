// Per-plugin resource limits as the sandbox sees them, and their defaults (DEFAULTS.limits in
// defaults/index.ts: memoryMb 64, cpuMs 1000, timeoutMs 5000).
import { DEFAULTS, pick, type Limits } from "../defaults/index.ts";

/** The limits one sandbox runs under. */
export type SandboxLimits = Pick<Limits, "memoryMb" | "cpuMs" | "timeoutMs" | "resultChars">;

/** The contract's defaults. */
export const DEFAULT_LIMITS: SandboxLimits = Object.freeze(pick(DEFAULTS.limits, ["memoryMb", "cpuMs", "timeoutMs", "resultChars"]));

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
