// One loaded plugin, host side: read manifest → check engines → validate config → record grants →
// start the supervised sandbox process → evaluate the module and run onLoad → ready for calls.
import { escapeFields, escapeText, quote, BadInputError, EntryNotFoundError, PluginError, TimeoutError, toWardenError, type WardenError } from "../errors/index.ts";
import { CallGate, type Concurrency } from "./containment/call-gate.ts";
import { PluginLedger, type ContainmentEvent, type LedgerMember } from "./containment/ledger.ts";
import type { QuarantinePolicy } from "./containment/quarantine.ts";
import { clampedEntryTimeouts, DEFAULT_RESTART, limitPolicy, resolvePluginLimits, restartDelayMs, type ClampedLimit, type PluginLimits, type ProcessLimits, type RestartPolicy } from "./limits.ts";
import { toJsonText } from "./json-value.ts";
import { createDefaultLogger, type Logger } from "./logger.ts";
import type { AuditRecordInput, AuditWriter } from "./audit/audit-log.ts";
import { SandboxProcess, type Isolation } from "./runtime/plugin-slot.ts";
import type { EnginePool } from "./runtime/engine-pool.ts";
import { AuditBudget } from "./audit/audit-budget.ts";
import type { AuditLimits } from "./audit/audit-limits.ts";
import { boundEvent, clipText } from "./audit/bounded-record.ts";
import { DenialAggregator } from "./audit/denial-aggregator.ts";
import { DEFAULTS, systemClock, type Clock } from "../defaults/index.ts";
import { checkPluginOptions } from "./options.ts";
import type { HostFiles, LoadSpec } from "./runtime/protocol.ts";
import { WARDEN_VERSION } from "./version.ts";
import { readManifest, type LoadedManifest, validatePluginConfig, compileEntrySpecs, type EntrySpecs, type Manifest } from "../manifests/index.ts";
import type { ConsentGate, Grants } from "../capabilities/index.ts";
import { ChannelBus } from "./channels/bus.ts";

/** How to load one plugin. */
export type LoadPluginOptions = {
  /** The plugin's configuration, validated against the manifest's `config` schema. */
  readonly config?: unknown;
  /** Where grant, use and denial records go. */
  readonly audit: AuditWriter;
  /** Where the plugin's console and warden's warnings go (default: pino on stderr, WARDEN_LOG_LEVEL or info). */
  readonly logger?: Logger;
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
  /** How the plugin is restarted after a limit or a crash (default DEFAULT_RESTART: at once, then 250 ms doubling to 30 s while it keeps failing). */
  readonly restart?: Partial<RestartPolicy>;
  /** Time onLoad may take, its own budget (NEKO-19). Default 10 000 ms. */
  readonly startupTimeoutMs?: number;
  /** Routes Warden.plugins.call from this plugin (createHost provides it). */
  readonly onPluginCall?: (caller: string, target: string, entry: string, input: unknown, chain: readonly string[]) => Promise<unknown>;
  /**
   * Where the plugin runs: "engine" (default), a supervised engine process shared with other
   * plugins under the placement policy (plugins with exec, write or non-public net grants get one
   * of their own); "dedicated" ("process"), an engine process of its own; or "in-process", the
   * fastest and lightest, but an allocation that makes V8 abort takes the host down.
   */
  readonly isolation?: Isolation;
  /** The engines the plugin is placed in (createHost passes its own; default: the process's pool). */
  readonly enginePool?: EnginePool;
  /** Load as a staged version (reload): channel deliveries wait for activate(). */
  readonly staged?: boolean;
  /** Limits for what the manifest leaves out (the host's defaults; the contract's otherwise). */
  readonly defaultLimits?: Partial<ProcessLimits>;
  /**
   * The most the manifest may ask for, per limit (default DEFAULT_MAX_LIMITS, core/limits.ts);
   * more is clamped, with a warning and a note in the grant record.
   */
  readonly maxLimits?: Partial<PluginLimits>;
  /**
   * The plugin's quarantine and CPU budget, shared by its versions (createHost keeps one per
   * plugin id); without one the handle keeps its own, across restarts of its sandbox process.
   */
  readonly ledger?: PluginLedger;
  /** An already-read manifest (createHost reads them once, for discovery and ordering). */
  readonly manifest?: LoadedManifest;
  /** Bounds on the audit records this plugin causes (default AUDIT_LIMITS): how many distinct denials of a kind are written in full per window, bytes per minute. */
  /** Files of the host no plugin may write (createHost passes its plugins directory and audit log file). */
  readonly hostFiles?: HostFiles;
  readonly auditLimits?: Partial<Pick<AuditLimits, "distinctDenialsPerKind" | "denialWindowMs" | "bytesPerWindow" | "budgetWindowMs">>;
  /**
   * The operator's approval of the plugin's grants (expiry, quotas, the kill switch), checked
   * before every capability use in every isolation mode. It belongs to this load, not to an
   * isolate: restarts keep it, and the host changes it live (setTerms, revoke). Without one the
   * grants alone decide.
   */
  readonly consent?: ConsentGate;
  /**
   * The time its host-side policies run on: restart backoff, quarantine, denial and audit-budget
   * windows (default: the system clock; a test passes a manual one, test/helpers/manual-clock.ts).
   * A call's own CPU and wall-clock limits are always real time.
   */
  readonly clock?: Clock;
};

