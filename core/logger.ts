// pino loggers: one root logger, one child per plugin bound to { plugin: id }. Plugin text is
// escaped before it is logged.
import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** The default logger: JSON lines on stderr, so stdout stays free for results. */
export function createDefaultLogger(level = process.env["WARDEN_LOG_LEVEL"] ?? "info"): Logger {
  return pino({ level, base: null, redact: { paths: ["config.*", "env.*"], censor: "[redacted]" } }, pino.destination(2));
}
