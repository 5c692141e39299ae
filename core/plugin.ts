// One loaded plugin, host side: read manifest → check engines → validate config → record grants →
// start the supervised sandbox process → evaluate the module and run onLoad → ready for calls.
import { escapeText, quote } from "./escape-text.ts";
import { EntryNotFoundError, PluginError, QuarantinedError, toWardenError, type WardenError } from "./errors.ts";
import { CallGate, type Concurrency } from "./containment/call-gate.ts";
import { Quarantine, type QuarantinePolicy } from "./containment/quarantine.ts";
import { toJsonText } from "./json-value.ts";
import type { Logger } from "./logger.ts";
import type { AuditWriter } from "./audit/audit-log.ts";
import { SandboxProcess, type Isolation } from "./sandbox-process/supervisor.ts";
import { AuditBudget } from "./audit/audit-budget.ts";
import { boundEvent, clipText } from "./audit/bounded-record.ts";
import { DenialAggregator } from "./audit/denial-aggregator.ts";
import { LOG_DEFAULTS } from "./sandbox-process/log-buffer.ts";
import type { LoadSpec, ProcessLimits } from "./sandbox-process/protocol.ts";
import { WARDEN_VERSION } from "./version.ts";
import { readManifest, type LoadedManifest } from "../manifests/read-manifest.ts";
import { validatePluginConfig } from "../manifests/plugin-config.ts";
import { compileEntrySpecs, type EntrySpecs } from "../manifests/entry-input.ts";
import type { Manifest } from "../manifests/schema.ts";
import { DEFAULT_CAPABILITY_LIMITS, type Grants } from "../capabilities/index.ts";
import { ChannelBus } from "./channels/bus.ts";
import { DEFAULT_CPU_MS_PER_MINUTE, DEFAULT_LIMITS } from "../isolate/index.ts";


/** How to load one plugin. */
export type LoadPluginOptions = {
  /** The plugin's configuration, validated against the manifest's `config` schema. */
  readonly config?: unknown;
  /** Where grant, use and denial records go. */
  readonly audit: AuditWriter;
  readonly logger: Logger;
  /** The host's message bus; without one the plugin gets a bus of its own. */
  readonly bus?: ChannelBus;
  /** Called when a limit (CPU, memory, timeout) condemned the plugin's isolate. */
  readonly onLimit?: (error: WardenError) => void;
  /** Lifecycle events of the plugin's containment: limit hits, crashes, quarantine and release. */
  readonly onEvent?: (event: PluginEvent) => void;
  /** Calls running and waiting per plugin (defaults 8 and 64); past both, BUSY. */
  readonly concurrency?: Partial<Concurrency>;
  /** When repeated failures quarantine the plugin (default 5 in 60 s, 60 s doubling to 1 h). */
  readonly quarantine?: Partial<QuarantinePolicy>;
  /** Time onLoad may take, its own budget (NEKO-19). Default 10 000 ms. */
  readonly startupTimeoutMs?: number;
  /** Routes Warden.plugins.call from this plugin (createHost provides it). */
  readonly onPluginCall?: (caller: string, target: string, entry: string, input: unknown, depth: number) => Promise<unknown>;
  /**
   * Where the plugin runs: "process" (default), a supervised sandbox process per plugin that the
   * host survives whatever the plugin allocates; or "in-process", several times faster and about
   * one isolate of memory per plugin, but an allocation that makes V8 abort takes the host down.
   */
  readonly isolation?: Isolation;
  /** Load as a staged version (reload): channel deliveries wait for activate(). */
  readonly staged?: boolean;
  /** Limits for what the manifest leaves out (the host's defaults; the contract's otherwise). */
  readonly defaultLimits?: Partial<ProcessLimits>;
  /** An already-read manifest (createHost reads them once, for discovery and ordering). */
  readonly manifest?: LoadedManifest;
};

/** Default startup budget for onLoad (NEKO-19). */
export const DEFAULT_STARTUP_TIMEOUT_MS = 10_000;

