// Reloading a plugin and its dependents as one transaction (MAI-36, MAI-37, MAI-39; never unload
// first, LURK-19): the new versions are loaded into fresh sandboxes beside the old ones and
// health-checked; only if all of them are fine are they switched in at once, channel
// subscriptions included, and the old versions retired. Otherwise everything staged is closed and
// the old versions keep serving, with the reason in their status. A reload never widens what a
// running plugin may do: with approvals "required", a new version is judged against the approval
// (what grew waits for the operator, as a pending update, while the approved version keeps
// serving); with approvals off, one whose permissions grew is refused until the plugin is unloaded
// and loaded again. Limits that grew are refused the same way: against the approval with approvals
// "required" (it records the limits it approved), against the running version otherwise.
import semver from "semver";
import { escapeText, isWardenError, PluginError, toWardenError } from "../../errors/index.ts";
import { approvalRequired } from "../consent/consent-verdict.ts";
import type { Logger } from "../logger.ts";
import type { PluginHandle } from "../plugin.ts";
import type { ProcessLimits } from "../limits.ts";
import { WARDEN_VERSION } from "../version.ts";
import { grantRealPaths, entryTimeouts, limitGrowth, permissionGrowth, readManifest, type LoadedManifest, type Manifest } from "../../manifests/index.ts";
import { dependentsOf, type DependencyNode } from "./dependency-order.ts";
import type { Admission } from "./host-consent.ts";
import { switchInVersion, type HostEntry, type HostEvent } from "./host-entry.ts";

/** What a reload needs of the host. */
export type ReloadContext = {
  readonly entries: Map<string, HostEntry>;
  readonly logger: Logger;
  emit(e: HostEvent): void;
  nodes(): DependencyNode[];
  /** Load a staged version (channel deliveries paused until it is switched in). */
  spawn(id: string, manifest: LoadedManifest, staged: boolean): Promise<PluginHandle>;
  /** Let a replaced version finish its calls, then close it. */
  retire(handle: PluginHandle): Promise<void>;
  /** The limits a manifest would run under on this host (its defaults applied). */
  limitsOf(manifest: Manifest): ProcessLimits;
  /** With approvals "required": judge a version against its approval (what it may run with, or why not). */
  admit?(manifest: LoadedManifest): Promise<Admission>;
};

/**
 * Why loading `next` in place of the running version of `target` needs approval (what grew, field
 * by field), or null when it grants nothing more. The comparison is with what the host last
 * accepted for the id (entry.baseline), running or not; after an operator's unload there is
 * nothing to compare with, and loading it is a first load, as at host start.
 */
async function growth(ctx: ReloadContext, target: string, next: LoadedManifest): Promise<string | null> {
  const entry = ctx.entries.get(target);
  if (entry === undefined || entry.baseline === null) return null;
  const before = entry.baseline;
  // With approvals required, permissions and limits are the approval's business (admit), not the baseline's.
  if (ctx.admit !== undefined) return null;
  const realPaths = await grantRealPaths([before, next.manifest], entry.dir);
  const permissions = permissionGrowth(before, next.manifest, { dir: entry.dir, realPaths });
  const limits = limitGrowth({ limits: ctx.limitsOf(before), entryTimeouts: entryTimeouts(before) }, { limits: ctx.limitsOf(next.manifest), entryTimeouts: entryTimeouts(next.manifest) });
  if (permissions.length === 0 && limits.length === 0) return null;
  const what = [permissions.length > 0 ? "permissions" : "", limits.length > 0 ? "limits" : ""].filter(Boolean).join(" and ");
  return `${what} grew: ${[...permissions, ...limits].join("; ")}; needs approval: a reload never widens what a running plugin may do. To accept the change, unload the plugin and load it again (host.unload("${target}") then host.reload("${target}")), or restart the host`;
}

