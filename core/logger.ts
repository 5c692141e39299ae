// pino loggers: one root logger, one child per plugin bound to { plugin: id }. Plugin text is
// escaped before it is logged.
import { pino, type Logger, type LoggerOptions } from "pino";
import { escapeText } from "../errors/index.ts";

export type { Logger } from "pino";

/**
 * pino's hook that escapes every string argument of a log call (message and interpolated
 * values), so a call site that forgot to escape plugin text still cannot write control, ANSI or
 * bidi characters, or a second line, into a log. Escaping is idempotent on escaped text.
 */
export const escapingHooks: NonNullable<LoggerOptions["hooks"]> = {
  logMethod(args, method) {
    const safe = args.map((a: unknown) => (typeof a === "string" ? escapeText(a) : a)) as Parameters<typeof method>;
    return method.apply(this, safe);
  },
};

/** The default logger: JSON lines on stderr, so stdout stays free for results. */
export function createDefaultLogger(level = process.env["WARDEN_LOG_LEVEL"] ?? "info"): Logger {
  return pino({ level, base: null, hooks: escapingHooks, redact: { paths: ["config.*", "env.*"], censor: "[redacted]" } }, pino.destination(2));
}
