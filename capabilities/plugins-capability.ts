// Plugin-to-plugin calls: allowed only to plugins named in permissions.plugins. The host routes the
// call and stamps the caller's id on it (MAI-10); the depth of nested calls is limited by the host.
import { stringArg } from "./arguments.ts";
import { cachedDecision } from "./decision-cache.ts";
import { permissionDenied } from "./denial.ts";
import { refuseOverLong } from "./value-bounds.ts";
import type { Grants } from "./grants.ts";
import type { AuditSink, PluginsPort } from "./ports.ts";

/** The grant covering a call to plugin `id`, or null. */
export function matchPlugin(grants: Grants["plugins"], id: string): { rule: string; source: string } | null {
  if (grants === undefined) return null;
  if (grants === true) return { rule: "true", source: "permissions.plugins" };
  const i = grants.indexOf(id);
  return i === -1 ? null : { rule: id, source: `permissions.plugins[${i}]` };
}

/** The plugins capability of one plugin. */
export type PluginsCapability = { call(id: unknown, entry: unknown, input: unknown): Promise<unknown> };

/** Build the plugins capability. */
export function createPluginsCapability(o: { pluginId: string; grants: Grants; plugins: PluginsPort; audit: AuditSink }): PluginsCapability {
  const decide = cachedDecision((id) => matchPlugin(o.grants.plugins, id));
  return {
    async call(idArg, entryArg, input) {
      const api = "Warden.plugins.call()";
      const bounded = { pluginId: o.pluginId, api, permission: "plugins", field: "permissions.plugins", audit: o.audit } as const;
      refuseOverLong(idArg, { ...bounded, what: "the plugin id", kind: "pluginIdChars" });
      refuseOverLong(entryArg, { ...bounded, what: "the entry name", kind: "entryNameChars" });
      const id = stringArg(api, "the plugin id", idArg, o.pluginId);
      const entry = stringArg(api, "the entry", entryArg, o.pluginId);
      const ref = decide(id);
      if (ref === null) {
        const reason = `no rule in permissions.plugins names ${id}`;
        o.audit.record({ type: "deny", op: api, permission: "plugins", value: `${id}.${entry}`, decision: "denied", reason });
        throw permissionDenied({ pluginId: o.pluginId, api, permission: "plugins", value: id, reason, field: "permissions.plugins" });
      }
      o.audit.record({ type: "use", op: api, permission: "plugins", value: `${id}.${entry}`, decision: "granted", rule: ref.rule, source: ref.source });
      return o.plugins.call(id, entry, input ?? null);
    },
  };
}