/** Reload plugin `id` and its active dependents, or leave everything as it was and throw why. */
export async function reloadTransaction(ctx: ReloadContext, id: string): Promise<void> {
  const current = ctx.entries.get(id);
  if (current === undefined) throw new PluginError(`no plugin ${id} is known to this host`, { pluginId: id });
  const fail = (reason: string): never => {
    if (current.state === "active") current.reason = `reload refused, still running ${current.manifest?.manifest.version}: ${reason}`;
    else current.reason = reason;
    ctx.logger.warn({ plugin: id }, escapeText(`reload failed: ${reason}`));
    ctx.emit({ type: "reload-failed", plugin: id, reason });
    throw new PluginError(`plugin ${id}: reload failed: ${reason}`, { pluginId: id });
  };
  let fresh: LoadedManifest;
  try {
    fresh = await readManifest(current.dir, WARDEN_VERSION);
  } catch (e) {
    return fail(toWardenError(e).message);
  }
  if (fresh.manifest.id !== id) return fail(`plugin.json now says id ${fresh.manifest.id}; a reload cannot rename a plugin`);
  if (ctx.admit !== undefined) {
    const admitted = await ctx.admit(fresh);
    if (!admitted.ok) {
      const reason = admitted.verdict.reason;
      if (current.state === "active") {
        current.pendingUpdate = { version: fresh.manifest.version, reason };
        current.reason = `update to ${fresh.manifest.version} pending approval, still running ${current.manifest?.manifest.version}`;
      } else {
        current.state = "pending";
        current.reason = reason;
      }
      ctx.logger.warn({ plugin: id }, escapeText(reason));
      ctx.emit({ type: "pending", plugin: id, version: fresh.manifest.version, reason });
      throw approvalRequired(id, reason);
    }
    fresh = admitted.manifest;
  }
  const grew = await growth(ctx, id, fresh);
  if (grew !== null) return fail(grew);
  // Dependencies of the new version must be satisfied by what runs now.
  for (const [dep, range] of Object.entries(fresh.manifest.dependencies ?? {})) {
    const d = ctx.entries.get(dep);
    if (d?.state !== "active" || !semver.satisfies(d.manifest?.manifest.version ?? "0.0.0", range, { includePrerelease: true })) {
      return fail(`needs ${dep} ${range}, which is not active at a matching version`);
    }
  }
  const nodes = ctx.nodes();
  const dependents = dependentsOf(nodes, id).filter((d) => ctx.entries.get(d)?.state === "active");
  // Stage: the plugin, then each active dependent, each in a fresh sandbox beside the old one.
  const staged: Array<{ id: string; manifest: LoadedManifest; handle: PluginHandle }> = [];
  const rollback = async (reason: string): Promise<never> => {
    await Promise.all(staged.map((s) => s.handle.close().catch(() => undefined)));
    return fail(reason);
  };
  for (const target of [id, ...dependents]) {
    let manifest = target === id ? fresh : await readManifest((ctx.entries.get(target) as HostEntry).dir, WARDEN_VERSION).catch((e: unknown) => toWardenError(e));
    if (isWardenError(manifest)) return rollback(`dependent ${target}: ${manifest.message}`);
    if (target !== id && ctx.admit !== undefined) {
      const admitted = await ctx.admit(manifest);
      if (!admitted.ok) return rollback(`dependent ${target}: ${admitted.verdict.reason}`);
      manifest = admitted.manifest;
    }
    if (target !== id) {
      const range = manifest.manifest.dependencies?.[id];
      if (range !== undefined && !semver.satisfies(fresh.manifest.version, range, { includePrerelease: true })) {
        return rollback(`dependent ${target} needs ${id} ${range}, not ${fresh.manifest.version}`);
      }
      const dependentGrew = await growth(ctx, target, manifest);
      if (dependentGrew !== null) return rollback(`dependent ${target}: ${dependentGrew}`);
    }
    let handle: PluginHandle;
    try {
      handle = await ctx.spawn(target, manifest, true);
    } catch (e) {
      return rollback(`${target === id ? "" : `dependent ${target}: `}${toWardenError(e).message}`);
    }
    staged.push({ id: target, manifest, handle });
    try {
      const healthy = await handle.hook("health");
      if (healthy === false) return rollback(`${target}: health() answered false`);
    } catch (e) {
      return rollback(`${target}: health() failed: ${toWardenError(e).message}`);
    }
  }
  // Commit: switch every staged plugin at once, then retire the old sandboxes.
  const retired: Array<{ id: string; handle: PluginHandle; from: string }> = [];
  for (const s of staged) {
    const entry = ctx.entries.get(s.id) as HostEntry;
    const from = entry.manifest?.manifest.version ?? "?";
    // Each message goes to exactly one version: the old stops receiving as the new one starts.
    entry.handle?.detachChannels();
    s.handle.activate();
    if (entry.handle) retired.push({ id: s.id, handle: entry.handle, from });
    switchInVersion(entry, s.handle, s.manifest);
  }
  for (const s of staged) ctx.emit({ type: "reload", plugin: s.id, from: retired.find((r) => r.id === s.id)?.from ?? "?", to: s.manifest.manifest.version });
  await Promise.all(retired.map((r) => ctx.retire(r.handle)));
}
