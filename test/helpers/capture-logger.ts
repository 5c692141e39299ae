// A pino logger whose lines a test can read back (parsed), for asserting what the host logged.
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../core/logger.ts";

/** A logger at level info and the parsed JSON lines it wrote so far. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino<never>({ level: "info", base: null }, stream), lines };
}
