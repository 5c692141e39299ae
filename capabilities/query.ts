// Warden.permissions.query: validate the descriptor strictly (a malformed one is BAD_INPUT, never
// "granted"), then answer from the same matcher the operations use.
import { BadInputError } from "../core/errors.ts";
import { quote } from "../core/escape-text.ts";
import type { FsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";

const KNOWN = ["read", "write", "net", "exec", "env", "channels", "plugins"] as const;

/** The answer to a query. */
export type QueryResult = { readonly state: "granted" | "denied" };

/** Answer a permission query descriptor for one plugin. */
export async function queryPermission(descriptor: unknown, grants: Grants, fs: FsCapability, pluginId: string): Promise<QueryResult> {
  const api = "Warden.permissions.query()";
  if (typeof descriptor !== "object" || descriptor === null || Array.isArray(descriptor)) {
    throw new BadInputError(`${api}: expected a descriptor object such as { name: "read", path: "data/" }`, { pluginId });
  }
  const d = descriptor as Record<string, unknown>;
  const name = d["name"];
  if (typeof name !== "string" || !(KNOWN as readonly string[]).includes(name)) {
    throw new BadInputError(`${api}: unknown permission name ${quote(String(name))}; expected one of ${KNOWN.join(", ")}`, { pluginId });
  }
  if (name === "read" || name === "write") {
    for (const key of Object.keys(d)) {
      if (key !== "name" && key !== "path") throw new BadInputError(`${api}: unexpected key ${quote(key)} in a ${name} descriptor; expected { name, path? }`, { pluginId });
    }
    if (!("path" in d) || d["path"] === undefined) return { state: grants[name] === true ? "granted" : "denied" };
    return { state: await fs.query(d["path"], name) };
  }
  throw new BadInputError(`${api}: querying ${quote(name)} permissions is not available in this version of warden (read and write are)`, { pluginId, permission: name });
}