/** Who is calling an entry, and how deep in a chain of plugin-to-plugin calls. */
export type InvokeOptions = { readonly caller?: string; readonly depth?: number };

/** Something that happened to a plugin's containment. */
export type PluginEvent =
  | { readonly type: "limit"; readonly plugin: string; readonly code: string; readonly message: string }
  | { readonly type: "crash"; readonly plugin: string; readonly message: string }
  | { readonly type: "quarantine"; readonly plugin: string; readonly until: string; readonly failures: number; readonly cause: string }
  | { readonly type: "release"; readonly plugin: string; readonly by: "operator" | "timeout" }
  | { readonly type: "invoke"; readonly plugin: string; readonly entry: string; readonly caller: string; readonly ms: number; readonly cpuMs: number; readonly ok: boolean; readonly code?: string }
  | { readonly type: "denied"; readonly plugin: string; readonly permission: string; readonly value: string; readonly op: string };

// A compile-time check that the manifest's permissions fit what capabilities/ enforces.
const permissionsFitGrants = (p: NonNullable<Manifest["permissions"]>): Grants => p;
void permissionsFitGrants;

/** A loaded plugin: call its entries, then close it. */
export class PluginHandle {
  readonly manifest: Manifest;
  readonly dir: string;
  readonly #process: SandboxProcess;
  readonly #logger: Logger;
  readonly #o: LoadPluginOptions;
  readonly #denials: DenialAggregator;
  readonly #budget: AuditBudget;
  readonly #entrySpecs: EntrySpecs;
  /** The manifest as read, with its directory, main module and hash. */
  readonly loaded: LoadedManifest;
  #spec: LoadSpec;
  #hooks: readonly string[] = [];
  readonly #gate: CallGate;
  readonly #quarantine: Quarantine;
  #wasQuarantined = false;
  #releaseTimer: NodeJS.Timeout | null = null;
  #entries: readonly string[] = [];
  #closed = false;

  private constructor(loaded: LoadedManifest, spec: LoadSpec, process: SandboxProcess, logger: Logger, o: LoadPluginOptions, denials: DenialAggregator, budget: AuditBudget, entrySpecs: EntrySpecs) {
    this.#entrySpecs = entrySpecs;
    this.loaded = loaded;
    this.manifest = loaded.manifest;
    this.dir = loaded.dir;
    this.#spec = spec;
    this.#process = process;
    this.#logger = logger;
    this.#o = o;
    this.#denials = denials;
    this.#budget = budget;
    this.#gate = new CallGate(loaded.manifest.id, o.concurrency);
    this.#quarantine = new Quarantine(o.quarantine);
  }

  /** The plugin's id. */
  get id(): string {
    return this.manifest.id;
  }

  /** Exported functions callable as entries (hooks excluded). */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /** The limits the plugin runs under. */
  get limits(): ProcessLimits {
    return this.#spec.limits;
  }

