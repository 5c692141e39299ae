// Denial storms: a plugin that asks for forbidden things in a loop must not fill the audit log (or
// the disk, or the host's memory). Denials are counted per kind, (permission, operation), which
// warden names, not per value or reason, which the plugin chooses (a reason often quotes the
// value): so asking for a million distinct paths is one storm, not a million first denials.
// Per window, the first `distinctDenialsPerKind` distinct denials of a kind are written at once,
// in full; identical repeats of one of those are counted into a `deny-repeat` record, and every
// denial past them into one `deny-aggregate` record of the kind with its count and a few sample
// values. Both are written when the window ends or the plugin closes. Nothing is dropped: every
// denial is a record or part of a count. What is held is bounded: at most maxKinds kinds, each
// with its written denials keyed by a sha256 and a few short samples.
import { systemClock, type Clock, type ClockTimer } from "../../defaults/index.ts";
import type { AuditRecordInput } from "./audit-log.ts";
import { AUDIT_LIMITS } from "./audit-limits.ts";
import { clipText, sha256Text } from "./bounded-record.ts";

/** Bounds of one aggregator (defaults: AUDIT_LIMITS). */
export type DenialAggregatorOptions = {
  readonly windowMs?: number;
  readonly distinctPerKind?: number;
  readonly maxKinds?: number;
  readonly samples?: number;
  readonly sampleChars?: number;
  /** Where the window's time and timer come from (default: the system clock). */
  readonly clock?: Clock;
};

type Written = { readonly sample: AuditRecordInput; count: number; readonly since: number };
type Kind = {
  readonly permission: string;
  readonly op: string;
  readonly written: Map<string, Written>;
  overflow: number;
  overflowSince: number;
  readonly samples: string[];
};

// The catch-all kind once maxKinds kinds are tracked (only a sandbox process sending made-up
// permissions or operations gets there).
const ANY = "*";

/** Aggregates the denials of one plugin by kind. */
export class DenialAggregator {
  readonly #write: (records: readonly AuditRecordInput[]) => void;
  readonly #windowMs: number;
  readonly #distinctPerKind: number;
  readonly #maxKinds: number;
  readonly #samples: number;
  readonly #sampleChars: number;
  readonly #clock: Clock;
  readonly #kinds = new Map<string, Kind>();
  #plugin = "";
  #timer: ClockTimer | null = null;

  constructor(write: (records: readonly AuditRecordInput[]) => void, o: DenialAggregatorOptions = {}) {
    this.#write = write;
    this.#windowMs = o.windowMs ?? AUDIT_LIMITS.denialWindowMs;
    this.#distinctPerKind = o.distinctPerKind ?? AUDIT_LIMITS.distinctDenialsPerKind;
    this.#maxKinds = o.maxKinds ?? AUDIT_LIMITS.maxKinds;
    this.#samples = o.samples ?? AUDIT_LIMITS.samples;
    this.#sampleChars = o.sampleChars ?? AUDIT_LIMITS.sampleChars;
    this.#clock = o.clock ?? systemClock;
  }

  #kindOf(r: AuditRecordInput): Kind {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a record carries becomes text; an object as "[object Object]" is acceptable here
    const permission = clipText(String(r["permission"] ?? ""), 128);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a record carries becomes text; an object as "[object Object]" is acceptable here
    const op = clipText(String(r["op"] ?? ""), 128);
    const key = JSON.stringify([permission, op]);
    let kind = this.#kinds.get(key);
    if (kind !== undefined) return kind;
    const full = this.#kinds.size >= this.#maxKinds;
    const anyKey = JSON.stringify([ANY, ANY]);
    kind = full ? this.#kinds.get(anyKey) : undefined;
    if (kind !== undefined) return kind;
    kind = { permission: full ? ANY : permission, op: full ? ANY : op, written: new Map(), overflow: 0, overflowSince: 0, samples: [] };
    this.#kinds.set(full ? anyKey : key, kind);
    return kind;
  }

  /** Write `records` in order, holding back repeats and the denials past a kind's share of the window. */
  append(records: readonly AuditRecordInput[]): void {
    const out: AuditRecordInput[] = [];
    for (const r of records) {
      if (r.type !== "deny") {
        out.push(r);
        continue;
      }
      this.#plugin = r.plugin;
      const kind = this.#kindOf(r);
      // A small key: the values themselves can be KiBs (already clipped) and are kept once, in the sample.
      const key = sha256Text(JSON.stringify([r["permission"], r["op"], r["value"], r["resolved"], r["reason"]]));
      const seen = kind.written.get(key);
      if (seen !== undefined) {
        seen.count++;
        continue;
      }
      if (kind.written.size < this.#distinctPerKind) {
        kind.written.set(key, { sample: r, count: 0, since: this.#clock.now() });
        out.push(r);
        continue;
      }
      if (kind.overflow === 0) kind.overflowSince = this.#clock.now();
      kind.overflow++;
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a record carries becomes text; an object as "[object Object]" is acceptable here
      if (kind.samples.length < this.#samples) kind.samples.push(clipText(String(r["value"] ?? ""), this.#sampleChars));
    }
    if (out.length > 0) this.#write(out);
    if (this.#kinds.size > 0 && this.#timer === null) {
      this.#timer = this.#clock.after(this.#windowMs, () => this.#endWindow());
      this.#timer.unref();
    }
  }

  #endWindow(): void {
    this.#timer = null;
    this.flush();
  }

  /** Write the counts held back so far (deny-repeat, deny-aggregate) and start a new window. */
  flush(): void {
    if (this.#timer !== null) {
      this.#timer.cancel();
      this.#timer = null;
    }
    const out: AuditRecordInput[] = [];
    const now = this.#clock.now();
    for (const kind of this.#kinds.values()) {
      for (const t of kind.written.values()) {
        if (t.count === 0) continue;
        const { type: _type, ...rest } = t.sample;
        out.push({ ...rest, type: "deny-repeat", plugin: t.sample.plugin, count: t.count, sinceMs: now - t.since });
      }
      if (kind.overflow > 0) {
        out.push({
          type: "deny-aggregate",
          plugin: this.#plugin,
          op: kind.op,
          permission: kind.permission,
          decision: "denied",
          count: kind.overflow,
          samples: kind.samples,
          sinceMs: now - kind.overflowSince,
          reason: `more than ${this.#distinctPerKind} distinct denials of this kind within ${this.#windowMs / 1000} s: the first ${this.#distinctPerKind} were written in full, these are counted`,
        });
      }
    }
    this.#kinds.clear();
    if (out.length > 0) this.#write(out);
  }
}
