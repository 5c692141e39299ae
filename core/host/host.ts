// The embeddable host: discovers plugins, loads them in dependency order, routes calls (from the
// application and between plugins), applies config, reloads transactionally, polls health, and
// reports every lifecycle step as an event with an authoritative reason.
import { EnginePool, type EngineInfo, type SandboxMode } from "../runtime/engine-pool.ts";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { memoryAuditLog, observedAuditWriter, openAuditLog, type AuditRecordInput, type AuditWriter } from "../audit/audit-log.ts";
import { GrantUsageTally, tallyingAuditWriter, type PluginUsage } from "../audit/grant-usage.ts";
import { ChannelBus } from "../channels/bus.ts";
import type { Concurrency } from "../containment/call-gate.ts";
import { PluginLedger } from "../containment/ledger.ts";
import type { QuarantinePolicy } from "../containment/quarantine.ts";
import { DEFAULTS, systemClock, type Clock, type ClockTimer } from "../../defaults/index.ts";
import { checkHostOptions } from "../options.ts";
import { escapeFields, escapeStrings, escapeText, quote, BadInputError, DependencyError, PluginError, toWardenError, type ErrorDescriptor, type WardenError } from "../../errors/index.ts";
import { limitPolicy, type ClampedLimit, type PluginLimits, type ProcessLimits, type RestartPolicy } from "../limits.ts";
import { createDefaultLogger, type Logger } from "../logger.ts";
import { effectiveLimits, loadPlugin, type LoadPluginOptions, type PluginEngine, type PluginHandle } from "../plugin.ts";
import type { Isolation } from "../runtime/plugin-slot.ts";
import { WARDEN_VERSION } from "../version.ts";
import { readManifest, type LoadedManifest, discoverPlugins } from "../../manifests/index.ts";
import { calleeErrorForCaller } from "./callee-errors.ts";
import { dependentsOf, planDependencies, type DependencyNode } from "./dependency-order.ts";
import { reloadTransaction } from "./reload.ts";
import { newHostEntry, type HostEntry, type HostEvent, type PluginHealth, type PluginState } from "./host-entry.ts";
import { HostConsent, type ApprovalMode } from "./host-consent.ts";
import { approvalRequired, samePermissions } from "../consent/consent-verdict.ts";
import { approveGrants, currentUser, denyGrants, revokeGrants, type ApproveOptions } from "../consent/grant-decisions.ts";
import type { Approval } from "../consent/approvals-file.ts";
import { APPROVALS_FILE } from "../install/names.ts";
import { installedDir, placeOf, unmetDependency } from "./load-one.ts";

// The host's events and states are part of its API; they are declared beside the entry they describe.
export type { HostEvent, PluginState } from "./host-entry.ts";

/** How to create a host. */
export type HostOptions = {
  /** The directory whose subdirectories are plugins (each with a plugin.json). */
  readonly pluginsDir: string;
  /** An audit log file path, or a writer; default: in memory. */
  readonly auditLog?: string | AuditWriter;
  /**
   * A secret (at least 32 characters) the audit log file is keyed with: each record's hash is an
   * HMAC-SHA256 under it, and the log gets open and close records (docs/security.md, "Audit log").
   * Verify it with `WARDEN_AUDIT_KEY=… warden audit <file>`. Only with `auditLog` as a file path.
   */
  readonly auditKey?: string;
  readonly logger?: Logger;
  /** Limits for what a manifest leaves out (each at most its maxLimits, else BAD_INPUT); the rest are DEFAULTS.limits. */
  readonly defaults?: { readonly limits?: Partial<ProcessLimits> };
  /**
   * The most any manifest may ask for, per limit; a manifest asking for more is clamped, with a
   * warning and a note in its audit grant record. Default: DEFAULT_MAX_LIMITS (core/limits.ts).
   */
  readonly maxLimits?: Partial<PluginLimits>;
  /** Config per plugin id; otherwise `<pluginsDir>/<id>.config.json` is read if it exists. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Reload a plugin when its plugin.json or a module file changes (debounced). */
  readonly watch?: boolean;
  /** How often `health` is called, ms (default DEFAULTS.host.healthIntervalMs, 30 000; 0 disables). */
  readonly healthIntervalMs?: number;
  /** onLoad's budget, ms (default DEFAULTS.host.startupTimeoutMs, 10 000; NEKO-19). */
  readonly startupTimeoutMs?: number;
  readonly concurrency?: Partial<Concurrency>;
  readonly quarantine?: Partial<QuarantinePolicy>;
  /** How a plugin that hit a limit or crashed is restarted (default DEFAULT_RESTART: at once, then 250 ms doubling to 30 s while it keeps failing). */
  readonly restart?: Partial<RestartPolicy>;
  /** Longest chain of plugin-to-plugin calls (default DEFAULTS.host.maxCallDepth, 4). */
  readonly maxCallDepth?: number;
  /**
   * "engine" (default): plugins in supervised engine processes, shared under the placement policy
   * (README, "Isolation"); "dedicated": an engine per plugin; "in-process": faster and lighter, but
   * see docs/security.md.
   */
  readonly isolation?: Isolation;
  /** Plugins per shared engine (default DEFAULTS.host.maxPluginsPerEngine, 64). */
  readonly maxPluginsPerEngine?: number;
  /** Engines kept started ahead, so that a crashed engine's co-tenants come back at once (default DEFAULTS.host.spareEngines, 1; 0: none). */
  readonly spareEngines?: number;
  /**
   * The OS sandbox of engines (bubblewrap, Linux): "auto" uses it when it works here and warns once
   * when it does not; "require" refuses to start without it; "off". Default: WARDEN_SANDBOX, else "auto".
   */
  readonly sandbox?: SandboxMode;
  /** A bus to share with the application; default: a new one (`host.bus`). */
  readonly bus?: ChannelBus;
  /** Bounds on the audit records each plugin causes (see LoadPluginOptions.auditLimits). */
  readonly auditLimits?: LoadPluginOptions["auditLimits"];
  /**
   * "required": a plugin loads only with grants an operator approved (warden-approvals.json in
   * pluginsDir; `warden grants`, or host.approve), otherwise it is "pending"; an update asking for
   * more stays pending while the approved version keeps running. "off" (default): plugins get
   * what their manifests ask for (a reload still may not widen it).
   */
  readonly approvals?: ApprovalMode;
  /** Called with every audit record once written (metrics, a console); a throw is logged, never the plugin's. */
  readonly onAudit?: (record: AuditRecordInput) => void;
  /**
   * The time the host's policies run on: restart backoff, quarantine, spare engines, denial
   * windows, approval expiry, the watcher's debounce. Default: the system clock. For tests of
   * those timers (test/helpers/manual-clock.ts moves time by hand); a call's CPU and wall-clock
   * limits are always real time.
   */
  readonly clock?: Clock;
};

