// Per-plugin concurrency: at most `maxInFlight` calls run at once, at most `maxQueued` wait, and a
// call past both is refused at once with BUSY, so no queue in the host grows without bound.
//
// Calls from other plugins (Warden.plugins.call) hold at most a share of both: all calling plugins
// together half (DEFAULTS.host.pluginCallerShare), one calling plugin half of that
// (oneCallerShare). Without shares one plugin granted to call this one kept every slot and the
// whole line busy (200 calls at once, each waiting out its timeout) and turned the host
// application's calls, and every other caller's, into BUSY. A call waiting starts when a slot is
// free and its caller is within its share, in arrival order otherwise. A plugin calling itself
// holds no share: it spends its own concurrency (and a recursion within maxCallDepth must not wait
// for the slots its own outer calls hold).
import { BusyError } from "../../errors/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";

/** Concurrency limits of one plugin. */
export type Concurrency = { readonly maxInFlight: number; readonly maxQueued: number };

/** Defaults (DEFAULTS.host.concurrency): 8 calls running, 64 waiting. */
export const DEFAULT_CONCURRENCY: Concurrency = DEFAULTS.host.concurrency;

/** The caller of the host application's own calls (it holds no share: the rest is its). */
export const HOST_CALLER = "host";

/** Running and waiting calls of one caller, or of all plugin callers. */
type Held = { running: number; waiting: number };

/** What a share allows: calls running, and waiting. */
type Share = { readonly running: number; readonly waiting: number };

/** `part` of `limits`, at least one running call (a share that could run nothing would refuse every call). */
function shareOf(limits: Share, part: number): Share {
  return { running: Math.max(1, Math.ceil(limits.running * part)), waiting: Math.floor(limits.waiting * part) };
}

/** A counting gate with a bounded waiting line, shared fairly between the host and calling plugins. */
export class CallGate {
  readonly limits: Concurrency;
  /** What calls from other plugins may hold together, and what one calling plugin may hold. */
  readonly shares: { readonly plugins: Share; readonly oneCaller: Share };
  readonly #pluginId: string;
  #running = 0;
  readonly #waiting: Array<{ readonly caller: string; readonly go: () => void }> = [];
  readonly #plugins: Held = { running: 0, waiting: 0 };
  readonly #byCaller = new Map<string, Held>();

  constructor(pluginId: string, limits: Partial<Concurrency> = {}) {
    this.#pluginId = pluginId;
    this.limits = { ...DEFAULT_CONCURRENCY, ...limits };
    const plugins = shareOf({ running: this.limits.maxInFlight, waiting: this.limits.maxQueued }, DEFAULTS.host.pluginCallerShare);
    this.shares = { plugins, oneCaller: shareOf(plugins, DEFAULTS.host.oneCallerShare) };
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Run `fn` for `caller` (the host application, or a plugin id) when a slot is free and the
   * caller is within its share; refuse with BUSY when the waiting line, or the caller's share of
   * it, is full.
   */
  async run<T>(fn: () => Promise<T>, caller: string = HOST_CALLER): Promise<T> {
    if (this.#mayStart(caller)) this.#start(caller);
    else {
      this.#refuseIfFull(caller);
      await new Promise<void>((go) => {
        this.#waiting.push({ caller, go });
        this.#held(caller, (h) => h.waiting++);
      });
    }
    try {
      return await fn();
    } finally {
      this.#held(caller, (h) => h.running--);
      this.#running--;
      this.#dispatch();
    }
  }

  #mayStart(caller: string): boolean {
    if (this.#running >= this.limits.maxInFlight) return false;
    if (this.#unshared(caller)) return true;
    return this.#plugins.running < this.shares.plugins.running && (this.#byCaller.get(caller)?.running ?? 0) < this.shares.oneCaller.running;
  }

  #start(caller: string): void {
    this.#running++;
    this.#held(caller, (h) => h.running++);
  }

  #refuseIfFull(caller: string): void {
    if (this.#waiting.length >= this.limits.maxQueued) {
      throw new BusyError(`plugin ${this.#pluginId} is busy: ${this.#running} calls running and ${this.#waiting.length} queued; retry later or raise the host's concurrency limits`, {
        pluginId: this.#pluginId,
      });
    }
    if (this.#unshared(caller)) return;
    const mine = this.#byCaller.get(caller) ?? { running: 0, waiting: 0 };
    const [held, share, whose] =
      mine.waiting >= this.shares.oneCaller.waiting
        ? [mine, this.shares.oneCaller, `${caller}'s share`]
        : this.#plugins.waiting >= this.shares.plugins.waiting
          ? [this.#plugins, this.shares.plugins, "the share of all calling plugins"]
          : [null, null, ""];
    if (held === null || share === null) return;
    throw new BusyError(
      `plugin ${this.#pluginId} is busy for ${caller}: ${held.running} calls running and ${held.waiting} waiting fill ${whose} of its concurrency (${share.running} running, ${share.waiting} waiting; the host application keeps the rest); await some of them before calling again`,
      { pluginId: this.#pluginId, caller },
    );
  }

  /** Start waiting calls while slots are free, the first in line whose caller is within its share. */
  #dispatch(): void {
    while (this.#running < this.limits.maxInFlight) {
      const i = this.#waiting.findIndex((w) => this.#mayStart(w.caller));
      if (i === -1) return;
      const [next] = this.#waiting.splice(i, 1);
      if (next === undefined) return;
      this.#held(next.caller, (h) => h.waiting--);
      this.#start(next.caller);
      next.go();
    }
  }

  /** Whether `caller` holds no share: the host application, or the plugin calling itself. */
  #unshared(caller: string): boolean {
    return caller === HOST_CALLER || caller === this.#pluginId;
  }

  /** Change what `caller` holds (and, for another plugin, what all plugin callers hold). */
  #held(caller: string, change: (h: Held) => void): void {
    if (this.#unshared(caller)) return;
    change(this.#plugins);
    const h = this.#byCaller.get(caller) ?? { running: 0, waiting: 0 };
    change(h);
    if (h.running === 0 && h.waiting === 0) this.#byCaller.delete(caller);
    else this.#byCaller.set(caller, h);
  }
}
