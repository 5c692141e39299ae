// How every CLI command reports a failure, in one place: the same text on stderr (or one JSON object
// on stdout with --json) and the same exit status for the same error code, whichever command
// refused. Five commands each had their own copy of this, with exit-code maps that had drifted.
import { BadInputError, toWardenError, type WardenError, escapeText } from "../../errors/index.ts";
import { printJson } from "./output.ts";

/** Exit statuses of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, tampered: 3 } as const;

/**
 * The exit status a refused command ends with, by error code; any code not named here is 1. Wrong
 * usage and an approvals file warden cannot read are the operator's input to fix (2), not a
 * refusal of what was asked (1).
 */
const EXIT_BY_CODE: Readonly<Record<string, number>> = { BAD_INPUT: EXIT.usage, APPROVALS_INVALID: EXIT.usage };

/** The exit status for a command refused with error `code`. */
export function exitStatusOf(code: string): number {
  return EXIT_BY_CODE[code] ?? EXIT.failed;
}

/** `e` as the error to report for `warden <command>`: parseArgs' own errors become BAD_INPUT pointing at the command's help. */
export function cliError(e: unknown, command: string): WardenError {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) return new BadInputError(`${(e as Error).message}; see warden ${command} --help`);
  return toWardenError(e);
}

/** Print `e`: one JSON object on stdout with --json, otherwise `error CODE: message` (and a plugin's stack, marked as its own) on stderr. */
export function printError(e: WardenError, json: boolean): void {
  if (json) {
    printJson({ ok: false, error: { code: e.code, message: e.message, ...(e.details.problems !== undefined ? { problems: e.details.problems } : {}) } });
    return;
  }
  // Plugin text reaches here already escaped onto one line (at the isolate boundary), so every
  // real line break is warden's; escaping each line again keeps it that way whatever the source.
  process.stderr.write(`error ${e.code}: ${e.message.split("\n").map(escapeText).join("\n")}\n`);
  const stack = (e.details as { pluginStack?: unknown }).pluginStack;
  // The plugin wrote its stack: each line is marked as the plugin's, so none can pass for warden's.
  if (typeof stack === "string")
    process.stderr.write(
      `the plugin's stack:\n${stack
        .split("\n")
        .map((l) => `  | ${escapeText(l)}`)
        .join("\n")}\n`,
    );
}

/** Report why `warden <command>` was refused and return its exit status (by error code, see exitStatusOf). */
export function refuse(e: unknown, json: boolean, command: string): number {
  const err = cliError(e, command);
  printError(err, json);
  return exitStatusOf(err.code);
}
