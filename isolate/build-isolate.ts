// Building one plugin's isolate, before any call: take a fresh isolate (from the pool, made ahead
// of need) or make one, apply the prelude to the plugin (its identity, config and caps, and the
// dispatch function it keeps in its closure), load and evaluate the plugin's module graph, and read
// which entries and hooks it exports. A failure disposes the isolate and is reported as the load
// limit or the plugin error it was. The Sandbox (sandbox.ts) takes over what this returns.
import ivm from "./ivm.ts";
import { CpuLimitError, isWardenError, MemoryLimitError, PluginError, type WardenError } from "../errors/index.ts";
import { checkedExports } from "./call-results.ts";
import { classifyIvmError } from "./classify-error.ts";
import { cacheOptions, rememberCache } from "./code-cache.ts";
import type { CpuWindow } from "./cpu-window.ts";
import type { IsolatePool } from "./isolate-pool.ts";
import { MAX_OP_ARGS_CHARS, MAX_TIMERS, type SandboxLimits } from "./limits.ts";
import { loadModuleGraph } from "./module-loader.ts";
import { MAX_ERROR_MESSAGE_CHARS } from "./plugin-values.ts";
import { PRELUDE_FILENAME, preludeSource } from "./prelude.ts";

/** What building a plugin's isolate needs (the SandboxOptions it is given are one). */
export type IsolateSpec = {
  readonly pluginId: string;
  readonly version: string;
  readonly pluginDir: string;
  readonly main: string;
  readonly config: unknown;
  readonly limits: SandboxLimits;
  /** The plugin's CPU budget over a sliding window, shared by the sandboxes that replace this one. */
  readonly cpuWindow?: CpuWindow;
  /** Where to take a fresh isolate and context from (made ahead of need); default: made here. */
  readonly pool?: IsolatePool;
  /** isolated-vm's catastrophic-error hook: after it, the process must not be used (exit). */
  readonly onCatastrophicError?: (message: string) => void;
};

/** The prelude's functions the host enters the isolate through. */
export type PreludeRefs = {
  readonly callEntry: ivm.Reference;
  readonly callHandler: ivm.Reference;
  readonly callHook: ivm.Reference;
  readonly fireTimer: ivm.Reference;
  readonly resolveOp: ivm.Reference;
  readonly setConfig: ivm.Reference;
};

/**
 * Compile (from the code cache when there is one) and evaluate the prelude in `context`; the result
 * is the prelude function, not yet applied to any plugin (an isolate pool can do this ahead).
 */
export function loadPrelude(isolate: ivm.Isolate, context: ivm.Context): ivm.Reference {
  const source = preludeSource();
  const cached = cacheOptions("script", PRELUDE_FILENAME, source);
  const script = isolate.compileScriptSync(source, { filename: PRELUDE_FILENAME, ...cached.options });
  rememberCache(cached.key, script as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer>; cachedDataRejected?: boolean });
  return script.runSync(context, { reference: true, timeout: 1000 }) as ivm.Reference;
}

/** A plugin's isolate, built: the isolate, its context, the prelude's entry points and the plugin's exports. */
export type BuiltIsolate = {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly refs: PreludeRefs;
  readonly exports: { entries: string[]; hooks: string[] };
};

/**
 * Build the isolate of plugin `o`, whose prelude calls `dispatch(kind, payload)`, and hand it to
 * `adopt`; the CPU the build used is charged to the plugin's window. On any failure (in `adopt` too)
 * the isolate is disposed and the failure thrown as a WardenError.
 */
