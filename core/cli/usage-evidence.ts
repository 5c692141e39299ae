// The audit log as evidence of grant usage, for `warden grants usage` and `warden check
// --audit-log`: the file is read and its hash chain verified first, so no figure is ever printed
// from a log that was edited; then every record is fed to a GrantUsageTally.
import { DEFAULTS } from "../../defaults/index.ts";
import { readFileSync } from "node:fs";
import { GrantUsageTally, type AuditRecordLike } from "../audit/grant-usage.ts";
import { verifyAuditBytes } from "../audit/verify-audit.ts";
import { auditKeyFromEnv } from "./audit-key.ts";
import { BadInputError, quote } from "../../errors/index.ts";

/** The default audit log (where `warden run` writes). */
export const DEFAULT_AUDIT_LOG = DEFAULTS.cli.auditLog;

/** A verified log's tally, or where the chain breaks. */
export type UsageEvidence =
  { readonly ok: true; readonly file: string; readonly head: string; readonly tally: GrantUsageTally } | { readonly ok: false; readonly file: string; readonly line: number; readonly reason: string };

const DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const AGO = /^(\d{1,6})([dhm])$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** Parse --since: a date (midnight UTC), a time with its zone, or a span back from `now` (7d, 12h, 30m); BAD_INPUT otherwise. */
export function parseSince(value: string, now: Date = new Date()): number {
  const ago = AGO.exec(value);
  if (ago) return now.getTime() - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  const m = DATE.exec(value);
  const ms = m ? Date.parse(m[4] === undefined ? `${value}T00:00:00Z` : value) : NaN;
  // Date.parse accepts 2024-02-30 as March 1: the day must read back as written.
  const real = !Number.isNaN(ms) && m !== null && (m[4] !== undefined || new Date(ms).toISOString().startsWith(`${m[1]}-${m[2]}-${m[3]}`));
  if (!real) {
    throw new BadInputError(
      `--since ${quote(value)} is not a date: expected a date (2024-05-01, midnight UTC), a time with its zone (2024-05-01T12:00:00Z, 2024-05-01T14:00+02:00) or a span back from now (7d, 12h, 30m)`,
      { value },
    );
  }
  return ms;
}

/** Read and verify the audit log `file`, then tally its records from `since` (ms) on; BAD_INPUT if it cannot be read. */
export function readUsageEvidence(file: string, since: number | null): UsageEvidence {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new BadInputError(`cannot read the audit log ${quote(file)} (${(e as NodeJS.ErrnoException).code ?? "error"}); pass the file \`warden run\` or the host wrote with --audit-log`, {
      value: file,
    });
  }
  const verdict = verifyAuditBytes(bytes, { key: auditKeyFromEnv() });
  if (!verdict.ok) return { ok: false, file, line: verdict.line, reason: verdict.reason };
  const text = bytes.toString("utf8");
  const tally = new GrantUsageTally({ since });
  for (const line of text.split("\n")) {
    // Every line parsed during verification; a record that is not an object (never written by warden) counts for nothing.
    if (line.length === 0) continue;
    const record = JSON.parse(line) as unknown;
    if (typeof record === "object" && record !== null && !Array.isArray(record)) tally.observe(record as AuditRecordLike);
  }
  return { ok: true, file, head: verdict.head, tally };
}
