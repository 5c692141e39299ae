// Time the thread spends in host code on the plugin's behalf inside a crossing. The prelude's
// synchronous requests (crypto.getRandomValues, URL parsing, the checks of a Warden call, a call
// settling) run on the thread the isolate is blocked on, while isolated-vm pauses the isolate's
// cpuTime (its CpuTimer stops for a call out to the host). That time is lost to the plugin's
// co-tenants all the same, so the Sandbox charges it with the isolate's CPU: to the calls in flight
// and to the plugin's window. Wall time is measured, because it is what the co-tenants wait for.

/** A monotonic clock in nanoseconds (process.hrtime.bigint). */
export type NsClock = () => bigint;

/** Accumulates the host time of one sandbox's synchronous requests until the crossing takes it. */
export class HostTime {
  readonly #now: NsClock;
  #ns = 0n;
  // Requests being measured (a request served inside another is measured once, by the outer one).
  #depth = 0;

  constructor(now: NsClock = () => process.hrtime.bigint()) {
    this.#now = now;
  }

  /** Run a synchronous request `serve`, adding the time it takes. */
  measure<T>(serve: () => T): T {
    if (this.#depth > 0) return serve();
    const start = this.#now();
    this.#depth++;
    try {
      return serve();
    } finally {
      this.#depth--;
      this.#ns += this.#now() - start;
    }
  }

  /**
   * Run `crossing` (a nested entry into the isolate) without counting it as host time: it charges
   * its own isolate CPU and requests, and would otherwise be charged twice.
   */
  outside<T>(crossing: () => T): T {
    if (this.#depth === 0) return crossing();
    const start = this.#now();
    const depth = this.#depth;
    this.#depth = 0;
    try {
      return crossing();
    } finally {
      this.#depth = depth;
      this.#ns -= this.#now() - start;
    }
  }

  /** The host time accumulated since the last take, ns; starts counting again from zero. */
  take(): bigint {
    const ns = this.#ns;
    this.#ns = 0n;
    return ns;
  }
}
