// One synchronous crossing into a plugin's isolate, the only fast path (benchmarks/README.md): the
// thread enters under a timeout, tells whoever watches the process that it is inside (an engine
// holding many plugins names the one that was running if V8 takes the process down), and measures
// the CPU the isolate spent, which the Sandbox charges to the calls in flight and the plugin's window.
// What budget it runs under is crossing-budget.ts's choice; what a failure means is classify-error.ts's.
import type ivm from "./ivm.ts";

/** How a crossing ended: what the isolate returned, or what isolated-vm threw, and the CPU it used. */
export type CrossingResult = { readonly returned: unknown; readonly failure: unknown; readonly usedNs: bigint };

/** Apply `ref` to `args` inside `isolate` for at most `timeoutMs`; what isolated-vm throws is returned as `failure`. */
export function cross(isolate: ivm.Isolate, ref: ivm.Reference, args: unknown[], timeoutMs: number, onCrossing: ((inside: boolean) => void) | undefined): CrossingResult {
  const before = isolate.cpuTime;
  let failure: unknown = null;
  let returned: unknown;
  onCrossing?.(true);
  try {
    returned = ref.applySync(undefined, args, { timeout: timeoutMs });
  } catch (e) {
    failure = e;
  } finally {
    onCrossing?.(false);
  }
  const usedNs = isolate.isDisposed ? 0n : isolate.cpuTime - before;
  return { returned, failure, usedNs };
}
