// How fast one plugin may publish on the bus. Each publish costs the host (topic matching, queueing,
// an audit use) and, for a plugin in an engine, the engine's single thread that its co-tenants
// share; bounded queues keep memory flat, but not the work. Measured (benchmarks/README.md,
// chat-load): a plugin publishing ~5,700 messages/s from one shared engine cut 30 bots' answers to
// half; in-process, it starved the host's own timer. So a publish beyond the plugin's rate waits
// for its turn (backpressure, the flood slows down), and beyond a bounded number of waiting
// publishes it is refused with BUSY: what a plugin has in flight never grows host memory.
import { BusyError } from "../../errors/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";

/** Messages per second one plugin may publish, sustained (DEFAULTS.channels.publishRate). */
export const DEFAULT_PUBLISH_RATE = DEFAULTS.channels.publishRate;
/** Publishes one plugin may make at once beyond the rate, after a quiet spell (DEFAULTS.channels.publishBurst). */
export const DEFAULT_PUBLISH_BURST = DEFAULTS.channels.publishBurst;
/** Publishes of one plugin waiting for their turn before more are refused with BUSY. */
export const MAX_WAITING_PUBLISHES = 256;

/** A token bucket for one plugin's publishes. */
export class PublishRate {
  readonly #pluginId: string;
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #stamp = performance.now();
  readonly #waiting: Array<{ go: () => void; stop: (e: Error) => void }> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(pluginId: string, rate = DEFAULT_PUBLISH_RATE, burst = DEFAULT_PUBLISH_BURST) {
    this.#pluginId = pluginId;
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#stamp) * this.#rate) / 1000);
    this.#stamp = now;
  }

  /** Resolves when the plugin may publish; rejects with BUSY when too many of its publishes wait already. */
  take(): Promise<void> | undefined {
    this.#refill();
    if (this.#waiting.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return undefined;
    }
    if (this.#waiting.length >= MAX_WAITING_PUBLISHES) {
      return Promise.reject(
        new BusyError(
          `plugin ${this.#pluginId} publishes faster than ${this.#rate} messages/s and has ${MAX_WAITING_PUBLISHES} publishes waiting: await each publish (or fewer at once) before sending more`,
          { pluginId: this.#pluginId },
        ),
      );
    }
    return new Promise<void>((go, stop) => {
      this.#waiting.push({ go, stop });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer !== null || this.#waiting.length === 0) return;
    const wait = Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.#rate));
    // Not unref'd: a publish waiting for its turn is work in progress, like the call that made it.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#refill();
      while (this.#waiting.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#waiting.shift()?.go();
      }
      this.#schedule();
    }, wait);
  }

  /** Refuse every waiting publish (the plugin is going away). */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of this.#waiting.splice(0)) w.stop(new BusyError(`plugin ${this.#pluginId} was unloaded before its publish's turn came`, { pluginId: this.#pluginId }));
  }
}
