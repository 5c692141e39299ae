// Per-plugin resource limits as the sandbox sees them (their defaults are DEFAULTS.limits in
// defaults/index.ts, merged once by core/limits.ts), and the sandbox's own fixed caps.
import type { Limits } from "../defaults/index.ts";

/** The limits one sandbox runs under. */
export type SandboxLimits = Pick<Limits, "memoryMb" | "cpuMs" | "timeoutMs" | "resultChars">;

/** Live timers one plugin may have; setTimeout past it throws inside the plugin. */
export const MAX_TIMERS = 1000;

/** Largest argument list (as JSON text) a plugin may pass to one host call, in characters. */
export const MAX_OP_ARGS_CHARS = 16 * 1024 * 1024;

/** Largest entry input (as JSON text) a host may pass to a plugin, in characters. */
export const MAX_INPUT_CHARS = 8 * 1024 * 1024;
