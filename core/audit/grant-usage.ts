// Usage evidence per grant (issue 14, part 5; like AWS IAM's "last accessed"): from audit records,
// how often each rule of a plugin's manifest was used and when last, what was denied, which rules
// were never used, and the smaller `permissions` that would have sufficed. One tally serves both
// paths: `warden grants usage` and `warden check --audit-log` feed it the records of a verified
// file, and a host can feed it each record as it writes it, so status() shows the same figures.
//
// Records are counted the way the audit log writes them: a use stands for one use; `deny-repeat`
// and `deny-aggregate` stand for `count` denials (the denial aggregator); `audit-suppressed` counts
// the records past the byte budget per (type, permission, operation, rule), without values or the
// rule's source, so those uses are matched to the manifest by permission and rule text.
import { escapeText } from "../../errors/index.ts";
import type { AuditWriter } from "./audit-log.ts";
import { type ManifestPermissions, PermissionsSchema } from "../../manifests/index.ts";
import { AUDIT_LIMITS } from "./audit-limits.ts";
import { clipText } from "./bounded-record.ts";

/** A parsed audit record (a line of the log, or what a host is about to append). */
export type AuditRecordLike = { readonly type: string; readonly plugin: string; readonly time?: unknown; readonly [field: string]: unknown };

/** One rule of a plugin's permissions, as `warden check` names it. */
export type GrantRule = {
  /** Where it is written, e.g. `permissions.net[1]`, `permissions.channels.publish[0]`, `permissions.env` (for `true`). */
  readonly source: string;
  /** The permission of the records it covers: read, write, net, exec, env, plugins, channels.publish, channels.subscribe, or channels (`channels: true`). */
  readonly permission: string;
  /** The rule as written in plugin.json (`true` for a grant of everything). */
  readonly rule: string;
};

/** How one rule was used in the period. */
export type RuleUsage = GrantRule & {
  readonly uses: number;
  /** ISO time of the last record of a use (for uses past the audit budget: when they were counted); null if never used. */
  readonly lastUsed: string | null;
  /** False for a rule the log names that the manifest does not have (the manifest changed since). */
  readonly inManifest: boolean;
};

/** Requests that no rule covered, per permission and value. */
export type DeniedRequest = {
  readonly permission: string;
  /** The value asked for; null for denials counted without their values (aggregated past a kind's share, or past the audit budget). */
  readonly value: string | null;
  readonly count: number;
  /** ISO time of the last record of these denials. */
  readonly lastDenied: string;
  /** A few of the values, for denials counted without them (from deny-aggregate records). */
  readonly samples: readonly string[];
};

/** Where a plugin's rules came from: its manifest in the plugins directory, the last grant record in the log, or nowhere. */
export type RulesFrom = "manifest" | "audit-log" | null;

/** The usage evidence of one plugin. */
export type PluginUsage = {
  readonly id: string;
  /** Whether the plugin is installed (its manifest was given); false: what the log says only. */
  readonly installed: boolean;
  readonly version: string | null;
  readonly rulesFrom: RulesFrom;
  /** The manifest's rules in its order, then rules the log names that the manifest does not have. */
  readonly rules: readonly RuleUsage[];
  /** Sources of the manifest's rules with no use in the period. */
  readonly neverUsed: readonly string[];
  readonly uses: number;
  readonly denials: number;
  readonly denied: readonly DeniedRequest[];
  /** Records past the audit budget counted under the catch-all kind "*" (neither use nor denial can be told). */
  readonly unattributed: number;
  /** The permissions with only the rules that were used; null when the plugin's rules are unknown. */
  readonly sufficient: ManifestPermissions | null;
};

/** What a plugin is known to be allowed, for the report. */
export type PluginGrants = { readonly permissions: ManifestPermissions; readonly version?: string | null };

/** The whole report. */
export type GrantUsageReport = {
  /** ISO time from which records were counted (null: all of them). */
  readonly since: string | null;
  /** Records counted (at or after `since`), and the times of the first and last of them. */
  readonly records: number;
  readonly first: string | null;
  readonly last: string | null;
  /** Every plugin given or with records in the period, sorted by id. */
  readonly plugins: readonly PluginUsage[];
};

/** Bounds on what one tally holds per plugin (a host keeps one for as long as it runs). */
export const USAGE_LIMITS = {
  /** Distinct (permission, value) denials kept per plugin; past it, denials are counted under (permission, null). */
  deniedValuesPerPlugin: 256,
  /** Distinct (permission, source, rule) uses kept per plugin; a sandbox process could claim any rule text. */
  ruleKeysPerPlugin: 512,
  /** Samples kept per (permission, null) denial line. */
  samples: AUDIT_LIMITS.samples,
  /** Characters of a kept value or rule text. */
  textChars: AUDIT_LIMITS.textChars,
} as const;

