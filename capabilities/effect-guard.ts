// The last look before a capability changes anything outside the isolate. A call's signal is
// aborted when its approval is revoked (ConsentGate.revoke), when the plugin is unloaded or its
// isolate condemned, or when its time runs out. The bridge then answers the plugin at once, but a
// handler awaiting its port went on to write, create, remove, spawn or send after the revoke was
// recorded: a revoked plugin still changed the disk. Each handler calls beforeEffect synchronously
// right before each effect (no await in between), so an effect starts only while its call is
// live; one already started when the signal fires is the call in flight the revoke interrupted.
import { OperationError } from "./operation-error.ts";

/** Throw unless `signal` (the call's) is still live; `what` names the effect about to happen. */
export function beforeEffect(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted !== true) return;
  const why = signal.reason instanceof Error ? signal.reason.message : "the call was stopped";
  throw new OperationError("Timeout", `${what}: not done, the call ended first (${why}); nothing was changed by this step`);
}
