// `/api/audit`: the host's audit log file, its hash chain verified, filtered and paged. The file
// is read whole on each request (the host writes it synchronously, so what is read is a prefix of
// whole records, bar a last line being written); fine for the logs a console serves today, and
// the one place to change to a reverse or indexed read when logs grow large.
import { readFileSync } from "node:fs";
import { verifyAuditBytes } from "../audit/verify-audit.ts";
import { BadInputError } from "../../errors/index.ts";

/** What `/api/audit` is asked for; times are ISO strings, validated here. */
export type AuditQuery = {
  readonly plugin?: string | undefined;
  readonly type?: string | undefined;
  readonly decision?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly offset: number;
  readonly limit: number;
};

/** The chain's verdict as the API reports it. */
export type AuditVerified =
  { readonly ok: true; readonly records: number; readonly head: string; readonly keyed: boolean; readonly closed: boolean } | { readonly ok: false; readonly line: number; readonly reason: string };

/** One page of matching records (newest last), how many matched, and the chain's verdict over the whole file. */
export type AuditPage = { readonly records: unknown[]; readonly total: number; readonly offset: number; readonly limit: number; readonly verified: AuditVerified };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Parse an ISO date or time (`2027-01-31`, `2027-01-31T18:00:00Z`); BAD_INPUT naming the field otherwise. */
export function parseIsoTime(field: string, text: string): number {
  const t = ISO_TIME.test(text) ? Date.parse(/T/.test(text) ? text : `${text}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(t)) throw new BadInputError(`querystring.${field}: ${JSON.stringify(text.slice(0, 60))} is not an ISO time; write 2027-01-31 or 2027-01-31T18:00:00Z`, { field });
  return t;
}

/** Read, verify (under `key`, for a keyed log), filter and page the audit log `file` (a missing file is an empty log). */
export function queryAuditLog(file: string, q: AuditQuery, key?: string): AuditPage {
  const from = q.from === undefined ? null : parseIsoTime("from", q.from);
  const to = q.to === undefined ? null : parseIsoTime("to", q.to);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    bytes = Buffer.alloc(0);
  }
  // A last line without its newline is a record being written: left for the next request.
  const wholeBytes = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
  const v = verifyAuditBytes(wholeBytes, { key });
  const verified: AuditVerified = v.ok ? { ok: true, records: v.records, head: v.head, keyed: v.keyed, closed: v.closed } : { ok: false, line: v.line, reason: v.reason };
  const whole = wholeBytes.toString("utf8");
  const matching: unknown[] = [];
  for (const line of whole.split("\n")) {
    if (line.length === 0) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // The verdict names the bad line; the records around it are still shown.
      continue;
    }
    if (q.plugin !== undefined && r["plugin"] !== q.plugin) continue;
    if (q.type !== undefined && r["type"] !== q.type) continue;
    if (q.decision !== undefined && r["decision"] !== q.decision) continue;
    if (from !== null || to !== null) {
      const t = typeof r["time"] === "string" ? Date.parse(r["time"]) : Number.NaN;
      if (from !== null && !(t >= from)) continue;
      if (to !== null && !(t <= to)) continue;
    }
    matching.push(r);
  }
  return { records: matching.slice(q.offset, q.offset + q.limit), total: matching.length, offset: q.offset, limit: q.limit, verified };
}
