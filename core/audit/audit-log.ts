// The tamper-evident audit log: JSON Lines, one record per grant, use and denial. Every record
// ends with `"hash":"<sha256>"`, the hash of the record's own bytes before that field, and carries
// `prev`, the hash of the record before it; so an edited, deleted, inserted or reordered line
// breaks the chain at the first bad record. Records are appended with synchronous writes (one per
// record, or one per batch of records that arrived together), so nothing is held in memory across
// turns of the event loop: a crash loses at most what was being written.
//
// Unkeyed, the chain finds edits that were not followed by a rewrite of everything after them:
// anyone can compute a sha256, so a whole rewrite, or a cut tail, verifies. With an audit key
// (createHost's auditKey, WARDEN_AUDIT_KEY for the CLI) each hash is an HMAC-SHA256 under the key,
// which only the host holds: no record can be made, changed or relinked without it. A keyed log
// also opens every session with an `audit-open` record (saying whether the log before it had been
// closed) and ends a clean one with an `audit-close` record: a tail cut after the host stopped is
// "not closed", and a host restarted on a cut log writes that into the chain. A tail cut, and a
// host restarted, before anyone looked is found only by the head an operator kept (`--head`).
import crypto, { createHash, createHmac } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { BadInputError, escapeStrings, escapeText } from "../../errors/index.ts";

/** The hash that stands before the first record. */
export const GENESIS = "0".repeat(64);

/** The shortest audit key accepted (characters): 32 random hex digits are 128 bits. */
export const MIN_AUDIT_KEY_CHARS = 32;

/** The MAC a keyed log's `audit-open` record names. */
export const AUDIT_MAC = "hmac-sha256";

/** The plugin field of the records the log writes about itself. */
export const AUDIT_SELF = "warden";

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

/** Hash of a record's text up to (not including) its hash field: sha256, or HMAC-SHA256 under `key`. */
export function hashBody(body: string, key?: string): string {
  if (key !== undefined) return createHmac("sha256", key).update(body).digest("hex");
  return oneShot ? oneShot("sha256", body) : createHash("sha256").update(body).digest("hex");
}

/** Serialise one record, chained to `prev` (hashed under `key` when given). */
export function formatRecord(seq: number, prev: string, input: AuditRecordInput, time: Date | string, key?: string): string {
  const open = formatBody(seq, prev, input, time);
  return `${open},"hash":"${hashBody(open, key)}"}`;
}

/** A record's text up to (not including) its hash field: what the hash covers. */
export function formatBody(seq: number, prev: string, input: AuditRecordInput, time: Date | string): string {
  // Written field by field (the same text as JSON.stringify of the escaped record, without
  // building copies of it): this runs once per capability use, on the host's thread.
  let open = `{"seq":${seq},"time":${JSON.stringify(typeof time === "string" ? time : time.toISOString())},"type":${JSON.stringify(escapeText(String(input.type)))},"plugin":${JSON.stringify(escapeText(String(input.plugin)))}`;
  for (const key in input) {
    if (!Object.hasOwn(input, key) || key === "type" || key === "plugin" || key === "seq" || key === "time" || key === "prev" || key === "hash") continue;
    const value = input[key];
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    open += `,${JSON.stringify(escapeText(key))}:${typeof value === "string" ? JSON.stringify(escapeText(value)) : JSON.stringify(escapeStrings(value))}`;
  }
  return `${open},"prev":${JSON.stringify(prev)}`;
}

/** Refuse an audit key too short to be a secret (names the option: `auditKey` or WARDEN_AUDIT_KEY). */
export function checkAuditKey(key: string, where = "auditKey"): string {
  if (typeof key !== "string" || key.length < MIN_AUDIT_KEY_CHARS) {
    throw new BadInputError(
      `${where}: an audit key must be a secret of at least ${MIN_AUDIT_KEY_CHARS} characters (for example \`openssl rand -hex 32\`), got ${typeof key === "string" ? `${key.length} characters` : typeof key}`,
      { field: where },
    );
  }
  return key;
}

type LastRecord = { seq: number; hash: string; type: string | null };

