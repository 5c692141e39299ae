// The static half of bounding plugin-declared JSON Schemas (the runtime half is schema-budget.ts).
// Before ajv sees a plugin's schema, this pass walks a deep copy of it and:
//  - marks every schema object with the cost keyword (COST_KEYWORD: its weight), so that ajv counts
//    every subschema it evaluates, wherever it is reached from;
//  - counts the schema objects, because ajv's compile time grows faster than linearly with them;
//  - resolves every `$ref` itself. Only references inside the same schema are accepted ("#" and
//    "#/json/pointer", to a schema object or a boolean schema): a reference to another document
//    (by `$id`), to a name, or into a value that is not a schema (`enum`, `default`...) would reach
//    subschemas the pass never marked, whose evaluations the budget would not count;
//  - refuses a cycle of references that does not pass through a keyword that descends into the
//    data (`{ anyOf: [{ $ref: "#" }] }`): validating any value against it would recurse until the
//    stack overflows, so the author learns it at load instead of from a caller.
import { quote } from "../errors/index.ts";

/** The keyword the pass adds to every schema object; its value is that object's weight. */
export const COST_KEYWORD = "x-warden-cost";

/** A schema this pass refuses (the caller reports it as MANIFEST_INVALID with the schema's field). */
export class SchemaShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaShapeError";
  }
}

// Keywords whose value is a JSON value, not a schema: never marked, never walked. Their size is
// part of the weight (ajv compares enum and const deeply and writes defaults into the data).
const DATA_KEYWORDS = new Set(["enum", "const", "default"]);
// Annotations ajv never evaluates: not walked, not weighed.
const IGNORED_KEYWORDS = new Set(["examples", "$comment", "title", "description", COST_KEYWORD]);
// Keywords whose value maps names to schemas.
const MAP_KEYWORDS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"]);
// Keywords whose subschemas apply to parts of the value (properties, items, keys): a cycle through
// one of them ends when the data does.
const DESCENDING_KEYWORDS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "items",
  "additionalItems",
  "prefixItems",
  "contains",
  "propertyNames",
  "unevaluatedProperties",
  "unevaluatedItems",
]);
// Keywords whose subschemas ajv does not evaluate where they are (only through a `$ref`).
const STORE_KEYWORDS = new Set(["definitions", "$defs"]);

/** A schema object of the walked copy, with what validation may go on to from it. */
type Node = {
  readonly pointer: readonly string[];
  /** Subschemas evaluated against the same value (anyOf, allOf, not, if...), and `$ref` targets. */
  readonly sameValue: Node[];
  readonly refs: string[];
};

/** What the pass returns: the marked copy to compile, and how many schema objects it has. */
export type ShapedSchema = { readonly schema: Record<string, unknown> | boolean; readonly subschemas: number };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The number of JSON values in `v` (the cost of comparing against it or copying it). */
function jsonNodes(v: unknown): number {
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + jsonNodes(x), 1);
  if (isObject(v)) return Object.values(v).reduce<number>((n, x) => n + jsonNodes(x), 1);
  return 1;
}

