// A count over a sliding window, kept in a fixed ring of buckets: constant memory whatever the rate
// (a plugin making a million requests a minute costs 60 numbers, not a million timestamps). The
// window is the last `slots` buckets, the current one included, so an event is counted for between
// (slots - 1) and slots bucket lengths: with 1 s buckets a 60 s window forgets an event 59 to 60 s
// after it, with 1 h buckets a 24 h window 23 to 24 h after it.

/** A sum of amounts over the last `windowMs`, at `bucketMs` resolution. */
export class RollingCount {
  readonly #bucketMs: number;
  readonly #slots: number;
  // Per slot: which bucket (time / bucketMs) it holds, and its amount.
  readonly #bucket: number[];
  readonly #amount: number[];

  constructor(windowMs: number, bucketMs: number) {
    this.#bucketMs = bucketMs;
    this.#slots = Math.max(1, Math.ceil(windowMs / bucketMs));
    this.#bucket = new Array<number>(this.#slots).fill(Number.NEGATIVE_INFINITY);
    this.#amount = new Array<number>(this.#slots).fill(0);
  }

  /** Add `amount` at time `now` (ms). */
  add(now: number, amount: number): void {
    const b = Math.floor(now / this.#bucketMs);
    const slot = ((b % this.#slots) + this.#slots) % this.#slots;
    if (this.#bucket[slot] !== b) {
      this.#bucket[slot] = b;
      this.#amount[slot] = 0;
    }
    this.#amount[slot] = (this.#amount[slot] ?? 0) + amount;
  }

  /** The live buckets at `now`, oldest first. */
  #live(now: number): { bucket: number; amount: number }[] {
    const current = Math.floor(now / this.#bucketMs);
    const live: { bucket: number; amount: number }[] = [];
    for (let i = 0; i < this.#slots; i++) {
      const bucket = this.#bucket[i] ?? Number.NEGATIVE_INFINITY;
      const amount = this.#amount[i] ?? 0;
      if (bucket > current - this.#slots && bucket <= current && amount > 0) live.push({ bucket, amount });
    }
    return live.sort((a, b) => a.bucket - b.bucket);
  }

  /** The sum over the window ending at `now`. */
  total(now: number): number {
    return this.#live(now).reduce((sum, b) => sum + b.amount, 0);
  }

  /** Milliseconds from `now` until the sum is below `limit` (0 if it is already; Infinity if it never can be: limit 0). */
  msUntilBelow(now: number, limit: number): number {
    const live = this.#live(now);
    let total = live.reduce((sum, b) => sum + b.amount, 0);
    if (total < limit) return 0;
    for (const b of live) {
      total -= b.amount;
      if (total < limit) return Math.max(0, (b.bucket + this.#slots) * this.#bucketMs - now);
    }
    return Number.POSITIVE_INFINITY;
  }
}