/** Every rule of `p`, in the order `warden check` lists them. */
export function grantRules(p: ManifestPermissions): GrantRule[] {
  const rules: GrantRule[] = [];
  const list = (permission: string, value: true | readonly string[] | undefined, field: string) => {
    if (value === undefined) return;
    if (value === true) rules.push({ source: field, permission, rule: "true" });
    else value.forEach((rule, i) => rules.push({ source: `${field}[${i}]`, permission, rule }));
  };
  list("read", p.read, "permissions.read");
  list("write", p.write, "permissions.write");
  list("net", p.net, "permissions.net");
  list("exec", p.exec, "permissions.exec");
  list("env", p.env, "permissions.env");
  if (p.channels === true) rules.push({ source: "permissions.channels", permission: "channels", rule: "true" });
  else if (p.channels !== undefined) {
    list("channels.publish", p.channels.publish, "permissions.channels.publish");
    list("channels.subscribe", p.channels.subscribe, "permissions.channels.subscribe");
  }
  list("plugins", p.plugins, "permissions.plugins");
  return rules;
}

type UseLine = { readonly permission: string; readonly source: string | null; readonly rule: string; uses: number; last: number; lastText: string };
type DenyLine = { readonly permission: string; readonly value: string | null; count: number; last: number; lastText: string; readonly samples: string[] };
type Seen = {
  readonly uses: Map<string, UseLine>;
  readonly denied: Map<string, DenyLine>;
  unattributed: number;
  /** The last grant record's permissions and version (kept whatever its time: a grant is state, not an event). */
  grant: { permissions: ManifestPermissions; version: string | null } | null;
  /** Whether any record of the plugin is in the period. */
  inPeriod: boolean;
};

const text = (v: unknown): string => (typeof v === "string" ? clipText(v, USAGE_LIMITS.textChars) : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 1);

/** Counts uses and denials per plugin and rule, record by record. */
export class GrantUsageTally {
  readonly #since: number | null;
  readonly #now: () => Date;
  readonly #plugins = new Map<string, Seen>();
  #records = 0;
  #first: string | null = null;
  #last: string | null = null;

  /** `since`: count only records at or after it (ms since the epoch); `now`: the time of records that carry none (a host's, before the log stamps them). */
  constructor(o: { readonly since?: number | null; readonly now?: () => Date } = {}) {
    this.#since = o.since ?? null;
    this.#now = o.now ?? (() => new Date());
  }

  /** Count one record. Records other than grants, uses and denials only mark their plugin as seen. */
  observe(record: AuditRecordLike): void {
    if (typeof record.plugin !== "string") return;
    const given = typeof record.time === "string" ? Date.parse(record.time) : NaN;
    const time = Number.isNaN(given) ? this.#now().getTime() : given;
    const timeText = new Date(time).toISOString();
    let seen = this.#plugins.get(record.plugin);
    if (record.type === "grant") {
      // The permissions as the host granted them; a record that does not parse as permissions is ignored.
      const parsed = PermissionsSchema.safeParse(record["permissions"] ?? {});
      seen ??= this.#newPlugin(record.plugin);
      if (parsed.success) seen.grant = { permissions: parsed.data, version: typeof record["version"] === "string" ? record["version"] : null };
    }
    if (this.#since !== null && time < this.#since) return;
    seen ??= this.#newPlugin(record.plugin);
    seen.inPeriod = true;
    this.#records++;
    this.#first ??= timeText;
    this.#last = timeText;
    switch (record.type) {
      case "use":
        this.#use(seen, text(record["permission"]), typeof record["source"] === "string" ? text(record["source"]) : null, text(record["rule"]), 1, time, timeText);
        break;
      case "deny":
        this.#deny(seen, text(record["permission"]), text(record["value"]), 1, time, timeText, []);
        break;
      case "deny-repeat":
        this.#deny(seen, text(record["permission"]), text(record["value"]), num(record["count"]), time, timeText, []);
        break;
      case "deny-aggregate":
        this.#deny(seen, text(record["permission"]), null, num(record["count"]), time, timeText, Array.isArray(record["samples"]) ? record["samples"].map(text) : []);
        break;
      case "audit-suppressed":
        for (const c of Array.isArray(record["counts"]) ? (record["counts"] as unknown[]) : []) {
          if (typeof c !== "object" || c === null) continue;
          const line = c as Record<string, unknown>;
          const count = num(line["count"]);
          if (line["type"] === "use") this.#use(seen, text(line["permission"]), null, text(line["rule"]), count, time, timeText);
          else if (line["type"] === "deny" || line["type"] === "deny-repeat" || line["type"] === "deny-aggregate") this.#deny(seen, text(line["permission"]), null, count, time, timeText, []);
          else if (line["type"] === "*") seen.unattributed += count;
        }
        break;
      default:
        break;
    }
  }

  #newPlugin(id: string): Seen {
    const seen: Seen = { uses: new Map(), denied: new Map(), unattributed: 0, grant: null, inPeriod: false };
    this.#plugins.set(id, seen);
    return seen;
  }

