// A plugin's containment record: its quarantine breaker and the CPU it spent in the last minute.
// Both belong to the plugin id, not to one loaded version or one sandbox process: otherwise a
// plugin that can trigger a reload (by writing a watched file) or a restart (by crashing its
// process) would start over with a fresh budget and a clean failure count. createHost keeps one
// ledger per id for its whole life; a plugin loaded on its own keeps one for the life of its
// handle. Versions running side by side during a reload all charge the same ledger, and each hears
// of what the others spend, so the sandbox that enforces the window inside can stop a running
// isolate on the plugin's total.
import { systemClock, type Clock, type ClockTimer } from "../../defaults/index.ts";
import { clipText } from "../audit/bounded-record.ts";
import type { AuditWriter } from "../audit/audit-log.ts";
import { QuarantinedError, escapeText } from "../../errors/index.ts";
import type { Logger } from "../logger.ts";
import { cpuBudgetError, CpuWindow, type CpuCharge } from "../../isolate/index.ts";
import { Quarantine, type QuarantinePolicy } from "./quarantine.ts";

/** What a ledger reports: a quarantine starting, or ending. */
export type ContainmentEvent =
  | { readonly type: "quarantine"; readonly plugin: string; readonly until: string; readonly failures: number; readonly cause: string }
  | { readonly type: "release"; readonly plugin: string; readonly by: "operator" | "timeout" };

/** How to create a ledger. */
export type LedgerOptions = {
  readonly pluginId: string;
  readonly quarantine?: Partial<QuarantinePolicy>;
  /** Where quarantine and release records go. */
  readonly audit: AuditWriter;
  readonly logger: Logger;
  readonly onEvent?: (event: ContainmentEvent) => void;
  /** When a quarantine starts and ends (default: the system clock). */
  readonly clock?: Clock;
};

/** One loaded version's connection to its plugin's ledger. */
export type LedgerMember = {
  /** Charge CPU this version's sandbox reported; the other versions are told of it. */
  charge(ns: number): void;
  /** The version is gone (closed, or never finished loading). */
  leave(): void;
};

/** The containment record of one plugin id. */
export class PluginLedger {
  readonly pluginId: string;
  readonly #o: LedgerOptions;
  readonly #quarantine: Quarantine;
  readonly #clock: Clock;
  // The window's limit is the running version's (manifests may differ across versions): every
  // check passes it in.
  readonly #cpu = new CpuWindow(Number.POSITIVE_INFINITY);
  readonly #members = new Set<(ns: number) => void>();
  // Told when a quarantine ends (by an operator or by time): a version that is down is rebuilt then.
  readonly #onRelease = new Set<() => void>();
  #wasQuarantined = false;
  #releaseTimer: ClockTimer | null = null;
  #disposed = false;

  constructor(o: LedgerOptions) {
    this.pluginId = o.pluginId;
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#quarantine = new Quarantine(o.quarantine, () => this.#clock.now());
  }

