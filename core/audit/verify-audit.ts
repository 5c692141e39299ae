// Verifies an audit log's hash chain and summarises it per plugin (`warden audit`).
//
// A line is accepted only if it is exactly the text the writer (formatRecord) makes of the values
// a JSON reader gets from it: so a record has one meaning, the one that was hashed. Duplicate keys
// (the hash covers both, a reader shows the last), other spacing, key order or escapes, control
// characters a writer would have escaped, and bytes that are not UTF-8 (a decoder's U+FFFD is not
// what the file holds) are all refused at their line, even with a hash recomputed to match.
import { AUDIT_MAC, AUDIT_SELF, formatBody, GENESIS, hashBody, type AuditRecordInput } from "./audit-log.ts";

/** Per-plugin counts of an intact log. */
export type AuditSummary = Record<string, { grants: number; uses: number; denials: number; other: number }>;

/**
 * The verdict on a log: intact with a summary and head hash, or tampered at a 1-based line.
 * `keyed`: verified under an audit key. `closed`: the last record is the close record a keyed
 * host writes when it stops (false for an unkeyed log, a running host, a crash or a cut tail).
 * `notices`: what the log's own records say happened to it (a keyed host reopening it after it had
 * not been closed; a writer finding the file changed under it), by line.
 */
export type AuditVerdict =
  | {
      readonly ok: true;
      readonly records: number;
      readonly head: string;
      readonly keyed: boolean;
      readonly closed: boolean;
      readonly notices: readonly AuditNotice[];
      readonly summary: AuditSummary;
    }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/** One thing the log's own records say happened to it, at a 1-based line. */
export type AuditNotice = { readonly line: number; readonly notice: string };

/** What the verifier is given besides the log: the audit key, and a head hash kept from an earlier run. */
export type VerifyOptions = { readonly key?: string | undefined; readonly head?: string | undefined };

const TAIL = /,"hash":"([0-9a-f]{64})"\}$/;
const HEX64 = /^[0-9a-f]{64}$/;

type Parsed = {
  seq?: unknown;
  time?: unknown;
  prev?: unknown;
  type?: unknown;
  plugin?: unknown;
  count?: unknown;
  counts?: unknown;
  mac?: unknown;
  previous?: unknown;
  records?: unknown;
  expectedBytes?: unknown;
  foundBytes?: unknown;
};

/** Check an audit log's bytes: each line must be UTF-8 (no byte-order mark), then as verifyAuditText. */
export function verifyAuditBytes(bytes: Uint8Array, options: VerifyOptions = {}): AuditVerdict {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lines: string[] = [];
  let start = 0;
  for (let n = 1; start < bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    try {
      lines.push(decoder.decode(bytes.subarray(start, end)));
    } catch {
      return { ok: false, line: n, reason: "the record is not valid UTF-8 (bytes warden never writes: edited)" };
    }
    start = end + 1;
  }
  return verifyLines(lines, options);
}

/** Check every record's own hash, its `prev` link, its sequence number and its form. */
export function verifyAuditText(text: string, options: VerifyOptions = {}): AuditVerdict {
  const lines = text.length === 0 ? [] : text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return verifyLines(lines, options);
}

function verifyLines(lines: readonly string[], options: VerifyOptions): AuditVerdict {
  const key = options.key;
  let prev = GENESIS;
  let keptHeadSeen = options.head === undefined || options.head === GENESIS;
  let lastType: unknown = null;
  const notices: AuditNotice[] = [];
  const summary: AuditSummary = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const n = i + 1;
    const tail = TAIL.exec(line);
    if (!tail) {
      if (line.endsWith("\r")) return { ok: false, line: n, reason: "the record ends with a carriage return (the file's line ends were converted to CRLF, or it was edited)" };
      return { ok: false, line: n, reason: "the record has no hash field at its end (edited or truncated)" };
    }
    const body = line.slice(0, tail.index);
    let record: Parsed;
    try {
      record = JSON.parse(line) as Parsed;
    } catch {
      return { ok: false, line: n, reason: "the record is not valid JSON" };
    }
    if (hashBody(body, key) !== tail[1]) return { ok: false, line: n, reason: mismatch(n, record, key) };
    if (typeof record !== "object" || record === null || Array.isArray(record) || typeof record.time !== "string" || typeof record.prev !== "string" || !HEX64.test(record.prev)) {
      return { ok: false, line: n, reason: "the record is not in the form warden writes (no time or prev field)" };
    }
    if (record.prev !== prev) return { ok: false, line: n, reason: "the record does not follow the one before it (a record was deleted, inserted or moved)" };
    if (record.seq !== n) return { ok: false, line: n, reason: `expected sequence number ${n}, found ${String(record.seq)} (a record was deleted, inserted or moved)` };
    if (formatBody(n, prev, record as AuditRecordInput, record.time) !== body) {
      return { ok: false, line: n, reason: "the record is not in the form warden writes (duplicate keys, other spacing, key order or escapes: edited)" };
    }
    if (key !== undefined && record.type === "audit-close" && record.records !== n) {
      return { ok: false, line: n, reason: `the close record counts ${String(record.records)} records, but it is record ${n}` };
    }
    const notice = record.plugin === AUDIT_SELF ? noticeOf(record) : null;
    if (notice !== null) notices.push({ line: n, notice });
    prev = tail[1] ?? "";
    if (prev === options.head) keptHeadSeen = true;
    lastType = record.plugin === AUDIT_SELF ? record.type : null;
    // The log's own records (audit-open, audit-close) are no plugin's: "warden" is never an id.
    if (record.plugin !== AUDIT_SELF) count(summary, record);
  }
  if (!keptHeadSeen) {
    return {
      ok: false,
      line: lines.length + 1,
      reason: `the kept head ${options.head ?? ""} is not a record of this log (${lines.length} record(s)): records were cut from its end, or it was rewritten`,
    };
  }
  return { ok: true, records: lines.length, head: prev, keyed: key !== undefined, closed: key !== undefined && lastType === "audit-close", notices, summary };
}

/** What one of the log's own records tells an operator, if anything. */
function noticeOf(record: Parsed): string | null {
  if (record.type === "audit-open" && record.previous === "not closed") return "a host reopened the log after it had not been closed (a crash, or records cut from its end)";
  if (record.type === "audit-resync") {
    return `the file changed under its writer (expected ${String(record.expectedBytes)} bytes, found ${String(record.foundBytes)}): another process wrote to it (two hosts given one log?), or it was cut or edited`;
  }
  return null;
}

/** Why a record's hash does not match, with the likely cause when a key is missing or wrong. */
function mismatch(n: number, record: Parsed, key: string | undefined): string {
  const opensKeyed = n === 1 && typeof record === "object" && record !== null && record.type === "audit-open" && record.mac === AUDIT_MAC;
  if (key === undefined && opensKeyed) return `this log is keyed (${AUDIT_MAC}): set WARDEN_AUDIT_KEY (or pass the host's auditKey) to verify it`;
  if (key !== undefined) return "the record does not match its MAC under the given audit key (edited, or written without this key or with another)";
  return "the record's content does not match its hash (edited)";
}

function count(summary: AuditSummary, record: Parsed): void {
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
      const k = typeof c.count === "number" ? c.count : 1;
      if (c.type === "use") s.uses += k;
      else if (c.type === "deny" || c.type === "deny-repeat" || c.type === "deny-aggregate") s.denials += k;
      else s.other += k;
    }
  } else s.other++;
}
