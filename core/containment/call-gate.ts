// Per-plugin concurrency: at most `maxInFlight` calls run at once, at most `maxQueued` wait, and a
// call past both is refused at once with BUSY, so no queue in the host grows without bound.
import { BusyError } from "../../errors/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";

/** Concurrency limits of one plugin. */
export type Concurrency = { readonly maxInFlight: number; readonly maxQueued: number };

/** Defaults (DEFAULTS.host.concurrency): 8 calls running, 64 waiting. */
export const DEFAULT_CONCURRENCY: Concurrency = DEFAULTS.host.concurrency;

/** A counting gate with a bounded waiting line. */
export class CallGate {
  readonly limits: Concurrency;
  readonly #pluginId: string;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(pluginId: string, limits: Partial<Concurrency> = {}) {
    this.#pluginId = pluginId;
    this.limits = { ...DEFAULT_CONCURRENCY, ...limits };
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Run `fn` when a slot is free; refuse with BUSY if the waiting line is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limits.maxInFlight) {
      if (this.#waiting.length >= this.limits.maxQueued) {
        throw new BusyError(`plugin ${this.#pluginId} is busy: ${this.#running} calls running and ${this.#waiting.length} queued; retry later or raise the host's concurrency limits`, {
          pluginId: this.#pluginId,
        });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      // A waiting call takes over this slot directly, so `running` never dips below the truth.
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}
