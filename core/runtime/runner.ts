// What runs one plugin inside an engine: its isolate, its console buffer, its CPU reports, and
// the forwarding of its capability calls to the host, which checks, audits and performs them (the
// broker: an engine holds no grants, no environment and no file or network rights of its own). It
// speaks only in protocol messages, so it can live in an engine process (engine-main.ts, the
// default) or, for hosts that accept the risk, in the host's own process (isolation "in-process"),
// where the host hands it the plugin's capabilities to call directly.
import type { Capabilities } from "../../capabilities/index.ts";
import { cpuBudgetError, CpuWindow, IsolatePool, loadPrelude, Sandbox, type OperationContext } from "../../isolate/index.ts";

// One pool per process: in an engine it has the next isolate ready when a limit condemns a current
// one or a plugin is placed there; in the host's process (isolation "in-process") it serves every plugin.
const pool = new IsolatePool(1, loadPrelude);
import { fromDescriptor, isWardenError, PluginError, type ErrorDescriptor } from "../../errors/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { LogBuffer } from "./log-buffer.ts";
import type { EngineLoad, FromRunner, HostRequest, ToRunner } from "./protocol.ts";

/** A plugin runner: give it the host's messages; it answers through `post`. */
export type SandboxRunner = {
  receive(msg: ToRunner): void;
  /**
   * An invoke without the message layer (isolation "in-process", when the sandbox is ready):
   * the same call, limits, audit order and error conversion as through `receive`, or null if
   * the sandbox must first be (re)built, which only the message path does.
   */
  invokeDirect(name: string, inputJson: string | undefined, caller: string, timeoutMs?: number): Promise<DirectResult> | null;
  dispose(): void;
};

/** Longest a charge to the plugin's CPU window waits before it is reported to the host, ms. */
const CPU_REPORT_MS = 50;

/** An in-process invoke's answer: its value, its CPU, and the CPU charged to the window since the last report. */
export type DirectResult = { readonly value: unknown; readonly cpuNs: number; readonly charged: number };

/**
 * Create the runner of one plugin. `fatal` is called when the isolate is beyond use. `local` is
 * the plugin's capability bridge when the runner lives in the host's process (called directly,
 * including the synchronous answers inside the crossing); without it every capability call is
 * forwarded to the host.
 */
