// What runs a plugin on the far side of the host's supervisor: its isolate, its capability bridge,
// its console buffer, audit batching and channel/plugin requests to the host. It speaks only in
// protocol messages, so it can live in a sandbox process (child-main.ts, the default) or, for
// hosts that accept the risk, in the host's own process (isolation: "in-process").
import { createCapabilities, type AuditEvent, type Capabilities, type ChannelPort } from "../../capabilities/index.ts";
import { cpuBudgetError, CpuWindow, IsolatePool, loadPrelude, Sandbox } from "../../isolate/index.ts";

// One pool per process: in a sandbox process it has the next isolate ready when a limit condemns
// the current one; in the host's process (isolation "in-process") it serves every plugin.
const pool = new IsolatePool(1, loadPrelude);
import { fromDescriptor, isWardenError, PluginError, type ErrorDescriptor, type WardenError } from "../errors.ts";
import { createNodeExec } from "../sys/node-exec.ts";
import { createNodeFs } from "../sys/node-fs.ts";
import { createNodeDns, createNodeHttp } from "../sys/node-net.ts";
import { hostFileProtections, ownFileProtections } from "../own-files.ts";
import { AUDIT_LIMITS } from "../audit/audit-limits.ts";
import { clipEvent } from "../audit/bounded-record.ts";
import { LogBuffer } from "./log-buffer.ts";
import type { HostRequest, LoadSpec, ToChild, ToHost } from "./protocol.ts";

/** A plugin runner: give it the host's messages; it answers through `post`. */
export type SandboxRunner = {
  receive(msg: ToChild): void;
  /**
   * An invoke without the message layer (isolation "in-process", when the sandbox is ready):
   * the same call, limits, audit order and error conversion as through `receive`, or null if
   * the sandbox must first be (re)built, which only the message path does.
   */
  invokeDirect(callId: number, name: string, inputJson: string | undefined, caller: string, depth: number, timeoutMs?: number): Promise<DirectResult> | null;
  dispose(): void;
};

/** Longest a charge to the plugin's CPU window waits before it is reported to the host, ms. */
const CPU_REPORT_MS = 50;

/** An in-process invoke's answer: its value, its CPU, and the CPU charged to the window since the last report. */
export type DirectResult = { readonly value: unknown; readonly cpuNs: number; readonly charged: number };

