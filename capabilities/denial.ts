// One shape for every denial: name the API, the access and the value, then say how to fix it
// (style guide convention 2). The value is quoted with control and bidi characters escaped.
import { PermissionDeniedError, quote } from "../errors/index.ts";

/** What was asked for, to build a denial from. */
export type DenialFacts = {
  readonly pluginId: string;
  readonly api: string;
  readonly permission: string;
  readonly value: string;
  readonly resolved?: string | undefined;
  readonly reason?: string | undefined;
  readonly field: string;
  /** How to allow it, when that is not "add it to <field>" (a protected path: nothing can). */
  readonly fix?: string;
  /**
   * Said instead of `resolved` and `reason` when they are the host's to know, not the plugin's
   * (where a symlink led outside its grants, what a granted name resolved to); the audit keeps them.
   */
  readonly hidden?: string | undefined;
};

/** Build the PermissionDenied error a plugin sees. */
export function permissionDenied(f: DenialFacts): PermissionDeniedError {
  const resolved = f.hidden === undefined ? f.resolved : undefined;
  const reason = f.hidden ?? f.reason;
  const what = resolved !== undefined && resolved !== f.value ? `${quote(resolved)} (resolved from ${quote(f.value)})` : quote(f.value);
  const why = reason !== undefined ? `; ${reason}` : "";
  return new PermissionDeniedError(`${f.api} requires ${f.permission} access to ${what}${why}; ${f.fix ?? `to allow it, add it to ${f.field} in plugin.json of ${f.pluginId}`}`, {
    pluginId: f.pluginId,
    permission: f.permission,
    value: f.value,
    field: f.field,
  });
}

/** What the operator's approval refused (consent-gate.ts): expired, revoked, or over a quota. */
export type ApprovalDenialFacts = {
  readonly pluginId: string;
  readonly api: string;
  /** The kind of capability (read, write, net, exec, env, channels, plugins). */
  readonly permission: string;
  readonly value: string;
  /** Why, starting with what refused it: "approval expired ...", "approval revoked: ...", "quota: ...". */
  readonly reason: string;
  /** What allows it again. */
  readonly fix: string;
};

/** Build the PermissionDenied error of a call the operator's approval does not allow now (the grants would). */
export function approvalDenied(f: ApprovalDenialFacts): PermissionDeniedError {
  const what = f.value === "" ? "" : ` ${quote(f.value)}`;
  return new PermissionDeniedError(`${f.api}${what} was refused: ${f.reason}; ${f.fix}`, {
    pluginId: f.pluginId,
    permission: f.permission,
    value: f.value,
    field: "approval",
  });
}
