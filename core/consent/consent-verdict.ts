// Whether a plugin's manifest may run under what an operator approved: the one judgement that the
// host (at every load and reload), `warden run --approvals required` and `warden grants ls/diff`
// share. The comparison is permission-diff.ts's, conservative: whatever an approval does not
// prove covered (a new path, host, command, variable, topic or plugin, `true` where a list was) is
// growth and needs a new approval; equal or fewer permissions run, and the new hash is re-pinned.
// An approval covers limits too (memoryMb, cpuMs, timeouts...): a version asking for more than the
// approved ones waits for the operator as a new grant does, whether it arrives by a reload, an
// unload and load, or a host restart (a host's maxLimits still caps whatever was approved).
import { ApprovalRequiredError } from "../../errors/index.ts";
import {
  declaredLimits,
  entryTimeouts,
  grantLeads,
  grantRealPaths,
  leadChanges,
  limitGrowth,
  permissionGrowth,
  type LimitsView,
  type LoadedManifest,
  type Manifest,
  type ManifestPermissions,
} from "../../manifests/index.ts";
import type { ConsentTerms } from "../../capabilities/index.ts";
import { GRANT_KINDS, type Approval, type GrantKind } from "./approvals-file.ts";

/** What the judgement says about one manifest. */
export type ConsentVerdict =
  | {
      readonly kind: "approved";
      readonly approval: Approval;
      /** The manifest the plugin runs with: its permissions limited to the approved kinds. */
      readonly manifest: LoadedManifest;
      /** The approval is pinned to another version or hash with no growth: record the new one. */
      readonly repin: boolean;
      /** The approval's expiry has passed: it loads, and every capability call is denied. */
      readonly expired: boolean;
    }
  | {
      readonly kind: "pending" | "denied" | "revoked";
      readonly approval: Approval | null;
      /** What needs approval, one line per grant (`permissions.net[1] "x" is new`). */
      readonly growth: readonly string[];
      /** Why, and the commands that resolve it. */
      readonly reason: string;
    };

/** The permissions limited to `only` (every kind when null). */
export function restrictPermissions(p: ManifestPermissions | undefined, only: readonly GrantKind[] | null): ManifestPermissions {
  const out: Record<string, unknown> = {};
  for (const kind of GRANT_KINDS) {
    const value = p?.[kind];
    if (value !== undefined && (only === null || only.includes(kind))) out[kind] = value;
  }
  return out;
}

function withPermissions(m: Manifest, permissions: ManifestPermissions): Manifest {
  const { permissions: _dropped, ...rest } = m;
  return Object.keys(permissions).length === 0 ? rest : { ...rest, permissions };
}

/** What `after` grants that `before` does not (grew), and the reverse (no longer requested), line by line. */
export async function permissionChanges(before: ManifestPermissions, after: ManifestPermissions, dir: string, base: Manifest): Promise<{ grew: string[]; shrank: string[] }> {
  const [b, a] = [withPermissions(base, before), withPermissions(base, after)];
  const realPaths = await grantRealPaths([b, a], dir);
  return { grew: permissionGrowth(b, a, { dir, realPaths }), shrank: permissionGrowth(a, b, { dir, realPaths }) };
}

/**
 * The path grants of `permissions` that lead elsewhere than when `approval` was given (a symlink
 * on the way changed): growth, as a new grant would be, since the operator approved the place.
 */
export async function leadsMoved(approval: Approval, permissions: ManifestPermissions, dir: string): Promise<string[]> {
  if (approval.leads === undefined) return [];
  return leadChanges(permissions, approval.leads, await grantLeads(permissions, dir));
}

/** The limits `approval` covers: those it recorded; for an older approval without them, those of the very manifest it is pinned to; else the built-in defaults. */
function approvedLimits(approval: Approval, loaded: LoadedManifest): LimitsView {
  if (approval.limits !== undefined) return declaredLimits(approval.limits, approval.entryTimeouts ?? {});
  if (approval.manifestSha256 === loaded.sha256) return declaredLimits(loaded.manifest.limits, entryTimeouts(loaded.manifest));
  return declaredLimits(undefined, {});
}

