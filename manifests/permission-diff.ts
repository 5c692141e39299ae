// What a new version of a plugin's manifest would be allowed that the running version is not. A
// reload must not be a way to gain permissions nobody approved (a plugin that rewrote its own
// plugin.json, a tampered update): the host refuses a reload whose permissions or limits grew.
// PURE and conservative: whatever it cannot prove covered by the running version's grants, it
// reports as grown. Real paths are looked up by the caller (grant-roots.ts) and passed in.
import { isAbsolute, normalize, resolve, sep } from "node:path";
import { quote } from "../errors/index.ts";
import { DEFAULTS } from "../defaults/index.ts";
import { envCovers, topicCovers } from "./grant-table.ts";
import { envPrefixSpansFamilies, spansNamespaces } from "./lint-manifest.ts";
import { netMeaning } from "./net-meaning.ts";
import { LimitsSchema, type Manifest, type ManifestLimits } from "./schema.ts";

/** How path grants are compared: the plugin's directory and, when known, each grant's real path now. */
export type PathContext = {
  readonly dir: string;
  /** Real paths keyed by the grant's absolute lexical path; a missing one is never proven covered. */
  readonly realPaths?: ReadonlyMap<string, string>;
};

/** A copy of capabilities/path-rules.ts SPECIAL_ROOTS (this layer cannot import it; a test compares them). */
export const SPECIAL_PATH_ROOTS: readonly string[] = ["/proc", "/sys", "/dev"];

type List = true | readonly string[] | undefined;

