// What a plugin may never write, whatever its write grants say: its plugin.json and everything its
// module loader could load. Otherwise a plugin granted its own directory (`write: ["."]`, or a
// link such as `data -> .`) could rewrite its manifest and be reloaded with permissions nobody
// approved, or rewrite its code, which runs again whenever its isolate is rebuilt.
//
// Protected is every module file (.js, .mjs, .ts, .mts) and every node_modules directory under the plugin, not only the
// files loaded now: the loader tries several names for one specifier (`./lib/x` is lib/x.js, then
// lib/x.mjs, then lib/x/index.js...) and looks for packages in node_modules at every level up to
// the plugin root, so a NEW file (lib/x.js beside a loaded lib/x.mjs, lib/node_modules/pkg) can
// take over an import. Other new files (data, notes, a .json or .txt) remain writable as granted.
// It sits in core/runtime/ beside the broker, its one user, which applies these protections to every
// write a plugin asks for (it used to sit in core/ and import the runtime's protocol from below).
import { join } from "node:path";
import { justThis, type Protection } from "../../capabilities/index.ts";
import { isModuleFile, MODULE_EXTENSIONS, PACKAGES_DIR } from "../../isolate/index.ts";
import { MANIFEST_FILE } from "../../manifests/index.ts";
import type { HostFiles } from "./protocol.ts";
import { RESERVED_PREFIX, STAGING_PREFIX } from "../install/names.ts";

/** The reason a denial of the plugin's own files gives. */
export const OWN_FILES_REASON = `the plugin's own manifest and code cannot be written by the plugin (${MANIFEST_FILE}, its ${MODULE_EXTENSIONS.join("/")} modules and ${PACKAGES_DIR} are what warden loads; only whoever installs the plugin changes them)`;

/** The reason a denial of the host's files gives. */
export const HOST_FILES_REASON =
  "it is the host's: the plugins directory's manifests, code, <id>.config.json files, its warden-* files (the install lock file, the approvals and their log) and install staging directories, and the audit log, are written only by whoever runs the host, never by a plugin";

/**
 * Protections of the host's files: every plugin's manifest and code in `pluginsDir`, its config
 * files, its warden-* files and staging directories (a plugin that could write them could forge
 * what was installed or approve its own grants, or slip a file into a version being installed),
 * and `files`.
 */
export function hostFileProtections(h: HostFiles): Protection[] {
  const out: Protection[] = (h.files ?? []).map((path) => ({ path, covers: justThis, because: HOST_FILES_REASON }));
  if (h.pluginsDir !== undefined) {
    out.push({
      path: h.pluginsDir,
      covers: (below) => {
        const last = below.at(-1) ?? "";
        return (
          below.includes(PACKAGES_DIR) ||
          isModuleFile(last) ||
          last === MANIFEST_FILE ||
          (below.length === 1 && (last.endsWith(".config.json") || last.startsWith(RESERVED_PREFIX))) ||
          (below[0] ?? "").startsWith(STAGING_PREFIX)
        );
      },
      because: HOST_FILES_REASON,
    });
  }
  return out;
}

/** The protections of the plugin in `pluginDir` (its lexical path; capabilities add the real one). */
export function ownFileProtections(pluginDir: string): Protection[] {
  return [
    { path: join(pluginDir, MANIFEST_FILE), covers: justThis, because: OWN_FILES_REASON },
    { path: pluginDir, covers: (below) => below.includes(PACKAGES_DIR) || isModuleFile(below.at(-1) ?? ""), because: OWN_FILES_REASON },
  ];
}
