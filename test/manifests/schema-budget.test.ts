// The work of checking one value against a plugin-declared schema is bounded whatever the schema's
// shape: a budget of cost units per validation (exponential anyOf over $ref, or through the data),
// left-recursive $ref cycles refused at load, references the budget could not follow refused, the
// subschemas of a plugin capped; a legitimate recursive schema still works (positive control).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS } from "../../defaults/index.ts";
import { compileEntrySpecs } from "../../manifests/entry-input.ts";
import { validatePluginConfig } from "../../manifests/plugin-config.ts";
import type { Manifest } from "../../manifests/schema.ts";

type WardenErrorLike = Error & { code?: string; details?: { field?: string; entry?: string; problems?: string[] } };

const withEntry = (input: unknown, config?: unknown) => ({ id: "t.budget", name: "B", version: "1.0.0", main: "index.js", entries: { go: { input } }, config }) as unknown as Manifest;

function refusal(input: unknown): WardenErrorLike | null {
  try {
    compileEntrySpecs(withEntry(input));
  } catch (e) {
    return e as WardenErrorLike;
  }
  return null;
}

/** `anyOf` of two refs to the level below, `depth` levels, over a string of at least 2 characters. */
function exponentialByRef(depth: number): Record<string, unknown> {
  const definitions: Record<string, unknown> = { s0: { type: "string", minLength: 2 } };
  for (let k = 1; k <= depth; k++) definitions[`s${k}`] = { anyOf: [{ $ref: `#/definitions/s${k - 1}` }, { $ref: `#/definitions/s${k - 1}` }] };
  return { definitions, $ref: `#/definitions/s${depth}` };
}

/** The same, but each branch descends into property `a`: exponential over `depth`-level nested data. */
function exponentialByData(depth: number): Record<string, unknown> {
  const definitions: Record<string, unknown> = { s0: { type: "string", minLength: 2 } };
  for (let k = 1; k <= depth; k++) {
    const branch = { type: "object", required: ["a"], properties: { a: { $ref: `#/definitions/s${k - 1}` } } };
    definitions[`s${k}`] = { anyOf: [branch, { ...branch, minProperties: 1 }] };
  }
  return { definitions, $ref: `#/definitions/s${depth}` };
}

