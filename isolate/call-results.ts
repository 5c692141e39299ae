// What the plugin hands back to the host when one of its calls settles, checked before any host
// code relies on it: the settle text the prelude writes, the result's size and nesting, the error
// descriptor a throwing plugin produced; and the names the plugin's module exports. The prelude
// enforces the same caps, but the plugin can reach into the prelude's work (prototype setters), so
// these checks are the last code it cannot touch.
import { fromDescriptor, PluginError, ResultInvalidError, type WardenError } from "../errors/index.ts";
import { boundedPluginError, jsonDepthExceeded, MAX_VALUE_DEPTH } from "./plugin-values.ts";

/**
 * A settle text as the prelude writes it, `<callId> <1|0> <JSON>`: the id and the outcome come
 * first, from numbers, so nothing in the JSON (the plugin's) can name another call. Null if malformed.
 */
export function splitSettle(text: string): { id: number; ok: boolean; json: string } | null {
  const m = /^(\d{1,15}) ([01]) /.exec(text);
  return m === null ? null : { id: Number(m[1]), ok: m[2] === "1", json: text.slice(m[0].length) };
}

/** How a call settled, as the host takes it: its value, or the error to reject it with. */
export type CallOutcome = { readonly error: null; readonly value: unknown } | { readonly error: WardenError };

/** The outcome of call `entry` of plugin `pluginId` that settled `ok` (or not) with `json`, whose results may be `resultChars` long. */
export function callOutcome(ok: boolean, json: string, who: { readonly pluginId: string; readonly entry: string; readonly resultChars: number }): CallOutcome {
  const { pluginId, entry, resultChars } = who;
  const invalid = (message: string): CallOutcome => ({ error: new ResultInvalidError(`plugin ${pluginId}: the result of ${entry}() ${message}`, { pluginId, entry }) });
  if (json.length > resultChars + 1024) {
    if (!ok) return { error: new PluginError(`plugin ${pluginId}: ${entry}() threw an error too large to report (${json.length} characters)`, { pluginId, entry }) };
    return invalid(`is larger than ${resultChars} characters`);
  }
  if (jsonDepthExceeded(json) >= 0) return invalid(`is nested deeper than ${MAX_VALUE_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return invalid("is not valid JSON");
  }
  if (ok) return { error: null, value: parsed ?? null };
  const described = boundedPluginError(parsed);
  // V8 rejects import() with a bare "Not supported" (isolated-vm has no dynamic-import hook);
  // say what it means when it reaches the host.
  const err = fromDescriptor(
    /^(\w*Error: )?Not supported$/.test(described.message)
      ? { ...described, message: `${described.message}: dynamic import() is not available to warden plugins; load code with a static import (import x from "./x.js")` }
      : described,
  );
  return { error: Object.assign(err, { details: { ...err.details, pluginId, entry, ...(described.stack !== undefined ? { pluginStack: described.stack } : {}) } }) };
}

// Export names are shown in messages and used as entry names: only identifiers count (ES modules
// may export any string, `export { x as "a\nb" }`).
const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;
const HOOK_NAMES = new Set(["onLoad", "onUnload", "onConfigChange", "health"]);

/** The entries and hooks the prelude reported, keeping only names that can be what they claim. */
export function checkedExports(json: string): { entries: string[]; hooks: string[] } {
  const raw = JSON.parse(json) as { entries?: unknown; hooks?: unknown };
  const names = (list: unknown): string[] => (Array.isArray(list) ? list.filter((n): n is string => typeof n === "string" && EXPORT_NAME.test(n)) : []);
  return { entries: names(raw.entries).filter((n) => !HOOK_NAMES.has(n)), hooks: names(raw.hooks).filter((n) => HOOK_NAMES.has(n)) };
}
