// The errors a limit condemns a sandbox with, worded in one place: a crossing that ran out of the
// call's CPU, the call's wall-clock time, the plugin's CPU window or the isolate's heap. Each says
// which plugin, which call and which limit (with its manifest field), so the operator can act.
import { CpuLimitError, MemoryLimitError, TimeoutError } from "../errors/index.ts";
import { cpuBudgetError, type CpuWindow } from "./cpu-window.ts";

/** A call as a limit error names it: its name and the CPU it was allowed. */
export type LimitedCall = { readonly name: string; readonly cpuLimitNs: bigint };

/** The error for call `name` that did not settle within `timeoutMs`. */
export function timeoutError(pluginId: string, name: string, timeoutMs: number): TimeoutError {
  return new TimeoutError(`plugin ${pluginId}: ${name}() did not settle within timeoutMs (${timeoutMs} ms); check for a promise that never resolves or raise limits.timeoutMs`, {
    pluginId,
    entry: name,
  });
}

/** The error for call `c` (or work no call is waiting for) that used more than its CPU; `cpuMs` is the plugin's, used without a call. */
export function cpuError(pluginId: string, c: LimitedCall | undefined, cpuMs: number): CpuLimitError {
  const ms = c ? Number(c.cpuLimitNs / 1_000_000n) : cpuMs;
  return new CpuLimitError(`plugin ${pluginId}: ${c?.name ?? "background work"}() used more than cpuMs (${ms} ms) of CPU time; its isolate was stopped and is rebuilt`, {
    pluginId,
    ...(c ? { entry: c.name } : {}),
  });
}

/** The error for a plugin that spent its CPU budget of the window while running `name`. */
export function windowError(pluginId: string, name: string, window: CpuWindow | undefined): CpuLimitError {
  if (window !== undefined) return cpuBudgetError(pluginId, name, window);
  return new CpuLimitError(`plugin ${pluginId}: ${name}() refused: the plugin used its CPU budget (limits.cpuMsPerMinute)`, { pluginId, entry: name, budget: true });
}

/** The error for a plugin whose isolate ran out of its heap (`memoryMb`). */
export function memoryError(pluginId: string, memoryMb: number): MemoryLimitError {
  return new MemoryLimitError(`plugin ${pluginId} exceeded its memory limit of ${memoryMb} MiB; its isolate was disposed and is rebuilt (raise limits.memoryMb if this is expected)`, { pluginId });
}
