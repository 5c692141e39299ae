// The contract's JSON-compatible values: null, booleans, finite numbers, strings, arrays and plain
// objects of them. Host-side input is checked here before it is sent to a plugin.
import { BadInputError } from "../errors/index.ts";

/** Throw BAD_INPUT naming the first path in `value` that is not JSON-compatible. */
export function assertJsonCompatible(value: unknown, path = "input", depth = 0, seen = new Set<object>()): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new BadInputError(`${path}: ${value} is not JSON-compatible (use a finite number)`);
    return;
  }
  if (typeof value !== "object") throw new BadInputError(`${path}: a ${typeof value} is not JSON-compatible`);
  if (depth > 512) throw new BadInputError(`${path}: nested deeper than 512 levels`);
  if (seen.has(value)) throw new BadInputError(`${path}: contains a cycle`);
  seen.add(value);
  if (Array.isArray(value)) value.forEach((v, i) => assertJsonCompatible(v, `${path}[${i}]`, depth + 1, seen));
  else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new BadInputError(`${path}: a ${value.constructor?.name ?? "non-plain object"} is not JSON-compatible (use a plain object)`);
    for (const [k, v] of Object.entries(value)) if (v !== undefined) assertJsonCompatible(v, `${path}.${k}`, depth + 1, seen);
  }
  seen.delete(value);
}

/** Whether `value` is plain JSON data (no path strings built: the fast check on the call path). */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || depth > 512) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined && !isPlainJson(v, depth + 1)) return false;
  }
  return true;
}

/**
 * The JSON text of a JSON-compatible value; on a problem, BAD_INPUT naming the path, as
 * assertJsonCompatible does. JSON.stringify runs first: it throws on a cycle, so the check after
 * it walks a finite tree, and the check catches what stringify would silently change (NaN, a
 * Date, a Map, a function, a class instance).
 */
export function toJsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined || !isPlainJson(value, 0)) {
    assertJsonCompatible(value);
    throw new BadInputError("input: not JSON-compatible");
  }
  return text;
}
