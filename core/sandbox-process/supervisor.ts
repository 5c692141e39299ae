// Host side of a sandbox process: spawns it with --no-node-snapshot, sends it calls, and keeps
// the host alive whatever the plugin does. A call that is not answered within its own limits plus
// a grace period, a V8 fatal-OOM report on the child's stderr, or the child exiting, all end the
// child (SIGKILL) and fail the calls in flight with a coded error; the next call starts a new one.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BadInputError, fromDescriptor, MemoryLimitError, PluginError, ResultInvalidError, TimeoutError, toWardenError, type ErrorDescriptor, type WardenError } from "../errors.ts";
import { escapeText } from "../escape-text.ts";
import { boundedPluginStack, boundedPluginText, MAX_ERROR_MESSAGE_CHARS, valueProblem } from "../../isolate/index.ts";
import type { ChannelBus, Subscription } from "../channels/bus.ts";
import type { AuditEvent } from "../../capabilities/index.ts";
import type { PluginLogLevel } from "../../isolate/index.ts";
import { InProcessChannel } from "./in-process.ts";
import type { HostRequest, LoadSpec, ToChild, ToHost } from "./protocol.ts";

/** Where a plugin's runner lives: its own supervised process (default) or the host's process. */
export type Isolation = "process" | "in-process";

/** What the supervisor needs of a child: a ChildProcess, or its in-process look-alike. */
type Channel = ChildProcess | InProcessChannel;

const CHILD_MAIN = fileURLToPath(new URL("./child-main.js", import.meta.url));

// What V8 prints when a heap is out of memory; after it the child aborts or hangs for good.
const OOM_MARKERS = ["<--- Last few GCs --->", "Fatal JavaScript", "JavaScript heap out of memory", "CALL_AND_RETRY_LAST", "is_heap_oom"];

/** Time a child gets beyond a call's own limits before it is presumed stuck. */
export const GRACE_MS = 2000;

// What a sandbox process says is checked as if the plugin had written it: the child runs the
// plugin's isolate, and a V8 bug there would put the plugin in charge of what it sends. Values are
// walked without recursion before host code touches them; error text is bounded and escaped.
// (Messages from the child's Sandbox are already bounded; the margin avoids cutting them twice.)
const CHILD_TEXT_CHARS = 2 * MAX_ERROR_MESSAGE_CHARS;

/** An error descriptor from a sandbox process, rebuilt with bounded, escaped text and plain details. */
function fromChild(d: ErrorDescriptor | undefined): WardenError {
  const o = (typeof d === "object" && d !== null ? d : {}) as Partial<ErrorDescriptor>;
  const details: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(typeof o.details === "object" && o.details !== null ? o.details : {}).slice(0, 32)) {
    if (key === "pluginStack" && typeof v === "string") details[key] = boundedPluginStack(v);
    else if (typeof v === "string") details[key] = boundedPluginText(v, CHILD_TEXT_CHARS);
    else if (typeof v === "number" || typeof v === "boolean") details[key] = v;
    else if (Array.isArray(v)) details[key] = v.slice(0, 100).map((x) => boundedPluginText(String(x), 1024));
  }
  return fromDescriptor({
    code: o.code,
    message: typeof o.message === "string" ? boundedPluginText(o.message, CHILD_TEXT_CHARS) : undefined,
    details,
    ...(typeof o.stack === "string" ? { stack: boundedPluginStack(o.stack) } : {}),
  });
}

