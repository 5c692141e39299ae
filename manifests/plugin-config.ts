// Validates a host-supplied plugin configuration against the JSON Schema the manifest declares
// (ajv, with the schema's defaults filled in). Errors name the config field path. It also makes the
// ajv instances every plugin-declared schema is compiled with (entry inputs use them too): one per
// plugin, so one plugin's `$id` can neither clash with nor stand in for another's, with RE2 for
// patterns, a linear uniqueItems and a budget on the work of one validation (schema-shape.ts,
// schema-budget.ts), because these schemas run on the host's thread.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { DEFAULTS } from "../defaults/index.ts";
import { BadInputError, ManifestInvalidError, escapeText } from "../errors/index.ts";
import { createPatternEngine, PatternBudgetError, type PatternEngine } from "./schema-patterns.ts";
import { createValidationBudget, ValidationBudgetError, type ValidationBudget } from "./schema-budget.ts";
import { SchemaShapeError, shapeSchema } from "./schema-shape.ts";
import { uniqueItemsKeyword } from "./unique-items.ts";

/** Most problems one BAD_INPUT lists (an input can fail in millions of places). */
export const MAX_PROBLEMS = 20;

/** Longest field path segment a problem shows (the keys come from whoever sent the input). */
const MAX_SEGMENT = 100;

/** The field path of an ajv error, under `root` ("config", "input"); keys escaped and cut. */
export function fieldPath(e: ErrorObject, root = "config"): string {
  const base = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const extra = e.keyword === "required" ? [(e.params as { missingProperty: string }).missingProperty] : [];
  const shown = (p: string) => {
    const escaped = escapeText(p);
    return escaped.length > MAX_SEGMENT ? `${escaped.slice(0, MAX_SEGMENT)}…` : escaped;
  };
  return [root, ...base, ...extra].map((p, i) => (/^\d+$/.test(p) && i > 0 ? `[${p}]` : i > 0 ? `.${shown(p)}` : p)).join("");
}

/** The ajv instance, pattern engine and validation budget of one plugin's schemas. */
export type SchemaCompiler = {
  readonly ajv: Ajv;
  readonly patterns: PatternEngine;
  readonly budget: ValidationBudget;
  /** Shape (schema-shape.ts) and compile one of the plugin's schemas; counts its subschemas against the plugin's cap. */
  compile(schema: unknown): ValidateFunction;
  /** Count a schema compiled elsewhere (the config's) against the plugin's cap. */
  count(schema: unknown): void;
};

/**
 * A fresh compiler for one plugin's schemas. `allErrors` lists every problem (for the host's own
 * config); without it validation stops at the first, so a hostile input cannot make ajv build
 * millions of error objects (entry inputs, which other plugins send).
 */
export function schemaCompiler(o: { readonly allErrors: boolean }): SchemaCompiler {
  const patterns = createPatternEngine();
  const ajv = new Ajv({
    allErrors: o.allErrors,
    useDefaults: true,
    strict: false,
    // The strict-mode check that tests properties against patterns uses RegExp: keep it off.
    allowMatchingProperties: true,
    // ajv's code optimisation makes compile time grow faster than the schema (measured 3x at
    // 1 000 subschemas); it only tidies the generated code.
    code: { regExp: patterns.regExp, optimize: false },
    // By default ajv copies the code of every $ref target without $refs of its own into each place
    // that refers to it: a 94 KiB schema referring 300 times to a 2 000-property definition ran
    // the host out of memory while compiling. Called, not copied: code the size of the schema.
    inlineRefs: false,
    // ajv's warnings quote the schema (an unknown format's name): escaped before a terminal.
    logger: {
      log: (...args: unknown[]) => console.log(...args.map((a) => escapeText(String(a)))),
      warn: (...args: unknown[]) => console.warn(...args.map((a) => escapeText(String(a)))),
      error: (...args: unknown[]) => console.error(...args.map((a) => escapeText(String(a)))),
    },
  });
  ajv.removeKeyword("uniqueItems");
  ajv.addKeyword(uniqueItemsKeyword);
  const budget = createValidationBudget(DEFAULTS.schemas.validationCost);
  ajv.addKeyword(budget.keyword);
  let subschemas = 0;
  const counted = (n: number) => {
    subschemas += n;
    if (subschemas > DEFAULTS.schemas.maxSubschemas) {
      throw new SchemaShapeError(
        `the plugin's schemas have more than ${DEFAULTS.schemas.maxSubschemas} subschemas in all (compiling them holds the host's thread); share definitions through "$ref" instead of repeating them`,
      );
    }
  };
  return {
    ajv,
    patterns,
    budget,
    compile(schema) {
      const shaped = shapeSchema(schema);
      counted(shaped.subschemas);
      return ajv.compile(shaped.schema);
    },
    count: (schema) => counted(shapeSchema(schema).subschemas),
  };
}

/** A copy of the value checked (defaults filled in), and its problems: [] when valid. */
export type Checked = { readonly value: unknown; readonly problems: string[] };

/**
 * Copy `input` and run `validate` on the copy under the plugin's pattern and validation budgets:
 * the problems (field path: message) are at most MAX_PROBLEMS and a count of the rest.
 */
export function checkCopy(validate: ValidateFunction, compiler: SchemaCompiler, input: unknown, root: string): Checked {
  let value: unknown;
  let valid: boolean;
  try {
    value = input === undefined ? undefined : structuredClone(input);
    valid = compiler.budget.metered(() => compiler.patterns.metered(() => validate(value) === true));
  } catch (e) {
    if (e instanceof PatternBudgetError || e instanceof ValidationBudgetError) return { value, problems: [`${root}: ${e.message}`] };
    // A value nested deeper than the stack overflows it in the copy, or inside ajv (recursive schemas).
    if (e instanceof RangeError) return { value, problems: [`${root}: too deeply nested to check against the plugin's schema (${e.message}); send a value with fewer levels`] };
    throw e;
  }
  if (valid) return { value, problems: [] };
  const errors = validate.errors ?? [];
  const problems = errors.slice(0, MAX_PROBLEMS).map((e) => `${fieldPath(e, root)}: ${e.message ?? "invalid"}`);
  if (errors.length > MAX_PROBLEMS) problems.push(`(and ${errors.length - MAX_PROBLEMS} more)`);
  return { value, problems: problems.length > 0 ? problems : [`${root}: invalid`] };
}

/** Validate `config` against `schema`; returns the config with defaults applied, or throws BAD_INPUT. */
export function validatePluginConfig(schema: Record<string, unknown> | undefined, config: unknown, pluginId: string): unknown {
  if (schema === undefined) return config ?? null;
  const compiler = schemaCompiler({ allErrors: true });
  let validate;
  try {
    validate = compiler.compile(schema);
  } catch (e) {
    throw new ManifestInvalidError(`plugin ${pluginId}: config: the JSON Schema is invalid: ${(e as Error).message}`, { pluginId, field: "config" });
  }
  const { value, problems } = checkCopy(validate, compiler, config ?? {}, "config");
  if (problems.length === 0) return value;
  throw new BadInputError(`plugin ${pluginId}: invalid config:\n${problems.join("\n")}`, { pluginId, problems });
}
