// A plugin's capability calls on their way to the host and back. The prelude sends one "op"
// request per Warden.* call; the host checks its size and nesting (the last code the plugin cannot
// touch), answers it inside the crossing when it needs no I/O, or starts it with the deadline of the
// calls in flight and an abort signal, and re-enters the isolate with the answer when it settles.
// Whoever built the sandbox bound the plugin's identity into the operation functions.
import { isWardenError } from "../errors/index.ts";
import { MAX_OP_ARGS_CHARS } from "./limits.ts";
import { jsonDepthExceeded, MAX_VALUE_DEPTH } from "./plugin-values.ts";

/** When the call behind an operation runs out of time, and a signal aborted when the sandbox goes. */
export type OperationContext = { readonly deadline: number; readonly signal: AbortSignal };

/** A host operation the plugin asked for: resolves to a JSON-compatible value or rejects. */
export type HostOperation = (op: string, args: unknown, ctx: OperationContext) => Promise<unknown>;

/** How a host operation's result reaches the prelude's resolveOp. */
export type OperationResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: { name: string; code: string; message: string } };

// The op envelope around the arguments ({"id":..,"op":..,"args":..}) is small; allow for it.
const MAX_OP_PAYLOAD = MAX_OP_ARGS_CHARS + 1024;

/** How a failed host operation reaches the plugin: name, code and message only, never a host stack. */
export function operationErrorDescriptor(e: unknown): { name: string; code: string; message: string } {
  if (isWardenError(e)) return { name: e.name, code: e.code, message: e.message };
  if (e instanceof Error && typeof (e as { code?: unknown }).code === "string") {
    return { name: e.name, code: (e as unknown as { code: string }).code, message: e.message };
  }
  return { name: "Error", code: "Io", message: "the host operation failed" };
}

/** What HostOperations needs from its sandbox. */
export type HostOperationsOptions = {
  readonly operation: HostOperation;
  readonly operationSync?: ((op: string, args: unknown) => { value: unknown } | null) | undefined;
  /** Wall-clock time left to the tightest call in flight (the default timeout for background work), ms. */
  readonly timeLeftMs: () => number;
  /** Enter the isolate with the result of operation `id`. */
  readonly answer: (id: number, result: OperationResult) => void;
  /** Told of a bug in warden met after the request returned (delivering an answer). */
  readonly onBug: (where: string, error: unknown) => void;
};

/** The operations one sandbox's plugin started, and the signal that stops them. */
export class HostOperations {
  readonly #o: HostOperationsOptions;
  readonly #abort = new AbortController();
  // Operations the plugin passed an AbortSignal for, by id, until they settle: only these get a
  // controller of their own (one per operation would cost every call on the hot path).
  readonly #cancellable = new Map<number, AbortController>();

  /** Operations for one sandbox. */
  constructor(o: HostOperationsOptions) {
    this.#o = o;
  }

  /**
   * One "op" request: answered inside this crossing (a JSON string) when it needs no I/O, else
   * started, and answered later through `answer` (undefined now).
   */
  request(payload: string): string | undefined {
    if (payload.length > MAX_OP_PAYLOAD) {
      return JSON.stringify({ ok: false, error: { name: "BadInput", code: "BAD_INPUT", message: `the arguments of a Warden call are larger than ${MAX_OP_PAYLOAD} bytes` } });
    }
    // Two levels are the envelope and the argument list; each argument may nest MAX_VALUE_DEPTH deep.
    if (jsonDepthExceeded(payload, MAX_VALUE_DEPTH + 2) >= 0) {
      return JSON.stringify({ ok: false, error: { name: "BadInput", code: "BAD_INPUT", message: `an argument of a Warden call is nested deeper than ${MAX_VALUE_DEPTH} levels` } });
    }
    let envelope: { id: number; op: string; args: unknown; cancellable?: unknown };
    try {
      envelope = JSON.parse(payload) as typeof envelope;
    } catch {
      // Not the JSON the prelude writes: the request's fault, answered as not served (as before).
      return JSON.stringify({ ok: false });
    }
    const { id, op, args, cancellable } = envelope;
    if (this.#o.operationSync !== undefined) {
      try {
        const answered = this.#o.operationSync(String(op), args);
        if (answered !== null) return JSON.stringify({ ok: true, value: answered.value ?? null });
      } catch (e) {
        return JSON.stringify({ ok: false, error: operationErrorDescriptor(e) });
      }
    }
    // A HostOperation returns a promise; one that throws instead is a bug in warden, which the
    // caller (the dispatch table) reports. So is a failure to deliver the answer, which would
    // otherwise be an unhandled rejection that ends the process.
    const own = cancellable === true && Number.isSafeInteger(id) && !this.#cancellable.has(id) ? new AbortController() : null;
    if (own !== null) this.#cancellable.set(id, own);
    const done = (): void => {
      if (own !== null && this.#cancellable.get(id) === own) this.#cancellable.delete(id);
    };
    this.#o
      .operation(String(op), args, this.#context(own?.signal))
      .then(
        (value) => {
          done();
          this.#o.answer(id, { ok: true, value: value ?? null });
        },
        (e: unknown) => {
          done();
          this.#o.answer(id, { ok: false, error: operationErrorDescriptor(e) });
        },
      )
      .catch((e: unknown) => this.#o.onBug("answering a Warden call", e));
    return undefined;
  }

  /** The plugin aborted operation `id` (its AbortSignal): stop it; nothing if it is not running or not cancellable. */
  cancel(id: unknown): void {
    if (typeof id !== "number") return;
    const own = this.#cancellable.get(id);
    if (own === undefined) return;
    this.#cancellable.delete(id);
    own.abort();
  }

  /** Stop the host operations still running for this plugin (a fetch, an exec): its sandbox is going. */
  abort(): void {
    this.#abort.abort();
  }

  #context(own?: AbortSignal): OperationContext {
    const signal = own === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, own]);
    return { deadline: Date.now() + Math.max(0, this.#o.timeLeftMs()), signal };
  }
}
