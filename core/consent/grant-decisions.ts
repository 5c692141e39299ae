// The operator's decisions on a plugins directory: approve, deny, revoke, and the re-pin a host
// records when an update asks for no more than was approved. Each runs under the approvals lock,
// writes warden-approvals.json atomically, and appends one record to warden-consent.jsonl (a
// hash-chained log of its own: a running host holds its audit log's head in memory, so a second
// writer in another process would break that chain; `warden audit` verifies either file). The
// listing and the diff read the same files and write nothing.
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { openAuditLog } from "../audit/audit-log.ts";
import { BadInputError, quote } from "../../errors/index.ts";
import { discoverPlugins, entryTimeouts, grantLeads, type LoadedManifest, type ManifestPermissions } from "../../manifests/index.ts";
import { CONSENT_LOG } from "../install/names.ts";
import { WARDEN_VERSION } from "../version.ts";
import { GRANT_KINDS, readApprovals, withApprovalsLock, writeApprovals, type Approval, type ApprovalQuotas, type Approvals, type GrantKind } from "./approvals-file.ts";
import { judgeConsent, leadsMoved, limitChanges, permissionChanges, restrictPermissions, type ConsentVerdict } from "./consent-verdict.ts";

/** Who is deciding: the OS user running this process. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "unknown"}`;
  }
}

/** The path of the consent log in `pluginsDir`. */
export function consentLogPath(pluginsDir: string): string {
  return join(pluginsDir, CONSENT_LOG);
}

/** The plugin `id` as its plugins directory holds it now; BAD_INPUT naming the known ids otherwise. */
export async function findPlugin(pluginsDir: string, id: string): Promise<LoadedManifest> {
  const found = await discoverPlugins(pluginsDir, WARDEN_VERSION).catch((e: NodeJS.ErrnoException) => {
    throw new BadInputError(`cannot read the plugins directory ${quote(pluginsDir)} (${e.code ?? e.message}); pass --plugins-dir <dir>`, { value: pluginsDir });
  });
  const l = found.found.get(id);
  if (l !== undefined) return l;
  const broken = found.rejected.find((r) => r.id === id);
  if (broken !== undefined) throw new BadInputError(`plugin ${id} in ${quote(broken.dir)} cannot be judged: ${broken.reason}`, { pluginId: id, value: id });
  const known = [...found.found.keys()].sort();
  // A directory whose manifest is invalid may be the one meant: say so, with why.
  const invalid = found.rejected.map((r) => `${quote(r.dir)} (${r.reason.split("\n")[0] ?? ""})`);
  throw new BadInputError(
    `no plugin ${quote(id)} in ${quote(pluginsDir)}; its plugins: ${known.length > 0 ? known.join(", ") : "(none)"}${invalid.length > 0 ? `; not loadable: ${invalid.join(", ")}` : ""}`,
    { pluginId: id, value: id },
  );
}

/** Parse `--only read,net` into grant kinds; BAD_INPUT naming the unknown one. */
export function parseKinds(text: string): GrantKind[] {
  const kinds = text
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (kinds.length === 0) throw new BadInputError(`--only needs at least one kind of grant: ${GRANT_KINDS.join(", ")}`, { field: "only", value: text });
  for (const k of kinds) {
    if (!(GRANT_KINDS as readonly string[]).includes(k)) throw new BadInputError(`--only: ${quote(k)} is not a kind of grant; the kinds are ${GRANT_KINDS.join(", ")}`, { field: "only", value: k });
  }
  return [...new Set(kinds as GrantKind[])].sort();
}

/** Parse an expiry (`2027-01-31` or an ISO time); BAD_INPUT when malformed or not in the future. */
export function parseExpiry(text: string, now: number = Date.now()): string {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(t))
    throw new BadInputError(`--expires: ${quote(text)} is not a date; write 2027-01-31 (midnight UTC) or an ISO time such as 2027-01-31T18:00:00Z`, { field: "expires", value: text });
  if (t <= now) throw new BadInputError(`--expires: ${quote(text)} is not in the future; an approval that has already expired would grant nothing`, { field: "expires", value: text });
  return new Date(t).toISOString();
}

