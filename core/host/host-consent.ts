// The host's side of consent: the approvals it runs under (read from the plugins directory at
// loadAll and whenever they change), the judgement of every version before it loads, and one
// consent gate per plugin id, the live switch in the capability bridge that enforces an
// approval's expiry and quotas and the operator's revocation without reloading the plugin. A gate
// outlives reloads and restarts (a revoked plugin stays revoked in every isolate it gets); an
// operator's unload drops it.
import { ConsentGate } from "../../capabilities/index.ts";
import type { AuditWriter } from "../audit/audit-log.ts";
import { readApprovals, noApprovals, type Approval, type Approvals } from "../consent/approvals-file.ts";
import { judgeConsent, termsOf, type ConsentVerdict } from "../consent/consent-verdict.ts";
import { currentUser, repinApproval } from "../consent/grant-decisions.ts";
import { escapeText } from "../../errors/index.ts";
import type { Clock } from "../../defaults/index.ts";
import type { Logger } from "../logger.ts";
import type { LoadedManifest } from "../../manifests/index.ts";

/** How a host treats approvals: "required" loads only approved grants; "off" loads what manifests ask for. */
export type ApprovalMode = "required" | "off";

/** What admitting a version decided. */
export type Admission =
  | { readonly ok: true; readonly manifest: LoadedManifest; readonly approval: Approval | null; readonly expired: boolean }
  | { readonly ok: false; readonly verdict: Exclude<ConsentVerdict, { kind: "approved" }> };

/** Consent for one host. */
export class HostConsent {
  readonly required: boolean;
  readonly #pluginsDir: string;
  readonly #audit: AuditWriter;
  readonly #logger: Logger;
  #approvals: Approvals = noApprovals();
  readonly #gates = new Map<string, ConsentGate>();
  readonly #clock: Clock;

  constructor(o: { pluginsDir: string; mode: ApprovalMode; audit: AuditWriter; logger: Logger; clock: Clock }) {
    this.#clock = o.clock;
    this.required = o.mode === "required";
    this.#pluginsDir = o.pluginsDir;
    this.#audit = o.audit;
    this.#logger = o.logger;
  }

  /** Read the approvals file again (APPROVALS_INVALID leaves the last good copy in force). */
  async read(): Promise<void> {
    if (this.required) this.#approvals = await readApprovals(this.#pluginsDir);
  }

  /** The decision on record for `id` (null with approvals off, or none). */
  approvalOf(id: string): Approval | null {
    return this.required ? (this.#approvals.plugins[id] ?? null) : null;
  }

  /** The gate of plugin `id` (made on first use). */
  gateFor(id: string): ConsentGate {
    let gate = this.#gates.get(id);
    if (gate === undefined) {
      gate = new ConsentGate({ pluginId: id, terms: { expiresAt: null, quotas: {} }, now: () => this.#clock.now() });
      this.#gates.set(id, gate);
    }
    return gate;
  }

  /** Forget the gate of an unloaded plugin (its next load starts with a fresh one). */
  dropGate(id: string): void {
    this.#gates.delete(id);
  }

  /**
   * Judge `loaded` before it runs. Approved: the manifest limited to the approved kinds, the gate
   * set to the approval's terms, and a new version with no growth re-pinned in the approvals file.
   * Otherwise the verdict, recorded in the audit log.
   */
  async admit(loaded: LoadedManifest): Promise<Admission> {
    if (!this.required) return { ok: true, manifest: loaded, approval: null, expired: false };
    const id = loaded.manifest.id;
    const verdict = await judgeConsent(loaded, this.#approvals.plugins[id], this.#pluginsDir, this.#clock.now());
    if (verdict.kind !== "approved") {
      this.#audit.append({ type: "consent", plugin: id, action: verdict.kind, version: loaded.manifest.version, manifestSha256: loaded.sha256, growth: [...verdict.growth] });
      return { ok: false, verdict };
    }
    this.gateFor(id).setTerms(termsOf(verdict.approval));
    if (verdict.repin) {
      await repinApproval(this.#pluginsDir, loaded, verdict.approval, verdict.manifest.manifest.permissions ?? {}).catch((e: unknown) =>
        this.#logger.warn({ plugin: id }, `could not record the new version's hash in the approvals file: ${escapeText(String(e))}`),
      );
      await this.read().catch(() => undefined);
    }
    this.#audit.append({
      type: "consent",
      plugin: id,
      action: "admitted",
      version: loaded.manifest.version,
      manifestSha256: loaded.sha256,
      approvedBy: verdict.approval.by,
      approvedAt: verdict.approval.at,
    });
    return { ok: true, manifest: verdict.manifest, approval: verdict.approval, expired: verdict.expired };
  }

  /**
   * Apply the approvals on record to a running plugin's gate: revoked or denied stops every grant
   * at once; approved (again) sets its terms, lifting a revocation. Returns what changed, if anything.
   */
  applyTo(id: string): "revoked" | "restored" | null {
    const a = this.approvalOf(id);
    const gate = this.#gates.get(id);
    if (!this.required || gate === undefined) return null;
    if (a === null || a.decision !== "approved") {
      if (gate.revokedReason !== null) return null;
      const reason = a === null ? "its approval was removed from the approvals file" : `${a.decision} by ${a.by} at ${a.at}${a.reason === null ? "" : ` (${a.reason})`}`;
      this.revoke(id, reason, a?.by ?? currentUser());
      return "revoked";
    }
    const wasRevoked = gate.revokedReason !== null;
    gate.setTerms(termsOf(a));
    return wasRevoked ? "restored" : null;
  }

  /** Why plugin `id`'s grants are stopped, or null. */
  revokedReason(id: string): string | null {
    return this.#gates.get(id)?.revokedReason ?? null;
  }

  /** Stop every grant of plugin `id` now (calls in flight fail, later ones are denied). */
  revoke(id: string, reason: string, by: string = currentUser()): void {
    this.gateFor(id).revoke(reason);
    this.#audit.append({ type: "consent", plugin: id, action: "revoked", by, reason });
  }
}
