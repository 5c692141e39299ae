// The one place a plugin's effective limits are decided, and the host's ceiling on them. A
// manifest is written by the plugin's author (or rewritten by the plugin itself, if it may write
// its own directory), so what it asks for is a wish, not a policy: the host's maxima cap every
// field. A manifest asking for more is clamped, with a warning and a note in the audit grant
// record, rather than refused: a plugin written for a generous host still runs on a strict one,
// and the operator sees exactly what was cut (status().limitsClamped). The host's own defaults
// are trusted configuration, so a default above a maximum is a mistake reported at once. The
// values themselves, defaults and maxima, are in defaults/index.ts.
import { BadInputError } from "../errors/index.ts";
import { DEFAULTS, pick, type InstallLimits, type Limits } from "../defaults/index.ts";
import type { ManifestLimits } from "../manifests/index.ts";

export type { InstallLimits } from "../defaults/index.ts";

/**
 * Limits a sandbox applies to one plugin, as the host sends them to an engine (core/runtime/protocol.ts):
 * every limit (defaults/index.ts).
 */
export type ProcessLimits = Limits;

/** Every limit a manifest may ask for, with a value: all but the sandbox's own resultChars. */
export type PluginLimits = Omit<ProcessLimits, "resultChars">;

// The manifest's limits and PluginLimits name the same fields: a limit added to one and not the
// other fails to compile here.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const _manifestNamesEveryLimit: SameKeys<PluginLimits, Required<ManifestLimits>> = true;

/**
 * The built-in maxima: the most a manifest gets on a host that sets no `maxLimits` (and in
 * `warden run`); DEFAULTS.maxLimits, where each says why it is what it is.
 */
export const DEFAULT_MAX_LIMITS: PluginLimits = DEFAULTS.maxLimits;

/** The fields of PluginLimits, in a fixed order. */
export const LIMIT_FIELDS = Object.keys(DEFAULT_MAX_LIMITS) as ReadonlyArray<keyof PluginLimits>;

/** The limits of a plugin whose manifest and host say nothing (the contract's defaults: DEFAULTS.limits, as PluginLimits). */
export const DEFAULT_PLUGIN_LIMITS: PluginLimits = Object.freeze(pick(DEFAULTS.limits, LIMIT_FIELDS));

/** The built-in install limits (DEFAULTS.install): generous for a plugin with its node_modules, bounded for the host. */
export const DEFAULT_INSTALL_LIMITS: InstallLimits = DEFAULTS.install;

/** A limit the manifest asked for above the host's maximum, and what it got instead. */
export type ClampedLimit = { readonly field: string; readonly asked: number; readonly allowed: number };

function positiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
}

/**
 * The host's maxima (built-in ones where `max` says nothing), checked together with its
 * defaults: a malformed value, or a default above its maximum, is BAD_INPUT naming the field.
 */
export function limitPolicy(defaults: Partial<ProcessLimits> | undefined, max: Partial<PluginLimits> | undefined, where: string): PluginLimits {
  const out: Record<string, number> = {};
  for (const field of LIMIT_FIELDS) {
    const m = max?.[field];
    if (m !== undefined && !positiveInteger(m)) {
      throw new BadInputError(`${where}: maxLimits.${field} must be a positive integer, got ${JSON.stringify(m) ?? String(m)}`, { field: `maxLimits.${field}` });
    }
    const ceiling = m ?? DEFAULT_MAX_LIMITS[field];
    const d = defaults?.[field];
    if (d !== undefined && !positiveInteger(d)) {
      throw new BadInputError(`${where}: defaults.limits.${field} must be a positive integer, got ${JSON.stringify(d) ?? String(d)}`, { field: `defaults.limits.${field}` });
    }
    if (d !== undefined && d > ceiling) {
      throw new BadInputError(
        `${where}: defaults.limits.${field} (${d}) is above maxLimits.${field} (${ceiling}${m === undefined ? ", the built-in maximum" : ""}); lower the default or raise maxLimits.${field}`,
        { field: `defaults.limits.${field}` },
      );
    }
    out[field] = ceiling;
  }
  return out as PluginLimits;
}

/**
 * A plugin's effective limits: what its manifest asks for, else the host's default, else the
 * contract's, each capped by `max`; with the fields the manifest asked more of than `max` allows.
 */
export function resolvePluginLimits(asked: ManifestLimits | undefined, defaults: Partial<ProcessLimits> | undefined, max: PluginLimits): { limits: ProcessLimits; clamped: ClampedLimit[] } {
  const clamped: ClampedLimit[] = [];
  const values: Record<string, number> = {};
  for (const field of LIMIT_FIELDS) {
    const wish = asked?.[field];
    if (wish !== undefined && wish > max[field]) clamped.push({ field: `limits.${field}`, asked: wish, allowed: max[field] });
    // A built-in default above an operator's lower maximum follows the maximum, silently: no
    // manifest asked for it.
    values[field] = Math.min(wish ?? defaults?.[field] ?? DEFAULTS.limits[field], max[field]);
  }
  return { limits: { ...(values as PluginLimits), resultChars: DEFAULTS.limits.resultChars }, clamped };
}

/** Entry timeouts (`entries.<name>.timeoutMs`) above the maximum timeoutMs, as clamped limits. */
export function clampedEntryTimeouts(entries: Readonly<Record<string, { readonly timeoutMs?: number | undefined }>> | undefined, max: PluginLimits): ClampedLimit[] {
  return Object.entries(entries ?? {})
    .filter(([, e]) => e.timeoutMs !== undefined && e.timeoutMs > max.timeoutMs)
    .map(([name, e]) => ({ field: `entries.${name}.timeoutMs`, asked: e.timeoutMs as number, allowed: max.timeoutMs }));
}

/** How soon a plugin that failed (a limit, a crash) is rebuilt, and how the wait grows while it keeps failing. */
export type RestartPolicy = {
  /** Wait before the second consecutive restart, ms; each further one doubles it. */
  readonly baseMs: number;
  /** Longest wait between restarts, ms. */
  readonly maxMs: number;
};

/** The default restart backoff (DEFAULTS.host.restart): at once, then 250 ms doubling to 30 s while the plugin keeps failing. */
export const DEFAULT_RESTART: RestartPolicy = DEFAULTS.host.restart;

/** The wait before restart number `attempt` (0 for the first after a success) under `policy`, ms. */
export function restartDelayMs(attempt: number, policy: RestartPolicy): number {
  return attempt <= 0 ? 0 : Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
}
