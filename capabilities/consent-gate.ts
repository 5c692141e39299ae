// The operator's consent, enforced on every capability call (issue 14, part 4). The manifest says
// what a plugin may ever do; the operator's approval says until when, how much, and whether at all
// right now. One gate per plugin lives in the host and outlives the plugin's isolates (a restart
// after a limit keeps its counts and its revocation). The host changes the terms live: setTerms
// (a new approval) and revoke (the kill switch) take effect on the next call, and revoke also
// aborts the calls in flight.
//
// Quotas, counted in memory only (a host restart starts them from zero):
// - net requests and exec calls per minute: admissions in a sliding 60 s window (1 s buckets);
//   an admitted request counts even if its grant check or its connection then fails, and a fetch
//   is one request however many redirects it follows.
// - net bytes and written bytes per day: a rolling 24 h window (1 h buckets) of bytes actually
//   transferred (request and response bodies, every redirect hop) or written (the UTF-8 text of
//   fs.writeTextFile). A call is admitted while the budget is not spent; the call whose bytes push
//   past it completes (its size is unknown before it runs), and the next one is denied.
import { BadInputError, PermissionDeniedError, quote } from "../errors/index.ts";
import { DEFAULTS } from "../defaults/index.ts";
import { approvalDenied } from "./denial.ts";
import type { AuditSink } from "./ports.ts";
import { RollingCount } from "./rolling-count.ts";

/** The kinds of capability use an approval covers. */
export type ConsentKind = "read" | "write" | "net" | "exec" | "env" | "channels" | "plugins";

/** Per-kind limits the operator chose (never the plugin); absent means unlimited. */
export type ConsentQuotas = {
  readonly netRequestsPerMinute?: number;
  readonly netBytesPerDay?: number;
  readonly execPerMinute?: number;
  readonly writeBytesPerDay?: number;
};

/** An approval's terms: when it ends (epoch ms, or never) and its quotas. */
export type ConsentTerms = { readonly expiresAt: number | null; readonly quotas: ConsentQuotas };

/** What the plugin used in each quota's window now (whether or not that quota is set). */
export type ConsentUsage = { readonly [K in keyof Required<ConsentQuotas>]: number };

/** How to build a gate. */
export type ConsentGateOptions = {
  readonly pluginId: string;
  readonly terms: ConsentTerms;
  /** The clock (epoch ms; default Date.now), injectable for tests. */
  readonly now?: () => number;
};

/**
 * Which kind each capability operation is, or null when it is never gated: a permission query
 * changes nothing, and giving something up (an unsubscribe) is always allowed.
 */
export const CONSENT_KINDS = {
  "fs.readTextFile": "read",
  "fs.readDir": "read",
  "fs.stat": "read",
  "fs.writeTextFile": "write",
  "fs.mkdir": "write",
  "fs.remove": "write",
  fetch: "net",
  exec: "exec",
  "env.get": "env",
  "channels.publish": "channels",
  "channels.subscribe": "channels",
  "channels.unsubscribe": null,
  "permissions.query": null,
  "plugins.call": "plugins",
} as const satisfies Record<string, ConsentKind | null>;

const MINUTE_MS = 60_000;
/** Characters of the value a refused call names that its denial and audit record keep (the longest a capability accepts). */
const SHOWN_VALUE_CHARS = Math.max(...Object.values(DEFAULTS.values));
const DAY_MS = 24 * 60 * MINUTE_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Each quota: its window, what it counts (for messages) and the kind it limits. */
const QUOTAS = {
  netRequestsPerMinute: { kind: "net", unit: "net requests per minute", windowMs: MINUTE_MS, bucketMs: 1000 },
  netBytesPerDay: { kind: "net", unit: "net bytes per day", windowMs: DAY_MS, bucketMs: HOUR_MS },
  execPerMinute: { kind: "exec", unit: "exec calls per minute", windowMs: MINUTE_MS, bucketMs: 1000 },
  writeBytesPerDay: { kind: "write", unit: "bytes written per day", windowMs: DAY_MS, bucketMs: HOUR_MS },
} as const satisfies Record<keyof ConsentQuotas, { kind: ConsentKind; unit: string; windowMs: number; bucketMs: number }>;