function within(path: string, base: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

function specialRootOf(path: string): string | null {
  return SPECIAL_PATH_ROOTS.find((root) => within(path, root)) ?? null;
}

function show(list: List): string {
  if (list === undefined) return "nothing";
  if (list === true) return "true";
  return list.length === 0 ? "[]" : `[${list.map((v) => quote(v)).join(", ")}]`;
}

/**
 * Compare one grant list; `covers(old, new)` says whether one old item allows everything a new one
 * does. `true` covers everything (paths: except /proc, /sys, /dev, handled by `covers`).
 */
function listGrowth(
  field: string,
  before: List,
  after: List,
  covers: (old: string, next: string) => boolean,
  trueCovers: (next: string) => boolean = () => true,
  meaning: (next: string) => string = (next) => next,
): string[] {
  if (after === undefined) return [];
  if (after === true) return before === true ? [] : [`${field}: true (the running version has ${show(before)})`];
  const out: string[] = [];
  after.forEach((next, i) => {
    const covered = before === true ? trueCovers(next) : (before ?? []).some((old) => covers(old, next));
    const means = meaning(next);
    if (!covered) out.push(`${field}[${i}] ${quote(next)}${means !== next ? ` (that is ${quote(means)})` : ""} is new`);
  });
  return out;
}

/**
 * A path grant as the check reads it (`.`, `..` and repeated separators resolved lexically), for the
 * operator: a quoted path is cut at 200 characters, and `/srv/<200 characters>/../../etc` would
 * show only its harmless start. What is left once normalised has no `..`, so even cut, what is
 * shown is a prefix of everything the grant reaches (bar links, which the real paths judge).
 */
function pathMeaning(path: string): string {
  const n = normalize(path);
  // normalize keeps a trailing separator; "data/" and "data" mean the same grant.
  return n === path || n === `${path}/` || `${n}/` === path ? path : n;
}

function pathCovers(ctx: PathContext): { covers: (old: string, next: string) => boolean; trueCovers: (next: string) => boolean } {
  const abs = (p: string) => (isAbsolute(p) ? resolve(p) : resolve(ctx.dir, p));
  return {
    covers(old, next) {
      const [o, n] = [abs(old), abs(next)];
      if (!within(n, o)) return false;
      // Under /proc, /sys or /dev only a grant that names a path there covers anything.
      const special = specialRootOf(n);
      if (special !== null && !within(o, special)) return false;
      if (n === o) return true;
      // Lexically below is not enough: a link under the old grant may lead anywhere.
      const [ro, rn] = [ctx.realPaths?.get(o), ctx.realPaths?.get(n)];
      return ro !== undefined && rn !== undefined && within(rn, ro) && (specialRootOf(rn) === null || special !== null);
    },
    trueCovers: (next) => specialRootOf(abs(next)) === null,
  };
}

function splitHost(rule: string): { host: string; port: string | null } {
  const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(rule);
  if (v6) return { host: (v6[1] ?? "").toLowerCase(), port: v6[2] ?? null };
  const i = rule.lastIndexOf(":");
  const [host, port] = i === -1 || rule.includes("/") ? [rule, null] : [rule.slice(0, i), rule.slice(i + 1)];
  return { host: host.toLowerCase().replace(/\.$/, ""), port };
}

/** A net rule covers another when it is the same rule, or the same host without a port. Nothing cleverer: wildcards and CIDRs count only when written the same. */
function netCovers(old: string, next: string): boolean {
  const [o, n] = [splitHost(old), splitHost(next)];
  return o.host === n.host && (o.port === null || o.port === n.port);
}

/** An env rule covers another when equal, or when it is a prefix `P*` and the other starts with P. */
function envRuleCovers(old: string, next: string): boolean {
  return old === next || (old.endsWith("*") && next.startsWith(old.slice(0, -1)));
}

const same = (old: string, next: string): boolean => old === next;

/**
 * Every permission `after` grants that `before` does not, one line per field, e.g.
 * `permissions.read[1] "/etc" is new` or `permissions.net: true (the running version has [...])`;
 * a grant wider than it reads is said in words, as `warden check` says it
 * (`permissions.channels.subscribe[0] "**" (that is "every topic") is new`).
 * Empty when `after` grants nothing more (equal or fewer permissions).
 */
export function permissionGrowth(before: Manifest, after: Manifest, ctx: PathContext): string[] {
  const b = before.permissions ?? {};
  const a = after.permissions ?? {};
  const paths = pathCovers(ctx);
  const out = [
    ...listGrowth("permissions.read", b.read, a.read, paths.covers, paths.trueCovers, pathMeaning),
    ...listGrowth("permissions.write", b.write, a.write, paths.covers, paths.trueCovers, pathMeaning),
    ...listGrowth("permissions.net", b.net, a.net, netCovers, undefined, (next) => netMeaning(next).rule),
    ...listGrowth("permissions.exec", b.exec, a.exec, same),
    ...listGrowth("permissions.env", b.env, a.env, envRuleCovers, undefined, (next) => (envPrefixSpansFamilies(next) ? envCovers(next) : next)),
    ...listGrowth("permissions.plugins", b.plugins, a.plugins, same),
  ];
  if (a.channels === true) {
    if (b.channels !== true) out.push(`permissions.channels: true (publish and subscribe on every topic; the running version has ${b.channels === undefined ? "nothing" : "a list"})`);
  } else if (a.channels !== undefined && b.channels !== true) {
    for (const d of ["publish", "subscribe"] as const)
      out.push(...listGrowth(`permissions.channels.${d}`, b.channels?.[d], a.channels[d], same, undefined, (next) => (spansNamespaces(next) ? topicCovers(next) : next)));
  }
  return out;
}

/** The limits a version runs under: every limit, and each entry's own timeout where it has one. */
export type LimitsView = { readonly limits: Readonly<Record<string, number>>; readonly entryTimeouts: Readonly<Record<string, number>> };

/** Every limit that rose from `before` to `after` (`limits.memoryMb 64 → 128`), entry timeouts included. */
export function limitGrowth(before: LimitsView, after: LimitsView): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(after.limits)) {
    const old = before.limits[key];
    if (old === undefined || value > old) out.push(`limits.${key} ${old ?? "(none)"} → ${value}`);
  }
  const entries = new Set([...Object.keys(before.entryTimeouts), ...Object.keys(after.entryTimeouts)]);
  for (const name of entries) {
    const old = before.entryTimeouts[name] ?? before.limits["timeoutMs"];
    const value = after.entryTimeouts[name] ?? after.limits["timeoutMs"];
    if (value !== undefined && (old === undefined || value > old)) out.push(`entries.${name}.timeoutMs ${old ?? "(none)"} → ${value}`);
  }
  return out;
}

/** The entry timeouts a manifest declares (`entries.<name>.timeoutMs`). */
export function entryTimeouts(m: Manifest): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(m.entries ?? {})) if (spec.timeoutMs !== undefined) out[name] = spec.timeoutMs;
  return out;
}

/**
 * The limits a manifest declares as a LimitsView, each one it leaves out at the built-in default
 * (DEFAULTS.limits): what an approval compares, since it cannot know a host's own defaults (those
 * are the operator's, and a host's maxLimits caps everything anyway).
 */
export function declaredLimits(limits: ManifestLimits | undefined, timeouts: Readonly<Record<string, number>>): LimitsView {
  const out: Record<string, number> = {};
  for (const field of Object.keys(LimitsSchema.shape) as Array<keyof ManifestLimits>) out[field] = limits?.[field] ?? DEFAULTS.limits[field];
  return { limits: out, entryTimeouts: { ...timeouts } };
}
