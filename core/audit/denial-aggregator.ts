// Denial storms: a plugin that asks for the same forbidden thing in a loop must not fill the audit
// log (or the disk). The first denial of each kind is always written at once; identical repeats
// within a window are counted and written as one `deny-repeat` record when the window ends (or
// the plugin closes). Nothing is dropped: every denial is either a record or part of a count.
import type { AuditRecordInput } from "./audit-log.ts";

/** Default window over which identical denials are counted, ms. */
export const DENIAL_WINDOW_MS = 10_000;

/** Most distinct denials tracked at once; past it, denials are written one by one. */
export const MAX_TRACKED_DENIALS = 10_000;

type Tracked = { readonly sample: AuditRecordInput; count: number; since: number };

/** Aggregates identical denials of one plugin. */
export class DenialAggregator {
  readonly #write: (records: readonly AuditRecordInput[]) => void;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #tracked = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | null = null;

  constructor(write: (records: readonly AuditRecordInput[]) => void, windowMs = DENIAL_WINDOW_MS, now: () => number = Date.now) {
    this.#write = write;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Write `records` in order, holding back repeats of a denial already written in this window. */
  append(records: readonly AuditRecordInput[]): void {
    const out: AuditRecordInput[] = [];
    for (const r of records) {
      if (r.type !== "deny") {
        out.push(r);
        continue;
      }
      const key = JSON.stringify([r.plugin, r["op"], r["permission"], r["value"], r["resolved"], r["reason"]]);
      const seen = this.#tracked.get(key);
      if (seen !== undefined) {
        seen.count++;
        continue;
      }
      if (this.#tracked.size < MAX_TRACKED_DENIALS) this.#tracked.set(key, { sample: r, count: 0, since: this.#now() });
      out.push(r);
    }
    if (out.length > 0) this.#write(out);
    if (this.#tracked.size > 0 && this.#timer === null) {
      this.#timer = setTimeout(() => this.#endWindow(), this.#windowMs);
      this.#timer.unref();
    }
  }

  #endWindow(): void {
    this.#timer = null;
    this.flush();
  }

  /** Write the counts of repeats held back so far and start over. */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const out: AuditRecordInput[] = [];
    const now = this.#now();
    for (const t of this.#tracked.values()) {
      if (t.count === 0) continue;
      const { type: _type, ...rest } = t.sample;
      out.push({ ...rest, type: "deny-repeat", plugin: t.sample.plugin, count: t.count, sinceMs: now - t.since });
    }
    this.#tracked.clear();
    if (out.length > 0) this.#write(out);
  }
}
