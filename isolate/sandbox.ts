// One plugin's V8 isolate in service: its calls in flight, every crossing into it, what condemns
// it, and its disposal; the public class the runtime uses (isolate/index.ts). The isolate is built
// by build-isolate.ts.
//
// Every entry into the isolate (an entry call, a timer, the answer to a host operation) goes
// through `enter`, which runs synchronously on this thread (crossing.ts) with a timeout equal to
// the tightest remaining CPU or wall budget of the calls in flight (crossing-budget.ts), then
// charges the isolate's measured CPU time, and the time the thread spent serving the isolate's
// synchronous requests (host-time.ts), to those calls and the plugin's window. Plugin promises settle while the host
// drives the isolate (what they settle with is checked by call-results.ts); no isolated-vm handle
// ever reaches plugin code: the only host function the isolate sees is `dispatch`, captured inside
// the prelude's closure and served by host-calls.ts (capability operations: host-operations.ts;
// timers: plugin-timers.ts; URL and random: web-helpers.ts). A bug in warden met while serving it
// is reported as warden's (host-bugs.ts), not charged to the plugin.
import ivm from "./ivm.ts";
import { BadInputError, CpuLimitError, EntryNotFoundError, PluginError, type WardenError, quote } from "../errors/index.ts";
import { buildIsolate, type IsolateSpec, type PreludeRefs } from "./build-isolate.ts";
import { callOutcome, splitSettle } from "./call-results.ts";
import { classifyIvmError } from "./classify-error.ts";
import { cross } from "./crossing.ts";
import { type BudgetedCall, crossingBudget, overspent, timedOutBy } from "./crossing-budget.ts";
import { hostBugAnswer, hostBugError, hostBugLogText } from "./host-bugs.ts";
import { type HostCallHandler, hostCallTable, type PluginLogLevel, serveHostCall } from "./host-calls.ts";
import { type HostOperation, HostOperations, type OperationResult } from "./host-operations.ts";
import { HostTime } from "./host-time.ts";
import { cpuError, memoryError, timeoutError, windowError } from "./limit-errors.ts";
import { MAX_INPUT_CHARS, type SandboxLimits } from "./limits.ts";
import { PluginTimers } from "./plugin-timers.ts";

/** How to build a sandbox: what its isolate is built from, and how it reaches its host. */
export type SandboxOptions = IsolateSpec & {
  /** Performs a capability call; the plugin's identity is bound by whoever built this function. */
  readonly operation: HostOperation;
  /** Performs a capability call that needs no I/O at once (`{ value }` or throws), or returns null. */
  readonly operationSync?: (op: string, args: unknown) => { value: unknown } | null;
  /** Receives the plugin's console output (not yet escaped). */
  readonly log: (level: PluginLogLevel, text: string) => void;
  /**
   * Told when this process's thread enters the plugin's isolate (true) and leaves it (false):
   * every crossing is synchronous, so an engine holding many plugins can tell its host which
   * plugin was running if V8 takes the whole process down mid-crossing.
   */
  readonly onCrossing?: (inside: boolean) => void;
  /**
   * Told once when a limit condemns this sandbox, whether or not a call was in flight (a timer's
   * work can be condemned too): whoever runs the plugin must learn that it is gone, or a plugin
   * that only answers channel messages would be silently out of service.
   */
  readonly onCondemned?: (error: WardenError) => void;
};

type PendingCall = BudgetedCall & {
  readonly name: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: WardenError) => void;
  wallTimer: NodeJS.Timeout | null;
  readonly timeoutMs: number;
  cpuNs: bigint;
  /** Filled with the CPU the isolate spent while the call was in flight, when it settles. */
  readonly stats: { cpuNs: number } | undefined;
};

// Sandboxes made and not yet disposed in this process: a leak check for tests and operators.
let live = 0;

/** How many sandboxes (plugin isolates) this process holds now: made and not yet disposed. */
export function liveSandboxes(): number {
  return live;
}

/** One plugin's isolate. Once a limit condemns it, it is disposed and never used again. */
export class Sandbox {
  readonly entries: readonly string[];
  readonly hooks: readonly string[];
  readonly #o: SandboxOptions;
  readonly #isolate: ivm.Isolate;
  readonly #context: ivm.Context;
  readonly #refs: PreludeRefs;
  readonly #calls = new Map<number, PendingCall>();
  readonly #timers: PluginTimers;
  readonly #operations: HostOperations;
  readonly #hostCalls: ReadonlyMap<string, HostCallHandler>;
  readonly #hostTime = new HostTime();
  #nextCallId = 1;
  #condemnedBy: WardenError | null = null;
  #disposed = false;