  /** Read, validate and start a plugin; throws MANIFEST_INVALID, BAD_INPUT (config) or PLUGIN_ERROR. */
  static async load(dir: string, o: LoadPluginOptions): Promise<PluginHandle> {
    const loaded = o.manifest ?? (await readManifest(dir, WARDEN_VERSION));
    const m = loaded.manifest;
    const config = validatePluginConfig(m.config, o.config, m.id);
    const entrySpecs = compileEntrySpecs(m);
    const limits: ProcessLimits = {
      memoryMb: m.limits?.memoryMb ?? o.defaultLimits?.memoryMb ?? DEFAULT_LIMITS.memoryMb,
      cpuMs: m.limits?.cpuMs ?? o.defaultLimits?.cpuMs ?? DEFAULT_LIMITS.cpuMs,
      timeoutMs: m.limits?.timeoutMs ?? o.defaultLimits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
      cpuMsPerMinute: m.limits?.cpuMsPerMinute ?? o.defaultLimits?.cpuMsPerMinute ?? DEFAULT_CPU_MS_PER_MINUTE,
      resultChars: DEFAULT_LIMITS.resultChars,
      readBytes: m.limits?.readBytes ?? o.defaultLimits?.readBytes ?? DEFAULT_CAPABILITY_LIMITS.readBytes,
      netBytes: m.limits?.netBytes ?? o.defaultLimits?.netBytes ?? DEFAULT_CAPABILITY_LIMITS.netBytes,
      execOutputBytes: m.limits?.execOutputBytes ?? o.defaultLimits?.execOutputBytes ?? DEFAULT_CAPABILITY_LIMITS.execOutputBytes,
      messageBytes: m.limits?.messageBytes ?? o.defaultLimits?.messageBytes ?? DEFAULT_CAPABILITY_LIMITS.messageBytes,
    };
    const spec: LoadSpec = {
      pluginId: m.id, version: m.version, pluginDir: loaded.dir, main: loaded.main, grants: m.permissions ?? {}, config, limits,
      startupTimeoutMs: o.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
    };
    o.audit.append({ type: "grant", plugin: m.id, version: m.version, dir: loaded.dir, manifestSha256: loaded.sha256, permissions: m.permissions ?? {}, limits });
    const logger = o.logger.child({ plugin: m.id, version: m.version });
    // What the plugin causes (uses, denials) is bounded three ways before it reaches the log: each
    // text clipped, denials aggregated per kind, and bytes per minute budgeted.
    const budget = new AuditBudget((records) => o.audit.appendBatch(records));
    const denials = new DenialAggregator((records) => budget.write(records));
    for (const w of loaded.warnings) logger.warn(`plugin.json ${w.field}: ${w.message}`);
    let handle: PluginHandle | undefined;
    const proc = new SandboxProcess(m.id, {
      // Whitelisted, clipped and stamped with the plugin's id (last, so nothing from the sandbox
      // process can replace it) before anything else sees the events.
      onAudit: (events) => {
        const records = events.map((event) => boundEvent(event, m.id));
        denials.append(records);
        if (o.onEvent) for (const r of records) if (r.type === "deny") o.onEvent({ type: "denied", plugin: m.id, permission: String(r["permission"]), value: String(r["value"]), op: String(r["op"]) });
      },
      onLog: (level, text) => logger[level](escapeText(text)),
      onLogDropped: (count) => logger.warn({ dropped: count }, `${count} console line(s) of the plugin were dropped (over its rate of ${LOG_DEFAULTS.ratePerSecond} lines/s or its buffer of ${LOG_DEFAULTS.maxLines} lines)`),
      onLimit: (error) => {
        o.audit.append({ type: "limit", plugin: m.id, code: clipText(error.code), message: clipText(error.message) });
        logger.warn({ code: error.code }, escapeText(error.message));
        o.onLimit?.(error);
        o.onEvent?.({ type: "limit", plugin: m.id, code: error.code, message: error.message });
        if (handle !== undefined) handle.#failed(`${error.code}: ${error.message}`);
      },
      onCrash: (error) => {
        o.audit.append({ type: "crash", plugin: m.id, message: clipText(error.message) });
        logger.warn(escapeText(error.message));
        o.onEvent?.({ type: "crash", plugin: m.id, message: error.message });
        if (handle !== undefined) handle.#failed(`crash: ${error.message}`);
      },
      bus: o.bus ?? new ChannelBus({
        messageBytes: limits.messageBytes,
        onDeliveryError: (owner, topic, e) => logger.warn(`channel handler of ${owner} for ${escapeText(topic)} failed: ${escapeText(toWardenError(e).message)}`),
      }),
      deliveryDeadlineMs: limits.timeoutMs,
      ...(o.staged ? { staged: true } : {}),
      ...(o.isolation ? { isolation: o.isolation } : {}),
      ...(o.onPluginCall ? { onPluginCall: (target: string, entry: string, input: unknown, depth: number) => (o.onPluginCall as NonNullable<LoadPluginOptions["onPluginCall"]>)(m.id, target, entry, input, depth) } : {}),
    });
    handle = new PluginHandle(loaded, spec, proc, logger, o, denials, budget, entrySpecs);
    await handle.#start();
    return handle;
  }

