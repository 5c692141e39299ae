// The isolate layer's public surface (named exports only).
export { Sandbox, liveSandboxes } from "./sandbox.ts";
export { loadPrelude } from "./build-isolate.ts";
export type { SandboxOptions } from "./sandbox.ts";
export { operationErrorDescriptor } from "./host-operations.ts";
export type { HostOperation, OperationContext } from "./host-operations.ts";
export type { PluginLogLevel } from "./host-calls.ts";
export { MAX_INPUT_CHARS, MAX_OP_ARGS_CHARS, MAX_TIMERS } from "./limits.ts";
export type { SandboxLimits } from "./limits.ts";
export { classifyIvmError } from "./classify-error.ts";
export { CpuWindow, cpuBudgetError } from "./cpu-window.ts";
export type { CpuCharge } from "./cpu-window.ts";
export { IsolatePool } from "./isolate-pool.ts";
export { boundedPluginError, boundedPluginStack, boundedPluginText, jsonDepthExceeded, MAX_ERROR_MESSAGE_CHARS, MAX_VALUE_DEPTH, valueProblem } from "./plugin-values.ts";
export { isModuleFile, MODULE_EXTENSIONS, PACKAGES_DIR } from "./module-loader.ts";
export { isTypeScriptFile, stripTypes, TYPESCRIPT_EXTENSIONS } from "./strip-types.ts";
export { checkModules } from "./check-modules.ts";
