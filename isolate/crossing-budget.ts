// How long one crossing into a plugin's isolate may run, and who is to blame when it runs out.
//
// Every crossing (an entry call, a timer, the answer to a host operation) runs under the tightest
// budget of the calls in flight: each call's CPU left, each call's wall-clock deadline and the
// plugin's CPU window. The choice is a pure function of those numbers so that it can be tested
// without an isolate (test/isolate/crossing-budget.test.ts); the Sandbox only applies it.

/** What the budget of a crossing needs to know about one call in flight. */
export type BudgetedCall = {
  /** performance.now() time by which the call must settle. */
  readonly deadline: number;
  /** CPU the call may use, ns. */
  readonly cpuLimitNs: bigint;
  /** CPU the isolate spent while the call was in flight, ns. */
  readonly cpuNs: bigint;
};

/** The budget of one crossing, and the calls it was taken from. */
export type CrossingBudget<C extends BudgetedCall> = {
  /** CPU left to the tightest call in flight (the plugin's cpuMs when none is), ms. */
  readonly cpuLeftMs: number;
  /** Wall-clock time left to the call with the soonest deadline (infinite when none is in flight), ms. */
  readonly wallLeftMs: number;
  /** CPU left in the plugin's window (infinite without one), ms. */
  readonly windowLeftMs: number;
  /** The call with the least CPU left (the first call wins ties), if any is in flight. */
  readonly tightest: C | undefined;
  /** The call with the soonest deadline, if any is in flight. */
  readonly soonest: C | undefined;
  /** Why the crossing must not happen at all ("cpu": the tightest call spent its CPU; "window": the plugin spent its window), or null. */
  readonly refuse: "cpu" | "window" | null;
  /** The crossing's timeout: the least of the three, rounded up, at least 1 ms. */
  readonly timeoutMs: number;
};

/** The budget of a crossing that starts at `now` with `calls` in flight, for a plugin whose cpuMs is `pluginCpuMs`. */
export function crossingBudget<C extends BudgetedCall>(calls: Iterable<C>, now: number, pluginCpuMs: number, windowLeftMs = Number.POSITIVE_INFINITY): CrossingBudget<C> {
  let cpuLeftMs = pluginCpuMs;
  let wallLeftMs = Number.POSITIVE_INFINITY;
  let tightest: C | undefined;
  let soonest: C | undefined;
  for (const c of calls) {
    const left = Number(c.cpuLimitNs - c.cpuNs) / 1e6;
    // The first call in flight sets the CPU budget even when it has more than the plugin's cpuMs
    // (a hook such as onLoad may be given more): the calls' own limits are what is enforced.
    if (tightest === undefined || left < cpuLeftMs) {
      cpuLeftMs = left;
      tightest = c;
    }
    if (c.deadline - now < wallLeftMs) {
      wallLeftMs = c.deadline - now;
      soonest = c;
    }
  }
  const refuse = cpuLeftMs <= 0 ? "cpu" : windowLeftMs <= 0 ? "window" : null;
  const timeoutMs = Math.max(1, Math.ceil(Math.min(cpuLeftMs, wallLeftMs, windowLeftMs)));
  return { cpuLeftMs, wallLeftMs, windowLeftMs, tightest, soonest, refuse, timeoutMs };
}

/**
 * Which budget a crossing that timed out ran into: the plugin's window when it was the tightest,
 * else the soonest call's deadline when that came before any call's CPU, else the tightest call's CPU.
 */
export function timedOutBy(budget: CrossingBudget<BudgetedCall>): "window" | "wall" | "cpu" {
  const { cpuLeftMs, wallLeftMs, windowLeftMs } = budget;
  if (windowLeftMs < cpuLeftMs && windowLeftMs <= wallLeftMs) return "window";
  if (budget.soonest !== undefined && wallLeftMs < cpuLeftMs) return "wall";
  return "cpu";
}

/** The first call that has spent its CPU (after a crossing charged it), if any. */
export function overspent<C extends BudgetedCall>(calls: Iterable<C>): C | undefined {
  for (const c of calls) if (c.cpuNs >= c.cpuLimitNs) return c;
  return undefined;
}
