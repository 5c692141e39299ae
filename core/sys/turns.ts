// A count of tasks that may run at once, the rest waiting in the order they came: how the host
// keeps name resolutions (which hold a thread of libuv's pool each) from filling that pool.

/** At most `size` tasks at once; `run` waits for a turn, runs the task, and hands the turn on. */
export class Turns {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /** `size` tasks may run at once (at least one). */
  constructor(size: number) {
    this.#free = Math.max(1, Math.floor(size));
  }

  /** Run `task` in a turn of its own, waiting for one first if every turn is taken. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