/** The limits a plugin runs under: its manifest's, else the host's defaults, else the contract's, capped by the host's maxima. */
export function effectiveLimits(m: Manifest, defaults?: Partial<ProcessLimits>, maxLimits?: Partial<PluginLimits>): ProcessLimits {
  return resolvePluginLimits(m.limits, defaults, limitPolicy(defaults, maxLimits, `plugin ${m.id}`)).limits;
}

/** Default startup budget for onLoad (NEKO-19; DEFAULTS.host.startupTimeoutMs). */
export const DEFAULT_STARTUP_TIMEOUT_MS = DEFAULTS.host.startupTimeoutMs;

/** Who is calling an entry, and how deep in a chain of plugin-to-plugin calls. */
/** Who calls an entry: `caller` ("host" or a plugin id) and the chain of plugin calls that led here, ending with this plugin (just it by default). */
export type InvokeOptions = { readonly caller?: string; readonly chain?: readonly string[] };

/** Something that happened to a plugin's containment. */
export type PluginEvent =
  | { readonly type: "limit"; readonly plugin: string; readonly code: string; readonly message: string }
  | { readonly type: "crash"; readonly plugin: string; readonly message: string }
  /** The plugin's engine was ended by a co-tenant (`culprits`); the plugin is being loaded again in a fresh one. */
  | { readonly type: "engine-restart"; readonly plugin: string; readonly culprits: readonly string[]; readonly message: string }
  /** The plugin brought a shared engine down; it runs in an engine of its own from now on. */
  | { readonly type: "engine-move"; readonly plugin: string; readonly reason: string }
  /**
   * The plugin is being rebuilt (fresh isolate, onLoad with its config, subscriptions restored)
   * after `cause`, in `delayMs` (its backoff): restart number `attempt` since it last worked.
   */
  | { readonly type: "restarting"; readonly plugin: string; readonly cause: string; readonly attempt: number; readonly delayMs: number }
  /** The plugin is back after a restart, `ms` after the restart began; deliveries held meanwhile go on. */
  | { readonly type: "restarted"; readonly plugin: string; readonly attempt: number; readonly ms: number }
  /** A channel message reached the plugin's handler, which failed with `code` (a limit, a throw); it is not delivered again. */
  | { readonly type: "delivery-failed"; readonly plugin: string; readonly topic: string; readonly code: string; readonly message: string }
  /** `count` messages for the plugin on `topic` did not fit its bounded queue (it was slow, or down) and were dropped. */
  | { readonly type: "dropped"; readonly plugin: string; readonly topic: string; readonly count: number }
  | ContainmentEvent
  | { readonly type: "invoke"; readonly plugin: string; readonly entry: string; readonly caller: string; readonly ms: number; readonly cpuMs: number; readonly ok: boolean; readonly code?: string }
  /**
   * Denials as the audit log aggregates them: one event per denial written in full (count 1), one
   * per aggregate of repeats or of denials past the per-kind share (count > 1, value a sample or
   * "(several values)"), so a denial storm does not flood listeners either.
   */
  | { readonly type: "denied"; readonly plugin: string; readonly permission: string; readonly value: string; readonly op: string; readonly count: number };

