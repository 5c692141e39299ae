// A plugin's CPU budget over a sliding window (Cloudflare Workers style): a plugin can stay under
// cpuMs on every single call and still burn a core with many small calls, timers or background
// work; this counts every nanosecond its isolate runs and refuses more once the window is spent.
// The budget belongs to the plugin, not to one process: a window can be seeded with the charges
// of the plugin's earlier sandboxes (`record`) and reports what it charges itself (`onCharge`), so
// the host can carry the history across reloads and restarts.
import { CpuLimitError } from "../errors/index.ts";

/** One charge as it travels between processes: how long ago (ms) and how much CPU (ns). */
export type CpuCharge = readonly [agoMs: number, ns: number];

/** CPU use over the last `windowMs`, against a limit. */
export class CpuWindow {
  readonly limitMs: number;
  readonly windowMs: number;
  readonly #now: () => number;
  readonly #onCharge: ((ns: number) => void) | undefined;
  // (time in ms, CPU in ns) per charge, oldest first.
  readonly #charges: Array<[number, number]> = [];
  #usedNs = 0;

  constructor(limitMs: number, windowMs = 60_000, now: () => number = () => performance.now(), onCharge?: (ns: number) => void) {
    this.limitMs = limitMs;
    this.windowMs = windowMs;
    this.#now = now;
    this.#onCharge = onCharge;
  }

  #prune(): void {
    const cutoff = this.#now() - this.windowMs;
    while (this.#charges.length > 0 && (this.#charges[0]?.[0] ?? 0) <= cutoff) {
      this.#usedNs -= this.#charges.shift()?.[1] ?? 0;
    }
  }

  /** Record `ns` of CPU this plugin's isolate used now (reported through `onCharge`). */
  charge(ns: number | bigint): void {
    const n = Number(ns);
    if (n <= 0) return;
    this.record(n);
    this.#onCharge?.(n);
  }

  /**
   * Record CPU the plugin used elsewhere (an earlier or a sibling sandbox), `agoMs` before now;
   * not reported again through `onCharge`.
   */
  record(ns: number, agoMs = 0): void {
    if (!(ns > 0) || !(agoMs >= 0) || agoMs >= this.windowMs) return;
    const t = this.#now() - agoMs;
    // Keep the list ordered by time: an older charge goes before the newer ones.
    let i = this.#charges.length;
    while (i > 0 && (this.#charges[i - 1]?.[0] ?? 0) > t) i--;
    const before = this.#charges[i - 1];
    // Charges within one millisecond are merged so a hot loop of tiny calls keeps the list short.
    if (before !== undefined && t - before[0] < 1) before[1] += ns;
    else this.#charges.splice(i, 0, [t, ns]);
    this.#usedNs += ns;
  }

  /** The charges still in the window, oldest first, as (ms ago, ns): what seeds a new window. */
  recent(): CpuCharge[] {
    this.#prune();
    const now = this.#now();
    return this.#charges.map(([t, ns]) => [Math.max(0, now - t), ns] as const);
  }

  /** CPU used in the window, ms. */
  usedMs(): number {
    this.#prune();
    return this.#usedNs / 1e6;
  }

  /** CPU still available in the window against `limitMs` (default this window's), ms (0 or less: spent). */
  remainingMs(limitMs = this.limitMs): number {
    return limitMs - this.usedMs();
  }

  /** Milliseconds until enough old use leaves the window for the plugin to run again. */
  msUntilAvailable(limitMs = this.limitMs): number {
    this.#prune();
    let over = this.#usedNs - limitMs * 1e6;
    if (over < 0) return 0;
    for (const [t, ns] of this.#charges) {
      over -= ns;
      if (over < 0) return Math.max(0, Math.ceil(t + this.windowMs - this.#now()));
    }
    return this.windowMs;
  }
}

/** The error for a plugin that spent its CPU budget: `name`() was refused or stopped. */
export function cpuBudgetError(pluginId: string, name: string, window: CpuWindow, limitMs = window.limitMs): CpuLimitError {
  return new CpuLimitError(
    `plugin ${pluginId}: ${name}() refused: the plugin used its CPU budget of ${limitMs} ms per ${(window.windowMs / 1000).toFixed(0)} s (limits.cpuMsPerMinute); it can run again in ${(window.msUntilAvailable(limitMs) / 1000).toFixed(1)} s`,
    { pluginId, entry: name, budget: true },
  );
}