/** A plugin's standing with the operator (approvals "required" only). */
export type PluginApproval = {
  /** approved, expired (approved, past its expiry: every capability call denied), pending, denied, revoked. */
  readonly state: "approved" | "expired" | "pending" | "denied" | "revoked";
  /** The decision on record: the version and plugin.json hash it is pinned to, who and when. */
  readonly version: string | null;
  readonly manifestSha256: string | null;
  readonly by: string | null;
  readonly at: string | null;
  readonly expires: string | null;
  readonly quotas: Approval["quotas"];
};

/** What `status()` says about one plugin. */
export type PluginStatus = {
  readonly id: string;
  readonly dir: string;
  readonly version: string | null;
  readonly state: PluginState;
  /** Why the plugin is in this state (failed, stopped, reload refused...). */
  readonly reason: string | null;
  readonly health: PluginHealth;
  readonly entries: readonly string[];
  /** The limits the plugin runs under: its manifest's, capped by the host's maxLimits. */
  readonly limits: ProcessLimits | null;
  /** Limits its manifest asked more of than maxLimits allows, and what it got instead. */
  readonly limitsClamped: readonly ClampedLimit[];
  /** CPU the plugin used in the last 60 s (its limits.cpuMsPerMinute window), across reloads and restarts, ms. */
  readonly cpuUsedMs: number;
  /**
   * `restarts`: times it came back after a limit, a crash or an engine restart; `dropped`: channel
   * messages for it that did not fit its bounded queues (it was slow, or down) and were dropped.
   */
  readonly counters: {
    readonly calls: number;
    readonly errors: number;
    readonly denials: number;
    readonly limitHits: number;
    readonly cpuMs: number;
    readonly restarts: number;
    readonly dropped: number;
  };
  readonly load: { readonly running: number; readonly queued: number };
  /** The engine the plugin runs in now (null while it has none); `alone` says why it does not share one. */
  readonly engine: PluginEngine | null;
  /** Its approval, with approvals "required" (null with approvals off). */
  readonly approval: PluginApproval | null;
  /** A newer version on disk that waits for approval while this one runs: its version and why. */
  readonly pendingUpdate: { readonly version: string; readonly reason: string } | null;
  /** Why every grant of the plugin is stopped (host.revoke, or a revoked or denied approval), or null. */
  readonly revoked: string | null;
  /**
   * With an audit log given: per grant rule of the version it runs (or would run), uses and last
   * use since the host started, the denials, the rules never used and the smaller permissions that
   * would have sufficed (the figures of `warden grants usage`); null without one.
   */
  readonly grantUsage: PluginUsage | null;
};

/** A per-plugin result of invokeAll. */
export type InvokeAllResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ErrorDescriptor };

const WATCHED = /(^plugin\.json$|\.m?[jt]s$)/;

/** An embedded warden host. Create it with `createHost`. */
export class Host {
  readonly bus: ChannelBus;
  readonly #o: HostOptions;
  readonly #dir: string;
  readonly #audit: AuditWriter;
  readonly #ownsAudit: boolean;
  readonly #logger: Logger;
  readonly #emitter = new EventEmitter();
  readonly #plugins = new Map<string, HostEntry>();
  #watcher: FSWatcher | null = null;
  #topWatcher: FSWatcher | null = null;
  readonly #engines: EnginePool;
  #healthTimer: NodeJS.Timeout | null = null;
  readonly #debounce = new Map<string, ClockTimer>();
  readonly #clock: Clock;
  readonly #reloading = new Map<string, Promise<void>>();
  readonly #maxLimits: PluginLimits;
  // Quarantine and CPU budget per plugin id, kept for the host's life: reloads, restarts and an
  // unload followed by a load all find the same record (only release() or time clears them).
  readonly #ledgers = new Map<string, PluginLedger>();
  #closed = false;
  // loadAll and load run one at a time, in call order, so that each sees every entry the previous
  // one registered and none sees a half-registered one; close() waits for the one running.
  #tail: Promise<void> = Promise.resolve();
  #loadAllCalled = false;
  readonly #consent: HostConsent;
  readonly #usage: GrantUsageTally | null;