  /** Count a limit hit or a crash; quarantine the plugin if it fails too often. */
  #failed(cause: string): void {
    const change = this.#quarantine.fail(cause);
    if (!change.quarantined) return;
    this.#wasQuarantined = true;
    const until = new Date(change.until).toISOString();
    this.#o.audit.append({ type: "quarantine", plugin: this.id, until, failures: change.failures, periodMs: change.periodMs, cause: clipText(cause) });
    this.#logger.warn({ until, failures: change.failures }, `quarantined until ${until} after ${change.failures} failures in ${this.#quarantine.policy.windowMs / 1000} s (last: ${escapeText(cause)})`);
    this.#o.onEvent?.({ type: "quarantine", plugin: this.id, until, failures: change.failures, cause });
    // The end of a quarantine is an event of its own, when it happens (not at the next call).
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = setTimeout(() => this.#releasedByTimeout(), change.periodMs + 1);
    this.#releaseTimer.unref();
  }

  #releasedByTimeout(): void {
    this.#releaseTimer = null;
    if (!this.#wasQuarantined || this.#quarantine.isQuarantined() || this.#closed) return;
    this.#wasQuarantined = false;
    this.#o.audit.append({ type: "release", plugin: this.id, by: "timeout" });
    this.#logger.info("quarantine ended");
    this.#o.onEvent?.({ type: "release", plugin: this.id, by: "timeout" });
  }

  /** Whether the plugin is quarantined now. */
  get quarantined(): boolean {
    return this.#quarantine.isQuarantined();
  }

