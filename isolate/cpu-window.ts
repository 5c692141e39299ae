// A plugin's CPU budget over a sliding window (Cloudflare Workers style): a plugin can stay under
// cpuMs on every single call and still burn a core with many small calls, timers or background
// work; this counts every nanosecond its isolate runs and refuses more once the window is spent.

/** Default CPU a plugin may use per minute, in ms. */
export const DEFAULT_CPU_MS_PER_MINUTE = 10_000;

/** CPU use over the last `windowMs`, against a limit. */
export class CpuWindow {
  readonly limitMs: number;
  readonly windowMs: number;
  readonly #now: () => number;
  // (time in ms, CPU in ns) per charge, oldest first.
  readonly #charges: Array<[number, number]> = [];
  #usedNs = 0;

  constructor(limitMs: number, windowMs = 60_000, now: () => number = () => performance.now()) {
    this.limitMs = limitMs;
    this.windowMs = windowMs;
    this.#now = now;
  }

  #prune(): void {
    const cutoff = this.#now() - this.windowMs;
    while (this.#charges.length > 0 && (this.#charges[0]?.[0] ?? 0) <= cutoff) {
      this.#usedNs -= this.#charges.shift()?.[1] ?? 0;
    }
  }

  /** Record `ns` of CPU used now. */
  charge(ns: number | bigint): void {
    const n = Number(ns);
    if (n <= 0) return;
    const t = this.#now();
    const last = this.#charges[this.#charges.length - 1];
    // Charges within one millisecond are merged so a hot loop of tiny calls keeps the list short.
    if (last !== undefined && t - last[0] < 1) last[1] += n;
    else this.#charges.push([t, n]);
    this.#usedNs += n;
  }

  /** CPU used in the window, ms. */
  usedMs(): number {
    this.#prune();
    return this.#usedNs / 1e6;
  }

  /** CPU still available in the window, ms (0 or less: spent). */
  remainingMs(): number {
    return this.limitMs - this.usedMs();
  }

  /** Milliseconds until enough old use leaves the window for the plugin to run again. */
  msUntilAvailable(): number {
    this.#prune();
    let over = this.#usedNs - this.limitMs * 1e6;
    if (over < 0) return 0;
    for (const [t, ns] of this.#charges) {
      over -= ns;
      if (over < 0) return Math.max(0, Math.ceil(t + this.windowMs - this.#now()));
    }
    return this.windowMs;
  }
}
