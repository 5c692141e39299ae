// THE one place where isolated-vm's bare message strings become limit codes. Tested through the
// real library in test/isolate/limits.test.ts (each limit must come back with its own code), so an
// upgrade that changes a string fails a test instead of silently turning a limit into PLUGIN_ERROR.

/** What an error thrown by an isolated-vm call means. */
export type IvmFailure = "timeout" | "memory" | "disposed" | "other";

/** Classify an error thrown by isolated-vm (not by plugin code). */
export function classifyIvmError(e: unknown): IvmFailure {
  const message = e instanceof Error ? e.message : String(e);
  if (message === "Script execution timed out.") return "timeout";
  if (message.includes("disposed during execution due to memory limit")) return "memory";
  if (message.includes("Isolate is disposed") || message.includes("Isolated is disposed")) return "disposed";
  return "other";
}