  /** Calls of this plugin running and waiting now. */
  get load(): { running: number; queued: number } {
    return { running: this.#gate.running, queued: this.#gate.queued };
  }

  /** A staged version goes live: its channel subscriptions start receiving. */
  activate(): void {
    this.#process.activate();
  }

  /** A replaced version stops receiving channel messages at once (its calls in flight finish). */
  detachChannels(): void {
    this.#process.detachChannels();
  }

  /** The pid of the plugin's sandbox process while it runs (for operators and memory figures). */
  get sandboxPid(): number | undefined {
    return this.#process.pid;
  }

  /** Requests of any kind (calls, hooks, channel deliveries) in flight in its sandbox. */
  get pending(): number {
    return this.#process.pending;
  }

  /** An operator re-enables a quarantined plugin now. */
  release(): void {
    if (!this.#quarantine.isQuarantined()) return;
    this.#quarantine.release();
    this.#wasQuarantined = false;
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = null;
    this.#o.audit.append({ type: "release", plugin: this.id, by: "operator" });
    this.#logger.info("released from quarantine by the operator");
    this.#o.onEvent?.({ type: "release", plugin: this.id, by: "operator" });
  }

  #refuseIfQuarantined(name: string): void {
    if (this.#quarantine.isQuarantined()) {
      const until = new Date(this.#quarantine.until).toISOString();
      throw new QuarantinedError(
        `plugin ${this.id} is quarantined until ${until} after failing ${this.#quarantine.policy.maxFailures} times in ${this.#quarantine.policy.windowMs / 1000} s (last: ${this.#quarantine.lastCause}); ${name}() was not run. Fix the plugin, then release it, or wait`,
        { pluginId: this.id, entry: name, until },
      );
    }
    if (this.#wasQuarantined) this.#releasedByTimeout();
  }

  async #start(): Promise<void> {
    try {
      const { entries, hooks, unresolvedExec } = await this.#process.load(this.#spec);
      this.#entries = entries;
      this.#hooks = hooks;
      for (const field of unresolvedExec) this.#logger.warn(`plugin.json ${field}: the command is not on the host's PATH, so this grant allows nothing`);
    } catch (e) {
      await this.#process.close(1000);
      throw toWardenError(e);
    }
  }

  /** Exported hooks (onLoad, onUnload, onConfigChange, health) the plugin has. */
  get hooks(): readonly string[] {
    return this.#hooks;
  }

  /** The plugin's current (validated) config. */
  get config(): unknown {
    return this.#spec.config;
  }

  /** The plugin's version. */
  get version(): string {
    return this.manifest.version;
  }

  /** Call entry `name` with one JSON-compatible input; rejects with a typed warden error. */
  async invoke(name: string, input?: unknown, opts: InvokeOptions = {}): Promise<unknown> {
    if (this.#closed) throw new PluginError(`plugin ${this.id} is closed`, { pluginId: this.id });
    if (!this.#entries.includes(name)) {
      throw new EntryNotFoundError(
        `plugin ${this.id} has no entry ${quote(name)}; its entries are: ${this.#entries.length > 0 ? this.#entries.join(", ") : "(none)"}`,
        { pluginId: this.id, entry: name },
      );
    }
    const checked = this.#entrySpecs.validate(name, input);
    // Checked and turned into JSON once, here: the sandbox receives the text.
    const inputJson = checked === undefined ? undefined : toJsonText(checked);
    const timeoutMs = this.#entrySpecs.timeoutMs(name);
    const caller = opts.caller ?? "host";
    this.#refuseIfQuarantined(name);
    const t0 = performance.now();
    try {
      const { value, cpuNs } = await this.#gate.run(async () => {
        this.#refuseIfQuarantined(name);
        // A crashed sandbox process is restarted (and the plugin reloaded) before the call.
        if (!this.#process.alive) await this.#start();
        return this.#process.invoke(name, inputJson, (timeoutMs ?? this.#spec.limits.timeoutMs) * 2, { caller, depth: opts.depth ?? 0, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      });
      this.#quarantine.succeeded();
      this.#o.onEvent?.({ type: "invoke", plugin: this.id, entry: name, caller, ms: performance.now() - t0, cpuMs: cpuNs / 1e6, ok: true });
      return value;
    } catch (e) {
      const err = toWardenError(e);
      this.#o.onEvent?.({ type: "invoke", plugin: this.id, entry: name, caller, ms: performance.now() - t0, cpuMs: 0, ok: false, code: err.code });
      throw err;
    }
  }

  /** Call a hook (health, onConfigChange...) if the plugin exports it; null if it does not. */
  async hook(name: string, args: readonly unknown[] = [], timeoutMs = this.#spec.limits.timeoutMs): Promise<unknown> {
    if (this.#closed) throw new PluginError(`plugin ${this.id} is closed`, { pluginId: this.id });
    if (!this.#hooks.includes(name)) return null;
    this.#refuseIfQuarantined(name);
    if (!this.#process.alive) await this.#start();
    return this.#process.hook(name, args, timeoutMs);
  }

  /**
   * Validate a new config; if valid, swap it and call onConfigChange(next, previous) (MAI-33). An
   * invalid config throws BAD_INPUT and changes nothing. Resolves to the config now in force.
   */
  async updateConfig(config: unknown): Promise<unknown> {
    const next = validatePluginConfig(this.manifest.config, config, this.id);
    this.#spec = { ...this.#spec, config: next };
    this.#o.audit.append({ type: "config", plugin: this.id, version: this.version });
    if (this.#process.alive) await this.#process.config(next, this.#spec.limits.timeoutMs);
    return next;
  }

  /** Run onUnload (bounded by timeoutMs), then end the sandbox process. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    await this.#process.close(this.#spec.limits.timeoutMs);
    // Held-back denials go through the budget, then the budget's own summary: nothing is left unsaid.
    this.#denials.flush();
    this.#budget.flush();
    this.#logger.debug("unloaded");
  }
}

/** Load one plugin from its directory. */
export function loadPlugin(dir: string, options: LoadPluginOptions): Promise<PluginHandle> {
  return PluginHandle.load(dir, options);
}