  /** Join as a loaded version; `share` receives the CPU the plugin's other versions spend, `onRelease` the end of a quarantine. */
  join(share: (ns: number) => void, onRelease?: () => void): LedgerMember {
    this.#members.add(share);
    if (onRelease !== undefined) this.#onRelease.add(onRelease);
    return {
      charge: (ns) => {
        this.#cpu.charge(ns);
        for (const other of this.#members) if (other !== share) other(ns);
      },
      leave: () => {
        this.#members.delete(share);
        if (onRelease !== undefined) this.#onRelease.delete(onRelease);
      },
    };
  }

  /** The charges still inside the window, as (ms ago, ns): the seed of a new sandbox process. */
  cpuHistory(): CpuCharge[] {
    return this.#cpu.recent();
  }

  /** CPU the plugin used in the last 60 s, across its versions and sandbox processes, ms. */
  get cpuUsedMs(): number {
    return this.#cpu.usedMs();
  }

  /** How long until the plugin may run again under a window of `limitMs`, ms (0 while it has budget left). */
  msUntilBudget(limitMs: number): number {
    return this.#cpu.remainingMs(limitMs) > 0 ? 0 : this.#cpu.msUntilAvailable(limitMs);
  }

  /** Throw CPU_LIMIT if the plugin spent `limitMs` of CPU in the window; `name`() was refused. */
  refuseIfOverBudget(name: string, limitMs: number): void {
    if (this.#cpu.remainingMs(limitMs) <= 0) throw cpuBudgetError(this.pluginId, name, this.#cpu, limitMs);
  }

  /** Whether the plugin is quarantined now. */
  get quarantined(): boolean {
    return this.#quarantine.isQuarantined();
  }

  /** Why the plugin is quarantined (until when, after what), or null when it is not. */
  get reason(): string | null {
    if (!this.#quarantine.isQuarantined()) return null;
    const until = new Date(this.#quarantine.until).toISOString();
    return `quarantined until ${until} after failing ${this.#quarantine.policy.maxFailures} times in ${this.#quarantine.policy.windowMs / 1000} s (last: ${this.#quarantine.lastCause})`;
  }

  /** Throw QUARANTINED if the plugin is quarantined; `name`() was not run. */
  refuseIfQuarantined(name: string): void {
    const reason = this.reason;
    if (reason !== null) {
      const until = new Date(this.#quarantine.until).toISOString();
      throw new QuarantinedError(`plugin ${this.pluginId} is ${reason}; ${name}() was not run. Fix the plugin, then release it, or wait`, { pluginId: this.pluginId, entry: name, until });
    }
    if (this.#wasQuarantined) this.#releasedByTimeout();
  }

  /** Count a limit hit or a crash; quarantine the plugin if it fails too often. */
  failed(cause: string): void {
    const change = this.#quarantine.fail(cause);
    if (!change.quarantined) return;
    this.#wasQuarantined = true;
    const until = new Date(change.until).toISOString();
    this.#o.audit.append({ type: "quarantine", plugin: this.pluginId, until, failures: change.failures, periodMs: change.periodMs, cause: clipText(cause) });
    this.#o.logger.warn(
      { until, failures: change.failures },
      `quarantined until ${until} after ${change.failures} failures in ${this.#quarantine.policy.windowMs / 1000} s (last: ${escapeText(cause)})`,
    );
    this.#o.onEvent?.({ type: "quarantine", plugin: this.pluginId, until, failures: change.failures, cause });
    // The end of a quarantine is an event of its own, when it happens (not at the next call).
    this.#releaseTimer?.cancel();
    this.#releaseTimer = this.#clock.after(change.periodMs + 1, () => this.#releasedByTimeout());
    this.#releaseTimer.unref();
  }

  /** A call succeeded (the next quarantine starts from the base period again). */
  succeeded(): void {
    this.#quarantine.succeeded();
  }

  #releasedByTimeout(): void {
    this.#releaseTimer = null;
    if (!this.#wasQuarantined || this.#quarantine.isQuarantined() || this.#disposed) return;
    this.#wasQuarantined = false;
    this.#o.audit.append({ type: "release", plugin: this.pluginId, by: "timeout" });
    this.#o.logger.info("quarantine ended");
    this.#o.onEvent?.({ type: "release", plugin: this.pluginId, by: "timeout" });
    for (const f of [...this.#onRelease]) f();
  }

  /** An operator re-enables a quarantined plugin now. */
  release(): void {
    if (!this.#quarantine.isQuarantined()) return;
    this.#quarantine.release();
    this.#wasQuarantined = false;
    this.#releaseTimer?.cancel();
    this.#releaseTimer = null;
    this.#o.audit.append({ type: "release", plugin: this.pluginId, by: "operator" });
    this.#o.logger.info("released from quarantine by the operator");
    this.#o.onEvent?.({ type: "release", plugin: this.pluginId, by: "operator" });
    for (const f of [...this.#onRelease]) f();
  }

  /** Stop the release timer: nothing more is reported (the handle or host that owns it closed). */
  dispose(): void {
    this.#disposed = true;
    this.#releaseTimer?.cancel();
    this.#releaseTimer = null;
  }
}
