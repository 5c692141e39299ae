// isolation: "in-process": the plugin's runner lives in the host's own process, behind the same
// messages as an engine (copied as JSON, as over IPC). Calls skip the process hop and the runner
// calls the plugin's capability bridge directly, so they are several times faster and an idle
// plugin costs about one isolate instead of a process; but an allocation that makes V8 abort or
// hang (docs/security.md) then takes the host down with it. Only for plugins you trust not to be
// hostile: the default is an engine process.
import type { Capabilities } from "../../capabilities/index.ts";
import type { EngineExit, EngineTransport, TransportEvents } from "./engine-transport.ts";
import type { FromRunner, ToEngine } from "./protocol.ts";
import { createSandboxRunner, type DirectResult, type SandboxRunner } from "./runner.ts";

/** An engine made of runners in the host's process, with the direct-call fast path. */
export class InProcessEngine implements EngineTransport {
  readonly pid: number | undefined = undefined;
  readonly inHost = true;
  // The host's own thread runs the crossings: if V8 aborts, the host goes with it; nothing to blame.
  readonly runningSlot = 0;
  readonly #events: TransportEvents;
  readonly #runners = new Map<number, SandboxRunner>();
  readonly #local = new Map<number, () => Capabilities | null>();
  #gone = false;
  #direct = 0;

  constructor(events: TransportEvents) {
    this.#events = events;
  }

  /** The capability bridge the runner in `slot` calls directly (the plugin's broker, in this process). */
  setLocal(slot: number, caps: () => Capabilities | null): void {
    this.#local.set(slot, caps);
  }

  #runner(slot: number): SandboxRunner {
    let r = this.#runners.get(slot);
    if (r === undefined) {
      r = createSandboxRunner(
        // What the runner sends is made for the message (results are parsed from the isolate's
        // JSON): nothing in it is shared with the runner's state, so it is not copied again.
        (msg: FromRunner) => {
          queueMicrotask(() => {
            if (!this.#gone) this.#events.onMessage({ ...msg, slot });
          });
        },
        () => this.kill(),
        this.#local.get(slot) ?? (() => null),
      );
      this.#runners.set(slot, r);
    }
    return r;
  }

  /** Deliver a message to a runner, copied as IPC would copy it. */
  send(msg: ToEngine): boolean {
    if (this.#gone) return false;
    if (msg.t === "free") {
      this.#runners.get(msg.slot)?.dispose();
      this.#runners.delete(msg.slot);
      this.#local.delete(msg.slot);
      return true;
    }
    if (msg.t !== "load" && !this.#runners.has(msg.slot)) return true;
    const runner = this.#runner(msg.slot);
    // An invoke is all primitives (its input is already JSON text); anything else is copied.
    const copy = msg.t === "invoke" ? msg : (JSON.parse(JSON.stringify(msg)) as ToEngine);
    // A microtask, not a turn of the event loop: never in the caller's stack, but without the
    // cost of waiting for I/O polling (the crossing is the fast path, benchmarks/README.md).
    queueMicrotask(() => {
      if (!this.#gone && copy.t !== "free") runner.receive(copy);
    });
    return true;
  }

  /** Calls made through invokeDirect and still running. */
  get directInFlight(): number {
    return this.#direct;
  }

  /** An invoke without the message layer; null when the runner must (re)build its sandbox first. */
  invokeDirect(slot: number, name: string, inputJson: string | undefined, caller: string, timeoutMs?: number): Promise<DirectResult> | null {
    const runner = this.#runners.get(slot);
    if (this.#gone || runner === undefined) return null;
    const p = runner.invokeDirect(name, inputJson, caller, timeoutMs);
    if (p === null) return null;
    this.#direct++;
    const done = (): void => {
      this.#direct--;
    };
    p.then(done, done);
    return p;
  }

  /** End every runner at once (their isolates are disposed). */
  kill(): void {
    this.#end({ code: null, signal: "SIGKILL", oom: false, violation: null });
  }

  /** End after what was asked (the host sent "unload" first). */
  async close(): Promise<void> {
    this.#end({ code: 0, signal: null, oom: false, violation: null });
  }

  #end(exit: EngineExit): void {
    if (this.#gone) return;
    this.#gone = true;
    for (const r of this.#runners.values()) r.dispose();
    this.#runners.clear();
    setImmediate(() => this.#events.onExit(exit));
  }
}
