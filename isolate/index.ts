// The isolate layer's public surface (named exports only).
export { Sandbox } from "./sandbox.ts";
export type { HostOperation, PluginLogLevel, SandboxOptions } from "./sandbox.ts";
export { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
export type { SandboxLimits } from "./limits.ts";
export { classifyIvmError } from "./classify-error.ts";
