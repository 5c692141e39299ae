// The host side of a plugin's setTimeout: the prelude keeps the callbacks, the host keeps one Node
// timer per plugin timer and, when timers are due, enters the isolate for one of them per turn of
// the event loop: a plugin with a thousand busy timers due at once must not hold the sandbox
// process's event loop (and its control messages) hostage.
import { BadInputError } from "../errors/index.ts";
import { MAX_TIMERS } from "./limits.ts";

/** One plugin's live timers and the due ones waiting for their turn. */
export class PluginTimers {
  readonly #timers = new Map<number, NodeJS.Timeout>();
  readonly #ready: number[] = [];
  readonly #fire: (id: number) => void;
  #runScheduled = false;
  #stopped = false;

  /** `fire(id)` enters the isolate to run the plugin's timer `id`. */
  constructor(fire: (id: number) => void) {
    this.#fire = fire;
  }

  /**
   * Start the plugin's timer `id`, due in `ms` (clamped as Node's setTimeout would be); "full" when
   * the plugin already has MAX_TIMERS. The id is the prelude's counter, a positive integer, else
   * BAD_INPUT; an id already live replaces that timer. The request's text is the plugin's to
   * shape (it can reach into the prelude's serialisation), and an id reused without clearing its
   * Node timer left that timer running, uncounted, past MAX_TIMERS and past the plugin's end.
   */
  set(id: unknown, ms: unknown): "full" | undefined {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1)
      throw new BadInputError(`setTimeout: the timer id must be a positive integer, got ${typeof id === "number" ? String(id) : typeof id}`);
    this.clear(id);
    if (this.#timers.size + this.#ready.length >= MAX_TIMERS) return "full";
    const delay = Math.min(Math.max(0, Number(ms) || 0), 2 ** 31 - 1);
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        this.#ready.push(id);
        this.#scheduleRun();
      }, delay),
    );
    return undefined;
  }

  /** Cancel the plugin's timer `id` (nothing if it is not live). */
  clear(id: number): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }

  /** Cancel every timer and never fire again (the sandbox is disposed). */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#ready.length = 0;
  }

  #scheduleRun(): void {
    if (this.#runScheduled || this.#stopped) return;
    this.#runScheduled = true;
    setImmediate(() => {
      this.#runScheduled = false;
      const id = this.#ready.shift();
      if (id !== undefined) this.#fire(id);
      if (this.#ready.length > 0) this.#scheduleRun();
    });
  }
}
