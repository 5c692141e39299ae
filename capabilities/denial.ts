// One shape for every denial: name the API, the access and the value, then say how to fix it
// (style guide convention 2). The value is quoted with control and bidi characters escaped.
import { PermissionDeniedError } from "../core/errors.ts";
import { quote } from "../core/escape-text.ts";

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
};

/** Build the PermissionDenied error a plugin sees. */
export function permissionDenied(f: DenialFacts): PermissionDeniedError {
  const what = f.resolved !== undefined && f.resolved !== f.value ? `${quote(f.resolved)} (resolved from ${quote(f.value)})` : quote(f.value);
  const why = f.reason !== undefined ? `; ${f.reason}` : "";
  return new PermissionDeniedError(`${f.api} requires ${f.permission} access to ${what}${why}; ${f.fix ?? `to allow it, add it to ${f.field} in plugin.json of ${f.pluginId}`}`, {
    pluginId: f.pluginId,
    permission: f.permission,
    value: f.value,
    field: f.field,
  });
}
