// The contract's JSON-compatible values: null, booleans, finite numbers, strings, arrays and plain
// objects of them. Host-side input is checked here before it is sent to a plugin.
import { BadInputError } from "./errors.ts";

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

/**
 * The JSON text of a JSON-compatible value, checked in the same pass (one walk instead of a check
 * and then a stringify); on a problem, BAD_INPUT naming the path, as assertJsonCompatible does.
 */
export function toJsonText(value: unknown): string {
  let bad = false;
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
      // `this[key]` is the value before toJSON ran: a Date or any toJSON object is not plain data.
      const original = key === "" ? value : this[key];
      if (original === null || typeof original === "string" || typeof original === "boolean") return v;
      if (typeof original === "number") {
        if (!Number.isFinite(original)) bad = true;
        return v;
      }
      if (original === undefined && key !== "" && !Array.isArray(this)) return v;
      if (typeof original !== "object") bad = true;
      else if (!Array.isArray(original)) {
        const proto = Object.getPrototypeOf(original) as unknown;
        if (proto !== Object.prototype && proto !== null) bad = true;
      }
      return bad ? undefined : v;
    });
  } catch {
    bad = true;
  }
  if (bad || text === undefined) {
    assertJsonCompatible(value);
    throw new BadInputError("input: not JSON-compatible");
  }
  return text;
}