/** Create the runner of one plugin. `fatal` is called when the isolate is beyond use. */
export function createSandboxRunner(post: (msg: ToHost) => void, fatal: (message: string) => void): SandboxRunner {
  const HOOK_ON_LOAD = "onLoad";
  const HOOK_ON_UNLOAD = "onUnload";

  // Audit events are sent in batches (one IPC message per turn of the event loop instead of one per
  // capability call), and always before any result, so the host has a call's records before its answer.
  let auditBatch: AuditEvent[] = [];
  let auditFlushScheduled = false;

  function flushAudit(): void {
    auditFlushScheduled = false;
    if (auditBatch.length === 0) return;
    const events = auditBatch;
    auditBatch = [];
    post({ t: "audit", events } satisfies ToHost);
  }

  // Clipped here, so a 1 MiB value never crosses to the host (which clips again: it trusts nothing
  // from this process); a batch is sent early when full, so one message stays bounded.
  function recordAudit(event: AuditEvent): void {
    auditBatch.push(clipEvent(event));
    if (auditBatch.length >= AUDIT_LIMITS.eventsPerBatch) {
      flushAudit();
      return;
    }
    if (!auditFlushScheduled) {
      auditFlushScheduled = true;
      setImmediate(flushAudit);
    }
  }

  // CPU charged to the plugin's window is reported to the host, which keeps the plugin's budget
  // across reloads and restarts: folded into the next result, or, for work no result answers
  // (timers, channel handlers), in one message every CPU_REPORT_MS at most (a timer chain that
  // crosses into the isolate every turn must not become a message per turn for the host).
  let cpuUnreported = 0;
  let cpuFlushScheduled = false;

  function takeCpu(): number {
    const ns = cpuUnreported;
    cpuUnreported = 0;
    return ns;
  }

  function flushCpu(): void {
    cpuFlushScheduled = false;
    if (cpuUnreported > 0) post({ t: "cpu", ns: takeCpu() } satisfies ToHost);
  }

  function reportCpu(ns: number): void {
    cpuUnreported += ns;
    if (!cpuFlushScheduled) {
      cpuFlushScheduled = true;
      setTimeout(flushCpu, CPU_REPORT_MS).unref();
    }
  }

  function send(msg: ToHost): void {
    flushAudit();
    if (msg.t === "result") {
      logBuffer.flushNow();
      if (cpuUnreported > 0) msg = { ...msg, charged: takeCpu() };
    }
    post(msg);
  }

  function describe(e: unknown): ErrorDescriptor {
    if (isWardenError(e)) {
      const pluginStack = (e.details as { pluginStack?: unknown }).pluginStack;
      return { ...e.toDescriptor(), ...(typeof pluginStack === "string" ? { stack: pluginStack } : {}) };
    }
    return new PluginError(e instanceof Error ? e.message : String(e)).toDescriptor();
  }

  // Requests to the host's channel bus, answered by "host-result".
  const hostRequests = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextHostRequest = 1;

  function hostRequest(request: HostRequest): Promise<unknown> {
    const reqId = nextHostRequest++;
    return new Promise((resolve, reject) => {
      hostRequests.set(reqId, { resolve, reject });
      send({ t: "host-request", reqId, request });
    });
  }

  const channelPort: ChannelPort = {
    publish: async (topic, data) => (await hostRequest({ op: "publish", topic, data })) as { delivered: number },
    subscribe: async (subscriptionId, pattern) => {
      await hostRequest({ op: "subscribe", subscriptionId, pattern });
    },
    unsubscribe: async (subscriptionId) => {
      await hostRequest({ op: "unsubscribe", subscriptionId });
    },
  };

  // The plugin's console: rate-limited and bounded here, before anything crosses to the host.
  const logBuffer = new LogBuffer({ flush: (lines, dropped) => post({ t: "log", lines, dropped } satisfies ToHost) });

  // Nesting depth of the invokes in flight (a plugin called by a plugin called by...), for the
  // host's limit on plugin-to-plugin call chains.
  const depths = new Map<number, number>();

  /** An invoke's value with the CPU its isolate spent meanwhile. */
  class WithCpu {
    readonly value: unknown;
    readonly cpuNs: number;
    constructor(value: unknown, cpuNs: number) {
      this.value = value;
      this.cpuNs = cpuNs;
    }
  }

  let spec: LoadSpec | null = null;
  // Outlives the sandboxes it charges, so rebuilding an isolate does not reset the plugin's budget.
  let cpuWindow: CpuWindow | null = null;
  let capabilities: Capabilities | null = null;
  let sandbox: Sandbox | null = null;

  /** A usable sandbox, rebuilt (and its onLoad run again) after a limit condemned the last one. */
  async function ensureSandbox(what: string): Promise<Sandbox> {
    if (sandbox?.isUsable) return sandbox;
    if (spec === null || capabilities === null) throw new PluginError("no plugin is loaded in this sandbox process");
    // Building an isolate runs plugin code (its modules, onLoad): not with a spent budget.
    if (cpuWindow !== null && cpuWindow.remainingMs() <= 0) throw cpuBudgetError(spec.pluginId, what, cpuWindow);
    // The old isolate's channel handlers are gone with it: drop its subscriptions before onLoad
    // subscribes again.
    if (sandbox !== null) await hostRequest({ op: "reset" });
    const s = spec;
    const caps = capabilities;
    const fresh = Sandbox.create({
      pluginId: s.pluginId,
      version: s.version,
      pluginDir: s.pluginDir,
      main: s.main,
      config: s.config,
      limits: s.limits,
      ...(cpuWindow !== null ? { cpuWindow } : {}),
      pool,
      operation: (op, args, ctx) => caps.call(op, args, ctx),
      operationSync: (op, args) => caps.callSync(op, args),
      log: (level, text) => logBuffer.push(level, text),
      onCatastrophicError: (message) => fatal(message),
    });
    sandbox = fresh;
    // onLoad has its own budget (NEKO-19): the startup timeout, not an entry's timeoutMs.
    if (fresh.hooks.includes(HOOK_ON_LOAD)) {
      await watchLimits(fresh.call(HOOK_ON_LOAD, undefined, { timeoutMs: s.startupTimeoutMs, cpuMs: Math.max(s.limits.cpuMs, Math.min(s.startupTimeoutMs, 10_000)) }), fresh);
    }
    return fresh;
  }

  /** Report a limit that condemned the sandbox, if one did, so the host can count it and log it. */
  function reportLimit(s: Sandbox): void {
    const cause: WardenError | null = s.condemnedBy;
    if (cause !== null) send({ t: "limit", error: cause.toDescriptor() });
  }

  function watchLimits<T>(p: Promise<T>, s: Sandbox): Promise<T> {
    return p.catch((e: unknown) => {
      reportLimit(s);
      throw e;
    });
  }

  function invokeIn(s: Sandbox, id: number, name: string, inputJson: string | undefined, caller: string, depth: number, timeoutMs: number | undefined): Promise<WithCpu> {
    depths.set(id, depth);
    const stats = { cpuNs: 0 };
    return s.callJson(name, inputJson, timeoutMs === undefined ? {} : { timeoutMs }, { caller }, stats).then(
      (value) => {
        depths.delete(id);
        return new WithCpu(value, stats.cpuNs);
      },
      (e: unknown) => {
        depths.delete(id);
        reportLimit(s);
        throw e;
      },
    );
  }

  async function handle(msg: Exclude<ToChild, { t: "host-result" } | { t: "cpu" }>): Promise<unknown> {
    switch (msg.t) {
      case "load": {
        spec = msg.spec;
        cpuWindow = new CpuWindow(spec.limits.cpuMsPerMinute, 60_000, undefined, reportCpu);
        // The plugin's budget, not this process's: what its earlier sandboxes spent still counts.
        for (const [agoMs, ns] of spec.cpuHistory ?? []) cpuWindow.record(ns, agoMs);
        capabilities = await createCapabilities({
          pluginId: spec.pluginId,
          pluginDir: spec.pluginDir,
          grants: spec.grants,
          ports: {
            fs: createNodeFs(),
            dns: createNodeDns(),
            http: createNodeHttp(),
            exec: createNodeExec(process.env["PATH"] ?? "", {
              started: (pgid) => send({ t: "pgroup", pgid, running: true }),
              ended: (pgid) => send({ t: "pgroup", pgid, running: false }),
            }),
            env: { get: (name) => process.env[name] },
            channels: channelPort,
            plugins: {
              call: (target, entry, input) => hostRequest({ op: "plugin-call", target, entry, input, depth: Math.max(0, ...depths.values()) + 1 }),
            },
          },
          audit: { record: recordAudit },
          limits: spec.limits,
          protect: [...ownFileProtections(spec.pluginDir), ...hostFileProtections(spec.hostFiles ?? {})],
        });
        const s = await ensureSandbox("load");
        return { entries: s.entries, hooks: s.hooks, unresolvedExec: capabilities.unresolvedExec.map((r) => r.field) };
      }
      case "invoke": {
        const s = sandbox !== null && sandbox.isUsable ? sandbox : await ensureSandbox(msg.name);
        return invokeIn(s, msg.callId, msg.name, msg.inputJson, msg.caller, msg.depth, msg.timeoutMs);
      }
      case "hook": {
        const s = await ensureSandbox(msg.name);
        return watchLimits(s.hook(msg.name, msg.args, { timeoutMs: msg.timeoutMs }), s);
      }
      case "config": {
        if (spec === null) throw new PluginError("no plugin is loaded in this sandbox process");
        const previous = spec.config;
        // Swapped first, then announced (MAI-33): onConfigChange sees the new Warden.config.
        spec = { ...spec, config: msg.config };
        const s = sandbox;
        if (s === null || !s.isUsable) return null;
        s.setConfig(msg.config);
        if (!s.hooks.includes("onConfigChange")) return null;
        return watchLimits(s.hook("onConfigChange", [msg.config, previous], { timeoutMs: msg.timeoutMs }), s);
      }
      case "deliver": {
        // A message for a subscription of an isolate that is gone has no handler: nothing to do.
        const s = sandbox;
        if (s === null || !s.isUsable) return null;
        return watchLimits(s.deliver(msg.subscriptionId, msg.message), s);
      }
      case "unload": {
        const s = sandbox;
        sandbox = null;
        if (s?.isUsable && s.hooks.includes(HOOK_ON_UNLOAD)) {
          await s.call(HOOK_ON_UNLOAD, undefined).catch(() => undefined);
        }
        s?.dispose();
        return null;
      }
    }
  }

  return {
    receive(msg) {
      if (msg.t === "host-result") {
        const pending = hostRequests.get(msg.reqId);
        if (!pending) return;
        hostRequests.delete(msg.reqId);
        if (msg.ok) pending.resolve(msg.value);
        else pending.reject(fromDescriptor(msg.error ?? {}));
        return;
      }
      if (msg.t === "cpu") {
        cpuWindow?.record(msg.ns);
        return;
      }
      handle(msg).then(
        (value) =>
          send(
            value instanceof WithCpu
              ? { t: "result", callId: msg.callId, ok: true, value: value.value ?? null, cpuNs: value.cpuNs }
              : { t: "result", callId: msg.callId, ok: true, value: value ?? null },
          ),
        (e: unknown) => send({ t: "result", callId: msg.callId, ok: false, error: describe(e) }),
      );
    },
    invokeDirect(callId, name, inputJson, caller, depth, timeoutMs) {
      const s = sandbox;
      if (s === null || !s.isUsable) return null;
      return invokeIn(s, callId, name, inputJson, caller, depth, timeoutMs).then(
        (r) => {
          // As on the message path: the call's audit records and logs reach the host before its answer.
          flushAudit();
          logBuffer.flushNow();
          return { value: r.value ?? null, cpuNs: r.cpuNs, charged: takeCpu() };
        },
        (e: unknown) => {
          flushAudit();
          logBuffer.flushNow();
          flushCpu();
          throw fromDescriptor(describe(e));
        },
      );
    },
    dispose() {
      sandbox?.dispose();
      sandbox = null;
    },
  };
}
