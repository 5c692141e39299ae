// The host's side of one plugin in an engine: it places the plugin (engine-pool.ts), sends it
// calls with deadlines, performs its capability calls (the broker), keeps its channel
// subscriptions on the host's bus, and keeps the host alive whatever the plugin does. A call that
// is not answered within its own limits plus a grace period ends the engine, blaming this plugin;
// an engine that dies fails the calls in flight with a coded error: the plugin to blame gets the
// limit or crash it caused (and runs alone from then on), the others ENGINE_RESTARTED. A memory or
// CPU limit contained in its isolate also moves the plugin out of a shared engine. Whenever the
// plugin's isolate or engine is gone (a limit, a crash, a co-tenant's crash), its channel
// subscriptions stay on the bus, where messages queue (bounded), and its deliveries wait until the
// plugin is loaded again (core/plugin.ts restarts it at once), then go on in order.
import { fromDescriptor, PluginError, ResultInvalidError, TimeoutError, toWardenError, type ErrorDescriptor, type WardenError } from "../../errors/index.ts";
import { boundedPluginStack, boundedPluginText, MAX_ERROR_MESSAGE_CHARS, valueProblem, type PluginLogLevel } from "../../isolate/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import type { ChannelBus, Subscription } from "../channels/bus.ts";
import type { AuditEvent, Capabilities, ChannelMessage, ConsentGate } from "../../capabilities/index.ts";
import { createBroker, performForwarded } from "./broker.ts";
import { PublishRate } from "../channels/publish-rate.ts";
import { Engine, type EngineLoss, type EngineTenant } from "./engine.ts";
import { processEnginePool, type EnginePool } from "./engine-pool.ts";
import { InProcessEngine } from "./in-process.ts";
import { ownEngineReason } from "./placement.ts";
import type { EngineLoad, FromRunner, HostRequest, LoadSpec, ToRunner } from "./protocol.ts";

/**
 * Where a plugin runs: "engine" (default) an engine process shared with other plugins under the
 * placement policy; "dedicated" an engine process of its own ("process" is the older name);
 * "in-process" the host's own process.
 */
export type Isolation = "engine" | "dedicated" | "process" | "in-process";

/**
 * Why a limit that condemned a plugin's isolate means it must leave its shared engine, or null. An
 * engine has one thread for all its tenants: a MEMORY_LIMIT (V8 collecting garbage near the heap
 * limit: ~300 ms for 16 MiB, measured in benchmarks/README.md) or a CPU_LIMIT (up to the call's
 * cpuMs) is time every co-tenant waited. It may happen once; the plugin then runs alone, as one
 * that brought an engine down does, so it cannot hold its neighbours up again. A TIMEOUT is not
 * counted: a call that waited on I/O held nothing.
 */
export function sharedThreadReason(error: WardenError, engine: { readonly dedicated: boolean } | null, alone: string | null): string | null {
  if (engine === null || engine.dedicated || alone !== null) return null;
  if (error.code !== "MEMORY_LIMIT" && error.code !== "CPU_LIMIT") return null;
  return `it hit ${error.code} in an engine it shared, holding up its co-tenants`;
}

/** Time an engine gets beyond a call's own limits before it is presumed stuck. */
export const GRACE_MS = 2000;

// What an engine says is checked as if the plugin had written it: the engine runs the plugin's
// isolate, and a V8 bug there would put the plugin in charge of what it sends. Values are walked
// without recursion before host code touches them; error text is bounded and escaped.
// (Messages from the engine's Sandbox are already bounded; the margin avoids cutting them twice.)
const CHILD_TEXT_CHARS = 2 * MAX_ERROR_MESSAGE_CHARS;

