// A plugin's console output on its way to the host log: a token-bucket rate limit, then a bounded
// queue flushed once per turn of the event loop. A logging loop therefore costs the host at most
// `ratePerSecond` lines a second and `maxLines` lines of memory; what was dropped is counted and
// reported, never silently lost (MAI-56 in docs/behaviours.md).
import { DEFAULTS } from "../../defaults/index.ts";
import type { PluginLogLevel } from "../../isolate/index.ts";

/** One line of plugin output. */
export type LogLine = { readonly level: PluginLogLevel; readonly text: string };

/** How a log buffer behaves. */
export type LogBufferOptions = {
  /** Lines kept waiting for a flush; past it the oldest are dropped. */
  readonly maxLines?: number;
  /** Sustained lines per second. */
  readonly ratePerSecond?: number;
  /** Lines allowed in a burst above the rate. */
  readonly burst?: number;
  /** Longest line kept, characters; longer ones are cut. */
  readonly maxLineChars?: number;
  readonly now?: () => number;
  /** Schedules a flush (setImmediate outside tests). */
  readonly schedule?: (fn: () => void) => void;
  /** Receives the lines and how many were dropped since the last flush. */
  readonly flush: (lines: readonly LogLine[], dropped: number) => void;
};

/** Default caps (DEFAULTS.log): 200 lines/s sustained, bursts of 500, 1000 lines queued, 16 KiB per line. */
export const LOG_DEFAULTS = DEFAULTS.log;

/** A bounded, rate-limited, non-blocking buffer for one plugin's console. */
export class LogBuffer {
  readonly #o: Required<Omit<LogBufferOptions, "flush" | "now" | "schedule">> & Pick<LogBufferOptions, "flush">;
  readonly #now: () => number;
  readonly #schedule: (fn: () => void) => void;
  #queue: LogLine[] = [];
  #dropped = 0;
  #tokens: number;
  #last: number;
  #scheduled = false;

  constructor(o: LogBufferOptions) {
    this.#o = {
      maxLines: o.maxLines ?? LOG_DEFAULTS.maxLines,
      ratePerSecond: o.ratePerSecond ?? LOG_DEFAULTS.ratePerSecond,
      burst: o.burst ?? LOG_DEFAULTS.burst,
      maxLineChars: o.maxLineChars ?? LOG_DEFAULTS.maxLineChars,
      flush: o.flush,
    };
    this.#now = o.now ?? (() => performance.now());
    this.#schedule = o.schedule ?? ((fn) => setImmediate(fn));
    this.#tokens = this.#o.burst;
    this.#last = this.#now();
  }

  /** Total lines dropped so far that have not been reported yet. */
  get pendingDropped(): number {
    return this.#dropped;
  }

  /** Queue one line, or count it as dropped if the plugin is over its rate. */
  push(level: PluginLogLevel, text: string): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#o.burst, this.#tokens + ((now - this.#last) / 1000) * this.#o.ratePerSecond);
    this.#last = now;
    if (this.#tokens < 1) {
      this.#dropped++;
    } else {
      this.#tokens -= 1;
      const cut = text.length > this.#o.maxLineChars ? `${text.slice(0, this.#o.maxLineChars)}… (${text.length - this.#o.maxLineChars} more characters)` : text;
      this.#queue.push({ level, text: cut });
      if (this.#queue.length > this.#o.maxLines) {
        this.#queue.shift();
        this.#dropped++;
      }
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => this.flushNow());
    }
  }

  /** Hand everything queued to `flush` now. */
  flushNow(): void {
    this.#scheduled = false;
    if (this.#queue.length === 0 && this.#dropped === 0) return;
    const lines = this.#queue;
    const dropped = this.#dropped;
    this.#queue = [];
    this.#dropped = 0;
    this.#o.flush(lines, dropped);
  }
}
