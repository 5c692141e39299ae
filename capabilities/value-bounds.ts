// The longest value of each kind a capability accepts (DEFAULTS.values says why each bound is what
// it is). A plugin's string is matched against the grants, may be kept in a decision cache, is
// quoted in the denial and written to the audit log, all on the host's thread; so its length is
// checked first, before any of that. A longer value is never granted: an operation is denied
// (PermissionDenied, audited, naming the kind and its maximum; the error carries only the start of
// the value) and a permission query answers "denied".
import { DEFAULTS } from "../defaults/index.ts";
import { permissionDenied } from "./denial.ts";
import type { AuditSink } from "./ports.ts";

/** A kind of plugin-supplied value with a maximum length (a field of DEFAULTS.values). */
export type ValueKind = keyof typeof DEFAULTS.values;

/** How much of an over-long value the denial a plugin gets keeps: enough to recognise it. */
const SHOWN_CHARS = 200;

/** Whether `v` is a string longer than values of `kind` may be. */
export function overLong(v: unknown, kind: ValueKind): v is string {
  return typeof v === "string" && v.length > DEFAULTS.values[kind];
}

/** What a refusal of an over-long value names. */
export type OverLongFacts = {
  readonly pluginId: string;
  readonly api: string;
  /** The permission the call needs (env, channels.publish, read...). */
  readonly permission: string;
  /** The manifest field that would grant it. */
  readonly field: string;
  /** What the value is, as the message names it ("the variable name"). */
  readonly what: string;
  readonly kind: ValueKind;
  readonly audit: AuditSink;
};

/** Refuse `v` if it is longer than values of `f.kind` may be: audited, and thrown as PermissionDenied naming the kind and its maximum. */
export function refuseOverLong(v: unknown, f: OverLongFacts): void {
  if (!overLong(v, f.kind)) return;
  const max = DEFAULTS.values[f.kind];
  const value = v.slice(0, SHOWN_CHARS);
  const reason = `${f.what} is ${v.length} characters long, more than the ${max} warden accepts (DEFAULTS.values.${f.kind}), so no grant covers it`;
  // The audit record takes the whole value: the audit log cuts it itself and keeps the sha256 of
  // all of it, so distinct over-long values stay distinct for an auditor (and for the aggregation).
  f.audit.record({ type: "deny", op: f.api, permission: f.permission, value: v, decision: "denied", reason });
  throw permissionDenied({ pluginId: f.pluginId, api: f.api, permission: f.permission, value, reason, field: f.field, fix: `pass ${f.what} of at most ${max} characters` });
}