  private constructor(o: SandboxOptions, isolate: ivm.Isolate, context: ivm.Context, refs: PreludeRefs, exports: { entries: string[]; hooks: string[] }) {
    live++;
    this.#o = o;
    this.#isolate = isolate;
    this.#context = context;
    this.#refs = refs;
    this.entries = Object.freeze(exports.entries);
    this.hooks = Object.freeze(exports.hooks);
    this.#timers = new PluginTimers((id) => this.#enter(this.#refs.fireTimer, [id]));
    this.#operations = new HostOperations({
      operation: o.operation,
      operationSync: o.operationSync,
      timeLeftMs: () => this.#timeLeftMs(),
      answer: (id, result) => this.#answer(id, result),
      onBug: (where, e) => void this.#hostBug(where, e, "op"),
    });
    this.#hostCalls = hostCallTable({ settle: (text) => this.#settle(text), operations: this.#operations, timers: this.#timers, log: o.log });
  }

  /** Create the isolate, run the prelude, load and evaluate the plugin's modules. */
  static create(o: SandboxOptions): Sandbox {
    o.onCrossing?.(true);
    try {
      return Sandbox.#create(o);
    } finally {
      o.onCrossing?.(false);
    }
  }

  static #create(o: SandboxOptions): Sandbox {
    let sandbox: Sandbox | undefined;
    // Before the constructor finishes, `sandbox` is undefined: the prelude makes no calls then.
    const dispatch = (kind: string, payload: string): string | undefined => {
      const self = sandbox;
      if (self === undefined) return undefined;
      // The isolate waits on this thread while the request is served: the time is the plugin's.
      return self.#hostTime.measure(() => serveHostCall(self.#hostCalls, kind, payload, (k, e) => self.#hostBug(`serving the plugin's "${k}" request`, e, k)));
    };
    return buildIsolate(o, dispatch, (built) => (sandbox = new Sandbox(o, built.isolate, built.context, built.refs, built.exports)));
  }

  /** Whether this sandbox may still be used. */
  get isUsable(): boolean {
    return !this.#disposed && this.#condemnedBy === null;
  }

  /** The limit error that condemned this sandbox, if one did. */
  get condemnedBy(): WardenError | null {
    return this.#condemnedBy;
  }

  /** Calls still in flight. */
  get activeCalls(): number {
    return this.#calls.size;
  }

  /**
   * Call an exported function (an entry or a hook) with one JSON-compatible input. `context`
   * (who is calling) is passed as the entry's second argument, frozen.
   */
  call(name: string, input: unknown, limits: Partial<Pick<SandboxLimits, "cpuMs" | "timeoutMs">> = {}, context?: { readonly caller: string }): Promise<unknown> {
    return this.callJson(name, input === undefined ? undefined : JSON.stringify(input), limits, context);
  }

  /** `call` with the input already as JSON text (the host checked and serialised it once). */
  callJson(
    name: string,
    inputJson: string | undefined,
    limits: Partial<Pick<SandboxLimits, "cpuMs" | "timeoutMs">> = {},
    context?: { readonly caller: string },
    stats?: { cpuNs: number },
  ): Promise<unknown> {
    if (!this.isUsable) {
      return this.#refused();
    }
    if (!this.entries.includes(name) && !this.hooks.includes(name)) {
      return Promise.reject(
        new EntryNotFoundError(`plugin ${this.#o.pluginId} has no entry ${quote(name)}; its entries are: ${this.entries.length > 0 ? this.entries.join(", ") : "(none)"}`, {
          pluginId: this.#o.pluginId,
          entry: name,
        }),
      );
    }
    if (inputJson !== undefined && inputJson.length > MAX_INPUT_CHARS) {
      return Promise.reject(
        new BadInputError(`plugin ${this.#o.pluginId}: the input to ${name}() is ${inputJson.length} characters of JSON, more than ${MAX_INPUT_CHARS}`, { pluginId: this.#o.pluginId, entry: name }),
      );
    }
    return this.#start(name, limits, (id) => [this.#refs.callEntry, [id, name, inputJson, this.#o.limits.resultChars, context?.caller]], stats);
  }

  /** Call a hook with several arguments (onConfigChange(next, previous)); a missing hook gives null. */
  hook(name: string, args: readonly unknown[], limits: Partial<Pick<SandboxLimits, "cpuMs" | "timeoutMs">> = {}): Promise<unknown> {
    if (!this.isUsable) {
      return this.#refused();
    }
    const json = JSON.stringify(args);
    return this.#start(name, limits, (id) => [this.#refs.callHook, [id, name, json]]);
  }

  /** Why a sandbox that may no longer be used refuses a call: what condemned it, or its disposal. */
  #refused(): Promise<never> {
    return Promise.reject(this.#condemnedBy ?? new PluginError(`plugin ${this.#o.pluginId}: its sandbox is disposed`, { pluginId: this.#o.pluginId }));
  }

  /** Replace what the plugin sees as Warden.config. */
  setConfig(config: unknown): void {
    if (!this.isUsable) return;
    this.#o.onCrossing?.(true);
    try {
      this.#refs.setConfig.applySync(undefined, [JSON.stringify(config ?? null)], { timeout: 1000 });
    } finally {
      this.#o.onCrossing?.(false);
    }
  }

  /** Run the plugin's handler of channel subscription `subscriptionId` with one message, as a call. */
  deliver(subscriptionId: number, message: unknown, limits: Partial<Pick<SandboxLimits, "cpuMs" | "timeoutMs">> = {}): Promise<unknown> {
    if (!this.isUsable) {
      return this.#refused();
    }
    const json = JSON.stringify(message);
    return this.#start("channel handler", limits, (id) => [this.#refs.callHandler, [id, subscriptionId, json]]);
  }

  #start(name: string, limits: Partial<Pick<SandboxLimits, "cpuMs" | "timeoutMs">>, entry: (id: number) => [ivm.Reference, unknown[]], stats?: { cpuNs: number }): Promise<unknown> {
    const window = this.#o.cpuWindow;
    if (window !== undefined && window.remainingMs() <= 0) return Promise.reject(this.budgetError(name));
    const timeoutMs = limits.timeoutMs ?? this.#o.limits.timeoutMs;
    const cpuMs = limits.cpuMs ?? this.#o.limits.cpuMs;
    const id = this.#nextCallId++;
    return new Promise<unknown>((resolve, reject) => {
      const call: PendingCall = { name, resolve, reject, deadline: performance.now() + timeoutMs, wallTimer: null, timeoutMs, cpuLimitNs: BigInt(cpuMs) * 1_000_000n, cpuNs: 0n, stats };
      this.#calls.set(id, call);
      const [ref, args] = entry(id);
      this.#enter(ref, args);
      // Most calls settle within their first crossing; only one still pending needs a wall-clock
      // timer (the crossing itself is bounded by its own timeout).
      if (this.#calls.get(id) === call) {
        call.wallTimer = setTimeout(() => this.#condemn(timeoutError(this.#o.pluginId, name, timeoutMs)), Math.max(1, call.deadline - performance.now()));
      }
    });
  }

  /** The plugin's isolate heap statistics, or null once disposed. */
  heapStatistics(): ivm.HeapStatistics | null {
    return this.#disposed ? null : this.#isolate.getHeapStatisticsSync();
  }

  /** Cancel timers, fail calls in flight and release the isolate. Idempotent. */
  dispose(reason?: WardenError): void {
    if (this.#disposed) return;
    this.#disposed = true;
    live--;
    // Host operations still running for this plugin (a fetch, an exec) stop now.
    this.#operations.abort();
    this.#timers.stop();
    const err = reason ?? new PluginError(`plugin ${this.#o.pluginId} was unloaded while the call was in flight`, { pluginId: this.#o.pluginId });
    for (const c of this.#calls.values()) {
      if (c.wallTimer) clearTimeout(c.wallTimer);
      c.reject(err);
    }
    this.#calls.clear();
    try {
      this.#context.release();
    } catch {
      // already gone with the isolate
    }
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  #condemn(error: WardenError): void {
    if (this.#disposed) return;
    this.#condemnedBy = error;
    this.dispose(error);
    this.#o.onCondemned?.(error);
  }

  /** Run one synchronous crossing into the isolate under the tightest budget of the calls in flight. */
  #enter(ref: ivm.Reference, args: unknown[]): void {
    if (!this.isUsable) return;
    const budget = crossingBudget(this.#calls.values(), performance.now(), this.#o.limits.cpuMs, this.#o.cpuWindow?.remainingMs());
    if (budget.refuse === "cpu") return this.#condemn(this.#cpuError(budget.tightest));
    if (budget.refuse === "window") return this.#condemn(this.budgetError(budget.tightest?.name ?? "background work"));
    const crossed = this.#hostTime.outside(() => cross(this.#isolate, ref, args, budget.timeoutMs, this.#o.onCrossing));
    const { returned, failure } = crossed;
    // isolated-vm's cpuTime stops while the isolate calls out to the host; what the host spent
    // serving those requests is added, so a loop of getRandomValues is charged like a plain loop.
    const usedNs = crossed.usedNs + this.#hostTime.take();
    for (const c of this.#calls.values()) c.cpuNs += usedNs;
    this.#o.cpuWindow?.charge(usedNs);
    if (failure !== null) {
      const kind = classifyIvmError(failure);
      if (kind === "timeout") {
        const by = timedOutBy(budget);
        if (by === "window") return this.#condemn(this.budgetError(budget.tightest?.name ?? "background work"));
        if (by === "wall" && budget.soonest !== undefined) return this.#condemn(timeoutError(this.#o.pluginId, budget.soonest.name, budget.soonest.timeoutMs));
        return this.#condemn(this.#cpuError(budget.tightest));
      }
      if (kind === "memory" || kind === "disposed" || this.#isolate.isDisposed) return this.#condemn(memoryError(this.#o.pluginId, this.#o.limits.memoryMb));
      // The prelude catches everything the plugin throws, so this is the prelude itself failing
      // (for example a stack overflow inside it): the isolate's state is suspect.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- isolated-vm throws Errors; anything else is shown as String gives it
      return this.#condemn(new PluginError(`plugin ${this.#o.pluginId}: ${failure instanceof Error ? failure.message : String(failure)}`, { pluginId: this.#o.pluginId }));
    }
    // A call that settled during the crossing returned its result instead of a nested dispatch.
    if (typeof returned === "string") {
      try {
        this.#settle(returned);
      } catch (e) {
        this.#hostBug("settling a call", e, "settle");
      }
    }
    const spent = overspent(this.#calls.values());
    if (spent !== undefined) return this.#condemn(this.#cpuError(spent));
  }

  /** The error for a plugin that spent its CPU budget of the window. */
  budgetError(name: string): CpuLimitError {
    return windowError(this.#o.pluginId, name, this.#o.cpuWindow);
  }

  #cpuError(c: PendingCall | undefined): CpuLimitError {
    return cpuError(this.#o.pluginId, c, this.#o.limits.cpuMs);
  }

  #settle(text: string): void {
    const parts = splitSettle(text);
    if (parts === null) return;
    const c = this.#calls.get(parts.id);
    if (c === undefined) return;
    const outcome = callOutcome(parts.ok, parts.json, { pluginId: this.#o.pluginId, entry: c.name, resultChars: this.#o.limits.resultChars });
    if (outcome.error === null) this.#finish(parts.id, c, null, outcome.value);
    else this.#finish(parts.id, c, outcome.error);
  }

  /**
   * A bug in warden's own code met while serving this plugin (host-bugs.ts): its stack goes to the
   * log (the plugin's console path to the host; stderr if that is what failed), and every call in
   * flight fails with an error naming warden. Not a limit: the isolate stays in service. Returns
   * what the isolate is told for its request of `kind`.
   */
  #hostBug(where: string, e: unknown, kind: string): string {
    const text = hostBugLogText(this.#o.pluginId, where, e);
    try {
      this.#o.log("error", text);
    } catch {
      console.error(text);
    }
    for (const [id, c] of [...this.#calls]) {
      this.#calls.delete(id);
      if (c.wallTimer) clearTimeout(c.wallTimer);
      c.reject(hostBugError(this.#o.pluginId, c.name, e));
      // Read by the rejection's handlers, which run after this returns.
      if (c.stats) c.stats.cpuNs = Number(c.cpuNs);
    }
    return hostBugAnswer(kind);
  }

  #finish(id: number, c: PendingCall, error: WardenError | null, value?: unknown): void {
    this.#calls.delete(id);
    if (c.wallTimer) clearTimeout(c.wallTimer);
    // Settled first, so that nothing after it can leave the call hanging; the promise's handlers
    // run after this returns, when stats is filled.
    if (error) c.reject(error);
    else c.resolve(value);
    if (c.stats) c.stats.cpuNs = Number(c.cpuNs);
  }

  /** Wall-clock time left to the tightest call in flight (background work gets the default timeout), ms. */
  #timeLeftMs(): number {
    const now = performance.now();
    let left = this.#o.limits.timeoutMs;
    for (const c of this.#calls.values()) left = Math.min(left, c.deadline - now);
    return left;
  }

  #answer(id: number, result: OperationResult): void {
    if (!this.isUsable) return;
    this.#enter(this.#refs.resolveOp, [id, JSON.stringify(result)]);
  }
}
