// The runtime half of bounding plugin-declared JSON Schemas (the static half is schema-shape.ts,
// which marks every schema object with COST_KEYWORD). A schema's shape can make one validation
// exponential: `anyOf` of two `$ref`s to the level below, 20 levels deep, is 2^20 branches for a
// value that fails at the bottom, from a 1.6 KiB schema; the same through `properties` over
// 20-level nested data. ajv evaluates the cost keyword first in every schema object it enters
// (before `$ref`, so before it recurses), so counting its calls counts the work, whatever the
// shape: past the budget the validation stops with ValidationBudgetError (BAD_INPUT for the caller).
import type { KeywordDefinition } from "ajv";
import { COST_KEYWORD } from "./schema-shape.ts";

/** A validation that would spend more than its budget (the caller reports BAD_INPUT). */
export class ValidationBudgetError extends Error {
  readonly budget: number;
  constructor(budget: number) {
    super(
      `too costly to check against the plugin's schema: more than ${budget} cost units (subschemas evaluated); send a smaller value, or (plugin author) make the schema check it with fewer alternatives: anyOf/oneOf branches over shared $refs multiply the work`,
    );
    this.name = "ValidationBudgetError";
    this.budget = budget;
  }
}

/** The cost keyword for ajv and the meter one plugin's validations run under. */
export type ValidationBudget = {
  /** What ajv's addKeyword takes. */
  readonly keyword: KeywordDefinition;
  /** Run one validation with a fresh budget; past it, throws ValidationBudgetError. */
  metered<T>(validate: () => T): T;
};

/** A budget of `max` cost units per validation. */
export function createValidationBudget(max: number): ValidationBudget {
  let spent = 0;
  return {
    keyword: {
      keyword: COST_KEYWORD,
      schemaType: "number",
      errors: false,
      // The first rule of the group without a type, so it runs before `$ref` (and `anyOf`...).
      before: "$ref",
      validate: (weight: number) => {
        spent += weight;
        if (spent > max) throw new ValidationBudgetError(max);
        return true;
      },
    },
    metered(validate) {
      spent = 0;
      try {
        return validate();
      } finally {
        spent = 0;
      }
    },
  };
}
