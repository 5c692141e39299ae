// The host side of the one function the isolate can call, the prelude's `dispatch(kind, payload)`:
// a table from each kind of request to the host code that serves it (a call settling, a capability
// operation, the plugin's timers, its console, URL and random helpers). A request of a kind the
// table does not know gets undefined; dispatch never throws into the isolate.
//
// What a handler throws is sorted here, not swallowed: a request whose payload is not the JSON the
// prelude writes, or a refusal warden raised on purpose (a WardenError), is answered as not served;
// anything else is a bug in warden's own code, and goes to the sandbox's bug report (logged with its
// stack, the calls in flight failed as warden's fault) instead of leaving the plugin waiting on an
// answer that never comes, which used to surface as the plugin's TIMEOUT and cost it its isolate.
import { isWardenError } from "../errors/index.ts";
import { DEFAULTS } from "../defaults/index.ts";
import type { HostOperations } from "./host-operations.ts";
import type { PluginTimers } from "./plugin-timers.ts";
import { parseUrl, randomByteList, setUrlPart } from "./web-helpers.ts";

/** Log levels a plugin's console maps to. */
export type PluginLogLevel = "debug" | "info" | "warn" | "error";

/** Serves one kind of request: its payload (JSON text the prelude wrote) in, the answer the prelude reads out. */
export type HostCallHandler = (payload: string) => string | undefined;

/** What the requests of the isolate reach on the host. */
export type HostCallTargets = {
  /** A call settled: `<callId> <1|0> <JSON>`. */
  readonly settle: (text: string) => void;
  readonly operations: HostOperations;
  readonly timers: PluginTimers;
  /** The plugin's console output (not yet escaped). */
  readonly log: (level: PluginLogLevel, text: string) => void;
};

/** The answer to a request the host could not serve. */
export const NOT_SERVED = JSON.stringify({ ok: false });

/** Reports a bug in warden met while serving a request of `kind`, and gives the answer the isolate gets instead. */
export type HostBugReport = (kind: string, error: unknown) => string | undefined;

/** A request whose payload is not the JSON the prelude writes: the request's fault (the plugin can reach into the prelude's work), not warden's. */
class MalformedRequest extends Error {}

/** The payload of a request, parsed; a payload that is not JSON throws MalformedRequest. */
export function requestOf<T>(payload: string): T {
  try {
    return JSON.parse(payload) as T;
  } catch {
    throw new MalformedRequest("the request is not valid JSON");
  }
}

/** Longest console line kept from the plugin, in characters (the same cap the host applies). */
const MAX_LOG_CHARS = DEFAULTS.log.maxLineChars;
const LOG_LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

/** The table of requests the isolate may make, served by `t`. */
export function hostCallTable(t: HostCallTargets): ReadonlyMap<string, HostCallHandler> {
  return new Map<string, HostCallHandler>([
    [
      "settle",
      (payload) => {
        t.settle(payload);
        return undefined;
      },
    ],
    ["op", (payload) => t.operations.request(payload)],
    [
      "op.cancel",
      (payload) => {
        t.operations.cancel(requestOf<{ id: unknown }>(payload).id);
        return undefined;
      },
    ],
    [
      "timer.set",
      (payload) => {
        const { id, ms } = requestOf<{ id: unknown; ms: unknown }>(payload);
        return t.timers.set(id, ms);
      },
    ],
    [
      "timer.clear",
      (payload) => {
        const { id } = requestOf<{ id: number }>(payload);
        t.timers.clear(id);
        return undefined;
      },
    ],
    [
      "log",
      (payload) => {
        const { level, text } = requestOf<{ level: PluginLogLevel; text: string }>(payload);
        t.log(LOG_LEVELS.includes(level) ? level : "info", String(text).slice(0, MAX_LOG_CHARS));
        return undefined;
      },
    ],
    ["url.parse", (payload) => parseUrl(requestOf<{ input: string; base?: string }>(payload))],
    ["url.set", (payload) => setUrlPart(requestOf<{ href: string; prop: string; value: string }>(payload))],
    ["random", (payload) => randomByteList(requestOf<{ n: number }>(payload))],
  ]);
}

/** Serve one request of the isolate from `table`; a bug in a handler goes to `onBug`. Never throws into the isolate. */
export function serveHostCall(table: ReadonlyMap<string, HostCallHandler>, kind: string, payload: string, onBug: HostBugReport): string | undefined {
  const handler = table.get(kind);
  if (handler === undefined) return undefined;
  try {
    return handler(payload);
  } catch (e) {
    if (e instanceof MalformedRequest || isWardenError(e)) return NOT_SERVED;
    return onBug(kind, e);
  }
}
