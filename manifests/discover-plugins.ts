// Finding plugins: every directory directly under pluginsDir that holds a plugin.json. Invalid
// manifests are reported with their errors and do not stop the others; two directories claiming
// the same id are both rejected, the reason naming both paths (MAI-27).
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { toWardenError } from "../errors/index.ts";
import { readManifest, type LoadedManifest } from "./read-manifest.ts";

/** What a scan found. */
export type Discovery = {
  /** Valid, unique plugins by id. */
  readonly found: ReadonlyMap<string, LoadedManifest>;
  /** Directories that could not be used, with the reason (and the id when it was readable). */
  readonly rejected: ReadonlyArray<{ readonly dir: string; readonly id?: string; readonly reason: string; readonly code: string }>;
};

/** Scan `pluginsDir` for plugins. */
export async function discoverPlugins(pluginsDir: string, wardenVersion: string): Promise<Discovery> {
  const root = resolve(pluginsDir);
  const entries = await readdir(root, { withFileTypes: true });
  const dirs = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => join(root, e.name))
    .sort();
  const claims = new Map<string, LoadedManifest[]>();
  const rejected: Array<{ dir: string; id?: string; reason: string; code: string }> = [];
  for (const dir of dirs) {
    const hasManifest = (await readdir(dir)).includes("plugin.json");
    if (!hasManifest) continue;
    try {
      const loaded = await readManifest(dir, wardenVersion);
      claims.set(loaded.manifest.id, [...(claims.get(loaded.manifest.id) ?? []), loaded]);
    } catch (e) {
      const err = toWardenError(e);
      rejected.push({ dir, reason: err.message, code: err.code });
    }
  }
  const found = new Map<string, LoadedManifest>();
  for (const [id, list] of claims) {
    if (list.length === 1) found.set(id, list[0] as LoadedManifest);
    else {
      const paths = list.map((l) => l.dir).join(" and ");
      for (const l of list) rejected.push({ dir: l.dir, id, reason: `duplicate plugin id ${id}: claimed by ${paths}; rename one of them`, code: "MANIFEST_INVALID" });
    }
  }
  return { found, rejected };
}
