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
    if (proto !== Object.prototype && proto !== null) throw new BadInputError(`${path}: a ${(value as object).constructor?.name ?? "non-plain object"} is not JSON-compatible (use a plain object)`);
    for (const [k, v] of Object.entries(value)) if (v !== undefined) assertJsonCompatible(v, `${path}.${k}`, depth + 1, seen);
  }
  seen.delete(value);
}
