// The regular-expression engine ajv uses for plugin-declared schemas (`pattern`,
// `patternProperties`, `propertyNames`). Those schemas run on the host's thread, against inputs that
// another plugin may choose; JavaScript's RegExp backtracks, so `^(a+)+$` against "aaa…a!" takes
// time exponential in the input's length. RE2 (re2js, pure JavaScript) matches in time linear in
// the input, but linear with a factor of the pattern's program size, which the plugin also chooses
// (`a[ab]{1000}$` is 1004 instructions: an 8 MiB input would hold the thread for minutes). So each
// pattern's program is capped, the patterns of one plugin together are capped, and one validation
// may spend at most a fixed number of (characters × instructions) steps: bounded in the worst case,
// whatever the schema and the input, and counted, never timed.
import { RE2JS, RE2JSException } from "re2js";
import type { CodeOptions } from "ajv";
import { quote } from "../errors/index.ts";

/** What ajv's `code.regExp` option takes, and what it returns (a compiled pattern). */
type RegExpEngine = NonNullable<CodeOptions["regExp"]>;
type RegExpLike = ReturnType<RegExpEngine>;

/** The bounds on plugin-declared patterns; one place, each with why. */
export const PATTERN_LIMITS = {
  /** Instructions of one pattern's RE2 program: far above real patterns (an e-mail one is ~200). */
  maxProgramSize: 4096,
  /** Instructions of all the distinct patterns of one plugin's schemas: bounds compile time at load. */
  maxTotalProgramSize: 65_536,
  /**
   * Steps (characters tested × program size) one validation may spend: RE2's worst case is about
   * 35 ns a step here, so well under a second of the host's thread; a 1 MiB string still passes a
   * pattern of up to 16 instructions, a 64 KiB one a pattern of 256.
   */
  maxStepsPerValidation: 16 * 1024 * 1024,
} as const;

/** A pattern RE2 refuses, or one over the size limits: the schema is invalid (MANIFEST_INVALID). */
export class PatternRefusedError extends Error {
  readonly pattern: string;
  constructor(pattern: string, message: string) {
    super(message);
    this.name = "PatternRefusedError";
    this.pattern = pattern;
  }
}

/** A validation that would spend more than maxStepsPerValidation on patterns (BAD_INPUT). */
export class PatternBudgetError extends Error {
  readonly pattern: string;
  constructor(pattern: string, message: string) {
    super(message);
    this.name = "PatternBudgetError";
    this.pattern = pattern;
  }
}

/** The RE2 engine of one plugin's schemas and the step meter its validations run under. */
export type PatternEngine = {
  /** What ajv's `code.regExp` option takes. */
  readonly regExp: RegExpEngine;
  /** Run one validation with a fresh step budget; a pattern test past it throws PatternBudgetError. */
  metered<T>(validate: () => T): T;
};

/** Create the engine for one plugin (its caps on program size are per plugin). */
export function createPatternEngine(limits: typeof PATTERN_LIMITS = PATTERN_LIMITS): PatternEngine {
  // ajv asks again for every use of a pattern; one compiled program per distinct pattern.
  const compiled = new Map<string, RegExpLike>();
  let totalSize = 0;
  let steps = 0;

  function compile(pattern: string, flags: string): RegExpLike {
    const known = compiled.get(pattern);
    if (known !== undefined) return known;
    // ajv passes "u" (unicodeRegExp); RE2 always matches code points, so that is what "u" means here.
    if (flags !== "" && flags !== "u") throw new PatternRefusedError(pattern, `pattern ${quote(pattern)}: flags ${quote(flags)} are not supported`);
    let re: RE2JS;
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      if (!(e instanceof RE2JSException)) throw e;
      throw new PatternRefusedError(
        pattern,
        `pattern ${quote(pattern)} is not RE2 syntax (${e.message}); warden matches plugin-declared patterns with RE2 so that matching takes linear time: backreferences (\\1), lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not available, and \\uXXXX is written \\x{XXXX}`,
      );
    }
    const size = re.programSize();
    if (size > limits.maxProgramSize) {
      throw new PatternRefusedError(
        pattern,
        `pattern ${quote(pattern)} compiles to ${size} RE2 instructions, more than ${limits.maxProgramSize}; matching time grows with that size, so use a smaller pattern (fewer or smaller counted repetitions {n})`,
      );
    }
    if (totalSize + size > limits.maxTotalProgramSize) {
      throw new PatternRefusedError(
        pattern,
        `pattern ${quote(pattern)} brings the plugin's patterns to ${totalSize + size} RE2 instructions, more than ${limits.maxTotalProgramSize} in all; use fewer or smaller patterns`,
      );
    }
    totalSize += size;
    const rx: RegExpLike & { toString(): string } = {
      test(text: string): boolean {
        steps += text.length * size;
        if (steps > limits.maxStepsPerValidation) {
          throw new PatternBudgetError(
            pattern,
            `checking a string of ${text.length} characters against pattern ${quote(pattern)} (${size} RE2 instructions) would take this validation past ${limits.maxStepsPerValidation} steps (characters × instructions); send a shorter string, or give the field a maxLength so it is refused before the pattern runs`,
          );
        }
        return re.test(text);
      },
      // ajv keys compiled patterns by toString(): it must tell patterns apart.
      toString: () => pattern,
    };
    compiled.set(pattern, rx);
    return rx;
  }

  return {
    regExp: Object.assign(compile, { code: "re2js" }),
    metered(validate) {
      steps = 0;
      try {
        return validate();
      } finally {
        steps = 0;
      }
    },
  };
}
