// A clock the test moves by hand, for HostOptions.clock and the parts that take one: a timer under
// test (a quarantine's end, a restart's backoff, the spare engine, a denial window, an approval's
// expiry, the watcher's debounce) runs when the test says time has passed, not after a sleep. Only
// what is handed this clock sees it; the process's timers (IPC, undici, the test's own waits) stay
// real. Written here rather than taken from @sinonjs/fake-timers: warden's Clock is two methods,
// and this is the whole of what a test needs of it.
import type { Clock, ClockTimer } from "../../defaults/index.ts";

type Pending = { readonly at: number; readonly seq: number; readonly fn: () => void; live: boolean };

/** A Clock that moves only when advance() is called. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Pending[] = [];

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): ClockTimer {
    const t: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
      unref: () => undefined,
    };
  }

  /** Move time forward by `ms`, running each timer that falls due (timers started meanwhile too) in order, at its own time. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => t.live);
      const next = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      next.live = false;
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }

  /** Timers started and neither run nor cancelled, with how far ahead each is due (ms). */
  get pending(): number[] {
    return this.#timers.filter((t) => t.live).map((t) => t.at - this.#now);
  }
}