/** The whole of the file open as `fd`, read from its start (the descriptor's position is not used). */
function readAll(fd: number): string {
  const size = fstatSync(fd).size;
  const buffer = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buffer, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return buffer.subarray(0, got).toString("utf8");
}

function lastRecordOf(text: string, file: string, key: string | undefined): LastRecord {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  if (last === undefined) return { seq: 0, hash: GENESIS, type: null };
  let parsed: { seq?: unknown; hash?: unknown; type?: unknown };
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    parsed = {};
  }
  if (typeof parsed.seq !== "number" || typeof parsed.hash !== "string") {
    throw new Error(`the audit log ${escapeText(file)} does not end with a warden record; run \`warden audit ${escapeText(file)}\` or choose another file`);
  }
  // Keyed, the host never chains onto a record its key did not make: a forged or unkeyed tail
  // would otherwise become part of a chain that verifies.
  if (key !== undefined) {
    const at = last.lastIndexOf(',"hash":"');
    if (at === -1 || hashBody(last.slice(0, at), key) !== parsed.hash) {
      throw new Error(
        `the audit log ${escapeText(file)} ends with a record not made with this audit key (it was written without a key, with another key, or edited); run \`warden audit ${escapeText(file)}\` with its key, or start a new file for this host`,
      );
    }
  }
  return { seq: parsed.seq, hash: parsed.hash, type: typeof parsed.type === "string" ? parsed.type : null };
}

/** How a writer is opened: the audit key (a keyed log, with open and close records), if any. */
export type AuditLogOptions = { readonly key?: string | undefined };

/**
 * Open (or continue) an audit log file; appends continue the existing chain.
 *
 * Before each write the writer checks that the file is still the length it left it: another
 * process appending to the same file (two hosts given one log), a rotation that truncated it in
 * place, or an edit would otherwise make this writer chain onto a record that is no longer the
 * last. When it changed, the writer continues from the file's real last record (if it can trust
 * it: a warden record, made with the key when keyed; otherwise from its own, and the verifier
 * shows the break) and first writes an `audit-resync` record saying what it expected and found.
 */
export function openAuditLog(file: string, now: () => Date = () => new Date(), options: AuditLogOptions = {}): AuditWriter {
  const key = options.key === undefined ? undefined : checkAuditKey(options.key);
  // Opened first and read through the descriptor: what is continued is the file that is written.
  const fd = openSync(file, "a+", 0o600);
  let last: LastRecord;
  try {
    last = lastRecordOf(readAll(fd), file, key);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let { seq, hash } = last;
  let end = fstatSync(fd).size;
  let closed = false;
  const write = (records: readonly AuditRecordInput[]): void => {
    const size = fstatSync(fd).size;
    let batch = records;
    if (size !== end) {
      try {
        ({ seq, hash } = lastRecordOf(readAll(fd), file, key));
      } catch {
        // Not a tail this writer can continue: its own chain goes on, and the break is visible.
      }
      batch = [{ type: "audit-resync", plugin: AUDIT_SELF, expectedBytes: end, foundBytes: size }, ...records];
    }
    const time = now().toISOString();
    let text = "";
    for (const record of batch) {
      seq += 1;
      const line = formatRecord(seq, hash, record, time, key);
      hash = line.slice(-66, -2);
      text += `${line}\n`;
    }
    writeSync(fd, text);
    end = size + Buffer.byteLength(text);
  };
  if (key !== undefined) {
    const previous = last.type === null ? "none" : last.type === "audit-close" ? "closed" : "not closed";
    try {
      write([{ type: "audit-open", plugin: AUDIT_SELF, mac: AUDIT_MAC, previous }]);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  return {
    append(record) {
      this.appendBatch([record]);
    },
    appendBatch(records) {
      if (closed || records.length === 0) return;
      write(records);
    },
    get head() {
      return hash;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        // The count includes this record: the verifier checks it against the chain.
        if (key !== undefined) write([{ type: "audit-close", plugin: AUDIT_SELF, records: seq + 1 }]);
      } finally {
        closeSync(fd);
      }
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