  #use(seen: Seen, permission: string, source: string | null, rule: string, n: number, time: number, timeText: string): void {
    let key = JSON.stringify([permission, source, rule]);
    // A sandbox process that escaped its isolate could name any rule: past the bound, one line per permission.
    if (!seen.uses.has(key) && seen.uses.size >= USAGE_LIMITS.ruleKeysPerPlugin) [key, source, rule] = [JSON.stringify([permission, null, "(other rules)"]), null, "(other rules)"];
    const line = seen.uses.get(key) ?? { permission, source, rule, uses: 0, last: -Infinity, lastText: timeText };
    seen.uses.set(key, line);
    line.uses += n;
    if (time >= line.last) [line.last, line.lastText] = [time, timeText];
  }

  #deny(seen: Seen, permission: string, value: string | null, n: number, time: number, timeText: string, samples: readonly string[]): void {
    let key = JSON.stringify([permission, value]);
    // A plugin chooses the values it asks for: past the bound they are counted without them.
    if (!seen.denied.has(key) && seen.denied.size >= USAGE_LIMITS.deniedValuesPerPlugin) [key, samples, value] = [JSON.stringify([permission, null]), value === null ? samples : [value], null];
    const line = seen.denied.get(key) ?? { permission, value, count: 0, last: -Infinity, lastText: timeText, samples: [] };
    seen.denied.set(key, line);
    line.count += n;
    if (time >= line.last) [line.last, line.lastText] = [time, timeText];
    for (const s of samples) if (line.samples.length < USAGE_LIMITS.samples && !line.samples.includes(s)) line.samples.push(s);
  }

  /** The ids of plugins with records in the period, sorted. */
  pluginIds(): string[] {
    return [...this.#plugins]
      .filter(([, s]) => s.inPeriod)
      .map(([id]) => id)
      .sort();
  }

  /** The evidence of one plugin: its rules from `grants` (installed) or else from the log's last grant record. */
  plugin(id: string, grants?: PluginGrants): PluginUsage {
    const seen = this.#plugins.get(id) ?? { uses: new Map<string, UseLine>(), denied: new Map<string, DenyLine>(), unattributed: 0, grant: null, inPeriod: false };
    const from = grants ?? seen.grant;
    const rulesFrom: RulesFrom = grants !== undefined ? "manifest" : seen.grant !== null ? "audit-log" : null;
    const rules = from === null ? [] : grantRules(from.permissions);
    const counted = rules.map((r) => ({ ...r, uses: 0, last: -Infinity, lastUsed: null as string | null, inManifest: true, channelDirections: new Set<string>() }));
    const extra = new Map<string, (typeof counted)[number]>();
    for (const u of seen.uses.values()) {
      const target = matchRule(counted, u) ?? extraRule(extra, u);
      target.uses += u.uses;
      if (u.last >= target.last) [target.last, target.lastUsed] = [u.last, u.lastText];
      target.channelDirections.add(u.permission);
    }
    const all = [...counted, ...extra.values()];
    const denied = [...seen.denied.values()]
      .map((d) => ({ permission: d.permission, value: d.value, count: d.count, lastDenied: d.lastText, samples: [...d.samples] }))
      .sort((a, b) => b.count - a.count || a.permission.localeCompare(b.permission) || (a.value ?? "").localeCompare(b.value ?? ""));
    return {
      id,
      installed: grants !== undefined,
      version: from?.version ?? null,
      rulesFrom,
      rules: all.map((r) => ({ source: r.source, permission: r.permission, rule: r.rule, uses: r.uses, lastUsed: r.lastUsed, inManifest: r.inManifest })),
      neverUsed: counted.filter((r) => r.uses === 0).map((r) => r.source),
      uses: all.reduce((n, r) => n + r.uses, 0),
      denials: denied.reduce((n, d) => n + d.count, 0),
      denied,
      unattributed: seen.unattributed,
      sufficient: from === null ? null : sufficientPermissions(from.permissions, counted),
    };
  }

  /** The report over `installed` plugins (by id) and every other plugin with records in the period. */
  report(installed: ReadonlyMap<string, PluginGrants>): GrantUsageReport {
    const ids = [...new Set([...installed.keys(), ...this.pluginIds()])].sort();
    return {
      since: this.#since === null ? null : new Date(this.#since).toISOString(),
      records: this.#records,
      first: this.#first,
      last: this.#last,
      plugins: ids.map((id) => this.plugin(id, installed.get(id))),
    };
  }
}

