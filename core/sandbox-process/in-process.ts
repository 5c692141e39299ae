// isolation: "in-process": the plugin's runner lives in the host's own process, behind the same
// message protocol (messages are copied as JSON, as over IPC). Calls skip the process hop, so they
// are several times faster and an idle plugin costs about one isolate instead of one process; but
// an allocation that makes V8 abort or hang (measured: Array(1e9).fill(0) under a 16 MiB limit)
// then takes the host down with it. Only for plugins you would also run in a child you do not
// watch: the default is a sandbox process.
import { EventEmitter } from "node:events";
import type { ToChild, ToHost } from "./protocol.ts";
import { createSandboxRunner, type DirectResult, type SandboxRunner } from "./runner.ts";

/** A ChildProcess look-alike whose "child" is a runner in this process. */
export class InProcessChannel extends EventEmitter {
  readonly pid: number | undefined = undefined;
  readonly #runner: SandboxRunner;
  #gone = false;

  constructor() {
    super();
    this.#runner = createSandboxRunner(
      // What the runner sends is made for the message (results are parsed from the isolate's
      // JSON): nothing in it is shared with the runner's state, so it is not copied again.
      (msg: ToHost) => {
        queueMicrotask(() => {
          if (!this.#gone) this.emit("message", msg);
        });
      },
      () => this.kill(),
    );
  }

  /** Deliver a message to the runner, copied as IPC would copy it. */
  send(msg: ToChild): boolean {
    if (this.#gone) return false;
    // An invoke is all primitives (its input is already JSON text); anything else is copied.
    const copy = msg.t === "invoke" ? msg : (JSON.parse(JSON.stringify(msg)) as ToChild);
    // A microtask, not a turn of the event loop: never in the caller's stack, but without the
    // cost of waiting for I/O polling (the crossing is the fast path, perf-floors.md).
    queueMicrotask(() => {
      if (!this.#gone) this.#runner.receive(copy);
    });
    return true;
  }

  #direct = 0;
  #nextDirectId = -1;

  /** Calls made through invokeDirect and still running. */
  get directInFlight(): number {
    return this.#direct;
  }

  /** An invoke without the message layer; null when the runner must (re)build its sandbox first. */
  invokeDirect(name: string, inputJson: string | undefined, caller: string, depth: number, timeoutMs?: number): Promise<DirectResult> | null {
    if (this.#gone) return null;
    const p = this.#runner.invokeDirect(this.#nextDirectId--, name, inputJson, caller, depth, timeoutMs);
    if (p === null) return null;
    this.#direct++;
    const done = () => {
      this.#direct--;
    };
    p.then(done, done);
    return p;
  }

  /** End the runner at once (its isolate is disposed). */
  kill(): boolean {
    this.#end(null, "SIGKILL");
    return true;
  }

  /** End the runner after what it was asked (the host sent "unload" first). */
  disconnect(): void {
    this.#end(0, null);
  }

  #end(code: number | null, signal: string | null): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#runner.dispose();
    setImmediate(() => this.emit("exit", code, signal));
  }
}