export function createSandboxRunner(post: (msg: FromRunner) => void, fatal: (message: string) => void, local?: () => Capabilities | null, onCrossing?: (inside: boolean) => void): SandboxRunner {
  const HOOK_ON_LOAD = "onLoad";
  const HOOK_ON_UNLOAD = "onUnload";

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
    if (cpuUnreported > 0) post({ t: "cpu", ns: takeCpu() } satisfies FromRunner);
  }

  function reportCpu(ns: number): void {
    cpuUnreported += ns;
    if (!cpuFlushScheduled) {
      cpuFlushScheduled = true;
      setTimeout(flushCpu, CPU_REPORT_MS).unref();
    }
  }

  function send(msg: FromRunner): void {
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

  // Requests to the host (capability operations, channel steering), answered by "host-result".
  type Waiting = { resolve: (v: unknown) => void; reject: (e: unknown) => void; capability: boolean };
  const hostRequests = new Map<number, Waiting>();
  let nextHostRequest = 1;

  function hostRequest(request: HostRequest): Promise<unknown> {
    const reqId = nextHostRequest++;
    return new Promise((resolve, reject) => {
      hostRequests.set(reqId, { resolve, reject, capability: request.op === "capability" });
      send({ t: "host-request", reqId, request });
    });
  }

  // Forwarded calls by the sandbox signal that gives them up: one abort listener per sandbox, not
  // an EventTarget listener added and removed per call (measurably slow on a hot path).
  const forwardsBySignal = new WeakMap<AbortSignal, Map<number, () => void>>();

  function forwardsOf(signal: AbortSignal): Map<number, () => void> {
    let pending = forwardsBySignal.get(signal);
    if (pending === undefined) {
      const own = new Map<number, () => void>();
      forwardsBySignal.set(signal, own);
      signal.addEventListener(
        "abort",
        () => {
          for (const giveUp of [...own.values()]) giveUp();
          own.clear();
        },
        { once: true },
      );
      pending = own;
    }
    return pending;
  }

  /** A capability call forwarded to the host's broker; given up (and the host told) when the sandbox goes. */
  function forward(name: string, args: unknown, ctx: OperationContext): Promise<unknown> {
    if (ctx.signal.aborted) return Promise.reject(new PluginError(`${name}: the call was given up (the plugin's sandbox ended)`));
    const reqId = nextHostRequest++;
    const pending = forwardsOf(ctx.signal);
    return new Promise((resolve, reject) => {
      pending.set(reqId, () => {
        if (!hostRequests.delete(reqId)) return;
        send({ t: "cancel", reqId });
        reject(new PluginError(`${name}: the call was given up (the plugin's sandbox ended)`));
      });
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T): void => {
          pending.delete(reqId);
          f(v);
        };
      hostRequests.set(reqId, { resolve: settle(resolve), reject: settle(reject), capability: true });
      send({ t: "host-request", reqId, request: { op: "capability", name, args, timeLeftMs: Math.max(0, ctx.deadline - Date.now()) } });
    });
  }

  // The plugin's console: rate-limited and bounded here, before anything crosses to the host.
  const logBuffer = new LogBuffer({ flush: (lines, dropped) => post({ t: "log", lines, dropped } satisfies FromRunner) });

  /** An invoke's value with the CPU its isolate spent meanwhile. */
  class WithCpu {
    readonly value: unknown;
    readonly cpuNs: number;
    constructor(value: unknown, cpuNs: number) {
      this.value = value;
      this.cpuNs = cpuNs;
    }
  }

  let spec: EngineLoad | null = null;
  // Outlives the sandboxes it charges, so rebuilding an isolate does not reset the plugin's budget.
  let cpuWindow: CpuWindow | null = null;
  let sandbox: Sandbox | null = null;

  // The rebuild in progress, if one is: a call that finds the isolate condemned and the host's
  // restart of the plugin may both ask for one, and must get the same sandbox, not two.
  let building: Promise<Sandbox> | null = null;
  // The load message the current sandbox was built from (a rebuild started by a call uses the spec
  // of the time, so a restart that brings a newer config must still hand it over).
  let builtFrom: EngineLoad | null = null;

  /** A usable sandbox, rebuilt (and its onLoad run again) after a limit condemned the last one. */
  function ensureSandbox(what: string): Promise<Sandbox> {
    if (sandbox?.isUsable) return Promise.resolve(sandbox);
    building ??= build(what).finally(() => {
      building = null;
    });
    return building;
  }

  async function build(what: string): Promise<Sandbox> {
    if (spec === null) throw new PluginError("no plugin is loaded in this sandbox");
    // Building an isolate runs plugin code (its modules, onLoad): not with a spent budget.
    if (cpuWindow !== null && cpuWindow.remainingMs() <= 0) throw cpuBudgetError(spec.pluginId, what, cpuWindow);
    // The old isolate's channel handlers are gone with it: the host keeps its subscriptions (what
    // arrives meanwhile queues) until onLoad subscribes again.
    if (sandbox !== null) await hostRequest({ op: "reset" });
    const s = spec;
    const caps = local?.() ?? null;
    const fresh = Sandbox.create({
      pluginId: s.pluginId,
      version: s.version,
      pluginDir: s.pluginDir,
      main: s.main,
      config: s.config,
      limits: s.limits,
      ...(cpuWindow !== null ? { cpuWindow } : {}),
      pool,
      operation: caps !== null ? (op, args, ctx) => caps.call(op, args, ctx) : forward,
      ...(caps !== null ? { operationSync: (op: string, args: unknown) => caps.callSync(op, args) } : {}),
      log: (level, text) => logBuffer.push(level, text),
      onCatastrophicError: (message) => fatal(message),
      ...(onCrossing !== undefined ? { onCrossing } : {}),
      // The host learns of every condemnation at once (it rebuilds the plugin and holds its
      // deliveries meanwhile), before the failed calls' answers.
      onCondemned: (error) => send({ t: "limit", error: error.toDescriptor() }),
    });
    sandbox = fresh;
    builtFrom = s;
    // onLoad has its own budget (NEKO-19): the startup timeout, not an entry's timeoutMs.
    if (fresh.hooks.includes(HOOK_ON_LOAD)) {
      await fresh.call(HOOK_ON_LOAD, undefined, { timeoutMs: s.startupTimeoutMs, cpuMs: Math.max(s.limits.cpuMs, Math.min(s.startupTimeoutMs, DEFAULTS.host.startupCpuMs)) });
    }
    return fresh;
  }

  function invokeIn(s: Sandbox, name: string, inputJson: string | undefined, caller: string, timeoutMs: number | undefined): Promise<WithCpu> {
    const stats = { cpuNs: 0 };
    return s.callJson(name, inputJson, timeoutMs === undefined ? {} : { timeoutMs }, { caller }, stats).then((value) => new WithCpu(value, stats.cpuNs));
  }

  async function handle(msg: Exclude<ToRunner, { t: "host-result" } | { t: "cpu" }>): Promise<unknown> {
    switch (msg.t) {
      case "load": {
        spec = msg.spec;
        // A load of a plugin this runner already ran is the host restarting it after a limit: its
        // window here is the exact record, and goes on.
        if (cpuWindow === null) {
          cpuWindow = new CpuWindow(spec.limits.cpuMsPerMinute, 60_000, undefined, reportCpu);
          // The plugin's budget, not this process's: what its earlier sandboxes spent still counts.
          for (const [agoMs, ns] of spec.cpuHistory ?? []) cpuWindow.record(ns, agoMs);
        }
        const s = await ensureSandbox("load");
        if (builtFrom !== spec) s.setConfig(spec.config);
        return { entries: s.entries, hooks: s.hooks };
      }
      case "invoke": {
        const s = sandbox !== null && sandbox.isUsable ? sandbox : await ensureSandbox(msg.name);
        return invokeIn(s, msg.name, msg.inputJson, msg.caller, msg.timeoutMs);
      }
      case "hook": {
        const s = await ensureSandbox(msg.name);
        return s.hook(msg.name, msg.args, { timeoutMs: msg.timeoutMs });
      }
      case "config": {
        if (spec === null) throw new PluginError("no plugin is loaded in this sandbox");
        const previous = spec.config;
        // Swapped first, then announced (MAI-33): onConfigChange sees the new Warden.config.
        spec = { ...spec, config: msg.config };
        const s = sandbox;
        if (s === null || !s.isUsable) return null;
        s.setConfig(msg.config);
        if (!s.hooks.includes("onConfigChange")) return null;
        return s.hook("onConfigChange", [msg.config, previous], { timeoutMs: msg.timeoutMs });
      }
      case "deliver": {
        // The isolate is gone (a limit condemned it; the host is told, and rebuilds the plugin):
        // the message was not handled, and the host delivers it again once the plugin is back.
        const s = sandbox;
        if (s === null || !s.isUsable) throw new PluginError(`plugin ${spec?.pluginId ?? "(none)"}: its isolate is being rebuilt; the message was not delivered`, { undelivered: true });
        return s.deliver(msg.subscriptionId, msg.message);
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
        // A capability's failure reaches the plugin as it was raised (name, code, message), as
        // when the bridge is called directly; a host request's is a warden error.
        else if (pending.capability) {
          const d = (msg.error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
          pending.reject(
            Object.assign(new Error(typeof d.message === "string" ? d.message : "the host operation failed"), {
              name: typeof d.name === "string" ? d.name : "Error",
              code: typeof d.code === "string" ? d.code : "Io",
            }),
          );
        } else pending.reject(fromDescriptor(msg.error ?? {}));
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
    invokeDirect(name, inputJson, caller, timeoutMs) {
      const s = sandbox;
      if (s === null || !s.isUsable) return null;
      return invokeIn(s, name, inputJson, caller, timeoutMs).then(
        (r) => {
          // As on the message path: the call's logs reach the host before its answer.
          logBuffer.flushNow();
          return { value: r.value ?? null, cpuNs: r.cpuNs, charged: takeCpu() };
        },
        (e: unknown) => {
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
