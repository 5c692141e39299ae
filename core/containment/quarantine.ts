// A circuit breaker per plugin (MAI-60 in docs/behaviours.md): limit hits and crashes are counted
// over a window; too many and the plugin is quarantined (its calls fail at once) for a period that
// doubles with each consecutive quarantine, until an operator releases it or the period ends.
import { DEFAULTS } from "../../defaults/index.ts";

/** When to quarantine and for how long. */
export type QuarantinePolicy = {
  /** Failures within `windowMs` that trip the breaker. Default 5. */
  readonly maxFailures: number;
  /** The window failures are counted over, ms. Default 60 000. */
  readonly windowMs: number;
  /** First quarantine period, ms; each consecutive one doubles it. Default 60 000. */
  readonly baseMs: number;
  /** Longest quarantine period, ms. Default 3 600 000. */
  readonly maxMs: number;
};

/** The default policy (DEFAULTS.host.quarantine): 5 failures in 60 s quarantine for 60 s, then 120 s, 240 s... up to 1 h. */
export const DEFAULT_QUARANTINE: QuarantinePolicy = DEFAULTS.host.quarantine;

/** What a failure did to the breaker. */
export type QuarantineChange = { readonly quarantined: true; readonly until: number; readonly failures: number; readonly periodMs: number } | { readonly quarantined: false };

/** The breaker of one plugin. */
export class Quarantine {
  readonly policy: QuarantinePolicy;
  readonly #now: () => number;
  #failures: number[] = [];
  #until = 0;
  #consecutive = 0;
  #lastCause = "";

  constructor(policy: Partial<QuarantinePolicy> = {}, now: () => number = Date.now) {
    this.policy = { ...DEFAULT_QUARANTINE, ...policy };
    this.#now = now;
  }

  /** Count one failure (`cause` is kept for the error message); may quarantine the plugin. */
  fail(cause: string): QuarantineChange {
    const now = this.#now();
    this.#lastCause = cause;
    if (this.isQuarantined()) return { quarantined: false };
    this.#failures = this.#failures.filter((t) => t > now - this.policy.windowMs);
    this.#failures.push(now);
    if (this.#failures.length < this.policy.maxFailures) return { quarantined: false };
    const periodMs = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** this.#consecutive);
    this.#consecutive++;
    this.#until = now + periodMs;
    const failures = this.#failures.length;
    this.#failures = [];
    return { quarantined: true, until: this.#until, failures, periodMs };
  }

  /** Whether calls must be refused now. */
  isQuarantined(): boolean {
    return this.#now() < this.#until;
  }

  /** When the current quarantine ends (ms since the epoch), or 0. */
  get until(): number {
    return this.isQuarantined() ? this.#until : 0;
  }

  /** The cause of the last failure counted. */
  get lastCause(): string {
    return this.#lastCause;
  }

  /** An operator re-enables the plugin: the quarantine ends and the failure count starts over. */
  release(): void {
    this.#until = 0;
    this.#failures = [];
  }

  /** A call succeeded: after a clean call, the next quarantine starts from the base period again. */
  succeeded(): void {
    if (!this.isQuarantined() && this.#failures.length === 0) this.#consecutive = 0;
  }
}