/** Callbacks a supervisor reports through. */
export type SupervisorEvents = {
  /** Capability records of the plugin, in order, as they arrived together. */
  readonly onAudit: (events: readonly AuditEvent[]) => void;
  readonly onLog: (level: PluginLogLevel, text: string) => void;
  /** Lines of the plugin's console output dropped by its rate limit or full buffer. */
  readonly onLogDropped?: (count: number) => void;
  /** A limit condemned the plugin's isolate, or the whole process had to be ended. */
  readonly onLimit: (error: WardenError) => void;
  /** The sandbox process exited without being asked to (a crash, not a limit warden enforced). */
  readonly onCrash?: (error: WardenError) => void;
  /** CPU the plugin's isolate spent (charged to its cpuMsPerMinute window), ns, as reported. */
  readonly onCpu?: (ns: number) => void;
  /** The bus the plugin's channel grants reach. */
  readonly bus: ChannelBus;
  /** How long one channel handler may take, before the grace period. */
  readonly deliveryDeadlineMs: number;
  /** Where the runner lives (default "process"). */
  readonly isolation?: Isolation;
  /** Start with channel deliveries paused until activate() (a version staged for a reload). */
  readonly staged?: boolean;
  /** Routes a call this plugin makes to another plugin (the host stamps this plugin as caller). */
  readonly onPluginCall?: (target: string, entry: string, input: unknown, depth: number) => Promise<unknown>;
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Pending = { resolve: (v: unknown) => void; reject: (e: WardenError) => void; watchdog: NodeJS.Timeout | null; what: string; withCpu?: boolean };

/** One supervised sandbox process holding one plugin. */
export class SandboxProcess {
  readonly #events: SupervisorEvents;
  readonly #pluginId: string;
  #child: Channel | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #stderrTail = "";
  #oom = false;
  #ready: Promise<void> = Promise.resolve();
  #paused: boolean;
  #markReady: () => void = () => undefined;
  // Channel subscriptions the plugin holds on the host's bus, by its own subscription id.
  readonly #subscriptions = new Map<number, Subscription>();
  // Process groups of commands the plugin is running (exec), killed if the sandbox goes.
  readonly #processGroups = new Set<number>();

  constructor(pluginId: string, events: SupervisorEvents) {
    this.#pluginId = pluginId;
    this.#events = events;
    this.#paused = events.staged ?? false;
  }

  /** Let the plugin's channel subscriptions receive messages (the staged version goes live). */
  activate(): void {
    this.#paused = false;
    for (const sub of this.#subscriptions.values()) sub.resume();
  }

  /** Stop all of the plugin's channel subscriptions now (the version being replaced). */
  detachChannels(): void {
    this.#paused = true;
    this.#dropSubscriptions();
  }

  /** Requests (calls, hooks, deliveries) in flight. */
  get pending(): number {
    return this.#pending.size + (this.#child instanceof InProcessChannel ? this.#child.directInFlight : 0);
  }

  /** Whether a child is running. */
  get alive(): boolean {
    return this.#child !== null;
  }

  /** The child's pid, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #spawn(): Channel {
    const child: Channel =
      this.#events.isolation === "in-process"
        ? new InProcessChannel()
        : fork(CHILD_MAIN, [], {
            // WARDEN_SANDBOX_NODE_ARGS lets an operator profile sandboxes (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
            execArgv: ["--no-node-snapshot", ...(process.env["WARDEN_SANDBOX_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")],
            stdio: ["ignore", "ignore", "pipe", "ipc"],
            serialization: "json",
          });
    this.#oom = false;
    this.#stderrTail = "";
    this.#ready = new Promise<void>((r) => (this.#markReady = r));
    const stderr = child instanceof InProcessChannel ? null : child.stderr;
    stderr?.setEncoding("utf8");
    stderr?.on("data", (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-4096);
      if (!this.#oom && OOM_MARKERS.some((m) => this.#stderrTail.includes(m))) {
        this.#oom = true;
        this.#kill(this.#memoryError());
      }
    });
    child.on("message", (raw: unknown) => {
      // A message host code cannot handle ends the child, never the host (this is an event
      // listener: a throw here would be an uncaught exception in the host's process).
      try {
        this.#onMessage(raw as ToHost);
      } catch (e) {
        if (this.#child === child)
          this.#kill(
            new PluginError(
              `plugin ${this.#pluginId}: its sandbox process sent a message the host could not handle (${escapeText(e instanceof Error ? e.message : String(e)).slice(0, 200)}); it was ended and will be restarted on the next call`,
              { pluginId: this.#pluginId },
            ),
          );
      }
    });
    child.on("exit", (code: number | null, signal: string | null) => {
      if (this.#child !== child) return;
      this.#child = null;
      this.#releaseResources();
      const err = this.#oom
        ? this.#memoryError()
        : new PluginError(`plugin ${this.#pluginId}: its sandbox process exited unexpectedly (${signal ?? `code ${code}`}); it will be restarted on the next call`, { pluginId: this.#pluginId });
      if (this.#oom) this.#events.onLimit(err);
      else this.#events.onCrash?.(err);
      this.#failAll(err);
    });
    child.on("error", () => {
      // 'exit' follows and fails the calls in flight.
    });
    this.#child = child;
    return child;
  }

  #memoryError(): MemoryLimitError {
    return new MemoryLimitError(
      `plugin ${this.#pluginId} exhausted the V8 heap (a single huge allocation beyond its memory limit); its sandbox process was ended and will be restarted on the next call`,
      { pluginId: this.#pluginId },
    );
  }

  #onMessage(msg: ToHost): void {
    switch (msg.t) {
      case "result": {
        // The CPU a call spent reaches the plugin's budget before its caller sees the answer.
        if (msg.charged !== undefined && msg.charged > 0) this.#events.onCpu?.(msg.charged);
        const p = this.#pending.get(msg.callId);
        if (!p) return;
        this.#pending.delete(msg.callId);
        if (p.watchdog) clearTimeout(p.watchdog);
        if (!msg.ok) {
          p.reject(fromChild(msg.error));
          return;
        }
        const problem = valueProblem(msg.value);
        if (problem !== null) p.reject(new ResultInvalidError(`plugin ${this.#pluginId}: ${p.what} returned ${problem}`, { pluginId: this.#pluginId }));
        else p.resolve(p.withCpu ? { value: msg.value, cpuNs: typeof msg.cpuNs === "number" ? msg.cpuNs : 0 } : msg.value);
        return;
      }
      case "audit":
        this.#events.onAudit(msg.events);
        return;
      case "cpu":
        if (msg.ns > 0) this.#events.onCpu?.(msg.ns);
        return;
      case "log":
        for (const line of msg.lines) this.#events.onLog(line.level, String(line.text).slice(0, 16 * 1024));
        if (msg.dropped > 0) this.#events.onLogDropped?.(msg.dropped);
        return;
      case "limit":
        this.#events.onLimit(fromChild(msg.error));
        return;
      case "host-request":
        this.#onHostRequest(msg.reqId, msg.request);
        return;
      case "pgroup":
        if (msg.running) this.#processGroups.add(msg.pgid);
        else this.#processGroups.delete(msg.pgid);
        return;
    }
  }

  /** A channel request of the plugin; the sender is this process's plugin id, never the message's. */
  #onHostRequest(reqId: number, r: HostRequest): void {
    // A reply that cannot be sent (the value cannot be serialised) becomes an error reply; it
    // never throws into the promise chain that produced it.
    const reply = (ok: boolean, value?: unknown, error?: unknown): void => {
      try {
        this.#child?.send({ t: "host-result", reqId, ok, ...(ok ? { value } : { error: toWardenError(error).toDescriptor() }) } satisfies ToChild);
      } catch (e) {
        if (ok) reply(false, undefined, new PluginError(`the answer could not be passed to plugin ${this.#pluginId}: ${e instanceof Error ? e.message : String(e)}`, { pluginId: this.#pluginId }));
      }
    };
    const problem = r.op === "publish" ? valueProblem(r.data) : r.op === "plugin-call" ? valueProblem(r.input) : null;
    if (problem !== null) {
      reply(false, undefined, new BadInputError(`plugin ${this.#pluginId}: ${r.op === "publish" ? "a channel message" : "the input of a plugin call"} is ${problem}`, { pluginId: this.#pluginId }));
      return;
    }
    try {
      switch (r.op) {
        case "publish":
          reply(true, { delivered: this.#events.bus.publishAs(this.#pluginId, r.topic, r.data) });
          return;
        case "subscribe": {
          this.#subscriptions.get(r.subscriptionId)?.unsubscribe();
          const sub = this.#events.bus.subscribeAs(
            this.#pluginId,
            r.pattern,
            async (message) => {
              if (this.#child === null) return;
              // Handlers run only once the plugin's onLoad has succeeded (NEKO-25).
              await this.#ready;
              if (this.#child === null) return;
              await this.#request({ t: "deliver", subscriptionId: r.subscriptionId, message }, this.#events.deliveryDeadlineMs + GRACE_MS, `a channel handler for ${message.topic}`);
            },
            { paused: this.#paused },
          );
          this.#subscriptions.set(r.subscriptionId, sub);
          reply(true, null);
          return;
        }
        case "unsubscribe":
          this.#subscriptions.get(r.subscriptionId)?.unsubscribe();
          this.#subscriptions.delete(r.subscriptionId);
          reply(true, null);
          return;
        case "reset":
          this.#dropSubscriptions();
          reply(true, null);
          return;
        case "plugin-call": {
          const route = this.#events.onPluginCall;
          if (route === undefined) {
            reply(
              false,
              undefined,
              new PluginError(`Warden.plugins.call(): plugin ${this.#pluginId} runs without a host that routes plugin calls (load it with createHost)`, { pluginId: this.#pluginId }),
            );
            return;
          }
          route(r.target, r.entry, r.input, r.depth).then(
            (v) => reply(true, v ?? null),
            (e: unknown) => reply(false, undefined, e),
          );
          return;
        }
      }
    } catch (e) {
      reply(false, undefined, e);
    }
  }

  #dropSubscriptions(): void {
    for (const sub of this.#subscriptions.values()) sub.unsubscribe();
    this.#subscriptions.clear();
  }

  /** Drop the plugin's subscriptions and kill the commands it started: its process is gone. */
  #releaseResources(): void {
    this.#dropSubscriptions();
    for (const pgid of this.#processGroups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.#processGroups.clear();
  }

  /** Number of channel subscriptions the plugin holds. */
  get subscriptions(): number {
    return this.#subscriptions.size;
  }

  #failAll(err: WardenError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.watchdog) clearTimeout(p.watchdog);
      p.reject(err);
    }
  }

  #kill(err: WardenError): void {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    child.kill("SIGKILL");
    this.#releaseResources();
    this.#events.onLimit(err);
    this.#failAll(err);
  }

  /** Send one request; `deadlineMs` bounds how long the child may take before it is ended. */
  #request(msg: DistributiveOmit<ToChild, "callId">, deadlineMs: number, what: string, withCpu = false): Promise<unknown> {
    const child = this.#child ?? this.#spawn();
    const callId = this.#nextId++;
    return new Promise((resolve, reject) => {
      // In the host's process there is no process to end: the sandbox's own limits are all there is.
      const watchdog =
        child instanceof InProcessChannel
          ? null
          : setTimeout(() => {
              this.#kill(
                new TimeoutError(`plugin ${this.#pluginId}: its sandbox process did not answer ${what} within ${deadlineMs} ms and was ended; it will be restarted on the next call`, {
                  pluginId: this.#pluginId,
                }),
              );
            }, deadlineMs);
      this.#pending.set(callId, { resolve, reject, watchdog, what, withCpu });
      child.send({ ...msg, callId } as ToChild);
    });
  }

  /** Load the plugin (spawning the process if needed); resolves to its entries and hooks. */
  async load(spec: LoadSpec): Promise<{ entries: string[]; hooks: string[]; unresolvedExec: string[] }> {
    const r = (await this.#request({ t: "load", spec }, spec.limits.timeoutMs + spec.startupTimeoutMs + GRACE_MS, "the load")) as { entries: string[]; hooks: string[]; unresolvedExec: string[] };
    this.#markReady();
    return r;
  }

  /** Invoke an entry; the deadline covers a rebuild of the isolate plus the call itself. */
  invoke(name: string, inputJson: string | undefined, deadlineMs: number, o: { caller: string; depth: number; timeoutMs?: number }): Promise<{ value: unknown; cpuNs: number }> {
    // In-process and ready: straight to the runner, without the message layer (the fast path).
    const child = this.#child;
    if (child instanceof InProcessChannel) {
      const direct = child.invokeDirect(name, inputJson, o.caller, o.depth, o.timeoutMs);
      if (direct !== null) {
        return direct.then((r) => {
          if (r.charged > 0) this.#events.onCpu?.(r.charged);
          return r;
        });
      }
    }
    return this.#request(
      { t: "invoke", name, ...(inputJson !== undefined ? { inputJson } : {}), caller: o.caller, depth: o.depth, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) },
      deadlineMs + GRACE_MS,
      `${name}()`,
      true,
    ) as Promise<{ value: unknown; cpuNs: number }>;
  }

  /** Tell the plugin's sandbox about CPU another of its sandboxes spent (a version beside it). */
  shareCpu(ns: number): void {
    this.#child?.send({ t: "cpu", ns } satisfies ToChild);
  }

  /** Call a hook (health, onConfigChange...) with its arguments, bounded by `timeoutMs`. */
  hook(name: string, args: readonly unknown[], timeoutMs: number): Promise<unknown> {
    return this.#request({ t: "hook", name, args, timeoutMs }, timeoutMs * 2 + GRACE_MS, `${name}()`);
  }

  /** Swap the plugin's config, then run its onConfigChange(next, previous). */
  config(config: unknown, timeoutMs: number): Promise<unknown> {
    return this.#request({ t: "config", config, timeoutMs }, timeoutMs * 2 + GRACE_MS, "onConfigChange()");
  }

  /** Run onUnload (bounded) and end the process. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.#child) return;
    await this.#request({ t: "unload" }, timeoutMs, "onUnload").catch(() => undefined);
    const child = this.#child;
    this.#child = null;
    if (child) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      await exited;
      clearTimeout(timer);
    }
    this.#releaseResources();
    this.#failAll(new PluginError(`plugin ${this.#pluginId} was unloaded`, { pluginId: this.#pluginId }));
  }
}
