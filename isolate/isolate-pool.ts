// Isolates made ahead of need. Creating an isolate and its context is most of a cold start
// (~70% when warden was designed; benchmarks/README.md); a small pool per memory limit, refilled
// when the event loop is idle, leaves a new plugin only the compile and the first call. A pooled
// isolate is handed out once and never returned: a used (or condemned) sandbox is never reused.
import ivm from "./ivm.ts";

/** A fresh isolate, its context, and what the pool's `prepare` made in it ahead of need. */
export type Spare = { readonly isolate: ivm.Isolate; readonly context: ivm.Context; readonly prelude: ivm.Reference | undefined };

/** A pool of fresh isolates with their contexts, by memory limit. */
export class IsolatePool {
  readonly #spares = new Map<number, Spare[]>();
  readonly #size: number;
  readonly #onCatastrophic = new WeakMap<ivm.Isolate, (message: string) => void>();
  #refillScheduled = false;
  #closed = false;

  readonly #prepare: ((isolate: ivm.Isolate, context: ivm.Context) => ivm.Reference) | undefined;

  /** `prepare` runs in each spare ahead of need (the sandbox passes its prelude loader). */
  constructor(size = 2, prepare?: (isolate: ivm.Isolate, context: ivm.Context) => ivm.Reference) {
    this.#size = size;
    this.#prepare = prepare;
  }

  #make(memoryMb: number): Spare {
    const isolate: ivm.Isolate = new ivm.Isolate({
      memoryLimit: memoryMb,
      onCatastrophicError: (message: string) => this.#onCatastrophic.get(isolate)?.(message),
    });
    const context = isolate.createContextSync();
    return { isolate, context, prelude: this.#prepare?.(isolate, context) };
  }

  /** A fresh isolate and context; `onCatastrophic` is its owner's handler. */
  take(memoryMb: number, onCatastrophic?: (message: string) => void): Spare {
    const list = this.#spares.get(memoryMb) ?? [];
    this.#spares.set(memoryMb, list);
    const spare = list.shift() ?? this.#make(memoryMb);
    if (onCatastrophic) this.#onCatastrophic.set(spare.isolate, onCatastrophic);
    this.#scheduleRefill();
    return spare;
  }

  #scheduleRefill(): void {
    if (this.#refillScheduled || this.#closed || this.#size === 0) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      for (const [mb, list] of this.#spares) {
        if (this.#closed) return;
        if (list.length < this.#size) {
          list.push(this.#make(mb));
          this.#scheduleRefill();
          return;
        }
      }
    }).unref();
  }

  /** Dispose the spares (the pool makes no more). */
  close(): void {
    this.#closed = true;
    for (const list of this.#spares.values()) for (const s of list.splice(0)) if (!s.isolate.isDisposed) s.isolate.dispose();
  }
}
