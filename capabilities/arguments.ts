// Shape checks for what a plugin passes to a capability. Arguments arrive as JSON copied out of the
// isolate, so they are plain data; these checks make the error name the API and the argument.
import { BadInputError, quote } from "../errors/index.ts";

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

/** A string argument: non-empty unless `allowEmpty`, never containing NUL. */
export function stringArg(api: string, what: string, v: unknown, pluginId: string, allowEmpty = false): string {
  if (typeof v !== "string") throw new BadInputError(`${api}: ${what} must be a string, got ${kindOf(v)}`, { pluginId });
  if (!allowEmpty && v.length === 0) throw new BadInputError(`${api}: ${what} is empty`, { pluginId });
  if (v.includes("\0")) throw new BadInputError(`${api}: ${what} ${quote(v)} contains a NUL character`, { pluginId });
  return v;
}

/** An options object (or undefined/null for none) with only the `allowed` keys. */
export function optionsArg(api: string, v: unknown, allowed: readonly string[], pluginId: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new BadInputError(`${api}: options must be an object, got ${kindOf(v)}`, { pluginId });
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new BadInputError(`${api}: unknown option ${quote(k)}; expected ${allowed.map((a) => quote(a)).join(", ")}`, { pluginId });
  }
  return o;
}

/** A boolean option (absent means `fallback`). */
export function boolOption(api: string, o: Record<string, unknown>, key: string, fallback: boolean, pluginId: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new BadInputError(`${api}: option ${key} must be a boolean, got ${kindOf(v)}`, { pluginId });
  return v;
}

/** An array of strings. */
export function stringArrayArg(api: string, what: string, v: unknown, pluginId: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadInputError(`${api}: ${what} must be an array of strings, got ${kindOf(v)}`, { pluginId });
  return v.map((item, i) => stringArg(api, `${what}[${i}]`, item, pluginId, true));
}

/**
 * An object of string values, as a Map: there is no prototype to pollute, and a key such as
 * `__proto__` or `constructor` is an ordinary key. Keys and NUL in values are the caller's to judge.
 */
export function stringMapArg(api: string, what: string, v: unknown, pluginId: string): Map<string, string> {
  if (v === undefined || v === null) return new Map();
  if (typeof v !== "object" || Array.isArray(v)) throw new BadInputError(`${api}: ${what} must be an object of strings, got ${kindOf(v)}`, { pluginId });
  const out = new Map<string, string>();
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== "string") throw new BadInputError(`${api}: ${what}[${quote(k)}] must be a string, got ${kindOf(val)}`, { pluginId });
    out.set(k, val);
  }
  return out;
}