type QuotaName = keyof typeof QUOTAS;
const QUOTA_NAMES = Object.keys(QUOTAS) as QuotaName[];

// Counted when the call is admitted (requests) or when its bytes moved (budgets).
const COUNTED_AT_ADMISSION: Partial<Record<string, QuotaName>> = { fetch: "netRequestsPerMinute", exec: "execPerMinute" };
// The byte budgets refuse only the calls that spend bytes (an mkdir or a remove writes none).
const SPENDS: Partial<Record<string, QuotaName>> = { fetch: "netBytesPerDay", "fs.writeTextFile": "writeBytesPerDay" };

/** The name a plugin author knows the operation by. */
function apiName(op: string): string {
  return op === "fetch" ? "fetch()" : `Warden.${op}()`;
}

/** "12 s", "5 min", "3 h": how long until something is allowed again. */
function waitText(ms: number): string {
  if (ms < 120_000) return `${Math.max(1, Math.ceil(ms / 1000))} s`;
  if (ms < 2 * HOUR_MS) return `${Math.ceil(ms / MINUTE_MS)} min`;
  return `${Math.ceil(ms / HOUR_MS)} h`;
}

/** Terms as given, checked (a host mistake must not silently mean "unlimited"). */
function checkedTerms(t: ConsentTerms, pluginId: string): ConsentTerms {
  if (t.expiresAt !== null && !Number.isFinite(t.expiresAt)) throw new BadInputError(`consent terms of ${pluginId}: expiresAt must be epoch milliseconds or null`, { pluginId });
  for (const [name, v] of Object.entries(t.quotas)) {
    if (!Object.hasOwn(QUOTAS, name)) throw new BadInputError(`consent terms of ${pluginId}: unknown quota ${quote(name)}`, { pluginId });
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) {
      throw new BadInputError(`consent terms of ${pluginId}: quotas.${name} must be a number >= 0`, { pluginId });
    }
  }
  return { expiresAt: t.expiresAt, quotas: { ...t.quotas } };
}

/** One plugin's approval, enforced: expiry, quotas and the kill switch. */
export class ConsentGate {
  readonly pluginId: string;
  readonly #now: () => number;
  #terms: ConsentTerms;
  #revoked: string | null = null;
  // Aborted by revoke(): every call admitted under it is merged with this signal.
  #controller = new AbortController();
  readonly #counts: Record<QuotaName, RollingCount>;

