// Output helpers of the CLI: stdout carries results (exactly one JSON object with --json),
// stderr carries logs and human-readable errors. Plugin-supplied text is escaped on the way.
import { pino, type Logger } from "pino";
import { escapeText, safeJson } from "../escape-text.ts";
import { escapingHooks } from "../logger.ts";

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** A logger for CLI use: JSON lines on stderr with --json, short readable lines otherwise. */
export function cliLogger(json: boolean): Logger {
  const level = process.env["WARDEN_LOG_LEVEL"] ?? "info";
  if (json) return pino({ level, base: null, hooks: escapingHooks }, pino.destination(2));
  return pino(
    { level, base: null, hooks: escapingHooks },
    {
      write(line: string) {
        const o = JSON.parse(line) as { level: number; plugin?: string; msg?: string };
        process.stderr.write(`[${o.plugin ?? "warden"}] ${LEVELS[o.level] ?? "log"}: ${escapeText(o.msg ?? "")}\n`);
      },
    },
  );
}

/** Write one JSON object as the whole of stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}