function nested(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** Throws-check for a BAD_INPUT that names the budget; returns how long the validation took, ms. */
function overBudget(run: () => unknown): number {
  const t = performance.now();
  assert.throws(run, (e: WardenErrorLike) => {
    assert.equal(e.code, "BAD_INPUT");
    assert.match(e.message, new RegExp(`too costly to check against the plugin's schema: more than ${DEFAULTS.schemas.validationCost} cost units`));
    return true;
  });
  return performance.now() - t;
}

const tree = {
  definitions: {
    node: { type: "object", required: ["value"], properties: { value: { type: "number" }, children: { type: "array", items: { $ref: "#/definitions/node" } } } },
  },
  $ref: "#/definitions/node",
};

describe("plugin-declared schemas: the work of one validation is bounded", () => {
  it("exponential anyOf over shared $refs (2^20 branches) is BAD_INPUT naming the plugin, the entry and the budget, within a fraction of a second", () => {
    const specs = compileEntrySpecs(withEntry(exponentialByRef(20)));
    assert.equal(specs.validate("go", "ok"), "ok", "positive control: a valid value passes at once");
    let message = "";
    const ms = overBudget(() => {
      try {
        specs.validate("go", "x");
      } catch (e) {
        message = (e as Error).message;
        throw e;
      }
    });
    assert.match(message, /^plugin t\.budget: invalid input for go\(\):\ninput: too costly/);
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
    // The budget is per validation: the next ordinary value passes.
    assert.equal(specs.validate("go", "ok"), "ok");
  });

  it("exponential through the data (two branches descending into the same property, 20-level nested value) is BAD_INPUT too", () => {
    const specs = compileEntrySpecs(withEntry(exponentialByData(20)));
    assert.deepEqual(specs.validate("go", nested(20, "ok")), nested(20, "ok"), "positive control");
    const ms = overBudget(() => specs.validate("go", nested(20, "x")));
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  });

  it("a config schema of the same shape is BAD_INPUT at load, naming the plugin and config", () => {
    assert.throws(
      () => validatePluginConfig(exponentialByRef(20), "x", "t.budget"),
      (e: WardenErrorLike) => e.code === "BAD_INPUT" && /^plugin t\.budget: invalid config:\nconfig: too costly/.test(e.message),
    );
  });

  it("an ordinary large input fits the budget: 10 000 objects of three fields (7 units each); ten times as many do not", () => {
    const specs = compileEntrySpecs(withEntry({ type: "array", items: { type: "object", properties: { a: { type: "number" }, b: { type: "string" }, c: { type: "boolean" } } } }));
    const input = (n: number) => Array.from({ length: n }, (_, i) => ({ a: i, b: "x", c: true }));
    assert.equal((specs.validate("go", input(10_000)) as unknown[]).length, 10_000);
    overBudget(() => specs.validate("go", input(100_000)));
  });

  it("$ref cycles that never descend into the data are MANIFEST_INVALID at load, naming the field", () => {
    for (const schema of [
      { anyOf: [{ $ref: "#" }, { type: "string" }] },
      { definitions: { a: { allOf: [{ $ref: "#/definitions/b" }] }, b: { not: { $ref: "#/definitions/a" } } }, $ref: "#/definitions/a" },
      { $ref: "#" },
      { if: { $ref: "#" } },
    ]) {
      const e = refusal(schema);
      assert.equal(e?.code, "MANIFEST_INVALID", JSON.stringify(schema));
      assert.equal(e?.details?.field, "entries.go.input");
      assert.match(e?.message ?? "", /without descending into the data .*validating any value would recurse forever/);
    }
    assert.throws(
      () => validatePluginConfig({ anyOf: [{ $ref: "#" }, { type: "object" }] }, {}, "t.budget"),
      (e: WardenErrorLike) => e.code === "MANIFEST_INVALID" && e.details?.field === "config" && /recurse forever/.test(e.message),
    );
  });

  it("positive control: a recursive tree schema (the cycle passes through items) compiles, validates, and reports field paths", () => {
    const specs = compileEntrySpecs(withEntry(tree));
    const value = { value: 1, children: [{ value: 2, children: [{ value: 3 }] }, { value: 4 }] };
    assert.deepEqual(specs.validate("go", value), value);
    assert.throws(
      () => specs.validate("go", { value: 1, children: [{ value: 2, children: [{ value: "three" }] }] }),
      (e: WardenErrorLike) => e.code === "BAD_INPUT" && /input\.children\[0\]\.children\[0\]\.value: must be number/.test(e.message),
    );
  });

  it("a value nested deeper than the stack is BAD_INPUT, not a RangeError", () => {
    const specs = compileEntrySpecs(withEntry({ definitions: { n: { type: "object", properties: { a: { $ref: "#/definitions/n" } } } }, $ref: "#/definitions/n" }));
    assert.throws(
      () => specs.validate("go", nested(50_000, 1)),
      (e: WardenErrorLike) => e.code === "BAD_INPUT" && /input: (too deeply nested|too costly)/.test(e.message),
    );
  });

  it("references the budget could not follow are MANIFEST_INVALID: to another document, to a name, into a value that is not a schema; a nested $id", () => {
    for (const [schema, message] of [
      [{ $ref: "https://example.org/other#/definitions/a" }, /is not a reference inside this schema/],
      [{ definitions: { a: { $id: "#name", type: "string" } }, $ref: "#name" }, /declares an \$id/],
      [{ enum: [{ anyOf: [{ type: "string" }] }], $ref: "#/enum/0" }, /does not point to a schema in this schema/],
      [{ $ref: "#/definitions/missing" }, /does not point to a schema/],
    ] as const) {
      const e = refusal(schema);
      assert.equal(e?.code, "MANIFEST_INVALID", JSON.stringify(schema));
      assert.match(e?.message ?? "", message);
    }
    // Positive control: a root $id, references through it and through percent- and ~-escapes, boolean targets.
    const specs = compileEntrySpecs(
      withEntry({
        $id: "https://example.org/s",
        definitions: { "a/b c": { type: "string" }, t: true },
        properties: { x: { $ref: "https://example.org/s#/definitions/a~1b%20c" }, y: { $ref: "#/definitions/t" } },
      }),
    );
    assert.deepEqual(specs.validate("go", { x: "s", y: 1 }), { x: "s", y: 1 });
    assert.throws(() => specs.validate("go", { x: 1 }), /input\.x: must be string/);
  });

  it("a plugin's schemas together are capped in subschemas (compiling runs on the host's thread)", () => {
    const many = (n: number) => ({ anyOf: Array.from({ length: n }, (_, i) => ({ type: "string", minLength: i })) });
    const max = DEFAULTS.schemas.maxSubschemas;
    assert.match(refusal(many(max + 1))?.message ?? "", new RegExp(`more than ${max} subschemas in all`));
    // Counted across the config and every entry.
    const m = { ...withEntry(many(max / 2)), config: many(max / 2) } as Manifest;
    assert.throws(() => compileEntrySpecs(m), new RegExp(`more than ${max} subschemas in all`));
    assert.equal(refusal(many(max - 1)), null, "positive control: just under the cap compiles");
  });
});