  constructor(o: ConsentGateOptions) {
    this.pluginId = o.pluginId;
    this.#now = o.now ?? Date.now;
    this.#terms = checkedTerms(o.terms, o.pluginId);
    this.#counts = {
      netRequestsPerMinute: new RollingCount(QUOTAS.netRequestsPerMinute.windowMs, QUOTAS.netRequestsPerMinute.bucketMs),
      netBytesPerDay: new RollingCount(QUOTAS.netBytesPerDay.windowMs, QUOTAS.netBytesPerDay.bucketMs),
      execPerMinute: new RollingCount(QUOTAS.execPerMinute.windowMs, QUOTAS.execPerMinute.bucketMs),
      writeBytesPerDay: new RollingCount(QUOTAS.writeBytesPerDay.windowMs, QUOTAS.writeBytesPerDay.bucketMs),
    };
  }

  /** The terms in force. */
  get terms(): ConsentTerms {
    return this.#terms;
  }

  /** A new approval: its terms apply from the next call, and it lifts a revocation (counts are kept). */
  setTerms(terms: ConsentTerms): void {
    this.#terms = checkedTerms(terms, this.pluginId);
    if (this.#revoked !== null) {
      this.#revoked = null;
      this.#controller = new AbortController();
    }
  }

  /** The kill switch: every call in flight is aborted and every later one denied, until setTerms. */
  revoke(reason: string): void {
    if (this.#revoked !== null) return;
    this.#revoked = reason;
    this.#controller.abort(new Error(`approval revoked: ${quote(reason)}`));
  }

  /** Why the approval was revoked, or null while it is not. */
  get revokedReason(): string | null {
    return this.#revoked;
  }

  /**
   * Why no capability use is allowed now (the approval is revoked or has expired), or null. For
   * what the plugin is given rather than asks for, a channel message for a subscription it made
   * while approved: it is not delivered, whatever was decided when it subscribed.
   */
  refusal(): string | null {
    if (this.#revoked !== null) return `approval revoked: ${quote(this.#revoked)}`;
    const expiresAt = this.#terms.expiresAt;
    if (expiresAt !== null && this.#now() >= expiresAt) return `approval expired at ${new Date(expiresAt).toISOString()}`;
    return null;
  }

  /** What the plugin used in each quota's window now (for status and the console). */
  usage(): ConsentUsage {
    const now = this.#now();
    const u = {} as Record<QuotaName, number>;
    for (const name of QUOTA_NAMES) u[name] = this.#counts[name].total(now);
    return u;
  }

  /**
   * Admit one capability call, before its grant check: null when `op` is never gated, else the
   * signal its handler must honour (aborted by revoke). Denied (recorded in `audit`, then thrown
   * as PERMISSION_DENIED) when the approval is revoked, expired or a quota is spent.
   */
  admit(op: string, args: readonly unknown[], audit: AuditSink): AbortSignal | null {
    const kind = Object.hasOwn(CONSENT_KINDS, op) ? CONSENT_KINDS[op as keyof typeof CONSENT_KINDS] : null;
    if (kind === null) return null;
    const now = this.#now();
    if (this.#revoked !== null) throw this.#deny(op, args, kind, audit, `approval revoked: ${quote(this.#revoked)}`, this.#renew());
    const expiresAt = this.#terms.expiresAt;
    if (expiresAt !== null && now >= expiresAt) throw this.#deny(op, args, kind, audit, `approval expired at ${new Date(expiresAt).toISOString()}`, this.#renew());
    for (const name of [COUNTED_AT_ADMISSION[op], SPENDS[op]]) {
      if (name === undefined) continue;
      const limit = this.#terms.quotas[name];
      if (limit === undefined) continue;
      const wait = this.#counts[name].msUntilBelow(now, limit);
      if (wait === 0) continue;
      const next = Number.isFinite(wait) ? `the next is allowed in ${waitText(wait)}` : `nothing is allowed until the operator raises it (warden grants approve ${this.pluginId})`;
      throw this.#deny(op, args, kind, audit, `quota: ${limit} ${QUOTAS[name].unit} (the operator's limit) used`, next);
    }
    const counted = COUNTED_AT_ADMISSION[op];
    if (counted !== undefined) this.#counts[counted].add(now, 1);
    return this.#controller.signal;
  }

  /** Count bytes a call moved: `net` (request and response bodies) or `write` (text written). */
  account(kind: "net" | "write", bytes: number): void {
    if (!(bytes > 0)) return;
    this.#counts[kind === "net" ? "netBytesPerDay" : "writeBytesPerDay"].add(this.#now(), bytes);
  }

  /**
   * The denial of a call that was admitted under `signal` and revoked while in flight (recorded
   * in `audit`): whatever its handler did or answered, the plugin gets this.
   */
  revokedInFlight(op: string, args: readonly unknown[], signal: AbortSignal, audit: AuditSink): PermissionDeniedError {
    const kind = Object.hasOwn(CONSENT_KINDS, op) ? (CONSENT_KINDS[op as keyof typeof CONSENT_KINDS] ?? "plugins") : "plugins";
    const why = signal.reason instanceof Error ? signal.reason.message : "approval revoked";
    return this.#deny(op, args, kind, audit, `${why} while the call was in flight`, this.#renew());
  }

  #renew(): string {
    return `to allow it again, an operator approves the plugin again: warden grants approve ${this.pluginId}`;
  }

  #deny(op: string, args: readonly unknown[], kind: ConsentKind, audit: AuditSink, reason: string, fix: string): PermissionDeniedError {
    const api = apiName(op);
    const value = typeof args[0] === "string" ? args[0] : "";
    // Admission comes before the capability's own length check (value-bounds.ts): the error is cut
    // here too, so a refused 16 MiB name is not copied into it whole (the audit log cuts its own,
    // keeping the sha256 of all of it).
    audit.record({ type: "deny", op: api, permission: kind, value, decision: "denied", reason });
    return approvalDenied({ pluginId: this.pluginId, api, permission: kind, value: value.slice(0, SHOWN_VALUE_CHARS), reason, fix });
  }
}
