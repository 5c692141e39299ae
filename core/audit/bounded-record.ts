// Plugin-supplied text in audit records is cut to a bounded size with a visible marker and the
// sha256 of the whole value, so a 1 MiB path costs about 1 KiB of log and the auditor can still
// tell values apart and match them. It is done twice: in the sandbox process, so big values never
// cross to the host, and again in the host, which trusts nothing the sandbox process sends (a
// plugin that escaped its isolate could send any event): there the fields are also whitelisted.
import { createHash } from "node:crypto";
import type { AuditEvent } from "../../capabilities/index.ts";
import type { AuditRecordInput } from "./audit-log.ts";
import { AUDIT_LIMITS } from "./audit-limits.ts";

/** sha256 (hex) of a text's UTF-8. */
export function sha256Text(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * `text` if it has at most `max` characters; otherwise its start, then
 * `…[truncated: N characters, sha256 H]` (H of the whole text), `max` characters in all. A clipped
 * text is left as it is by a second clip with the same `max`.
 */
export function clipText(text: string, max: number = AUDIT_LIMITS.textChars): string {
  if (text.length <= max) return text;
  const marker = `…[truncated: ${text.length} characters, sha256 ${sha256Text(text)}]`;
  let keep = Math.max(0, max - marker.length);
  // Never end on the first half of a surrogate pair.
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return `${text.slice(0, keep)}${marker}`;
}

/** An event with every text field clipped (the sandbox process's side, before it is sent). */
export function clipEvent(event: AuditEvent, max: number = AUDIT_LIMITS.textChars): AuditEvent {
  let clipped: Record<string, unknown> | null = null;
  for (const key of Object.keys(event) as Array<keyof AuditEvent>) {
    const v = event[key];
    if (typeof v === "string" && v.length > max) (clipped ??= { ...event })[key] = clipText(v, max);
  }
  return (clipped ?? event) as AuditEvent;
}

// What an audit event may carry (capabilities/ports.ts AuditEvent), besides its type: text fields,
// and list fields (exec's envKeys), whose length is bounded too.
const EVENT_FIELDS = ["op", "permission", "value", "resolved", "decision", "rule", "source", "reason", "envKey"] as const;
const LIST_FIELDS = ["envKeys"] as const;
const MAX_LIST_ITEMS = 256;

/**
 * The record the host writes for one event from the sandbox process: its type (use or deny; any
 * other is written as "malformed-event"), the known fields only, each text clipped, and the
 * plugin's id stamped last so nothing from the sandbox process can replace it.
 */
export function boundEvent(event: unknown, plugin: string, max: number = AUDIT_LIMITS.textChars): AuditRecordInput {
  const e = (typeof event === "object" && event !== null ? event : {}) as Record<string, unknown>;
  const type = e["type"] === "use" || e["type"] === "deny" ? e["type"] : "malformed-event";
  const out: Record<string, unknown> = { type };
  for (const key of EVENT_FIELDS) {
    const v = e[key];
    if (v === undefined || v === null) continue;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a record carries becomes text; an object as "[object Object]" is acceptable here
    out[key] = clipText(typeof v === "string" ? v : String(v), max);
  }
  for (const key of LIST_FIELDS) {
    const v = e[key];
    if (!Array.isArray(v)) continue;
    const items = v.slice(0, MAX_LIST_ITEMS).map((x) => clipText(typeof x === "string" ? x : String(x), max));
    out[key] = v.length > MAX_LIST_ITEMS ? [...items, `…[${v.length - MAX_LIST_ITEMS} more]`] : items;
  }
  return { ...out, type, plugin };
}
