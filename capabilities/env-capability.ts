// env: read granted environment variables, one by one. Nothing can be enumerated, and an ungranted
// name is PERMISSION_DENIED rather than undefined, so an author sees why a value is missing.
import { BadInputError, quote } from "../errors/index.ts";
import { stringArg } from "./arguments.ts";
import { cachedDecision } from "./decision-cache.ts";
import { permissionDenied } from "./denial.ts";
import { overLong, refuseOverLong } from "./value-bounds.ts";
import type { Grants } from "./grants.ts";
import type { AuditSink, EnvPort } from "./ports.ts";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The env rule that covers `name` (exact, or a `PREFIX_*` pattern), or null. */
export function matchEnv(grants: Grants["env"], name: string): { rule: string; source: string } | null {
  if (grants === undefined) return null;
  if (grants === true) return { rule: "true", source: "permissions.env" };
  for (let i = 0; i < grants.length; i++) {
    const g = grants[i] ?? "";
    if (g.endsWith("*") ? name.startsWith(g.slice(0, -1)) : g === name) return { rule: g, source: `permissions.env[${i}]` };
  }
  return null;
}

/** The env capability of one plugin. */
export type EnvCapability = {
  get(name: unknown): string | null;
  query(variable: unknown): { state: "granted" | "denied"; rule?: string; source?: string };
};

/** Build the env capability. */
export function createEnvCapability(o: { pluginId: string; grants: Grants; env: EnvPort; audit: AuditSink }): EnvCapability {
  const decide = cachedDecision((name) => matchEnv(o.grants.env, name));
  function validName(api: string, v: unknown): string {
    const name = stringArg(api, "the variable name", v, o.pluginId);
    if (!NAME.test(name)) throw new BadInputError(`${api}: ${quote(name)} is not a variable name (letters, digits and _, not starting with a digit)`, { pluginId: o.pluginId, permission: "env" });
    return name;
  }
  return {
    get(v) {
      const api = "Warden.env.get()";
      refuseOverLong(v, { pluginId: o.pluginId, api, permission: "env", field: "permissions.env", what: "the variable name", kind: "envNameChars", audit: o.audit });
      const name = validName(api, v);
      const ref = decide(name);
      if (ref === null) {
        const reason = `no rule in permissions.env covers ${name}`;
        o.audit.record({ type: "deny", op: api, permission: "env", value: name, decision: "denied", reason });
        throw permissionDenied({ pluginId: o.pluginId, api, permission: "env", value: name, reason, field: "permissions.env" });
      }
      o.audit.record({ type: "use", op: api, permission: "env", value: name, decision: "granted", rule: ref.rule, source: ref.source });
      // Only a string is a variable's value: a port that handed back anything else (an object's
      // inherited member) would put a host value in the plugin's hands.
      const value = o.env.get(name);
      return typeof value === "string" ? value : null;
    },
    query(v) {
      if (v === undefined) return o.grants.env === true ? { state: "granted", rule: "true", source: "permissions.env" } : { state: "denied" };
      if (overLong(v, "envNameChars")) return { state: "denied" };
      const ref = decide(validName("Warden.permissions.query()", v));
      return ref ? { state: "granted", ...ref } : { state: "denied" };
    },
  };
}