/** What an approval is asked to carry besides the manifest. */
export type ApproveOptions = {
  readonly pluginsDir: string;
  readonly id: string;
  /** Approve only these kinds of grant (the others are not granted); default every kind requested. */
  readonly only?: readonly GrantKind[] | undefined;
  /** ISO time after which the plugin's capability calls are denied. */
  readonly expires?: string | undefined;
  readonly quotas?: ApprovalQuotas | undefined;
  /** Who approves (default: the OS user). */
  readonly by?: string | undefined;
};

/** What a decision changed. */
export type Decision = { readonly approval: Approval; readonly previous: Approval | null; readonly consentLog: string };

async function decide(pluginsDir: string, id: string, make: (l: LoadedManifest, previous: Approval | null) => Approval | Promise<Approval>): Promise<Decision> {
  const dir = resolve(pluginsDir);
  return withApprovalsLock(dir, async () => {
    const approvals = await readApprovals(dir);
    const loaded = await findPlugin(dir, id);
    const previous = approvals.plugins[id] ?? null;
    const approval = await make(loaded, previous);
    const next: Approvals = { approvalsVersion: approvals.approvalsVersion, plugins: { ...approvals.plugins, [id]: approval } };
    await writeApprovals(dir, next);
    appendConsent(dir, approval.decision, approval, previous);
    return { approval, previous, consentLog: consentLogPath(dir) };
  });
}

function appendConsent(pluginsDir: string, action: Approval["decision"] | "re-pinned", a: Approval, previous: Approval | null): void {
  const log = openAuditLog(consentLogPath(pluginsDir));
  try {
    log.append({
      type: "consent",
      plugin: a.id,
      action,
      by: a.by,
      version: a.version,
      manifestSha256: a.manifestSha256,
      permissions: a.permissions,
      limits: a.limits ?? null,
      entryTimeouts: a.entryTimeouts ?? null,
      only: a.only,
      expires: a.expires,
      quotas: a.quotas,
      reason: a.reason,
      previous: previous === null ? null : { decision: previous.decision, version: previous.version, manifestSha256: previous.manifestSha256 },
    });
  } finally {
    log.close();
  }
}

/** The limits an approval of `l` records: its manifest's `limits` and its entries' own timeouts. */
function limitsOf(l: LoadedManifest): Pick<Approval, "limits" | "entryTimeouts"> {
  return { limits: { ...(l.manifest.limits ?? {}) }, entryTimeouts: entryTimeouts(l.manifest) };
}

/** Approve the grants plugin `id` asks for now (pinned to its version and manifest hash). */
export function approveGrants(o: ApproveOptions): Promise<Decision> {
  const expires = o.expires === undefined ? null : Date.parse(o.expires);
  if (expires !== null && !Number.isFinite(expires)) {
    return Promise.reject(
      new BadInputError(`approve ${o.id}: expires ${quote(o.expires ?? "")} is not a date; pass an ISO time such as 2027-01-31T18:00:00Z`, { field: "expires", value: o.expires ?? "" }),
    );
  }
  if (o.only !== undefined) {
    const unknown = o.only.find((k) => !(GRANT_KINDS as readonly string[]).includes(k));
    if (unknown !== undefined)
      return Promise.reject(new BadInputError(`approve ${o.id}: only: ${quote(unknown)} is not a kind of grant; the kinds are ${GRANT_KINDS.join(", ")}`, { field: "only", value: unknown }));
  }
  for (const [k, v] of Object.entries(o.quotas ?? {})) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
      return Promise.reject(new BadInputError(`approve ${o.id}: quotas.${k} must be a positive whole number, got ${String(v)}`, { field: `quotas.${k}` }));
  }
  return decide(o.pluginsDir, o.id, async (l) => ({
    id: o.id,
    decision: "approved",
    version: l.manifest.version,
    manifestSha256: l.sha256,
    permissions: restrictPermissions(l.manifest.permissions, o.only ?? null),
    leads: await grantLeads(restrictPermissions(l.manifest.permissions, o.only ?? null), l.dir),
    ...limitsOf(l),
    only: o.only === undefined ? null : [...o.only],
    expires: expires === null ? null : new Date(expires).toISOString(),
    quotas: { ...(o.quotas ?? {}) },
    by: o.by ?? currentUser(),
    at: new Date().toISOString(),
    reason: null,
  }));
}

