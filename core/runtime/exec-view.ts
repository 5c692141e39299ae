// What a plugin's commands see under the OS sandbox, built from the same lists the plugin's
// capability bridge enforces: its read and write grants, the special roots a broad grant never
// covers (capabilities' SPECIAL_ROOTS), and the protections no write grant covers (own-files.ts).
// One source for both, so a command can never do with a file what the bridge refuses (the outside
// attack suite found tee rewriting another plugin's code, and cat reading /sys, when the view was
// built from the grant lists alone).
import { realpathSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { justThis, SPECIAL_ROOTS, type GrantList, type Grants, type Protection } from "../../capabilities/index.ts";
import type { ExecSandboxGrants, ProtectedPath } from "../os-sandbox/exec-sandbox.ts";

/** A grant list as the real paths a command's sandbox binds (`true`: the whole file system). */
export function grantPaths(list: GrantList | undefined, pluginDir: string): string[] {
  if (list === undefined) return [];
  if (list === true) return ["/"];
  return list.map((g) => realOrGiven(isAbsolute(g) ? g : resolve(pluginDir, g)));
}

/**
 * The bridge's protections as the sandbox binds them: a protection of exactly one path (`justThis`)
 * is that file; any other decides by names below its root, new names included, so the whole root
 * is protected. Real paths, as the binds are.
 */
export function protectedPaths(list: readonly Protection[]): ProtectedPath[] {
  return list.map((p) => ({ path: realOrGiven(p.path), tree: p.covers !== justThis }));
}

/** The sandbox grants of one plugin's commands. */
export function execView(o: { bwrap: string; grants: Grants; pluginDir: string; protect: readonly Protection[] }): ExecSandboxGrants {
  const net = o.grants.net;
  return {
    bwrap: o.bwrap,
    read: grantPaths(o.grants.read, o.pluginDir),
    write: grantPaths(o.grants.write, o.pluginDir),
    network: net === true || (Array.isArray(net) && net.length > 0),
    hidden: SPECIAL_ROOTS,
    protected: protectedPaths(o.protect),
    ownDir: realOrGiven(resolve(o.pluginDir)),
  };
}

function realOrGiven(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