/** Every limit `loaded` asks for above what `approval` covers (`limits.memoryMb 64 → 512`). */
export function limitChanges(approval: Approval, loaded: LoadedManifest): string[] {
  return limitGrowth(approvedLimits(approval, loaded), declaredLimits(loaded.manifest.limits, entryTimeouts(loaded.manifest)));
}

/** The commands that resolve a pending plugin, for reasons and errors. */
export function consentCommands(id: string, pluginsDir: string): string {
  const d = ` --plugins-dir ${pluginsDir}`;
  return `see what it asks for: warden grants diff ${id}${d}; then warden grants approve ${id}${d} (or host.approve("${id}")), or warden grants deny ${id}${d}`;
}

/** Judge `loaded` (the manifest on disk) against `approval` (undefined: none), at time `now`. */
export async function judgeConsent(loaded: LoadedManifest, approval: Approval | undefined, pluginsDir: string, now: number = Date.now()): Promise<ConsentVerdict> {
  const m = loaded.manifest;
  const label = `plugin ${m.id} ${m.version}`;
  const requested = restrictPermissions(m.permissions, null);
  // Never approved (or refused): everything it asks for is growth, limits above the defaults included.
  const asked = async (): Promise<string[]> => [
    ...(await permissionChanges({}, requested, loaded.dir, m)).grew,
    ...limitGrowth(declaredLimits(undefined, {}), declaredLimits(m.limits, entryTimeouts(m))),
  ];
  if (approval === undefined) {
    const grew = await asked();
    return { kind: "pending", approval: null, growth: grew, reason: `${label} is not approved yet; ${consentCommands(m.id, pluginsDir)}` };
  }
  if (approval.decision !== "approved") {
    const grew = await asked();
    const why = approval.reason === null ? "" : ` (${approval.reason})`;
    return {
      kind: approval.decision,
      approval,
      growth: grew,
      reason: `${label}: its grants were ${approval.decision} by ${approval.by} at ${approval.at}${why}; to run it: warden grants approve ${m.id} --plugins-dir ${pluginsDir}`,
    };
  }
  const effective = restrictPermissions(m.permissions, approval.only);
  const { grew: grewPermissions } = await permissionChanges(approval.permissions, effective, loaded.dir, m);
  const permissions = [...grewPermissions, ...(await leadsMoved(approval, effective, loaded.dir))];
  const limits = limitChanges(approval, loaded);
  if (permissions.length > 0 || limits.length > 0) {
    const what = [permissions.length > 0 ? "permissions" : "", limits.length > 0 ? "limits" : ""].filter(Boolean).join(" and ");
    const grew = [...permissions, ...limits];
    return {
      kind: "pending",
      approval,
      growth: grew,
      reason: `${label} needs approval: ${what} grew since the approval of ${approval.version}: ${grew.join("; ")}; ${consentCommands(m.id, pluginsDir)}`,
    };
  }
  const expired = approval.expires !== null && Date.parse(approval.expires) <= now;
  return {
    kind: "approved",
    approval,
    manifest: { ...loaded, manifest: withPermissions(m, effective) },
    repin: approval.manifestSha256 !== loaded.sha256 || approval.version !== m.version,
    expired,
  };
}

/** The error a call or reload gets while a plugin waits for approval. */
export function approvalRequired(id: string, reason: string): ApprovalRequiredError {
  return new ApprovalRequiredError(reason, { pluginId: id });
}

/** Whether two permission objects grant the same (key order aside). */
export function samePermissions(a: ManifestPermissions, b: ManifestPermissions): boolean {
  const canon = (p: ManifestPermissions): string => JSON.stringify(GRANT_KINDS.map((k) => [k, p[k] ?? null]));
  return canon(a) === canon(b);
}

/** The terms a consent gate enforces for an approval: its expiry (epoch ms) and quotas. */
export function termsOf(a: Approval): ConsentTerms {
  const quotas: Record<string, number> = {};
  for (const [k, v] of Object.entries(a.quotas)) if (v !== undefined) quotas[k] = v;
  return { expiresAt: a.expires === null ? null : Date.parse(a.expires), quotas: quotas };
}