/** Deny plugin `id`'s grants: with approvals required it does not load (a running one loses every grant). */
export function denyGrants(o: { readonly pluginsDir: string; readonly id: string; readonly reason?: string | undefined; readonly by?: string | undefined }): Promise<Decision> {
  return decide(o.pluginsDir, o.id, (l) => ({
    id: o.id,
    decision: "denied",
    version: l.manifest.version,
    manifestSha256: l.sha256,
    permissions: {},
    only: null,
    expires: null,
    quotas: {},
    by: o.by ?? currentUser(),
    at: new Date().toISOString(),
    reason: o.reason ?? null,
  }));
}

/** Revoke plugin `id`'s approval: every grant stops at once; BAD_INPUT when it has none to revoke. */
export function revokeGrants(o: { readonly pluginsDir: string; readonly id: string; readonly reason?: string | undefined; readonly by?: string | undefined }): Promise<Decision> {
  return decide(o.pluginsDir, o.id, (_current, previous) => {
    if (previous?.decision !== "approved") {
      const why = previous === null ? `it was never approved; to refuse it, warden grants deny ${o.id}` : `it is ${previous.decision} already (by ${previous.by} at ${previous.at})`;
      throw new BadInputError(`plugin ${o.id} has no approval to revoke: ${why}`, { pluginId: o.id });
    }
    // The record keeps what was revoked: the approval's own version, hash and permissions.
    return { ...previous, decision: "revoked", by: o.by ?? currentUser(), at: new Date().toISOString(), reason: o.reason ?? null };
  });
}

/**
 * Record that `loaded` (an update or reload asking for no more than was approved) runs under the
 * approval: pinned to its version and hash, the approved permissions narrowed to what it asks for.
 * Does nothing when the approval changed meanwhile (another decision wins).
 */
export async function repinApproval(pluginsDir: string, loaded: LoadedManifest, approved: Approval, effective: ManifestPermissions): Promise<void> {
  const dir = resolve(pluginsDir);
  await withApprovalsLock(dir, async () => {
    const approvals = await readApprovals(dir);
    const now = approvals.plugins[approved.id];
    if (now === undefined || now.at !== approved.at || now.manifestSha256 !== approved.manifestSha256 || now.decision !== "approved") return;
    // An approval from before leads were kept gets them now, from a load its permissions covered.
    const leads = now.leads ?? (await grantLeads(effective, loaded.dir));
    const approval: Approval = {
      ...now,
      version: loaded.manifest.version,
      manifestSha256: loaded.sha256,
      permissions: effective,
      leads,
      ...limitsOf(loaded),
      by: "warden host",
      at: new Date().toISOString(),
    };
    await writeApprovals(dir, { approvalsVersion: approvals.approvalsVersion, plugins: { ...approvals.plugins, [approved.id]: approval } });
    appendConsent(dir, "re-pinned", approval, now);
  });
}