  constructor(o: HostOptions) {
    checkHostOptions(o);
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#engines = new EnginePool({
      clock: this.#clock,
      ...(o.maxPluginsPerEngine !== undefined ? { maxPluginsPerEngine: o.maxPluginsPerEngine } : {}),
      spareEngines: o.spareEngines ?? DEFAULTS.host.spareEngines,
      ...(o.sandbox !== undefined ? { sandbox: o.sandbox } : {}),
      onWarning: (m) => this.#logger.warn(m),
    });
    this.#maxLimits = limitPolicy(o.defaults?.limits, o.maxLimits, "createHost");
    this.#dir = resolve(o.pluginsDir);
    this.#ownsAudit = typeof o.auditLog === "string";
    if (o.auditKey !== undefined && typeof o.auditLog !== "string")
      throw new BadInputError("createHost: auditKey keys the audit log file warden writes; give auditLog as a file path too", { field: "auditKey" });
    const audit = typeof o.auditLog === "string" ? openAuditLog(o.auditLog, undefined, { key: o.auditKey }) : (o.auditLog ?? memoryAuditLog());
    // Given an audit log, the host keeps the figures `warden grants usage` would read from it.
    this.#usage = o.auditLog !== undefined ? new GrantUsageTally() : null;
    const tallied = this.#usage !== null ? tallyingAuditWriter(audit, this.#usage) : audit;
    this.#audit = o.onAudit !== undefined ? observedAuditWriter(tallied, o.onAudit, (e) => this.#logger.error(`an onAudit observer threw: ${escapeText(String(e))}`)) : tallied;
    this.#logger = o.logger ?? createDefaultLogger();
    const mode = o.approvals ?? "off";
    if (mode !== "off" && mode !== "required") throw new BadInputError(`createHost: approvals must be "required" or "off", got ${JSON.stringify(mode)}`, { field: "approvals" });
    this.#consent = new HostConsent({ pluginsDir: this.#dir, mode, audit: this.#audit, logger: this.#logger, clock: this.#clock });
    this.bus =
      o.bus ??
      new ChannelBus({
        onDeliveryError: (owner, topic, e) => {
          this.#logger.warn({ plugin: owner }, `channel handler for ${escapeText(topic)} failed: ${escapeText(toWardenError(e).message)}`);
          this.#emit({ type: "error", plugin: owner, message: `channel handler for ${topic} failed: ${toWardenError(e).message}` });
        },
      });
  }

  /** Listen to lifecycle, invoke, denied, limit, quarantine, health and error events. */
  on(event: "event", listener: (e: HostEvent) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  /** Stop listening. */
  off(event: "event", listener: (e: HostEvent) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  /** Escape an event's text (plugin text may be in it), count it and hand it to the listeners. */
  #emit(e: HostEvent): void {
    this.#deliver(escapeFields(e));
  }

  /** Count an event and hand it to the listeners; its text is escaped already (a PluginHandle's events are). */
  #deliver(e: HostEvent): void {
    const entry = this.#plugins.get(e.plugin);
    if (entry) {
      if (e.type === "invoke") {
        entry.counters.calls++;
        entry.counters.cpuMs += e.cpuMs;
        if (!e.ok) entry.counters.errors++;
      } else if (e.type === "denied") entry.counters.denials += e.count;
      else if (e.type === "limit") entry.counters.limitHits++;
      else if (e.type === "restarted") entry.counters.restarts++;
      else if (e.type === "dropped") entry.counters.dropped += e.count;
    }
    try {
      this.#emitter.emit("event", e);
    } catch (err) {
      this.#logger.error(`an event listener threw: ${escapeText(String(err))}`);
    }
  }

  /** Run `task` after every load and loadAll called before it has settled. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Discover every plugin under pluginsDir and load the valid ones in dependency order. Called
   * again, it loads what was added since and retries what failed; plugins already loaded, loading
   * or stopped by the operator are left as they are.
   */
  loadAll(): Promise<PluginStatus[]> {
    if (this.#closed) return Promise.reject(new PluginError(`host.loadAll(): the host over ${this.#dir} is closed; create a new host`));
    this.#loadAllCalled = true;
    return this.#serial(() => this.#loadAll());
  }

  /** Whether loadAll leaves `id` alone: it has an entry that is not a failure to retry. */
  #settled(id: string): boolean {
    const e = this.#plugins.get(id);
    return e !== undefined && e.state !== "failed" && e.state !== "pending";
  }

  async #loadAll(): Promise<PluginStatus[]> {
    if (this.#closed) return this.status();
    // An approvals file warden cannot read stops the load, loudly: nothing is loaded on its word.
    await this.#consent.read();
    const found = await discoverPlugins(this.#dir, WARDEN_VERSION);
    for (const r of found.rejected) {
      const id = r.id ?? basename(r.dir);
      // A broken copy of a plugin that runs does not replace its status (it is reported all the same).
      if (this.#settled(id)) {
        if (this.#plugins.get(id)?.dir !== r.dir) this.#emit({ type: "load-failed", plugin: id, dir: r.dir, code: r.code, reason: r.reason });
        continue;
      }
      this.#plugins.set(id, newHostEntry(id, r.dir, null, "failed", r.reason));
      this.#logger.error({ plugin: id }, escapeText(r.reason));
      this.#emit({ type: "load-failed", plugin: id, dir: r.dir, code: r.code, reason: r.reason });
    }
    // A plugin depending on a rejected (e.g. duplicate) id sees it as missing (MAI-27).
    const nodes: DependencyNode[] = [...found.found.values()].map((l) => ({ id: l.manifest.id, version: l.manifest.version, dependencies: l.manifest.dependencies ?? {} }));
    const plan = planDependencies(nodes);
    for (const [id, reason] of plan.failed) {
      if (this.#settled(id)) continue;
      const l = found.found.get(id) as LoadedManifest;
      const err = new DependencyError(`plugin ${id} ${reason}`, { pluginId: id });
      this.#plugins.set(id, newHostEntry(id, l.dir, l, "failed", err.message));
      this.#logger.error({ plugin: id }, escapeText(err.message));
      this.#emit({ type: "load-failed", plugin: id, dir: l.dir, code: err.code, reason: err.message });
    }
    for (const id of plan.order) {
      if (this.#settled(id)) continue;
      const l = found.found.get(id) as LoadedManifest;
      // A dependency that failed to start fails its dependents, with the reason.
      const broken = Object.keys(l.manifest.dependencies ?? {}).find((d) => this.#plugins.get(d)?.state !== "active");
      if (broken !== undefined) {
        const err = new DependencyError(`plugin ${id} depends on ${broken}, which is not active: ${this.#plugins.get(broken)?.reason ?? "unknown"}`, { pluginId: id });
        this.#plugins.set(id, newHostEntry(id, l.dir, l, "failed", err.message));
        this.#emit({ type: "load-failed", plugin: id, dir: l.dir, code: err.code, reason: err.message });
        continue;
      }
      await this.#start(id, l);
    }
    this.#startHealthChecks();
    if (this.#o.watch) this.#startWatching();
    return this.status();
  }

  #configFor(id: string): unknown {
    if (this.#o.config && Object.hasOwn(this.#o.config, id)) return this.#o.config[id];
    const file = join(this.#dir, `${id}.config.json`);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new BadInputError(`plugin ${id}: ${file} is not valid JSON: ${(e as Error).message}`, { pluginId: id, field: "config" });
    }
  }

  #ledgerFor(id: string): PluginLedger {
    let ledger = this.#ledgers.get(id);
    if (ledger === undefined) {
      ledger = new PluginLedger({
        pluginId: id,
        audit: this.#audit,
        logger: this.#logger.child({ plugin: id }),
        ...(this.#o.quarantine ? { quarantine: this.#o.quarantine } : {}),
        onEvent: (e) => this.#emit(e),
        clock: this.#clock,
      });
      this.#ledgers.set(id, ledger);
    }
    return ledger;
  }

  /** Load one plugin (a new sandbox) without touching the running version. */
  async #spawn(id: string, l: LoadedManifest, staged = false): Promise<PluginHandle> {
    return loadPlugin(l.dir, {
      staged,
      manifest: l,
      audit: this.#audit,
      logger: this.#logger,
      bus: this.bus,
      config: this.#configFor(id),
      startupTimeoutMs: this.#o.startupTimeoutMs ?? DEFAULTS.host.startupTimeoutMs,
      ...(this.#o.defaults?.limits ? { defaultLimits: this.#o.defaults.limits } : {}),
      maxLimits: this.#maxLimits,
      ...(this.#o.auditLimits ? { auditLimits: this.#o.auditLimits } : {}),
      // Other plugins' manifests, code and configs, and the audit log, are the host's: no write
      // grant of any plugin covers them (a plugin with write: true could otherwise rewrite a
      // neighbour's code, which a reload would then run with the neighbour's permissions).
      hostFiles: { pluginsDir: this.#dir, ...(typeof this.#o.auditLog === "string" ? { files: [resolve(this.#o.auditLog)] } : {}) },
      ledger: this.#ledgerFor(id),
      consent: this.#consent.gateFor(id),
      ...(this.#o.concurrency ? { concurrency: this.#o.concurrency } : {}),
      ...(this.#o.restart ? { restart: this.#o.restart } : {}),
      ...(this.#o.isolation ? { isolation: this.#o.isolation } : {}),
      enginePool: this.#engines,
      clock: this.#clock,
      // loadPlugin escapes its events before they reach here: counted and delivered as they are.
      onEvent: (e) => this.#deliver(e),
      onPluginCall: (caller, target, entry, input, chain) => this.#pluginCall(caller, target, entry, input, chain),
    });
  }

  /** Register and start one plugin; a failure is its status and event (and the return value), never a throw. */
  async #start(id: string, found: LoadedManifest): Promise<WardenError | null> {
    const entry = newHostEntry(id, found.dir, found, "loading", null);
    this.#plugins.set(id, entry);
    const t0 = performance.now();
    let l = found;
    try {
      const admitted = await this.#consent.admit(found);
      if (!admitted.ok) {
        entry.state = "pending";
        entry.reason = admitted.verdict.reason;
        this.#logger.warn({ plugin: id }, escapeText(entry.reason));
        this.#emit({ type: "pending", plugin: id, version: found.manifest.version, reason: entry.reason });
        return approvalRequired(id, entry.reason);
      }
      l = admitted.manifest;
      entry.manifest = l;
      entry.baseline = l.manifest;
      entry.handle = await this.#spawn(id, l);
      entry.state = "active";
      this.#emit({ type: "load", plugin: id, version: l.manifest.version, ms: performance.now() - t0 });
      return null;
    } catch (e) {
      const err = toWardenError(e);
      entry.state = "failed";
      entry.reason = `${err.code}: ${err.message}`;
      this.#logger.error({ plugin: id }, escapeText(entry.reason));
      this.#emit({ type: "load-failed", plugin: id, dir: l.dir, code: err.code, reason: err.message });
      return err;
    }
  }

  /**
   * Add one plugin to the running host, as loadAll would have loaded it; resolves to its status.
   * `dir` must be a directory directly inside pluginsDir. Rejects, changing nothing, when the host
   * is closed or loadAll was not called, the directory is elsewhere or holds no valid plugin.json,
   * or the id or directory is already the host's. Dependencies must already be active: when one is
   * not, or the plugin fails to start, it is registered as failed with the reason (as loadAll does)
   * and the promise rejects with that error; host.reload(id) retries it.
   */
  load(dir: string): Promise<PluginStatus> {
    if (!this.#closed && !this.#loadAllCalled) {
      return Promise.reject(new PluginError("host.load(dir) adds a plugin to a running host: call host.loadAll() first", { pluginDir: resolve(dir) }));
    }
    return this.#serial(() => this.#loadOne(dir));
  }

  async #loadOne(dir: string): Promise<PluginStatus> {
    const closed = () => new PluginError(`host.load(${quote(dir)}): the host is closed`, { pluginDir: resolve(dir) });
    if (this.#closed) throw closed();
    const l = await readManifest(await installedDir(this.#dir, dir), WARDEN_VERSION);
    const id = l.manifest.id;
    const placeholder = placeOf(this.#plugins, l);
    // A dependency being reloaded is judged by the version that reload leaves running.
    await Promise.allSettled(Object.keys(l.manifest.dependencies ?? {}).flatMap((d) => this.#reloading.get(d) ?? []));
    if (this.#closed) throw closed();
    if (placeholder !== null) this.#plugins.delete(placeholder);
    const unmet = unmetDependency(this.#plugins, this.#nodes(), l.manifest);
    if (unmet !== null) {
      const err = new DependencyError(`plugin ${id} ${unmet}; host.load does not load dependencies: once they are active at a matching version, host.reload("${id}") starts it`, {
        pluginId: id,
        pluginDir: l.dir,
      });
      this.#plugins.set(id, newHostEntry(id, l.dir, l, "failed", err.message));
      this.#logger.error({ plugin: id }, escapeText(err.message));
      this.#emit({ type: "load-failed", plugin: id, dir: l.dir, code: err.code, reason: err.message });
      throw err;
    }
    const failed = await this.#start(id, l);
    if (failed !== null) throw failed;
    // close() waited for this load and now stops the plugin with the others.
    if (this.#closed) throw new PluginError(`plugin ${id} loaded while the host was closing, and is stopped with it`, { pluginId: id, pluginDir: l.dir });
    return this.status().find((p) => p.id === id) as PluginStatus;
  }

  #active(id: string): { entry: HostEntry; handle: PluginHandle } {
    const entry = this.#plugins.get(id);
    if (entry === undefined) throw new PluginError(`no plugin ${id} is known to this host; plugins: ${[...this.#plugins.keys()].join(", ") || "(none)"}`, { pluginId: id });
    if (entry.state !== "active" || entry.handle === null) {
      throw new PluginError(`plugin ${id} is ${entry.state}${entry.reason ? `: ${entry.reason}` : ""}`, { pluginId: id, state: entry.state });
    }
    return { entry, handle: entry.handle };
  }

  /** Call an entry of a plugin; resolves to its value or rejects with a coded WardenError. */
  async invoke(id: string, entry: string, input?: unknown): Promise<unknown> {
    return this.#active(id).handle.invoke(entry, input);
  }

  /**
   * Call `entry` on every active plugin that exports it, concurrently; one plugin's failure or
   * timeout never delays or fails the others (total time ≈ the slowest plugin).
   */
  async invokeAll(entry: string, input?: unknown): Promise<Map<string, InvokeAllResult>> {
    const targets = [...this.#plugins.values()].filter((e) => e.state === "active" && e.handle?.entries.includes(entry));
    const settled = await Promise.allSettled(targets.map((e) => (e.handle as PluginHandle).invoke(entry, input)));
    const out = new Map<string, InvokeAllResult>();
    targets.forEach((e, i) => {
      const r = settled[i] as PromiseSettledResult<unknown>;
      out.set(e.id, r.status === "fulfilled" ? { ok: true, value: r.value } : { ok: false, error: toWardenError(r.reason).toDescriptor() });
    });
    return out;
  }

  /**
   * A plugin's call into another (its grant was checked by its bridge). `chain` is the chain of
   * plugin calls that led to the caller, ending with it; the error of a chain too long names it.
   */
  async #pluginCall(caller: string, target: string, entry: string, input: unknown, chain: readonly string[]): Promise<unknown> {
    const max = this.#o.maxCallDepth ?? DEFAULTS.host.maxCallDepth;
    const next = [...chain, target];
    if (next.length - 1 > max) {
      throw new PluginError(
        `Warden.plugins.call(): ${next.join(" → ")}.${entry}() would be call number ${next.length - 1} in one chain, more than ${max}; plugins calling each other must not recurse without end (the host's maxCallDepth)`,
        { pluginId: caller, chain: next },
      );
    }
    const e = this.#plugins.get(target);
    // The caller learns that the plugin is not there, never why (a failure's text, paths, another
    // plugin's config) nor which other plugins the host has: that is the operator's (status()).
    if (e?.state !== "active" || e.handle === null) {
      throw new PluginError(
        `Warden.plugins.call(): plugin ${target} is not available (${e === undefined ? "not loaded by this host" : e.state}); ${caller} cannot call ${target}.${entry}() until the operator loads it`,
        { pluginId: caller, target, state: e?.state ?? "unknown" },
      );
    }
    // The callee's own answer reaches the caller as it was; its state (quarantined, restarting,
    // its engine restarted) only as a state, as above.
    return e.handle.invoke(entry, input, { caller, chain: next }).catch((err: unknown) => {
      throw calleeErrorForCaller(err, caller, target, entry);
    });
  }

  /** Validate and apply a new config; an invalid one changes nothing (MAI-33). */
  async updateConfig(id: string, config: unknown): Promise<unknown> {
    const { handle } = this.#active(id);
    const next = await handle.updateConfig(config);
    this.#emit({ type: "config", plugin: id });
    return next;
  }

  /** Re-enable a quarantined plugin now. */
  release(id: string): void {
    this.#active(id).handle.release();
  }

  /**
   * Reload a plugin and its dependents (MAI-36) transactionally: the new versions are loaded and
   * health-checked beside the old ones, then all switched at once; if anything fails, the old
   * versions keep serving and the status says why (MAI-37, MAI-39; never unload first, LURK-19).
   */
  reload(id: string): Promise<void> {
    if (this.#closed) return Promise.reject(new PluginError(`host.reload("${id}"): the host is closed; create a new host`, { pluginId: id }));
    // A plugin still loading is reloaded once its load settled: a reload beside a half-started
    // sandbox would leave one of the two running and owned by no entry.
    if (this.#plugins.get(id)?.state === "loading") return this.#tail.then(() => this.reload(id));
    const running = this.#reloading.get(id);
    // Queued behind the reload in progress, whatever its outcome: that one may have read a file
    // still being written, and this one is the caller's own request.
    if (running)
      return running.then(
        () => this.reload(id),
        () => this.reload(id),
      );
    const p = reloadTransaction(
      {
        entries: this.#plugins,
        logger: this.#logger,
        emit: (e) => this.#emit(e),
        nodes: () => this.#nodes(),
        spawn: (target, manifest, staged) => this.#spawn(target, manifest, staged),
        retire: (handle) => this.#retire(handle),
        limitsOf: (manifest) => effectiveLimits(manifest, this.#o.defaults?.limits, this.#maxLimits),
        ...(this.#consent.required ? { admit: (manifest: LoadedManifest) => this.#consent.admit(manifest) } : {}),
      },
      id,
    ).finally(() => this.#reloading.delete(id));
    this.#reloading.set(id, p);
    return p;
  }

  /** Let calls in flight on an old version finish (bounded by its timeout), then close it. */
  async #retire(handle: PluginHandle): Promise<void> {
    const deadline = Date.now() + handle.limits.timeoutMs;
    while ((handle.load.running > 0 || handle.load.queued > 0 || handle.pending > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await handle.close();
  }

  #nodes(): DependencyNode[] {
    return [...this.#plugins.values()]
      .filter((e) => e.manifest !== null)
      .map((e) => ({
        id: e.id,
        version: e.manifest?.manifest.version ?? "0.0.0",
        dependencies: e.manifest?.manifest.dependencies ?? {},
      }));
  }

  /** Unload a plugin and, first, the active plugins that depend on it. */
  async unload(id: string, reason = "unloaded by the host"): Promise<void> {
    const entry = this.#plugins.get(id);
    if (entry === undefined) throw new PluginError(`no plugin ${id} is known to this host`, { pluginId: id });
    for (const d of dependentsOf(this.#nodes(), id).reverse()) {
      if (this.#plugins.get(d)?.state === "active") await this.unload(d, `its dependency ${id} was unloaded`);
    }
    // The operator's decision: what the plugin's next load asks for is judged afresh.
    entry.baseline = null;
    entry.pendingUpdate = null;
    this.#consent.dropGate(id);
    if (entry.state === "failed" || entry.state === "pending") {
      entry.state = "stopped";
      entry.reason = reason;
      return;
    }
    // A plugin still loading is unloaded once its load settled (loads run one after another).
    if (entry.state === "loading") {
      await this.#tail;
      return this.unload(id, reason);
    }
    if (entry.handle === null || entry.state !== "active") return;
    entry.state = "stopping";
    const handle = entry.handle;
    await handle.close();
    entry.handle = null;
    entry.state = "stopped";
    entry.reason = reason;
    this.#emit({ type: "unload", plugin: id, reason });
  }

  /**
   * The manifest plugin `id` runs under (or would run under: a pending or failed one's), as the
   * host accepted it (an approval's `only` applied), or null when the host knows no valid one.
   */
  manifestOf(id: string): LoadedManifest | null {
    return this.#plugins.get(id)?.manifest ?? null;
  }

  /** Every plugin's state, reason, version, health, limits and counters. */
  status(): PluginStatus[] {
    return [...this.#plugins.values()].map((e) => {
      // An active plugin that is quarantined or being restarted says so, and why.
      const condition = e.state === "active" ? (e.handle?.condition ?? null) : null;
      const reason = condition !== null && e.reason !== null ? `${condition}; ${e.reason}` : (condition ?? e.reason);
      return {
        id: e.id,
        dir: e.dir,
        version: e.manifest?.manifest.version ?? null,
        state: e.state === "active" && e.handle?.quarantined ? "quarantined" : e.state === "active" && e.handle?.restarting ? "restarting" : e.state,
        reason: reason === null ? null : escapeText(reason),
        health: e.health,
        entries: e.handle?.entries ?? [],
        limits: e.handle?.limits ?? null,
        limitsClamped: e.handle?.limitsClamped ?? [],
        cpuUsedMs: this.#ledgers.get(e.id)?.cpuUsedMs ?? 0,
        counters: { ...e.counters },
        load: e.handle?.load ?? { running: 0, queued: 0 },
        engine: e.handle?.engine ?? null,
        approval: this.#approvalStatus(e),
        pendingUpdate: e.pendingUpdate === null ? null : { version: escapeText(e.pendingUpdate.version), reason: escapeText(e.pendingUpdate.reason) },
        revoked: e.state === "active" ? this.#consent.revokedReason(e.id) : null,
        grantUsage:
          this.#usage === null || e.manifest === null ? null : escapeStrings(this.#usage.plugin(e.id, { permissions: e.manifest.manifest.permissions ?? {}, version: e.manifest.manifest.version })),
      };
    });
  }

  #approvalStatus(e: HostEntry): PluginApproval | null {
    if (!this.#consent.required) return null;
    const a = this.#consent.approvalOf(e.id);
    const expired = a?.decision === "approved" && a.expires !== null && Date.parse(a.expires) <= this.#clock.now();
    // A plugin waiting for approval is pending even when an older version's approval is on record.
    const state = e.state === "pending" ? (a !== null && a.decision !== "approved" ? a.decision : "pending") : a === null ? "pending" : expired ? "expired" : a.decision;
    return { state, version: a?.version ?? null, manifestSha256: a?.manifestSha256 ?? null, by: a?.by ?? null, at: a?.at ?? null, expires: a?.expires ?? null, quotas: { ...(a?.quotas ?? {}) } };
  }

  /**
   * Approve plugin `id`'s grants as its plugin.json asks for them now (approvals "required"), as
   * `warden grants approve` does, and apply it: a pending plugin loads, a pending update is
   * reloaded, a revoked one gets its grants back. Resolves once applied.
   */
  async approve(id: string, options: Omit<ApproveOptions, "pluginsDir" | "id"> = {}): Promise<void> {
    this.#needsApprovals("approve");
    await approveGrants({ ...options, pluginsDir: this.#dir, id });
    await this.refreshApprovals();
  }

  /** Deny plugin `id`'s grants (approvals "required"): it does not load, and a running version loses every grant. */
  async deny(id: string, reason?: string, by: string = currentUser()): Promise<void> {
    this.#needsApprovals("deny");
    await denyGrants({ pluginsDir: this.#dir, id, reason, by });
    await this.refreshApprovals();
  }

  /**
   * The kill switch: stop every grant of plugin `id` at once. Capability calls in flight fail,
   * later ones are PERMISSION_DENIED; the plugin stays loaded (so an operator can see what it
   * tries) until unloaded. With approvals "required" the approval is revoked in the approvals file
   * too (it stays revoked across restarts until approved again); with approvals off it lasts until
   * the plugin is unloaded.
   */
  async revoke(id: string, reason = "revoked by the host", by: string = currentUser()): Promise<void> {
    if (!this.#plugins.has(id)) throw new PluginError(`no plugin ${id} is known to this host; plugins: ${[...this.#plugins.keys()].join(", ") || "(none)"}`, { pluginId: id });
    this.#consent.revoke(id, reason, by);
    this.#stopDeliveries(id);
    this.#emit({ type: "revoked", plugin: id, reason });
    if (this.#consent.required && this.#consent.approvalOf(id)?.decision === "approved") {
      await revokeGrants({ pluginsDir: this.#dir, id, reason, by });
      await this.#consent.read();
    }
  }

  /** A subscription is a grant too: a revoked plugin's handlers receive nothing more (what was queued is refused at delivery, see plugin-slot.ts). */
  #stopDeliveries(id: string): void {
    this.#plugins.get(id)?.handle?.detachChannels();
  }

  #needsApprovals(what: string): void {
    if (!this.#consent.required)
      throw new BadInputError(`host.${what}(): this host runs with approvals "off", so every plugin has what its manifest asks for; createHost({ approvals: "required" }) to approve grants`, {
        field: "approvals",
      });
  }

  /**
   * Read the approvals file again and apply it (the watcher does this when the file changes): a
   * revoked or denied plugin loses its grants at once, an approved one gets its terms (expiry,
   * quotas), a pending update or a plugin whose approved kinds changed is reloaded, and pending
   * plugins are loaded as loadAll would. Rejects with APPROVALS_INVALID, changing nothing, when
   * the file cannot be used.
   */
  async refreshApprovals(): Promise<void> {
    if (this.#closed || !this.#consent.required) return;
    await this.#consent.read();
    const reloads: string[] = [];
    for (const e of this.#plugins.values()) {
      if (e.state !== "active") continue;
      const changed = this.#consent.applyTo(e.id);
      if (changed === "revoked") {
        this.#stopDeliveries(e.id);
        this.#emit({ type: "revoked", plugin: e.id, reason: this.#consent.revokedReason(e.id) ?? "revoked" });
      }
      // Its subscriptions were dropped at the revocation: a fresh sandbox subscribes again in onLoad.
      if (changed === "restored") {
        this.#emit({ type: "restored", plugin: e.id });
        reloads.push(e.id);
        continue;
      }
      const a = this.#consent.approvalOf(e.id);
      if (a?.decision !== "approved") continue;
      // Approved now: an update waiting for it, or another set of approved kinds, needs the new version loaded.
      if (e.pendingUpdate !== null || a.manifestSha256 !== e.manifest?.sha256 || !samePermissions(a.permissions, e.manifest?.manifest.permissions ?? {})) reloads.push(e.id);
    }
    for (const id of reloads) await this.reload(id).catch((err: unknown) => this.#logger.warn({ plugin: id }, escapeText(toWardenError(err).message)));
    if (this.#loadAllCalled && [...this.#plugins.values()].some((e) => e.state === "pending" || e.state === "failed")) await this.#serial(() => this.#loadAll());
  }

  #startHealthChecks(): void {
    const every = this.#o.healthIntervalMs ?? DEFAULTS.host.healthIntervalMs;
    if (every <= 0 || this.#healthTimer) return;
    this.#healthTimer = setInterval(() => void this.checkHealth(), every);
    this.#healthTimer.unref();
  }

  /** Call `health` on every active plugin that has it; a failure marks the plugin degraded. */
  async checkHealth(): Promise<void> {
    await Promise.all(
      [...this.#plugins.values()]
        .filter((e) => e.state === "active" && e.handle?.hooks.includes("health"))
        .map(async (e) => {
          let ok = true;
          let reason: string | undefined;
          try {
            const r = await (e.handle as PluginHandle).hook("health");
            if (r === false) [ok, reason] = [false, "health() answered false"];
          } catch (err) {
            [ok, reason] = [false, `health() failed: ${toWardenError(err).message}`];
          }
          e.health = ok ? "ok" : "degraded";
          if (!ok) e.reason = reason ?? null;
          else if (e.reason?.startsWith("health()")) e.reason = null;
          this.#emit({ type: "health", plugin: e.id, ok, ...(reason ? { reason } : {}) });
        }),
    );
  }

  #startWatching(): void {
    if (this.#watcher !== null) return;
    const approvalsChanged = () => this.#debounced(APPROVALS_FILE, () => void this.refreshApprovals().catch((e: unknown) => this.#logger.error(escapeText(toWardenError(e).message))));
    const pluginChanged = (top: string) => {
      const entry = [...this.#plugins.values()].find((e) => basename(e.dir) === top);
      // A new plugin directory (an install into a served directory): with approvals required it
      // is found as loadAll finds it, pending until approved, so an operator sees it. With
      // approvals off it waits for loadAll or load: dropping a directory in is not consent.
      if (entry === undefined && this.#consent.required && !top.startsWith(".") && this.#loadAllCalled) {
        this.#debounced("(new plugins)", () => void this.#serial(() => this.#loadAll()).catch((e: unknown) => this.#logger.error(escapeText(toWardenError(e).message))));
        return;
      }
      // A plugin the host stopped stays stopped: a file change does not start it again.
      if (entry === undefined || entry.state === "stopped") return;
      this.#debounced(entry.id, () => void this.reload(entry.id).catch(() => undefined));
    };
    // Only plugin.json and module files count (NEKO-11, LURK-18); changes are debounced per plugin.
    this.#watcher = watch(this.#dir, { recursive: true }, (_event, file) => {
      if (file === null || this.#closed) return;
      const rel = relative(this.#dir, join(this.#dir, file.toString()));
      const [top] = rel.split(sep);
      if (rel === APPROVALS_FILE) {
        approvalsChanged();
        return;
      }
      if (top === undefined || !WATCHED.test(basename(rel)) || rel.split(sep).includes("node_modules")) return;
      pluginChanged(top);
    });
    this.#watcher.on("error", (e) => this.#logger.warn(`file watcher: ${escapeText(String(e))}`));
    // The plugins directory's own entries, watched by name. Node 20's recursive watch on Linux (a
    // watch per file, found by walking) keeps watching the inode a path had: a file replaced by a
    // rename is seen once, then never again. Every decision replaces warden-approvals.json (written
    // atomically) and `warden install` renames a plugin's new directory over its old one, so a
    // watching host applied the first `warden grants` decision and missed the next (a `warden
    // grants revoke` never reached the running plugin). A rename into this directory is always
    // seen here: the approvals file again, or a plugin's directory swapped in (its files with it).
    this.#topWatcher = watch(this.#dir, (event, file) => {
      if (file === null || this.#closed) return;
      const name = file.toString();
      if (name === APPROVALS_FILE) approvalsChanged();
      else if (event === "rename") pluginChanged(name);
    });
    this.#topWatcher.on("error", (e) => this.#logger.warn(`file watcher: ${escapeText(String(e))}`));
  }

  /** Run `task` DEFAULTS.host.watchDebounceMs after the last change of `key` (a burst of writes is one change). */
  #debounced(key: string, task: () => void): void {
    this.#debounce.get(key)?.cancel();
    this.#debounce.set(
      key,
      this.#clock.after(DEFAULTS.host.watchDebounceMs, () => {
        this.#debounce.delete(key);
        task();
      }),
    );
  }

  /** Stop watching and health checks, unload every plugin in reverse dependency order. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A load or loadAll in progress finishes first (loads queued behind it find the host closed),
    // so that whatever it started is stopped below, and a watcher it started is closed.
    await this.#tail;
    this.#watcher?.close();
    this.#topWatcher?.close();
    if (this.#healthTimer) clearInterval(this.#healthTimer);
    for (const t of this.#debounce.values()) t.cancel();
    await Promise.allSettled(this.#reloading.values());
    const order = planDependencies(this.#nodes()).order.filter((id) => this.#plugins.get(id)?.state === "active");
    for (const id of order.reverse()) await this.unload(id, "the host closed").catch((e: unknown) => this.#logger.warn(escapeText(String(e))));
    for (const ledger of this.#ledgers.values()) ledger.dispose();
    await this.#engines.close();
    if (this.#ownsAudit) this.#audit.close();
  }

  /** Find out whether engines run under the OS sandbox (rejects for sandbox "require" without one). */
  enginesReady(): Promise<void> {
    return this.#engines.ready();
  }

  /** Whether this host's engines run under the OS sandbox (bubblewrap). */
  get sandboxed(): boolean {
    return this.#engines.sandboxed;
  }

  /** The engines this host's plugins run in: id, pid, tenants, whether dedicated. */
  get engines(): EngineInfo[] {
    return this.#engines.engines;
  }

  /** Engines started ahead, without tenants (spareEngines): where a crashed engine's co-tenants go. */
  get spareEngines(): EngineInfo[] {
    return this.#engines.spareEngines;
  }

  /** The audit log this host writes (its head hash, for operators). */
  get audit(): AuditWriter {
    return this.#audit;
  }
}

/** Create a host over a directory of plugins (call `loadAll()` to start them). */
export async function createHost(options: HostOptions): Promise<Host> {
  const host = new Host(options);
  // "require" fails here, before any plugin is loaded, if engines cannot run under bubblewrap.
  if ((options.isolation ?? "engine") !== "in-process") await host.enginesReady();
  return host;
}
