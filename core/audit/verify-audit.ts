// Verifies an audit log's hash chain and summarises it per plugin (`warden audit`).
import { GENESIS, hashBody } from "./audit-log.ts";

/** Per-plugin counts of an intact log. */
export type AuditSummary = Record<string, { grants: number; uses: number; denials: number; other: number }>;

/** The verdict on a log: intact with a summary and head hash, or tampered at a 1-based line. */
export type AuditVerdict =
  { readonly ok: true; readonly records: number; readonly head: string; readonly summary: AuditSummary } | { readonly ok: false; readonly line: number; readonly reason: string };

const TAIL = /,"hash":"([0-9a-f]{64})"\}$/;

/** Check every record's own hash, its `prev` link and its sequence number. */
export function verifyAuditText(text: string): AuditVerdict {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  let prev = GENESIS;
  const summary: AuditSummary = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const n = i + 1;
    const tail = TAIL.exec(line);
    if (!tail) return { ok: false, line: n, reason: "the record has no hash field at its end (edited or truncated)" };
    const body = line.slice(0, tail.index);
    if (hashBody(body) !== tail[1]) return { ok: false, line: n, reason: "the record's content does not match its hash (edited)" };
    let record: { seq?: unknown; prev?: unknown; type?: unknown; plugin?: unknown; count?: unknown; counts?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return { ok: false, line: n, reason: "the record is not valid JSON" };
    }
    if (record.prev !== prev) return { ok: false, line: n, reason: "the record does not follow the one before it (a record was deleted, inserted or moved)" };
    if (record.seq !== n) return { ok: false, line: n, reason: `expected sequence number ${n}, found ${String(record.seq)} (a record was deleted, inserted or moved)` };
    prev = tail[1] ?? "";
    const plugin = typeof record.plugin === "string" ? record.plugin : "(none)";
    const s = (summary[plugin] ??= { grants: 0, uses: 0, denials: 0, other: 0 });
    if (record.type === "grant") s.grants++;
    else if (record.type === "use") s.uses++;
    else if (record.type === "deny") s.denials++;
    // Denials held back by the aggregator are written once per kind or value, with their count.
    else if (record.type === "deny-repeat" || record.type === "deny-aggregate") s.denials += typeof record.count === "number" ? record.count : 1;
    // Records past the plugin's byte budget are counted per type in one record.
    else if (record.type === "audit-suppressed" && Array.isArray(record.counts)) {
      for (const c of record.counts as Array<{ type?: unknown; count?: unknown }>) {
        const n = typeof c.count === "number" ? c.count : 1;
        if (c.type === "use") s.uses += n;
        else if (c.type === "deny" || c.type === "deny-repeat" || c.type === "deny-aggregate") s.denials += n;
        else s.other += n;
      }
    } else s.other++;
  }
  return { ok: true, records: lines.length, head: prev, summary };
}
