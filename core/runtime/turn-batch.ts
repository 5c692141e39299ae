// The messages one side of an engine's channel sends in one event-loop turn, sent as one array:
// one write and one wake-up of the other process instead of one per message. With eight plugins
// of one engine answering 32 calls at once, each result was a write of its own and a wake-up of
// the host. A message that may be large (a file's contents, a big result) goes alone, so a batch
// never becomes one huge string; its size is estimated by a walk that stops at the bound.
//
// The channel itself is core/sys/line-channel.ts (one JSON value per line; a batch is one line).

/** Most a message may weigh (estimated JSON characters) and still be batched. */
const BATCH_MESSAGE_CHARS = 16 * 1024;
/** A batch is sent once its messages weigh this much, without waiting for the end of the turn. */
const BATCH_CHARS = 256 * 1024;
/** Deepest nesting the estimate walks; a deeper message goes alone (JSON.stringify judges it). */
const MAX_DEPTH = 32;

/** The JSON size of `value`, walked up to `bound` characters: a number above `bound` means "large or unknown". */
export function boundedJsonSize(value: unknown, bound: number): number {
  let size = 0;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (typeof v === "string") size += v.length + 2;
    else if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) size += 8;
    else if (typeof v === "object") {
      if (depth >= MAX_DEPTH) return bound + 1;
      const entries = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
      // Keys count roughly; the bound has a wide margin.
      size += 2 + entries.length * (Array.isArray(v) ? 1 : 12);
      if (size > bound) return size;
      for (const e of entries) stack.push({ v: e, depth: depth + 1 });
    } else return bound + 1; // bigint, function, symbol: JSON.stringify's to judge, alone.
    if (size > bound) return size;
  }
  return size;
}

/** Collects the messages of one turn and sends them together at its end (setImmediate). */
export class TurnBatch<T> {
  readonly #send: (payload: T | T[]) => boolean;
  readonly #afterFlush: (() => void) | undefined;
  #queue: T[] = [];
  #chars = 0;
  #scheduled = false;

  /** `send` writes one message or an array of them; `afterFlush` runs at the end of every turn that sent (off the other side's critical path). */
  constructor(send: (payload: T | T[]) => boolean, afterFlush?: () => void) {
    this.#send = send;
    this.#afterFlush = afterFlush;
  }

  /** Queue a message for the end of this turn; a large one is sent at once, after what was queued (order kept). */
  push(msg: T): boolean {
    const chars = boundedJsonSize(msg, BATCH_MESSAGE_CHARS);
    if (chars > BATCH_MESSAGE_CHARS) {
      this.flush();
      return this.#send(msg);
    }
    this.#queue.push(msg);
    this.#chars += chars;
    if (this.#chars >= BATCH_CHARS) this.flush();
    else this.schedule();
    return true;
  }

  /** Make sure the end-of-turn work runs (also when nothing is queued: `afterFlush`). */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
      this.#afterFlush?.();
    });
  }

  /** Send what is queued now. */
  flush(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    this.#chars = 0;
    this.#send(queue.length === 1 ? (queue[0] as T) : queue);
  }

  /** Forget what is queued (the other side is gone). */
  clear(): void {
    this.#queue = [];
    this.#chars = 0;
  }
}