// A compile-time check that the manifest's permissions fit what capabilities/ enforces.
const permissionsFitGrants = (p: NonNullable<Manifest["permissions"]>): Grants => p;
void permissionsFitGrants;

/** Where a plugin runs: its engine's id and pid (none in the host's process), its tenants, and why it runs alone (or null). */
export type PluginEngine = { readonly id: number; readonly pid: number | undefined; readonly tenants: number; readonly dedicated: boolean; readonly alone: string | null };

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
  readonly #ledger: PluginLedger;
  readonly #ownsLedger: boolean;
  readonly #member: LedgerMember;
  readonly #maxTimeoutMs: number;
  /** Limits the manifest asked more of than the host allows, and what they got instead. */
  readonly limitsClamped: readonly ClampedLimit[];
  #entries: readonly string[] = [];
  #closed = false;

  private constructor(
    loaded: LoadedManifest,
    spec: LoadSpec,
    process: SandboxProcess,
    logger: Logger,
    o: LoadPluginOptions,
    denials: DenialAggregator,
    budget: AuditBudget,
    entrySpecs: EntrySpecs,
    ledger: { ledger: PluginLedger; owned: boolean; member: LedgerMember },
    max: PluginLimits,
    clamped: readonly ClampedLimit[],
  ) {
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
    this.#ledger = ledger.ledger;
    this.#ownsLedger = ledger.owned;
    this.#member = ledger.member;
    this.#maxTimeoutMs = max.timeoutMs;
    this.limitsClamped = clamped;
  }

  /** The plugin's id. */
  get id(): string {
    return this.manifest.id;
  }

  /** Exported functions callable as entries (hooks excluded). */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /** The limits the plugin runs under (after the host's maxima). */
  get limits(): ProcessLimits {
    return this.#spec.limits;
  }

  /** Read, validate and start a plugin; throws MANIFEST_INVALID, BAD_INPUT (config) or PLUGIN_ERROR. */
  static async load(dir: string, options: LoadPluginOptions): Promise<PluginHandle> {
    checkPluginOptions(dir, options);
    // Events carry plugin text (denied values, error messages): escaped once, here, for every listener.
    const onEvent = options.onEvent;
    const o: LoadPluginOptions = onEvent === undefined ? options : { ...options, onEvent: (e) => onEvent(escapeFields(e)) };
    const loaded = o.manifest ?? (await readManifest(dir, WARDEN_VERSION));
    const m = loaded.manifest;
    if (o.consent !== undefined && o.consent.pluginId !== m.id) {
      throw new BadInputError(`the consent gate given to load ${m.id} is the approval of ${o.consent.pluginId}`, { pluginId: m.id });
    }
    const config = validatePluginConfig(m.config, o.config, m.id);
    const entrySpecs = compileEntrySpecs(m);
    // The host's policy caps the manifest's wishes (core/limits.ts).
    const max = limitPolicy(o.defaultLimits, o.maxLimits, `plugin ${m.id}`);
    const { limits, clamped: clampedLimits } = resolvePluginLimits(m.limits, o.defaultLimits, max);
    const clamped = [...clampedLimits, ...clampedEntryTimeouts(m.entries, max)];
    const spec: LoadSpec = {
      pluginId: m.id,
      version: m.version,
      pluginDir: loaded.dir,
      main: loaded.main,
      grants: m.permissions ?? {},
      config,
      limits,
      startupTimeoutMs: o.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
      ...(o.hostFiles ? { hostFiles: o.hostFiles } : {}),
    };
    o.audit.append({
      type: "grant",
      plugin: m.id,
      version: m.version,
      dir: loaded.dir,
      manifestSha256: loaded.sha256,
      permissions: m.permissions ?? {},
      limits,
      ...(clamped.length > 0 ? { limitsClamped: clamped } : {}),
    });
    const logger = (o.logger ?? createDefaultLogger()).child({ plugin: m.id, version: m.version });
    // What the plugin causes (uses, denials) is bounded three ways before it reaches the log: each
    // text clipped, denials aggregated per kind, and bytes per minute budgeted.
    const al = o.auditLimits ?? {};
    const clock = o.clock ?? systemClock;
    const budget = new AuditBudget((records) => o.audit.appendBatch(records), {
      clock,
      ...(al.bytesPerWindow !== undefined ? { bytesPerWindow: al.bytesPerWindow } : {}),
      ...(al.budgetWindowMs !== undefined ? { windowMs: al.budgetWindowMs } : {}),
    });
    const denied = (records: readonly AuditRecordInput[]): void => {
      if (o.onEvent === undefined) return;
      for (const r of records) {
        if (r.type !== "deny" && r.type !== "deny-repeat" && r.type !== "deny-aggregate") continue;
        const samples = Array.isArray(r["samples"]) ? (r["samples"] as unknown[]) : [];
        const value = typeof r["value"] === "string" ? r["value"] : samples.length === 1 ? String(samples[0]) : "(several values)";
        o.onEvent({ type: "denied", plugin: m.id, permission: String(r["permission"]), value, op: String(r["op"]), count: typeof r["count"] === "number" ? r["count"] : 1 });
      }
    };
    const denials = new DenialAggregator(
      (records) => {
        denied(records);
        budget.write(records);
      },
      {
        clock,
        ...(al.distinctDenialsPerKind !== undefined ? { distinctPerKind: al.distinctDenialsPerKind } : {}),
        ...(al.denialWindowMs !== undefined ? { windowMs: al.denialWindowMs } : {}),
      },
    );
    for (const w of loaded.warnings) logger.warn(escapeText(`plugin.json ${w.field}: ${w.message}`));
    for (const c of clamped) {
      logger.warn(
        { field: c.field, asked: c.asked, allowed: c.allowed },
        `plugin ${m.id}: plugin.json ${c.field} asks for ${c.asked}, more than this host allows (${c.allowed}); it runs with ${c.allowed}`,
      );
    }
    const ledger = o.ledger ?? new PluginLedger({ pluginId: m.id, audit: o.audit, logger, clock, ...(o.quarantine ? { quarantine: o.quarantine } : {}), ...(o.onEvent ? { onEvent: o.onEvent } : {}) });
    const proc = new SandboxProcess(m.id, {
      // Whitelisted, clipped and stamped with the plugin's id (last, so nothing from the sandbox
      // process can replace it) before anything else sees the events.
      onAudit: (events) => {
        const records = events.map((event) => boundEvent(event, m.id));
        denials.append(records);
      },
      onLog: (level, text) => logger[level](escapeText(text)),
      onLogDropped: (count) =>
        logger.warn({ dropped: count }, `${count} console line(s) of the plugin were dropped (over its rate of ${DEFAULTS.log.ratePerSecond} lines/s or its buffer of ${DEFAULTS.log.maxLines} lines)`),
      // A limit or a crash counts towards quarantine (decided first), then the plugin is rebuilt
      // at once: a plugin that only answers channel messages would otherwise wait for a call.
      onLimit: (error) => {
        o.audit.append({ type: "limit", plugin: m.id, code: clipText(error.code), message: clipText(error.message) });
        logger.warn({ code: error.code }, escapeText(error.message));
        o.onLimit?.(error);
        o.onEvent?.({ type: "limit", plugin: m.id, code: error.code, message: error.message });
        ledger.failed(`${error.code}: ${error.message}`);
        handle.#failed(`${error.code}: ${error.message}`);
      },
      onCrash: (error) => {
        o.audit.append({ type: "crash", plugin: m.id, message: clipText(error.message) });
        logger.warn(escapeText(error.message));
        o.onEvent?.({ type: "crash", plugin: m.id, message: error.message });
        ledger.failed(`crash: ${error.message}`);
        handle.#failed(`crash: ${error.message}`);
      },
      // Another plugin brought the shared engine down: not this plugin's failure (no quarantine
      // count), but its calls in flight failed, so it is loaded again in a fresh engine now.
      onEngineRestart: (error, culprits) => {
        o.audit.append({ type: "engine-restart", plugin: m.id, culprits: culprits.map((c) => clipText(c)), message: clipText(error.message) });
        logger.warn(escapeText(error.message));
        o.onEvent?.({ type: "engine-restart", plugin: m.id, culprits: [...culprits], message: error.message });
        handle.restartSoon();
      },
      // What happened to channel messages is the plugin's doing: its records go through its budget.
      onDeliveryFailed: (topic, error) => {
        budget.write([{ type: "delivery-failed", plugin: m.id, topic: clipText(topic), code: clipText(error.code), message: clipText(error.message) }]);
        o.onEvent?.({ type: "delivery-failed", plugin: m.id, topic, code: error.code, message: error.message });
      },
      onDelivered: () => handle.#worked(),
      onDropped: (topic, count) => {
        budget.write([{ type: "dropped", plugin: m.id, topic: clipText(topic), count }]);
        logger.warn({ dropped: count }, `${count} message(s) on ${escapeText(topic)} did not fit the plugin's queue and were dropped`);
        o.onEvent?.({ type: "dropped", plugin: m.id, topic, count });
      },
      onMoved: (reason) => {
        o.audit.append({ type: "engine-move", plugin: m.id, reason: clipText(reason) });
        logger.warn(`plugin ${m.id} runs in an engine of its own from now on: ${reason}`);
        o.onEvent?.({ type: "engine-move", plugin: m.id, reason });
      },
      onCpu: (ns) => member.charge(ns),
      bus:
        o.bus ??
        new ChannelBus({
          messageBytes: limits.messageBytes,
          onDeliveryError: (owner, topic, e) => logger.warn(`channel handler of ${owner} for ${escapeText(topic)} failed: ${escapeText(toWardenError(e).message)}`),
        }),
      deliveryDeadlineMs: limits.timeoutMs,
      ...(o.staged ? { staged: true } : {}),
      ...(o.isolation ? { isolation: o.isolation } : {}),
      ...(o.enginePool ? { pool: o.enginePool } : {}),
      ...(o.consent ? { consent: o.consent } : {}),
      ...(o.onPluginCall
        ? {
            onPluginCall: (target: string, entry: string, input: unknown, chain: readonly string[]) =>
              (o.onPluginCall as NonNullable<LoadPluginOptions["onPluginCall"]>)(m.id, target, entry, input, chain),
          }
        : {}),
    });
    const member = ledger.join(
      (ns) => proc.shareCpu(ns),
      () => handle.#released(),
    );
    const handle = new PluginHandle(loaded, spec, proc, logger, o, denials, budget, entrySpecs, { ledger, owned: o.ledger === undefined, member }, max, clamped);
    try {
      await handle.#start();
    } catch (e) {
      handle.#leaveLedger();
      throw e;
    }
    handle.#started = true;
    return handle;
  }

  /** This version no longer charges or hears the plugin's ledger (and disposes it if it owns it). */
  #leaveLedger(): void {
    this.#member.leave();
    if (this.#ownsLedger) this.#ledger.dispose();
  }

  /** The operator's approval the plugin was loaded with (revoke or renew it here), or null. */
  get consent(): ConsentGate | null {
    return this.#o.consent ?? null;
  }

  /** Whether the plugin is quarantined now. */
  get quarantined(): boolean {
    return this.#ledger.quarantined;
  }

  /** CPU the plugin used in its cpuMsPerMinute window (last 60 s), across versions and restarts, ms. */
  get cpuUsedMs(): number {
    return this.#ledger.cpuUsedMs;
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

  /** The engine the plugin runs in now, for operators (null while it has none). */
  get engine(): PluginEngine | null {
    const e = this.#process.engine;
    return e === null ? null : { ...e, pid: this.#process.pid, alone: this.#process.runsAlone };
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
    this.#ledger.release();
  }

  /** Refuse `name`() while the plugin is quarantined or has spent its CPU budget. */
  #refuse(name: string): void {
    this.#ledger.refuseIfQuarantined(name);
    this.#ledger.refuseIfOverBudget(name, this.#spec.limits.cpuMsPerMinute);
  }

  #starting: Promise<void> | null = null;
  // Loaded once: before that a failure is the load's own error, not a reason to restart.
  #started = false;

  /** Load the plugin into an engine (once at a time: concurrent callers wait for the same load). */
  #start(restart = false): Promise<void> {
    this.#starting ??= this.#load(restart).finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  /** After a co-tenant brought the engine down: load the plugin again now, not on its next call (its channel subscriptions come back with onLoad). */
  restartSoon(): void {
    this.#recover("its engine was restarted");
  }

  async #load(restart: boolean): Promise<void> {
    try {
      // The new sandbox process starts with what the plugin spent in the window so far.
      const { entries, hooks, unresolvedExec } = await this.#process.load({ ...this.#spec, cpuHistory: this.#ledger.cpuHistory() });
      this.#entries = entries;
      this.#hooks = hooks;
      if (!restart) for (const field of unresolvedExec) this.#logger.warn(`plugin.json ${field}: the command is not on the host's PATH, so this grant allows nothing`);
    } catch (e) {
      // A restart that failed is tried again: the plugin's subscriptions and the messages queued
      // for it stay on the bus meanwhile.
      await this.#process.close(1000, restart && !this.#closed);
      throw toWardenError(e);
    }
  }

  // Eager recovery (issue 17). The restart in progress (its backoff, then the load), if one is.
  #recovery: Promise<void> | null = null;
  // Why the plugin is being restarted (for status()).
  #restartCause: string | null = null;
  // Restarts since a call or a delivery last succeeded: the backoff grows with it.
  #attempt = 0;
  // A limit or a crash was counted while a restart attempt ran (so its failure is not counted twice).
  #failedMeanwhile = false;
  #restarts = 0;
  // Ends the backoff wait early (close).
  #wake: (() => void) | null = null;

  /** The plugin hit a limit or crashed: it is rebuilt now (or after its backoff), unless quarantined. */
  #failed(cause: string): void {
    this.#failedMeanwhile = true;
    this.#recover(cause);
  }

  /** The quarantine ended (the operator, or time): a plugin that is down is rebuilt now, without its backoff. */
  #released(): void {
    this.#attempt = 0;
    this.#recover("released from quarantine");
  }

  /** A call or a delivery succeeded: the next restart, if one is needed, is immediate again. */
  #worked(): void {
    this.#attempt = 0;
  }

  /** Start restarting the plugin if it is down and nothing is restarting it yet (`cause`: the failure the next attempt answers). */
  #recover(cause: string): void {
    if (this.#closed || !this.#started || this.#process.alive) return;
    this.#restartCause = cause;
    this.#recovery ??= this.#recoverLoop();
  }

  /** Restart until the plugin is back, quarantined (release() or the end of the quarantine starts again) or closed. */
  async #recoverLoop(): Promise<void> {
    // #recover stores this promise before the loop looks at anything.
    await Promise.resolve();
    const policy: RestartPolicy = { ...DEFAULT_RESTART, ...this.#o.restart };
    try {
      // The plugin can fail again between its load and this loop's next look (a message waiting
      // for it kills it at once): the condition is checked again, never an early return.
      while (!this.#closed && !this.#process.alive && !this.#ledger.quarantined) await this.#restartOnce(policy);
    } finally {
      // In the same turn as the last look: a failure reported after it starts a new loop.
      this.#recovery = null;
    }
  }

  /** One restart: the backoff, then the load; a failure is counted (unless reported already) and left to the loop. */
  async #restartOnce(policy: RestartPolicy): Promise<void> {
    const cause = this.#restartCause ?? "a failure";
    // Loading runs plugin code, which a spent CPU budget refuses: a restart waits for the window.
    const delayMs = Math.max(restartDelayMs(this.#attempt, policy), Math.ceil(this.#ledger.msUntilBudget(this.#spec.limits.cpuMsPerMinute)));
    this.#attempt++;
    this.#o.onEvent?.({ type: "restarting", plugin: this.id, cause, attempt: this.#attempt, delayMs });
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = (this.#o.clock ?? systemClock).after(delayMs, resolve);
        this.#wake = () => {
          timer.cancel();
          resolve();
        };
      });
      this.#wake = null;
      if (this.#closed || this.#ledger.quarantined) return;
    }
    const t0 = performance.now();
    this.#failedMeanwhile = false;
    try {
      await this.#start(true);
      this.#restarts++;
      const ms = performance.now() - t0;
      this.#o.audit.append({ type: "restart", plugin: this.id, attempt: this.#attempt, cause: clipText(cause) });
      this.#logger.info({ attempt: this.#attempt }, `restarted after ${escapeText(cause)}`);
      this.#o.onEvent?.({ type: "restarted", plugin: this.id, attempt: this.#attempt, ms });
    } catch (e) {
      const err = toWardenError(e);
      const failure = `restart failed: ${err.code}: ${err.message}`;
      this.#logger.warn(escapeText(failure));
      // A limit or a crash during the restart was counted (and is the cause) when it was
      // reported; a co-tenant's crash and a spent CPU budget (which time cures) are not the
      // plugin failing.
      if (!this.#failedMeanwhile) {
        this.#restartCause = failure;
        if (err.code !== "ENGINE_RESTARTED" && err.details["budget"] !== true) this.#ledger.failed(failure);
      }
    }
  }

  /** Whether the plugin is being restarted now (after a limit, a crash or its engine's restart). */
  get restarting(): boolean {
    return this.#recovery !== null && !this.#process.alive && !this.#ledger.quarantined;
  }

  /** Why the plugin is restarting or quarantined now, or null. */
  get condition(): string | null {
    return this.#ledger.reason ?? (this.restarting ? `restarting after ${this.#restartCause ?? "a failure"}` : null);
  }

  /** Restarts that brought the plugin back (after limits, crashes, engine restarts). */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Wait (at most `waitMs`) until the plugin is loaded: a restart in progress, or one started now.
   * Refused as soon as the plugin is quarantined or closed.
   */
  async #running(name: string, waitMs: number): Promise<void> {
    const deadline = performance.now() + waitMs;
    while (!this.#process.alive) {
      if (this.#closed) throw new PluginError(`plugin ${this.id} is closed`, { pluginId: this.id });
      this.#refuse(name);
      this.#recover("a call needed it");
      // The backoff paces restarts nobody waits for; a caller waiting ends it (as a call rebuilt
      // the isolate before eager recovery). A plugin failing on every call is still bounded by
      // its quarantine.
      this.#wake?.();
      const recovery = this.#recovery;
      // Not restartable now (not loaded yet): the call goes on and fails as the sandbox says.
      if (recovery === null) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new TimeoutError(`plugin ${this.id} is restarting (${this.#restartCause ?? "after a failure"}) and was not back within ${waitMs} ms; ${name}() was not run`, {
          pluginId: this.id,
          entry: name,
          // A calling plugin is told the state, not the cause (host/callee-errors.ts).
          restarting: true,
        });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([recovery, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
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
      throw new EntryNotFoundError(`plugin ${this.id} has no entry ${quote(name)}; its entries are: ${this.#entries.length > 0 ? this.#entries.join(", ") : "(none)"}`, {
        pluginId: this.id,
        entry: name,
      });
    }
    const checked = this.#entrySpecs.validate(name, input);
    // Checked and turned into JSON once, here: the sandbox receives the text.
    const inputJson = checked === undefined ? undefined : toJsonText(checked);
    // An entry's own timeoutMs is capped by the host's maximum too (clamped at load, with a warning).
    const asked = this.#entrySpecs.timeoutMs(name);
    const timeoutMs = asked === undefined ? undefined : Math.min(asked, this.#maxTimeoutMs);
    const caller = opts.caller ?? "host";
    this.#refuse(name);
    const t0 = performance.now();
    try {
      const { value, cpuNs } = await this.#gate.run(async () => {
        this.#refuse(name);
        // A plugin being restarted (after a limit, a crash) is waited for, within the call's own timeout.
        await this.#running(name, timeoutMs ?? this.#spec.limits.timeoutMs);
        return this.#process.invoke(name, inputJson, (timeoutMs ?? this.#spec.limits.timeoutMs) * 2, { caller, chain: opts.chain ?? [this.id], ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      }, caller);
      this.#ledger.succeeded();
      this.#worked();
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
    this.#refuse(name);
    await this.#running(name, timeoutMs);
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
    // A restart in progress may have started with the previous config: it is waited for, then told.
    // (A quarantined plugin gets the new config when it is rebuilt.)
    await this.#running("onConfigChange", this.#spec.limits.timeoutMs).catch(() => undefined);
    if (this.#process.alive) await this.#process.config(next, this.#spec.limits.timeoutMs);
    return next;
  }

  /** Run onUnload (bounded by timeoutMs), then end the sandbox process. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A restart waiting for its backoff stops; one loading finishes first, so that close ends it.
    this.#wake?.();
    await this.#starting?.catch(() => undefined);
    await this.#process.close(this.#spec.limits.timeoutMs);
    this.#leaveLedger();
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
