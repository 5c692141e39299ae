// Warnings for `warden check`: things that are allowed but that a reviewer should look at twice.
import type { Manifest } from "./schema.ts";

/** A non-fatal finding: where it is and why it deserves a look. */
export type ManifestWarning = { readonly field: string; readonly message: string };

const KINDS = ["read", "write", "net", "exec", "env"] as const;

/** List the warnings of a schema-valid manifest: `true` grants and a missing `engines`. */
export function lintManifest(manifest: Manifest): ManifestWarning[] {
  const warnings: ManifestWarning[] = [];
  const p = manifest.permissions;
  for (const kind of KINDS) {
    if (p?.[kind] === true) {
      warnings.push({ field: `permissions.${kind}`, message: `true grants every ${kind} access; list only what the plugin needs` });
    }
  }
  if (p?.channels === true) {
    warnings.push({ field: "permissions.channels", message: "true grants publish and subscribe on every topic; list the topics the plugin needs" });
  } else {
    for (const dir of ["publish", "subscribe"] as const) {
      if (p?.channels?.[dir] === true) warnings.push({ field: `permissions.channels.${dir}`, message: `true grants ${dir} on every topic` });
    }
  }
  if (manifest.engines === undefined) {
    warnings.push({ field: "engines", message: "missing; add \"engines\": { \"warden\": \">=0.1.0 <1.0.0\" } so an incompatible warden refuses the plugin clearly" });
  }
  return warnings;
}
