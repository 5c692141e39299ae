// The time warden's host-side policies run on: when a quarantine ends, when a restart's backoff is
// over, when the spare engine is started, when a denial window closes and its counts are written,
// when an approval expires, when a burst of file changes has settled. One injectable clock
// (HostOptions.clock) so that a test of one of those timers moves time instead of sleeping through
// it (test/helpers/manual-clock.ts), without touching the process's own timers: Node's
// mock.timers replaces the globals, which would also stop the engines' IPC, undici and the test's
// own waits. It sits with the defaults because the system clock is the default one, and because
// both core/ and capabilities/ read it.
//
// What stays on real time, on purpose: a call's CPU and wall-clock limits (the isolate measures
// them), and the CPU budget's window (CPU actually spent).

/** A timer a Clock started. */
export interface ClockTimer {
  /** Stop it if it has not run. */
  cancel(): void;
  /** Do not keep the process alive for it (as Node's timer.unref()). */
  unref(): void;
}

/** Where host-side policies read the time and start their timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): ClockTimer;
}

/** The system's clock: Date.now and Node's setTimeout. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  after(ms: number, fn: () => void): ClockTimer {
    const timer = setTimeout(fn, ms);
    return {
      cancel: () => clearTimeout(timer),
      unref: () => void timer.unref(),
    };
  },
});