/** One plugin as `warden grants ls` shows it. */
export type GrantListing = {
  readonly id: string;
  readonly dir: string;
  readonly version: string;
  readonly manifestSha256: string;
  /** Every grant the manifest asks for. */
  readonly requested: ManifestPermissions;
  /** approved, pending, denied, revoked, or expired (approved, past its expiry). */
  readonly state: "approved" | "pending" | "denied" | "revoked" | "expired";
  /** The decision on record (its pin, who, when), or null. */
  readonly approval: Approval | null;
  /** What needs approval (pending: never approved, or grew since). */
  readonly growth: readonly string[];
  /** Kinds requested but left out of an `--only` approval. */
  readonly notGranted: readonly GrantKind[];
};

/** State shown for a verdict. */
export function stateOf(v: ConsentVerdict): GrantListing["state"] {
  return v.kind === "approved" ? (v.expired ? "expired" : "approved") : v.kind;
}

/** Every plugin of `pluginsDir` with its requested grants and their approval state. */
export async function listGrants(pluginsDir: string, now: number = Date.now()): Promise<{ plugins: GrantListing[]; rejected: Array<{ dir: string; id?: string; reason: string }> }> {
  const dir = resolve(pluginsDir);
  const approvals = await readApprovals(dir);
  const found = await discoverPlugins(dir, WARDEN_VERSION).catch((e: NodeJS.ErrnoException) => {
    throw new BadInputError(`cannot read the plugins directory ${quote(dir)} (${e.code ?? e.message}); pass --plugins-dir <dir>`, { value: dir });
  });
  const plugins: GrantListing[] = [];
  for (const l of [...found.found.values()].sort((a, b) => a.manifest.id.localeCompare(b.manifest.id))) {
    const approval = approvals.plugins[l.manifest.id];
    const v = await judgeConsent(l, approval, dir, now);
    const only = approval?.decision === "approved" ? approval.only : null;
    plugins.push({
      id: l.manifest.id,
      dir: l.dir,
      version: l.manifest.version,
      manifestSha256: l.sha256,
      requested: restrictPermissions(l.manifest.permissions, null),
      state: stateOf(v),
      approval: approval ?? null,
      growth: v.kind === "approved" ? [] : v.growth,
      notGranted: only === null ? [] : GRANT_KINDS.filter((k) => l.manifest.permissions?.[k] !== undefined && !only.includes(k)),
    });
  }
  return { plugins, rejected: found.rejected.map((r) => ({ dir: r.dir, ...(r.id !== undefined ? { id: r.id } : {}), reason: r.reason })) };
}

/** What plugin `id` asks for beyond its approval (grew) and what it no longer asks for (shrank). */
export async function grantsDiff(pluginsDir: string, id: string): Promise<{ id: string; version: string; approval: Approval | null; grew: string[]; shrank: string[] }> {
  const dir = resolve(pluginsDir);
  const approvals = await readApprovals(dir);
  const l = await findPlugin(dir, id);
  const approval = approvals.plugins[id] ?? null;
  const approved = approval?.decision === "approved" ? approval.permissions : {};
  const asked = restrictPermissions(l.manifest.permissions, approval?.decision === "approved" ? approval.only : null);
  const { grew, shrank } = await permissionChanges(approved, asked, l.dir, l.manifest);
  const moved = approval?.decision === "approved" ? await leadsMoved(approval, asked, l.dir) : [];
  const limits = approval?.decision === "approved" ? limitChanges(approval, l) : [];
  return { id, version: l.manifest.version, approval, grew: [...grew, ...moved, ...limits], shrank: shrank.map(noLongerAsked) };
}

/**
 * A line of what shrank, worded as such: permissionChanges words both directions as growth (the
 * approval against the manifest), so `--json` printed `permissions.net[0] "x" is new` for a host
 * the plugin no longer asks for (only the human output reworded it).
 */
function noLongerAsked(line: string): string {
  const wasTrue = /^(permissions\.[a-z]+): true \(the running version has (.*)\)$/.exec(line);
  if (wasTrue !== null) return `${wasTrue[1]}: true is no longer asked for (it asks for ${wasTrue[2]})`;
  return line.replace(/ is new$/, " is no longer asked for");
}
