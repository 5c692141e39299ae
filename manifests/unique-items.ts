// `uniqueItems` in linear time. ajv compares every pair of items with a deep equality unless the
// schema declares scalar item types: O(n²) on the host's thread, for an array another plugin may
// send (200 000 distinct numbers: tens of minutes). This keyword replaces ajv's: each item is
// written once as canonical JSON (object keys sorted, so key order does not matter, as in ajv's
// deep equality) and looked up in a Map, so the cost is the size of the input plus a sort of each
// object's keys, whatever the schema declares.
import type { ErrorObject, KeywordDefinition, SchemaValidateFunction } from "ajv";

/** Canonical JSON of a JSON value: equal values (ajv's deep equality) give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  // undefined and functions are not JSON; they only reach here from a host input that
  // toJsonText refuses right after validation.
  return JSON.stringify(value) ?? String(value);
}

const validateUnique: SchemaValidateFunction = (schema: unknown, data: unknown): boolean => {
  validateUnique.errors = [];
  if (schema !== true || !Array.isArray(data)) return true;
  // Scalars are their own keys (a Set compares numbers as ajv does: 0 equals -0); only objects
  // and arrays are written out. One map per kind, so 1 and "1" stay different.
  const seen = { number: new Map<unknown, number>(), string: new Map<unknown, number>(), other: new Map<unknown, number>(), json: new Map<unknown, number>() };
  for (let i = 0; i < data.length; i++) {
    const item: unknown = data[i];
    const [map, key] =
      typeof item === "number"
        ? [seen.number, item]
        : typeof item === "string"
          ? [seen.string, item]
          : item !== null && typeof item === "object"
            ? [seen.json, canonicalJson(item)]
            : [seen.other, item];
    const j = map.get(key);
    if (j !== undefined) {
      const error: Partial<ErrorObject> = { keyword: "uniqueItems", message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`, params: { i, j } };
      validateUnique.errors = [error];
      return false;
    }
    map.set(key, i);
  }
  return true;
};

/** The keyword definition that replaces ajv's `uniqueItems` (same meaning and message). */
export const uniqueItemsKeyword: KeywordDefinition = {
  keyword: "uniqueItems",
  type: "array",
  schemaType: "boolean",
  errors: true,
  validate: validateUnique,
};
