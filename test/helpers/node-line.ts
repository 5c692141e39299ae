// What differs between the Node lines warden supports, for the tests that must know. V8 13 (Node
// 24) lets `Array(1e9).fill(0)` grow an isolate's heap far past its limit (to ~670 MB under a
// 16 MiB limit, over ~10-20 s of CPU) before its fatal OOM report, and sometimes segfaults on the
// way; V8 11 and 12 (Node 20, 22) report the OOM within about a second (docs/security.md, "Memory
// bombs by Node line"; benchmarks/memory-bombs.ts measures it). On Node 24 the sandbox process is
// therefore ended by the call's watchdog (TIMEOUT) or by its crash (PLUGIN_ERROR naming the
// signal) before the OOM report can make it MEMORY_LIMIT: contained all the same.

/** Whether the running V8 reaches a single huge allocation's OOM only after its call's timeout. */
export const SLOW_HUGE_ALLOCATION_OOM = Number(process.versions.v8.split(".")[0]) >= 13;

/** Whether `e` is a contained outcome of one huge allocation (`Array(1e9).fill(0)`) on this Node line. */
export function hugeAllocationContained(e: { code?: string | undefined; message: string }): boolean {
  if (e.code === "MEMORY_LIMIT") return true;
  if (!SLOW_HUGE_ALLOCATION_OOM) return false;
  return (
    (e.code === "TIMEOUT" && /(sandbox process|engine) did not answer .* and was ended/.test(e.message)) ||
    (e.code === "PLUGIN_ERROR" && /(sandbox process|engine) exited unexpectedly \(SIG[A-Z]+\)/.test(e.message))
  );
}