/** "#/definitions/a" of a pointer, for messages. */
const shown = (pointer: readonly string[]) => quote(`#${pointer.map((p) => `/${p.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("")}`);

/** The segments of a local `$ref` ("#", "#/a/b~1c"), or undefined for any other reference. */
function localPointer(ref: string): string[] | undefined {
  if (ref === "#") return [];
  if (!ref.startsWith("#/")) return undefined;
  let fragment: string;
  try {
    fragment = decodeURIComponent(ref.slice(2));
  } catch {
    return undefined;
  }
  return fragment.split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/**
 * Mark a deep copy of `schema` for the validation budget, count its schema objects, and refuse
 * references this pass cannot follow and reference cycles that never descend into the data.
 */
export function shapeSchema(schema: unknown): ShapedSchema {
  if (typeof schema === "boolean") return { schema, subschemas: 0 };
  if (!isObject(schema)) throw new SchemaShapeError("a JSON Schema must be an object or a boolean");
  const root = structuredClone(schema);
  const nodes = new Map<string, Node>();
  const objects = new Map<string, unknown>();
  const key = (pointer: readonly string[]) => JSON.stringify(pointer);

  function walk(s: Record<string, unknown>, pointer: string[]): Node {
    if (pointer.length > 0 && (s.$id !== undefined || s.id !== undefined)) {
      throw new SchemaShapeError(`${shown(pointer)} declares an $id: only the schema's root may (a nested one changes what its "#" references mean); move it to the root or drop it`);
    }
    const node: Node = { pointer, sameValue: [], refs: [] };
    nodes.set(key(pointer), node);
    let weight = 1;
    const child = (v: unknown, at: string[], sameValue: boolean) => {
      objects.set(key(at), v);
      if (!isObject(v)) return;
      const n = walk(v, at);
      if (sameValue) node.sameValue.push(n);
    };
    for (const [k, v] of Object.entries(s)) {
      if (IGNORED_KEYWORDS.has(k)) continue;
      if (DATA_KEYWORDS.has(k)) {
        weight += jsonNodes(v);
        continue;
      }
      if (k === "$ref") {
        if (typeof v === "string") node.refs.push(v);
        continue;
      }
      const sameValue = !DESCENDING_KEYWORDS.has(k) && !STORE_KEYWORDS.has(k);
      if (MAP_KEYWORDS.has(k) && isObject(v)) {
        weight += Object.keys(v).length;
        for (const [name, sub] of Object.entries(v)) child(sub, [...pointer, k, name], sameValue);
      } else if (Array.isArray(v)) {
        weight += v.length;
        v.forEach((sub, i) => child(sub, [...pointer, k, String(i)], sameValue));
      } else {
        // Unknown keywords holding objects are walked as schemas too: a `$ref` may point into them.
        child(v, [...pointer, k], sameValue);
      }
    }
    s[COST_KEYWORD] = weight;
    return node;
  }

  objects.set(key([]), root);
  walk(root, []);
  const rootId = typeof root.$id === "string" ? root.$id.replace(/#$/, "") : undefined;

  // Resolve every reference to the node it evaluates next, on the same value.
  for (const node of nodes.values()) {
    for (const ref of node.refs) {
      const local = rootId !== undefined && ref.startsWith(`${rootId}#`) ? ref.slice(rootId.length) : ref;
      const pointer = localPointer(local);
      if (pointer === undefined) {
        throw new SchemaShapeError(
          `${shown(node.pointer)}: $ref ${quote(ref)} is not a reference inside this schema; warden accepts "#" and "#/json/pointer" references (to other schemas, copy them under "definitions")`,
        );
      }
      const target = nodes.get(key(pointer));
      if (target !== undefined) node.sameValue.push(target);
      else if (typeof objects.get(key(pointer)) !== "boolean") {
        throw new SchemaShapeError(`${shown(node.pointer)}: $ref ${quote(ref)} does not point to a schema in this schema`);
      }
    }
  }
  refuseLeftRecursion(nodes);
  return { schema: root, subschemas: nodes.size };
}

/** Throws if some node reaches itself through subschemas that all apply to the same value. */
function refuseLeftRecursion(nodes: Map<string, Node>): void {
  // Iterative depth-first search (a schema of a thousand nested levels must not overflow here).
  const state = new Map<Node, "open" | "done">();
  for (const start of nodes.values()) {
    if (state.has(start)) continue;
    const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, "open");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const to = top.node.sameValue[top.next++];
      if (to === undefined) {
        state.set(top.node, "done");
        stack.pop();
      } else if (state.get(to) === "open") {
        throw new SchemaShapeError(
          `${shown(to.pointer)} can reach itself through ${shown(top.node.pointer)} without descending into the data (only anyOf, allOf, oneOf, not, if/then/else and $ref on the way): validating any value would recurse forever; put the recursive reference under properties, items or additionalProperties`,
        );
      } else if (!state.has(to)) {
        state.set(to, "open");
        stack.push({ node: to, next: 0 });
      }
    }
  }
}
