// The host side of the one function the isolate can call, the prelude's `dispatch(kind, payload)`:
// a table from each kind of request to the host code that serves it (a call settling, a capability
// operation, the plugin's timers, its console, URL and random helpers). A request of a kind the
// table does not know gets undefined; dispatch never throws into the isolate.
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

/** Longest console line kept from the plugin, in characters. */
const MAX_LOG_CHARS = 16 * 1024;
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
      "timer.set",
      (payload) => {
        const { id, ms } = JSON.parse(payload) as { id: number; ms: number };
        return t.timers.set(id, ms);
      },
    ],
    [
      "timer.clear",
      (payload) => {
        const { id } = JSON.parse(payload) as { id: number };
        t.timers.clear(id);
        return undefined;
      },
    ],
    [
      "log",
      (payload) => {
        const { level, text } = JSON.parse(payload) as { level: PluginLogLevel; text: string };
        t.log(LOG_LEVELS.includes(level) ? level : "info", String(text).slice(0, MAX_LOG_CHARS));
        return undefined;
      },
    ],
    ["url.parse", (payload) => parseUrl(JSON.parse(payload) as { input: string; base?: string })],
    ["url.set", (payload) => setUrlPart(JSON.parse(payload) as { href: string; prop: string; value: string })],
    ["random", (payload) => randomByteList(JSON.parse(payload) as { n: number })],
  ]);
}

/** Serve one request of the isolate from `table`. Never throws into the isolate. */
export function serveHostCall(table: ReadonlyMap<string, HostCallHandler>, kind: string, payload: string): string | undefined {
  const handler = table.get(kind);
  if (handler === undefined) return undefined;
  try {
    return handler(payload);
  } catch {
    return NOT_SERVED;
  }
}