type Counted = GrantRule & { uses: number; last: number; lastUsed: string | null; inManifest: boolean; channelDirections: Set<string> };

// The texts a manifest's rule may appear as in a record: as written (a host's live records),
// escaped (the file's), clipped as every record's text is, and clipped again to 128 characters
// as the audit budget's counts are.
function ruleTexts(rule: string): Set<string> {
  const clipped = clipText(rule, AUDIT_LIMITS.textChars);
  const forms = [rule, clipped, clipText(clipped, 128)];
  return new Set([...forms, ...forms.map(escapeText)]);
}

function covers(r: GrantRule, permission: string): boolean {
  return r.permission === permission || (r.permission === "channels" && permission.startsWith("channels."));
}

function matchRule(rules: Counted[], u: UseLine): Counted | null {
  const candidates = rules.filter((r) => covers(r, u.permission) && ruleTexts(r.rule).has(u.rule));
  // The source tells two equal texts apart; a manifest edited since the record (rules moved) still matches by text.
  return candidates.find((r) => u.source !== null && (r.source === u.source || escapeText(r.source) === u.source)) ?? candidates[0] ?? null;
}

function extraRule(extra: Map<string, Counted>, u: UseLine): Counted {
  const source = u.source ?? `(${u.permission})`;
  const key = JSON.stringify([source, u.rule]);
  const found = extra.get(key);
  if (found !== undefined) return found;
  const made: Counted = { source, permission: u.permission, rule: u.rule, uses: 0, last: -Infinity, lastUsed: null, inManifest: false, channelDirections: new Set() };
  extra.set(key, made);
  return made;
}

/** `p` with only the rules that were used: lists keep their used items, `true` stays only if used, channels per direction. */
function sufficientPermissions(p: ManifestPermissions, counted: readonly Counted[]): ManifestPermissions {
  const used = new Map(counted.filter((r) => r.uses > 0).map((r) => [r.source, r]));
  const out: { -readonly [K in keyof ManifestPermissions]: ManifestPermissions[K] } = {};
  const list = (value: true | readonly string[] | undefined, field: string): true | string[] | undefined => {
    if (value === undefined) return undefined;
    if (value === true) return used.has(field) ? true : undefined;
    const kept = value.filter((_, i) => used.has(`${field}[${i}]`));
    return kept.length > 0 ? kept : undefined;
  };
  for (const kind of ["read", "write", "net", "exec", "env"] as const) {
    const kept = list(p[kind], `permissions.${kind}`);
    if (kept !== undefined) out[kind] = kept;
  }
  if (p.channels === true) {
    // `true` grants both directions; a plugin that only published needs only { publish: true }.
    const directions = used.get("permissions.channels")?.channelDirections ?? new Set<string>();
    const [pub, sub] = [directions.has("channels.publish"), directions.has("channels.subscribe")];
    if (pub && sub) out.channels = true;
    else if (pub || sub) out.channels = pub ? { publish: true } : { subscribe: true };
  } else if (p.channels !== undefined) {
    const publish = list(p.channels.publish, "permissions.channels.publish");
    const subscribe = list(p.channels.subscribe, "permissions.channels.subscribe");
    if (publish !== undefined || subscribe !== undefined) out.channels = { ...(publish !== undefined ? { publish } : {}), ...(subscribe !== undefined ? { subscribe } : {}) };
  }
  const plugins = list(p.plugins, "permissions.plugins");
  if (plugins !== undefined) out.plugins = plugins;
  return out;
}

/** `writer`, with every record it appends also counted by `tally` (a host's live figures, the same as the file's). */
export function tallyingAuditWriter(writer: AuditWriter, tally: GrantUsageTally): AuditWriter {
  return {
    append(record) {
      this.appendBatch([record]);
    },
    appendBatch(records) {
      writer.appendBatch(records);
      // Counted after the write: a record that could not be written is not evidence.
      for (const r of records) tally.observe(r);
    },
    get head() {
      return writer.head;
    },
    close() {
      writer.close();
    },
  };
}
