// Warden.permissions.query: validate the descriptor strictly (a malformed one is BAD_INPUT, never
// "granted"), then answer from the same matcher the operation uses, with the rule that decided it
// and where that rule is in plugin.json.
import { BadInputError, quote } from "../errors/index.ts";
import { stringArg } from "./arguments.ts";
import type { ChannelCapability } from "./channel-capability.ts";
import type { EnvCapability } from "./env-capability.ts";
import type { ExecCapability } from "./exec-capability.ts";
import type { FsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";
import type { NetCapability } from "./net-capability.ts";
import { overLong } from "./value-bounds.ts";

const KEYS: Record<string, readonly string[]> = {
  read: ["path"],
  write: ["path"],
  net: ["host"],
  exec: ["command"],
  env: ["variable"],
  channels: ["topic", "direction"],
  plugins: ["id"],
};

/** The answer to a query. */
export type QueryResult = { readonly state: "granted" | "denied"; readonly rule?: string; readonly source?: string };

/** The capabilities a query consults. */
export type QueryTargets = { fs: FsCapability; net: NetCapability; exec: ExecCapability; env: EnvCapability; channels: ChannelCapability };

/** Answer a permission query descriptor for one plugin. */
export async function queryPermission(descriptor: unknown, grants: Grants, t: QueryTargets, pluginId: string): Promise<QueryResult> {
  const d = validDescriptor(descriptor, pluginId);
  const api = "Warden.permissions.query()";
  switch (d["name"]) {
    case "read":
    case "write": {
      const name = d["name"];
      const path = d["path"];
      if (path === undefined) return grants[name] === true ? { state: "granted", rule: "true", source: `permissions.${name}` } : { state: "denied" };
      if (overLong(path, "pathChars")) return { state: "denied" };
      const r = await t.fs.decide(stringArg(api, "path", path, pluginId), name);
      return r.ok ? { state: "granted", rule: r.checked.rule, source: r.checked.source } : { state: "denied" };
    }
    case "exec":
      return t.exec.query(d["command"]);
    default:
      return answerWithoutIo(d, grants, t, pluginId) as QueryResult;
  }
}

/**
 * Answer a query that needs no I/O (net, env, channels, plugins) synchronously, or return null
 * when it does (read, write, exec) and must go through `queryPermission`.
 */
export function queryPermissionSync(descriptor: unknown, grants: Grants, t: QueryTargets, pluginId: string): QueryResult | null {
  return answerWithoutIo(validDescriptor(descriptor, pluginId), grants, t, pluginId);
}

/** The I/O-free kinds, for a descriptor already validated. */
function answerWithoutIo(d: Record<string, unknown>, grants: Grants, t: QueryTargets, pluginId: string): QueryResult | null {
  const api = "Warden.permissions.query()";
  switch (d["name"]) {
    case "net":
      return t.net.query(d["host"]);
    case "env":
      return t.env.query(d["variable"]);
    case "channels":
      return t.channels.query(d["topic"], d["direction"]);
    case "plugins": {
      const id = d["id"];
      const list = grants.plugins;
      if (id === undefined || list === true) return list === true ? { state: "granted", rule: "true", source: "permissions.plugins" } : { state: "denied" };
      if (overLong(id, "pluginIdChars")) return { state: "denied" };
      const value = stringArg(api, "id", id, pluginId);
      const i = (list ?? []).indexOf(value);
      return i === -1 ? { state: "denied" } : { state: "granted", rule: value, source: `permissions.plugins[${i}]` };
    }
    default:
      return null;
  }
}

function validDescriptor(descriptor: unknown, pluginId: string): Record<string, unknown> {
  const api = "Warden.permissions.query()";
  if (typeof descriptor !== "object" || descriptor === null || Array.isArray(descriptor)) {
    throw new BadInputError(`${api}: expected a descriptor object such as { name: "read", path: "data/" }`, { pluginId });
  }
  const d = descriptor as Record<string, unknown>;
  const name = d["name"];
  if (typeof name !== "string" || !Object.hasOwn(KEYS, name)) {
    throw new BadInputError(`${api}: unknown permission name ${quote(String(name))}; expected one of ${Object.keys(KEYS).join(", ")}`, { pluginId });
  }
  const allowed = KEYS[name] ?? [];
  for (const key of Object.keys(d)) {
    if (key !== "name" && !allowed.includes(key)) {
      throw new BadInputError(`${api}: unexpected key ${quote(key)} in a ${name} descriptor; expected { name${allowed.map((k) => `, ${k}?`).join("")} }`, { pluginId });
    }
  }
  return d;
}
