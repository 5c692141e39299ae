// The checks behind host.load(dir), adding one plugin to a running host: where the directory may
// be, whether its id or its directory is already the host's, and whether what it depends on runs.
// Each refusal names what was wrong and how to fix it; none of them changes the host.
//
// A plugin is loaded only from a real directory directly inside the plugins directory, as loadAll
// would find it, because everything else the host does assumes it lives there: the host-file
// protections (no plugin's write grant covers another plugin's manifest, code or <id>.config.json
// below the plugins directory), the watcher (it watches that directory and knows a plugin by its
// directory's name there), the config file, and the next restart (loadAll finds only what is there).
import { lstat, realpath } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BadInputError, ManifestInvalidError, PluginError, quote } from "../../errors/index.ts";
import type { LoadedManifest, Manifest } from "../../manifests/index.ts";
import { planDependencies, type DependencyNode } from "./dependency-order.ts";
import type { HostEntry } from "./host-entry.ts";

const WHERE =
  "the host's protections of plugin files, its watcher and <id>.config.json cover that directory only, and a restart loads only what is there (a link to a directory elsewhere is not followed, as loadAll does not)";

/** True when `a` and `b` name the same directory, directly or through links. */
async function sameDir(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [ra, rb] = await Promise.all([realpath(a).catch(() => null), realpath(b).catch(() => null)]);
  return ra !== null && ra === rb;
}

/**
 * Where `dir` (absolute, or relative to the process cwd) is as the host names it, joined to
 * `pluginsDir` as loadAll would: BAD_INPUT unless it is a directory entry directly inside the
 * plugins directory that is not hidden and not a symbolic link. Whether it holds a plugin is
 * readManifest's to say.
 */
export async function installedDir(pluginsDir: string, dir: string): Promise<string> {
  const abs = resolve(dir);
  const name = basename(abs);
  const at = join(pluginsDir, name);
  const fix = `copy or install the plugin into ${pluginsDir} (as ${at}) and load it from there`;
  const details = { pluginDir: abs, field: "dir" };
  if (!(await sameDir(dirname(abs), pluginsDir))) {
    throw new BadInputError(`host.load(${quote(abs)}): the directory is not directly inside the host's plugins directory ${pluginsDir}; ${WHERE}; ${fix}`, details);
  }
  if (name.startsWith(".")) throw new BadInputError(`host.load(${quote(abs)}): hidden directories are not plugins (loadAll skips them too); rename it without the leading dot`, details);
  const info = await lstat(at).catch(() => null);
  if (info?.isSymbolicLink()) throw new BadInputError(`host.load(${quote(abs)}): ${at} is a symbolic link; ${WHERE}; ${fix}`, details);
  return at;
}

/**
 * The key of the entry `loaded` takes the place of (its own directory's placeholder, left by a
 * manifest that was invalid when loadAll ran and has been fixed since), or null. Throws when the
 * directory is already loaded (reload it instead) or another directory holds the id (as discovery
 * does, naming both paths), whatever that plugin's state: a stopped or failed plugin keeps its id.
 */
export function placeOf(entries: ReadonlyMap<string, HostEntry>, loaded: LoadedManifest): string | null {
  const id = loaded.manifest.id;
  let placeholder: string | null = null;
  for (const [key, e] of entries) {
    if (e.dir !== loaded.dir) continue;
    if (e.manifest === null) {
      placeholder = key;
      continue;
    }
    if (e.id === id) {
      throw new PluginError(`plugin ${id} is already loaded from ${e.dir} (${e.state}); to load its current files use host.reload("${id}")`, { pluginId: id, pluginDir: e.dir, state: e.state });
    }
    throw new PluginError(
      `${loaded.dir} is already loaded as plugin ${e.id} (${e.state}), and its plugin.json now says ${id}: a running host does not rename a plugin; restart the host to load it as ${id}`,
      {
        pluginId: e.id,
        pluginDir: e.dir,
        field: "id",
      },
    );
  }
  const holder = entries.get(id);
  if (holder !== undefined && holder.dir !== loaded.dir) {
    throw new ManifestInvalidError(
      `duplicate plugin id ${id}: claimed by ${holder.dir} (loaded on this host, ${holder.state}) and ${loaded.dir}; rename one of them (to replace ${id}, put the new version in ${holder.dir} and call host.reload("${id}"))`,
      { pluginId: id, pluginDir: loaded.dir, field: "id" },
    );
  }
  return placeholder;
}

/**
 * Why `m` cannot start beside what the host runs, in loadAll's words (a dependency missing, at an
 * incompatible version, failed, or not active), or null. Dependencies are never loaded for it.
 */
export function unmetDependency(entries: ReadonlyMap<string, HostEntry>, nodes: readonly DependencyNode[], m: Manifest): string | null {
  const plan = planDependencies([...nodes, { id: m.id, version: m.version, dependencies: m.dependencies ?? {} }]);
  const failed = plan.failed.get(m.id);
  if (failed !== undefined) return failed;
  const broken = Object.keys(m.dependencies ?? {}).find((d) => entries.get(d)?.state !== "active");
  return broken === undefined ? null : `depends on ${broken}, which is not active: ${entries.get(broken)?.reason ?? "unknown"}`;
}
