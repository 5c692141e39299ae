// The tamper-evident audit log: JSON Lines, one record per grant, use and denial. Every record
// ends with `"hash":"<sha256>"`, the hash of the record's own bytes before that field, and carries
// `prev`, the hash of the record before it; so an edited, deleted, inserted or reordered line
// breaks the chain at the first bad record. Records are appended with synchronous writes (one per
// record, or one per batch of records that arrived together), so nothing is held in memory across
// turns of the event loop: a crash loses at most what was being written.
import crypto, { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { escapeStrings, escapeText } from "../../errors/index.ts";

/** The hash that stands before the first record. */
export const GENESIS = "0".repeat(64);

/** What a caller records; the log adds seq, time, prev and hash. */
export type AuditRecordInput = { readonly type: string; readonly plugin: string; readonly [field: string]: unknown };

/** Where records go. */
export interface AuditWriter {
  append(record: AuditRecordInput): void;
  /** Append several records in order with one write (the chain is the same as one by one). */
  appendBatch(records: readonly AuditRecordInput[]): void;
  /** Hash of the last record written (the head an operator may keep to detect truncation). */
  readonly head: string;
  close(): void;
}

// crypto.hash (Node ≥ 20.12) is the one-shot form, about twice as fast for records this small.
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

/** Hash of a record's text up to (not including) its hash field. */
export function hashBody(body: string): string {
  return oneShot ? oneShot("sha256", body) : createHash("sha256").update(body).digest("hex");
}

/** Serialise one record, chained to `prev`. */
export function formatRecord(seq: number, prev: string, input: AuditRecordInput, time: Date | string): string {
  // Written field by field (the same text as JSON.stringify of the escaped record, without
  // building copies of it): this runs once per capability use, on the host's thread.
  let open = `{"seq":${seq},"time":${JSON.stringify(typeof time === "string" ? time : time.toISOString())},"type":${JSON.stringify(escapeText(String(input.type)))},"plugin":${JSON.stringify(escapeText(String(input.plugin)))}`;
  for (const key in input) {
    if (!Object.hasOwn(input, key) || key === "type" || key === "plugin" || key === "seq" || key === "time" || key === "prev" || key === "hash") continue;
    const value = input[key];
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    open += `,${JSON.stringify(escapeText(key))}:${typeof value === "string" ? JSON.stringify(escapeText(value)) : JSON.stringify(escapeStrings(value))}`;
  }
  open += `,"prev":${JSON.stringify(prev)}`;
  return `${open},"hash":"${hashBody(open)}"}`;
}

function lastRecordOf(file: string): { seq: number; hash: string } {
  if (!existsSync(file)) return { seq: 0, hash: GENESIS };
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  if (last === undefined) return { seq: 0, hash: GENESIS };
  const parsed = JSON.parse(last) as { seq?: unknown; hash?: unknown };
  if (typeof parsed.seq !== "number" || typeof parsed.hash !== "string") {
    throw new Error(`the audit log ${file} does not end with a warden record; run \`warden audit ${file}\` or choose another file`);
  }
  return { seq: parsed.seq, hash: parsed.hash };
}

/** Open (or continue) an audit log file; appends continue the existing chain. */
export function openAuditLog(file: string, now: () => Date = () => new Date()): AuditWriter {
  let { seq, hash } = lastRecordOf(file);
  const fd = openSync(file, "a", 0o600);
  let closed = false;
  return {
    append(record) {
      this.appendBatch([record]);
    },
    appendBatch(records) {
      if (closed || records.length === 0) return;
      const time = now().toISOString();
      let text = "";
      for (const record of records) {
        seq += 1;
        const line = formatRecord(seq, hash, record, time);
        hash = line.slice(-66, -2);
        text += `${line}\n`;
      }
      writeSync(fd, text);
    },
    get head() {
      return hash;
    },
    close() {
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}

/** An audit writer that keeps records in memory (for hosts that did not ask for a file). */
export function memoryAuditLog(now: () => Date = () => new Date()): AuditWriter & { readonly lines: readonly string[] } {
  const lines: string[] = [];
  let hash = GENESIS;
  return {
    lines,
    append(record) {
      this.appendBatch([record]);
    },
    appendBatch(records) {
      const time = now().toISOString();
      for (const record of records) {
        const line = formatRecord(lines.length + 1, hash, record, time);
        hash = line.slice(-66, -2);
        lines.push(line);
      }
    },
    get head() {
      return hash;
    },
    close() {},
  };
}

/** `writer`, with `observe` called for each record after it was written (a throw goes to `onError`, never to the writer's caller). */
export function observedAuditWriter(writer: AuditWriter, observe: (record: AuditRecordInput) => void, onError: (e: unknown) => void): AuditWriter {
  return {
    append(record) {
      this.appendBatch([record]);
    },
    appendBatch(records) {
      writer.appendBatch(records);
      for (const r of records) {
        try {
          observe(r);
        } catch (e) {
          onError(e);
        }
      }
    },
    get head() {
      return writer.head;
    },
    close() {
      writer.close();
    },
  };
}
