// Output helpers of the CLI: stdout carries results (exactly one JSON object with --json),
// stderr carries logs and human-readable errors. Plugin-supplied text is escaped on the way.
import { isAbsolute, relative } from "node:path";
import { pino, type Logger } from "pino";
import { escapeText, safeJson } from "../../errors/index.ts";
import { escapingHooks } from "../logger.ts";

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** Somewhere else each serialised log line goes too (the console's per-plugin log ring). */
export type LogSink = { write(line: string): void };

/** A logger for CLI use: JSON lines on stderr with --json, short readable lines otherwise; every line also to `also`. */
export function cliLogger(json: boolean, also?: LogSink): Logger {
  const level = process.env["WARDEN_LOG_LEVEL"] ?? "info";
  if (json && also === undefined) return pino({ level, base: null, hooks: escapingHooks }, pino.destination(2));
  return pino(
    { level, base: null, hooks: escapingHooks },
    {
      write(line: string) {
        also?.write(line);
        if (json) {
          process.stderr.write(line);
          return;
        }
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

/** A path as the user would type it from here (relative when inside the working directory), escaped for the terminal. */
export function shownPath(p: string): string {
  const r = relative(process.cwd(), p);
  return escapeText(r === "" ? "." : r.startsWith("..") || isAbsolute(r) ? p : r);
}