/** An error descriptor from an engine, rebuilt with bounded, escaped text and plain details. */
function fromEngine(d: ErrorDescriptor | undefined): WardenError {
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

/** Callbacks a slot reports through. */
export type SupervisorEvents = {
  /** Capability records of the plugin, in order (written by the host's broker before each effect). */
  readonly onAudit: (events: readonly AuditEvent[]) => void;
  readonly onLog: (level: PluginLogLevel, text: string) => void;
  /** Lines of the plugin's console output dropped by its rate limit or full buffer. */
  readonly onLogDropped?: (count: number) => void;
  /** A limit condemned the plugin's isolate, or its engine had to be ended because of it. */
  readonly onLimit: (error: WardenError) => void;
  /** The plugin's engine exited because of it, without a limit warden enforced (a crash). */
  readonly onCrash?: (error: WardenError) => void;
  /**
   * The plugin's engine was ended by another plugin in it (named in `culprits`): its calls in
   * flight failed with ENGINE_RESTARTED, and it must be loaded again in a fresh engine now.
   */
  readonly onEngineRestart?: (error: WardenError, culprits: readonly string[]) => void;
  /** The plugin brought a shared engine down and runs in an engine of its own from now on. */
  readonly onMoved?: (reason: string) => void;
  /** A channel message reached the plugin's handler, which failed (a limit, a throw): it is not delivered again. */
  readonly onDeliveryFailed?: (topic: string, error: WardenError) => void;
  /** A channel handler of the plugin finished. */
  readonly onDelivered?: () => void;
  /** Messages for the plugin that its queue for `topic` (a pattern, for subscriptions it did not make again) could not keep. */
  readonly onDropped?: (topic: string, count: number) => void;
  /** CPU the plugin's isolate spent (charged to its cpuMsPerMinute window), ns, as reported. */
  readonly onCpu?: (ns: number) => void;
  /** The bus the plugin's channel grants reach. */
  readonly bus: ChannelBus;
  /** How long one channel handler may take, before the grace period. */
  readonly deliveryDeadlineMs: number;
  /** Where the runner lives (default "engine"). */
  readonly isolation?: Isolation;
  /** The engines to place the plugin in (default: the process's pool). */
  readonly pool?: EnginePool;
  /** Start with channel deliveries paused until activate() (a version staged for a reload). */
  readonly staged?: boolean;
  /**
   * Routes a call this plugin makes to another plugin (the host stamps this plugin as caller).
   * `chain` is the chain of plugin calls that led to this plugin, ending with its own id.
   */
  readonly onPluginCall?: (target: string, entry: string, input: unknown, chain: readonly string[]) => Promise<unknown>;
  /** The operator's approval of the plugin: every broker this slot builds (one per load, restarts too) checks it. */
  readonly consent?: ConsentGate;
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Pending = { resolve: (v: unknown) => void; reject: (e: WardenError) => void; watchdog: NodeJS.Timeout | null; what: string; withCpu?: boolean };

/** One plugin's place in an engine, seen from the host. */
export class SandboxProcess implements EngineTenant {
  readonly #events: SupervisorEvents;
  readonly pluginId: string;
  #engine: Engine | null = null;
  #slot = 0;
  // Whether the plugin's runner in the current engine has loaded it (calls may be sent).
  #loaded = false;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  // Deliveries wait at this gate while the plugin is not loaded; load opens it, close too.
  #ready: Promise<void> = Promise.resolve();
  #gateOpen = true;
  #paused: boolean;
  #markReady: () => void = () => undefined;
  // Why the plugin must not share an engine (its grants, or an engine it brought down), or null.
  #alone: string | null = null;
  // Set when a limit that held its shared engine's thread condemned its isolate: the rebuild
  // happens in an engine of its own (see #leaveSharedEngine).
  #leaving: string | null = null;
  #caps: Capabilities | null = null;
  #root = "";
  #bwrap: string | null = null;
  #capsFor: LoadSpec | null = null;
  // Capability calls the broker is performing for the plugin, by the runner's request id.
  readonly #operations = new Map<number, AbortController>();
  #publishRate: PublishRate;
  // Channel subscriptions the plugin holds on the host's bus, by its own subscription id.
  readonly #subscriptions = new Map<number, Subscription>();
  // While the plugin is loaded again (its isolate hit a limit, its engine died): its subscriptions,
  // kept on the bus (messages queue, bounded, oldest dropped and counted) until its onLoad makes
  // the same ones again, which then receive what queued meanwhile, in order.
  #restoring: Map<number, Subscription> | null = null;
  // Subscriptions of a version being replaced that still deliver what they held at the switch.
  readonly #draining = new Set<Subscription>();
  // The call chain of each entry call in flight, whichever path it took (see #longestChain).
  readonly #chains = new Map<object, readonly string[]>();
  // Process groups of commands the plugin is running (exec), killed when the plugin goes.
  readonly #processGroups = new Set<number>();

  constructor(pluginId: string, events: SupervisorEvents) {
    this.pluginId = pluginId;
    this.#publishRate = new PublishRate(pluginId);
    this.#events = events;
    this.#paused = events.staged ?? false;
  }

  /** Let the plugin's channel subscriptions receive messages (the staged version goes live). */
  activate(): void {
    this.#paused = false;
    for (const sub of this.#subscriptions.values()) sub.resume();
  }

  /** The plugin's channel subscriptions receive nothing more; what they hold is still delivered (the version being replaced). */
  detachChannels(): void {
    this.#paused = true;
    // Those kept while the plugin is being rebuilt too: what queued for it is delivered once it is back.
    for (const sub of [...this.#subscriptions.values(), ...(this.#restoring?.values() ?? [])]) {
      sub.drain();
      this.#draining.add(sub);
    }
    this.#subscriptions.clear();
    this.#restoring = null;
  }

  /** Requests (calls, hooks, deliveries) in flight. */
  get pending(): number {
    let draining = 0;
    for (const sub of this.#draining) draining += sub.pending;
    return this.#pending.size + (this.#engine?.transport.directInFlight ?? 0) + draining;
  }

  /** Whether the engine has a request of this plugin it has not answered. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Whether the plugin is loaded in a running engine. */
  get alive(): boolean {
    return this.#engine !== null && this.#engine.alive && this.#loaded;
  }

  /** The engine process's pid, while the plugin has one. */
  get pid(): number | undefined {
    return this.#engine?.transport.pid;
  }

  /** The engine the plugin runs in (id, tenants), for operators. */
  get engine(): { id: number; tenants: number; dedicated: boolean } | null {
    const e = this.#engine;
    return e === null || !e.alive ? null : { id: e.id, tenants: e.tenants, dedicated: e.dedicated };
  }

  #place(): Engine {
    const isolation = this.#events.isolation ?? "engine";
    let engine: Engine;
    if (isolation === "in-process") {
      engine = new Engine({ dedicated: true, start: (events) => new InProcessEngine(events), onGone: () => undefined });
    } else {
      const pool = this.#events.pool ?? processEnginePool();
      engine = pool.place({ dedicated: isolation === "dedicated" || isolation === "process" || this.#alone !== null, root: this.#root });
    }
    this.#engine = engine;
    this.#slot = engine.attach(this);
    this.#loaded = false;
    engine.transport.setLocal?.(this.#slot, () => this.#caps);
    this.#closeGate();
    return engine;
  }

  /** Hold deliveries until the plugin is loaded (idempotent). */
  #closeGate(): void {
    if (!this.#gateOpen) return;
    this.#gateOpen = false;
    this.#ready = new Promise<void>((r) => (this.#markReady = r));
  }

  #openGate(): void {
    this.#gateOpen = true;
    this.#markReady();
  }

  /**
   * The plugin's isolate or engine is gone, the plugin is not: it is not loaded until it is
   * rebuilt, its subscriptions are kept for the rebuilt plugin to make again, and its deliveries
   * wait (the bus queues what arrives behind them).
   */
  #down(): void {
    this.#loaded = false;
    this.#keepSubscriptions();
    this.#closeGate();
  }

  /** Keep the plugin's subscriptions on the bus for its next onLoad to make again. */
  #keepSubscriptions(): void {
    if (this.#subscriptions.size === 0 && this.#restoring !== null) return;
    this.#restoring = new Map([...(this.#restoring ?? new Map<number, Subscription>()), ...this.#subscriptions]);
    this.#subscriptions.clear();
  }

  /** Whether `sub` (the plugin's subscription `id`) is still the plugin's: live, kept for a rebuild, or draining. */
  #holds(sub: Subscription, id: number): boolean {
    return this.#subscriptions.get(id) === sub || this.#restoring?.get(id) === sub || this.#draining.has(sub);
  }

  /** A message from the plugin's runner (untrusted: it comes from the engine). */
  onMessage(msg: FromRunner): void {
    switch (msg.t) {
      case "result": {
        // The CPU a call spent reaches the plugin's budget before its caller sees the answer.
        if (typeof msg.charged === "number" && msg.charged > 0) this.#events.onCpu?.(msg.charged);
        const p = this.#pending.get(msg.callId);
        if (!p) return;
        this.#pending.delete(msg.callId);
        if (p.watchdog) clearTimeout(p.watchdog);
        if (!msg.ok) {
          p.reject(fromEngine(msg.error));
          return;
        }
        const problem = valueProblem(msg.value);
        if (problem !== null) p.reject(new ResultInvalidError(`plugin ${this.pluginId}: ${p.what} returned ${problem}`, { pluginId: this.pluginId }));
        else p.resolve(p.withCpu ? { value: msg.value, cpuNs: typeof msg.cpuNs === "number" ? msg.cpuNs : 0 } : msg.value);
        return;
      }
      case "cpu":
        if (typeof msg.ns === "number" && msg.ns > 0) this.#events.onCpu?.(msg.ns);
        return;
      case "log":
        for (const line of Array.isArray(msg.lines) ? (msg.lines as readonly unknown[]).slice(0, DEFAULTS.log.maxLines) : []) {
          const l = (typeof line === "object" && line !== null ? line : {}) as { level?: unknown; text?: unknown };
          const level = (["debug", "info", "warn", "error"] as const).find((x) => x === l.level) ?? "info";
          this.#events.onLog(level, (typeof l.text === "string" ? l.text : "").slice(0, DEFAULTS.log.maxLineChars));
        }
        if (typeof msg.dropped === "number" && msg.dropped > 0) this.#events.onLogDropped?.(msg.dropped);
        return;
      case "limit": {
        // The runner's isolate was condemned (it says so before the failed calls' answers): the
        // plugin is down until it is rebuilt, whether or not a call was in flight.
        this.#down();
        const error = fromEngine(msg.error);
        this.#leaving ??= sharedThreadReason(error, this.#engine, this.#alone);
        this.#events.onLimit(error);
        return;
      }
      case "host-request":
        this.#onHostRequest(msg.reqId, msg.request);
        return;
      case "cancel":
        this.#operations.get(msg.reqId)?.abort();
        this.#operations.delete(msg.reqId);
        return;
    }
  }

  #reply(reqId: number, ok: boolean, value?: unknown, error?: unknown): void {
    // A reply that cannot be sent (the value cannot be serialised) becomes an error reply; it
    // never throws into the promise chain that produced it.
    try {
      this.#engine?.send(this.#slot, { t: "host-result", reqId, ok, ...(ok ? { value } : { error: error as ErrorDescriptor }) } satisfies ToRunner);
    } catch (e) {
      if (ok) this.#reply(reqId, false, undefined, new PluginError(`the answer could not be passed to plugin ${this.pluginId}: ${e instanceof Error ? e.message : String(e)}`).toDescriptor());
    }
  }

  /** A request of the plugin's runner; the plugin is this slot's, never whatever the message says. */
  #onHostRequest(reqId: number, r: HostRequest): void {
    if (typeof reqId !== "number" || typeof r !== "object" || r === null) return;
    try {
      switch (r.op) {
        case "capability": {
          const caps = this.#caps;
          if (caps === null) throw new PluginError(`plugin ${this.pluginId} is not loaded`);
          const answer = performForwarded(caps, this.pluginId, r.name, r.args, r.timeLeftMs);
          if (!("later" in answer)) {
            if (answer.ok) this.#reply(reqId, true, answer.value);
            else this.#reply(reqId, false, undefined, answer.error);
            return;
          }
          const engine = this.#engine;
          const controller = new AbortController();
          this.#operations.set(reqId, controller);
          void answer.later(controller.signal).then((done) => {
            this.#operations.delete(reqId);
            // The engine that asked may be gone (its plugin reloaded elsewhere): its answer goes nowhere.
            if (this.#engine !== engine) return;
            if (done.ok) this.#reply(reqId, true, done.value);
            else this.#reply(reqId, false, undefined, done.error);
          });
          return;
        }
        case "reset":
          // The runner rebuilds the isolate: its subscriptions are kept for onLoad to make again
          // (and those draining deliver to the handlers onLoad makes with the same ids).
          this.#keepSubscriptions();
          this.#reply(reqId, true, null);
          return;
        default:
          throw new PluginError(`plugin ${this.pluginId}: unknown request from its engine`);
      }
    } catch (e) {
      this.#reply(reqId, false, undefined, toWardenError(e).toDescriptor());
    }
  }

  /** The plugin's subscription `subscriptionId` to `pattern` on the host's bus (its channel grant was checked by the broker). */
  #subscribe(subscriptionId: number, pattern: string): void {
    const kept = this.#restoring?.get(subscriptionId);
    if (kept !== undefined && kept.pattern === pattern) {
      this.#restoring?.delete(subscriptionId);
      this.#subscriptions.get(subscriptionId)?.unsubscribe();
      this.#subscriptions.set(subscriptionId, kept);
      return;
    }
    this.#subscriptions.get(subscriptionId)?.unsubscribe();
    const sub: Subscription = this.#events.bus.subscribeAs(this.pluginId, pattern, (message) => this.#deliver(sub, subscriptionId, message), { paused: this.#paused });
    this.#subscriptions.set(subscriptionId, sub);
  }

  /** Deliver one message of `sub` to the plugin's handler, waiting while the plugin is being rebuilt. */
  async #deliver(sub: Subscription, subscriptionId: number, message: ChannelMessage): Promise<void> {
    if (message.dropped > 0) this.#events.onDropped?.(message.topic, message.dropped);
    for (;;) {
      // Handlers run only once the plugin's onLoad has succeeded (NEKO-25), in this engine or the
      // one it is rebuilt in; a subscription the plugin no longer holds receives nothing.
      while (!this.alive) {
        if (!this.#holds(sub, subscriptionId)) return;
        this.#closeGate();
        await this.#ready;
      }
      if (!this.#holds(sub, subscriptionId)) return;
      // A subscription is a grant in use: once the approval is revoked or expired, what it
      // would receive is refused (and recorded), like any other use; approved again, it flows.
      const refused = this.#events.consent?.refusal() ?? null;
      if (refused !== null) {
        this.#events.onAudit([
          { type: "deny", op: "channel delivery", permission: "channels.subscribe", value: message.topic, decision: "denied", reason: `${refused}; the message was not delivered` },
        ]);
        return;
      }
      try {
        await this.#request({ t: "deliver", subscriptionId, message }, this.#events.deliveryDeadlineMs + GRACE_MS, `a channel handler for ${message.topic}`);
        this.#events.onDelivered?.();
        return;
      } catch (e) {
        const err = toWardenError(e);
        // The isolate was gone before the handler ran (its condemnation reached the host first,
        // so the plugin is down now): the message waits for the rebuilt plugin, in its place.
        if (err.details["undelivered"] === true && !this.alive) continue;
        this.#events.onDeliveryFailed?.(message.topic, err);
        throw err;
      }
    }
  }

  #dropSubscriptions(): void {
    for (const sub of this.#subscriptions.values()) sub.unsubscribe();
    this.#subscriptions.clear();
    for (const sub of this.#draining) sub.unsubscribe();
    this.#draining.clear();
    this.#dropRestoring();
  }

  /** Subscriptions kept across an engine restart that the plugin did not make again. */
  #dropRestoring(): void {
    for (const sub of this.#restoring?.values() ?? []) sub.unsubscribe();
    this.#restoring = null;
  }

  /** Drop the plugin's subscriptions (unless kept for its restart), stop its capability calls and kill the commands it started. */
  #releaseResources(keepSubscriptions = false): void {
    if (!keepSubscriptions) this.#dropSubscriptions();
    for (const c of this.#operations.values()) c.abort();
    this.#operations.clear();
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

  /** The plugin's engine is gone (see engine.ts for who is blamed). */
  engineLost(loss: EngineLoss): void {
    const engine = this.#engine;
    this.#engine = null;
    // Culprit or bystander, the plugin is loaded again at once (core/plugin.ts): its subscriptions
    // stay on the bus and queue, and its handlers wait for the new load instead of finding no plugin.
    this.#down();
    this.#releaseResources(true);
    if (loss.culprit) {
      if (loss.error.code === "MEMORY_LIMIT" || loss.error.code === "TIMEOUT" || loss.error.code === "CPU_LIMIT") this.#events.onLimit(loss.error);
      else this.#events.onCrash?.(loss.error);
      // A plugin that brought a shared engine down never shares one again.
      if (engine !== null && !engine.dedicated && this.#alone === null) {
        this.#alone = `it brought down an engine it shared (${loss.error.code})`;
        this.#events.onMoved?.(this.#alone);
      }
    } else this.#events.onEngineRestart?.(loss.error, loss.culprits);
    this.#failAll(loss.error);
  }

  /** Send one request; `deadlineMs` bounds how long the engine may take before it is ended. */
  #request(msg: DistributiveOmit<ToRunner, "callId" | "reqId">, deadlineMs: number, what: string, withCpu = false): Promise<unknown> {
    const engine = this.#engine;
    if (engine === null || !engine.alive) return Promise.reject(new PluginError(`plugin ${this.pluginId} is not running (its engine is gone); it is being restarted`, { pluginId: this.pluginId }));
    const callId = this.#nextId++;
    return new Promise((resolve, reject) => {
      // In the host's process there is no engine to end: the sandbox's own limits are all there is.
      const watchdog = engine.transport.inHost
        ? null
        : setTimeout(() => {
            engine.kill(
              this.#slot,
              new TimeoutError(`plugin ${this.pluginId}: its engine did not answer ${what} within ${deadlineMs} ms and was ended; it is restarted at once`, {
                pluginId: this.pluginId,
              }),
            );
          }, deadlineMs);
      this.#pending.set(callId, { resolve, reject, watchdog, what, withCpu });
      engine.send(this.#slot, { ...msg, callId } as ToRunner);
    });
  }

  /** The host-side capability bridge for `spec` (built once per grants; the broker). */
  async #broker(spec: LoadSpec): Promise<Capabilities> {
    if (this.#caps !== null && this.#capsFor === spec) return this.#caps;
    this.#caps = await createBroker(spec, {
      record: (event) => this.#events.onAudit([event]),
      channels: {
        publish: async (topic, data) => {
          // Beyond its publish rate a plugin waits for its turn (core/channels/publish-rate.ts).
          const turn = this.#publishRate.take();
          if (turn !== undefined) await turn;
          return { delivered: this.#events.bus.publishAs(this.pluginId, topic, data) };
        },
        subscribe: async (subscriptionId, pattern) => this.#subscribe(subscriptionId, pattern),
        unsubscribe: async (subscriptionId) => {
          this.#subscriptions.get(subscriptionId)?.unsubscribe();
          this.#subscriptions.delete(subscriptionId);
        },
      },
      plugins: {
        call: (target, entry, input) => {
          const route = this.#events.onPluginCall;
          if (route === undefined)
            throw new PluginError(`Warden.plugins.call(): plugin ${this.pluginId} runs without a host that routes plugin calls (load it with createHost)`, { pluginId: this.pluginId });
          return route(target, entry, input, this.#longestChain());
        },
      },
      processGroups: { started: (pgid) => this.#processGroups.add(pgid), ended: (pgid) => this.#processGroups.delete(pgid) },
      ...(this.#bwrap !== null ? { bwrap: this.#bwrap } : {}),
      ...(this.#events.consent !== undefined ? { consent: this.#events.consent } : {}),
    });
    this.#capsFor = spec;
    return this.#caps;
  }

  /** Load the plugin (placing it in an engine if needed); resolves to its entries, hooks and unresolved exec grants. */
  async load(spec: LoadSpec): Promise<{ entries: string[]; hooks: string[]; unresolvedExec: string[] }> {
    this.#alone ??= (this.#events.isolation ?? "engine") === "engine" ? ownEngineReason(spec.grants) : null;
    // Under the OS sandbox an engine reads only its root: the host's plugins directory, or the plugin's own.
    this.#root = spec.hostFiles?.pluginsDir ?? spec.pluginDir;
    const pool = this.#events.pool ?? processEnginePool();
    await pool.ready();
    this.#bwrap = pool.bwrap;
    const caps = await this.#broker(spec);
    if (this.#leaving !== null) await this.#leaveSharedEngine(this.#leaving);
    if (this.#engine === null || !this.#engine.alive) this.#place();
    const engineSpec: EngineLoad = {
      pluginId: spec.pluginId,
      version: spec.version,
      pluginDir: spec.pluginDir,
      main: spec.main,
      config: spec.config,
      limits: spec.limits,
      startupTimeoutMs: spec.startupTimeoutMs,
      ...(spec.cpuHistory !== undefined ? { cpuHistory: spec.cpuHistory } : {}),
    };
    const r = (await this.#request({ t: "load", spec: engineSpec }, spec.limits.timeoutMs + spec.startupTimeoutMs + GRACE_MS, "the load")) as { entries: string[]; hooks: string[] };
    this.#loaded = true;
    // Subscriptions the plugin did not make again this time: what they held has nowhere to go.
    for (const sub of this.#restoring?.values() ?? []) if (sub.pending > 0) this.#events.onDropped?.(sub.pattern, sub.pending);
    this.#dropRestoring();
    this.#openGate();
    return { entries: r.entries, hooks: r.hooks, unresolvedExec: caps.unresolvedExec.map((rule) => rule.field) };
  }

  /**
   * Leave the shared engine before the plugin is loaded again, for an engine of its own from now on.
   * By now the engine has answered what the condemned isolate had in flight (its answers follow the
   * limit in the same turn); anything still waiting would never be answered from a freed slot.
   */
  async #leaveSharedEngine(reason: string): Promise<void> {
    this.#leaving = null;
    const engine = this.#engine;
    if (engine === null || engine.dedicated || this.#alone !== null) return;
    this.#alone = reason;
    this.#engine = null;
    this.#loaded = false;
    this.#failAll(new PluginError(`plugin ${this.pluginId} moved to an engine of its own (${reason}); the request was not answered`, { pluginId: this.pluginId }));
    this.#events.onMoved?.(reason);
    await this.#leave(engine);
  }

  /** Free the plugin's slot in `engine`, and end the engine if that was its last tenant (or it runs in the host). */
  async #leave(engine: Engine): Promise<void> {
    engine.detach(this.#slot);
    if (engine.transport.inHost) await engine.close();
    else (this.#events.pool ?? processEnginePool()).released(engine);
  }

  /** Why the plugin runs in an engine of its own (its grants, or an engine it brought down), or null. */
  get runsAlone(): string | null {
    return this.#alone;
  }

  /**
   * The chain of plugin calls a call this plugin makes now continues: the longest chain of its
   * entries in flight, or the plugin alone. A call out of the isolate does not say which of its
   * entries made it (they share one event loop), so the longest is assumed: a cycle is never
   * undercounted, on either path an entry is called by (the engine's messages, the in-process
   * fast path).
   */
  #longestChain(): readonly string[] {
    let longest: readonly string[] = [this.pluginId];
    for (const chain of this.#chains.values()) if (chain.length > longest.length) longest = chain;
    return longest;
  }

  /**
   * Invoke an entry; the deadline covers a rebuild of the isolate plus the call itself. `chain` is
   * the chain of plugin calls that led here, ending with this plugin's id (just it for the host's calls).
   */
  invoke(name: string, inputJson: string | undefined, deadlineMs: number, o: { caller: string; chain: readonly string[]; timeoutMs?: number }): Promise<{ value: unknown; cpuNs: number }> {
    const token = {};
    this.#chains.set(token, o.chain);
    return this.#invoke(name, inputJson, deadlineMs, o).finally(() => this.#chains.delete(token));
  }

  #invoke(name: string, inputJson: string | undefined, deadlineMs: number, o: { caller: string; timeoutMs?: number }): Promise<{ value: unknown; cpuNs: number }> {
    // In-process and ready: straight to the runner, without the message layer (the fast path).
    const t = this.#engine?.transport;
    if (t?.invokeDirect !== undefined) {
      const direct = t.invokeDirect(this.#slot, name, inputJson, o.caller, o.timeoutMs);
      if (direct !== null) {
        return direct.then((r) => {
          if (r.charged > 0) this.#events.onCpu?.(r.charged);
          return r;
        });
      }
    }
    return this.#request(
      { t: "invoke", name, ...(inputJson !== undefined ? { inputJson } : {}), caller: o.caller, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) },
      deadlineMs + GRACE_MS,
      `${name}()`,
      true,
    ) as Promise<{ value: unknown; cpuNs: number }>;
  }

  /** Tell the plugin's sandbox about CPU another of its sandboxes spent (a version beside it). */
  shareCpu(ns: number): void {
    this.#engine?.send(this.#slot, { t: "cpu", ns });
  }

  /** Call a hook (health, onConfigChange...) with its arguments, bounded by `timeoutMs`. */
  hook(name: string, args: readonly unknown[], timeoutMs: number): Promise<unknown> {
    return this.#request({ t: "hook", name, args, timeoutMs }, timeoutMs * 2 + GRACE_MS, `${name}()`);
  }

  /** Swap the plugin's config, then run its onConfigChange(next, previous). */
  config(config: unknown, timeoutMs: number): Promise<unknown> {
    return this.#request({ t: "config", config, timeoutMs }, timeoutMs * 2 + GRACE_MS, "onConfigChange()");
  }

  /**
   * Run onUnload (bounded) and leave the engine (which ends when its last plugin leaves). With
   * `keepSubscriptions` (a restart that failed and is tried again) the plugin's subscriptions stay
   * on the bus and its deliveries keep waiting for the next load.
   */
  async close(timeoutMs: number, keepSubscriptions = false): Promise<void> {
    const engine = this.#engine;
    if (engine !== null && engine.alive && this.#loaded) await this.#request({ t: "unload" }, timeoutMs, "onUnload").catch(() => undefined);
    this.#engine = null;
    this.#loaded = false;
    if (keepSubscriptions) this.#down();
    if (engine !== null) await this.#leave(engine);
    this.#releaseResources(keepSubscriptions);
    this.#publishRate.close();
    // Handlers waiting for a load that will not come go on, and find no plugin.
    if (!keepSubscriptions) this.#openGate();
    this.#failAll(new PluginError(`plugin ${this.pluginId} was unloaded`, { pluginId: this.pluginId }));
  }
}