export function buildIsolate<T>(o: IsolateSpec, dispatch: (kind: string, payload: string) => string | undefined, adopt: (built: BuiltIsolate) => T): T {
  const fresh = o.pool
    ? o.pool.take(o.limits.memoryMb, o.onCatastrophicError)
    : (() => {
        const isolate = new ivm.Isolate({
          memoryLimit: o.limits.memoryMb,
          ...(o.onCatastrophicError ? { onCatastrophicError: o.onCatastrophicError } : {}),
        });
        return { isolate, context: isolate.createContextSync(), prelude: undefined };
      })();
  const { isolate, context } = fresh;
  let graphHostNs = 0n;
  try {
    const callback = new ivm.Callback((kind: unknown, payload: unknown) => dispatch(String(kind), String(payload)));
    const preludeFn = fresh.prelude ?? loadPrelude(isolate, context);
    const internals = preludeFn.applySync(
      undefined,
      [
        callback,
        JSON.stringify({ id: o.pluginId, version: o.version }),
        JSON.stringify(o.config ?? null),
        JSON.stringify({ maxTimers: MAX_TIMERS, maxOpArgsChars: MAX_OP_ARGS_CHARS, maxErrorChars: MAX_ERROR_MESSAGE_CHARS }),
      ],
      { result: { reference: true }, timeout: o.limits.cpuMs },
    ) as ivm.Reference;
    const refs = {
      callEntry: internals.getSync("callEntry", { reference: true }) as ivm.Reference,
      callHandler: internals.getSync("callHandler", { reference: true }) as ivm.Reference,
      callHook: internals.getSync("callHook", { reference: true }) as ivm.Reference,
      setConfig: internals.getSync("setConfig", { reference: true }) as ivm.Reference,
      fireTimer: internals.getSync("fireTimer", { reference: true }) as ivm.Reference,
      resolveOp: internals.getSync("resolveOp", { reference: true }) as ivm.Reference,
    };
    const setModule = internals.getSync("setModule", { reference: true }) as ivm.Reference;
    // Resolving, reading, type-stripping and compiling the plugin's modules is host code on the
    // engine's thread, which isolate.cpuTime does not count: it is charged to the plugin too.
    // A load the graph's bounds refuse is charged as well (below), so failing loads are not free.
    const graphStart = process.hrtime.bigint();
    const cpuBefore = isolate.cpuTime;
    let root: ivm.Module;
    try {
      root = loadModuleGraph({ isolate, context, pluginDir: o.pluginDir, main: o.main });
    } finally {
      const ns = process.hrtime.bigint() - graphStart - (isolate.cpuTime - cpuBefore);
      graphHostNs = ns > 0n ? ns : 0n;
    }
    try {
      root.evaluateSync({ timeout: o.limits.cpuMs });
    } catch (e) {
      throw loadFailure(e, o);
    }
    const exportsJson = setModule.applySync(undefined, [root.namespace.derefInto()], { timeout: o.limits.cpuMs }) as string;
    const adopted = adopt({ isolate, context, refs, exports: checkedExports(exportsJson) });
    // Building the isolate and evaluating the plugin's modules counts against its CPU budget too.
    o.cpuWindow?.charge(isolate.cpuTime + graphHostNs);
    return adopted;
  } catch (e) {
    if (!isolate.isDisposed) {
      o.cpuWindow?.charge(isolate.cpuTime + graphHostNs);
      isolate.dispose();
    }
    if (isWardenError(e)) throw e;
    throw loadFailure(e, o);
  }
}

/** What a failure while building the isolate of plugin `o` is: a load limit, or the plugin's error. */
function loadFailure(e: unknown, o: IsolateSpec): WardenError {
  if (isWardenError(e)) return e;
  const kind = classifyIvmError(e);
  const details = { pluginId: o.pluginId };
  if (kind === "timeout") return new CpuLimitError(`plugin ${o.pluginId}: loading its modules took longer than cpuMs (${o.limits.cpuMs} ms); do less work at module top level`, details);
  if (kind === "memory" || kind === "disposed") return new MemoryLimitError(`plugin ${o.pluginId}: loading its modules exceeded memoryMb (${o.limits.memoryMb} MiB)`, details);
  const message = e instanceof Error ? e.message : String(e);
  return new PluginError(`plugin ${o.pluginId} failed while loading: ${message}`, details);
}
