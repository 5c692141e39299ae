// The bytes of audit log one plugin can cause per window. Clipping bounds each record and the
// denial aggregator bounds denials per kind, but a plugin can still use what it was granted in a
// loop, or spread denials over every kind. Past the budget, the plugin's records (uses, denials and
// their aggregates) are not written one by one but counted per (type, permission, operation, rule)
// into one `audit-suppressed` record when the window ends or the plugin closes: an auditor still
// sees how many uses of which grant and how many denials of which kind happened. The host's own
// records about the plugin (grant, config, limit, crash, quarantine, release) never pass through
// here: they are few, bounded by the quarantine, and each proves something took effect.
import { systemClock, type Clock, type ClockTimer } from "../../defaults/index.ts";
import type { AuditRecordInput } from "./audit-log.ts";
import { AUDIT_LIMITS } from "./audit-limits.ts";
import { clipText } from "./bounded-record.ts";

/** Bounds of one budget (defaults: AUDIT_LIMITS). */
export type AuditBudgetOptions = {
  readonly bytesPerWindow?: number;
  readonly windowMs?: number;
  readonly maxKinds?: number;
  /** Where the window's time and timer come from (default: the system clock). */
  readonly clock?: Clock;
};

/** One line of an `audit-suppressed` record: records of one kind not written, and the events they stood for. */
export type SuppressedCount = { type: string; permission: string; op: string; rule?: string; records: number; count: number };

// What the log adds to each record (seq, time, prev, hash), in bytes, about.
const RECORD_OVERHEAD = 200;

/** The audit byte budget of one plugin. */
export class AuditBudget {
  readonly #write: (records: readonly AuditRecordInput[]) => void;
  readonly #bytes: number;
  readonly #windowMs: number;
  readonly #maxKinds: number;
  readonly #clock: Clock;
  #windowStart: number;
  #used = 0;
  #plugin = "";
  #suppressed = new Map<string, SuppressedCount>();
  #suppressedRecords = 0;
  #timer: ClockTimer | null = null;

  constructor(write: (records: readonly AuditRecordInput[]) => void, o: AuditBudgetOptions = {}) {
    this.#write = write;
    this.#bytes = o.bytesPerWindow ?? AUDIT_LIMITS.bytesPerWindow;
    this.#windowMs = o.windowMs ?? AUDIT_LIMITS.budgetWindowMs;
    this.#maxKinds = o.maxKinds ?? AUDIT_LIMITS.maxKinds;
    this.#clock = o.clock ?? systemClock;
    this.#windowStart = this.#clock.now();
  }

  /** Write what fits in this window's budget, in order; count the rest. */
  write(records: readonly AuditRecordInput[]): void {
    if (this.#clock.now() - this.#windowStart >= this.#windowMs) this.flush();
    const out: AuditRecordInput[] = [];
    for (const r of records) {
      this.#plugin = r.plugin;
      // Once something was suppressed, everything after it in the window is too, so the log never
      // shows a later record without the earlier ones it left out being counted before it ends.
      const size = this.#suppressedRecords === 0 ? JSON.stringify(r).length + RECORD_OVERHEAD : Infinity;
      if (this.#used + size <= this.#bytes) {
        this.#used += size;
        out.push(r);
        continue;
      }
      this.#count(r);
    }
    if (out.length > 0) this.#write(out);
    if (this.#suppressedRecords > 0 && this.#timer === null) {
      this.#timer = this.#clock.after(Math.max(0, this.#windowStart + this.#windowMs - this.#clock.now()), () => this.flush());
      this.#timer.unref();
    }
  }

  #count(r: AuditRecordInput): void {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a record carries becomes text; an object as "[object Object]" is acceptable here
    const part = (v: unknown) => clipText(String(v ?? ""), 128);
    const line: SuppressedCount = { type: part(r.type), permission: part(r["permission"]), op: part(r["op"]), records: 0, count: 0 };
    if (r.type === "use") line.rule = part(r["rule"]);
    let key = JSON.stringify([line.type, line.permission, line.op, line.rule]);
    if (!this.#suppressed.has(key) && this.#suppressed.size >= this.#maxKinds) {
      key = "*";
      line.type = line.permission = line.op = "*";
      delete line.rule;
    }
    const entry = this.#suppressed.get(key) ?? line;
    this.#suppressed.set(key, entry);
    entry.records++;
    // An aggregate stands for `count` events; any other record for one.
    entry.count += (r.type === "deny-repeat" || r.type === "deny-aggregate") && typeof r["count"] === "number" ? r["count"] : 1;
    this.#suppressedRecords++;
  }

  /** Write the `audit-suppressed` record of this window, if anything was held back, and start a new window. */
  flush(): void {
    if (this.#timer !== null) {
      this.#timer.cancel();
      this.#timer = null;
    }
    const now = this.#clock.now();
    if (this.#suppressedRecords > 0) {
      this.#write([
        {
          type: "audit-suppressed",
          plugin: this.#plugin,
          records: this.#suppressedRecords,
          counts: [...this.#suppressed.values()],
          budgetBytes: this.#bytes,
          windowMs: this.#windowMs,
          sinceMs: now - this.#windowStart,
          reason: `the plugin's audit records passed ${this.#bytes} bytes in ${this.#windowMs / 1000} s; the rest of the window is counted here by type, permission, operation and rule`,
        },
      ]);
    }
    this.#suppressed = new Map();
    this.#suppressedRecords = 0;
    this.#used = 0;
    this.#windowStart = now;
  }
}
