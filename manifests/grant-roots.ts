// Where a path grant really leads. A plugin ships its own directory, symlinks included, so a grant
// written inside it (`data/`) may be a link to /, /proc/self or another plugin: the schema cannot
// see that, only the filesystem can. Every link on the way is followed (chains, intermediate
// components, links inside link targets, dangling links; a missing tail is judged by its nearest
// existing ancestor), and a grant written inside the plugin must end inside the plugin's real
// directory. The fs capability confines such grants again when it is built, because links can
// change after this check.
import { lstat, readlink, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { quote } from "../errors/index.ts";
import { inside } from "./lint-manifest.ts";
import type { Manifest } from "./schema.ts";

/** A finding about one grant: where it is in plugin.json and what is wrong with it. */
export type RootFinding = { readonly field: string; readonly message: string };

/** One symlink followed: where it is and what it says (as written). */
type Hop = { readonly link: string; readonly target: string };

// As the kernel's limit on links followed while resolving one path.
const MAX_LINKS = 40;

/**
 * Walk `parts` from the real directory `base` as the kernel would, recording every link followed
 * in `hops`. A component that does not exist ends the walk: the rest is joined as written, so a
 * path that does not exist yet is judged by its nearest existing ancestor's real path.
 */
async function trace(base: string, parts: readonly string[], hops: Hop[]): Promise<string> {
  let cur = base;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (part === "" || part === ".") continue;
    if (part === "..") {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    const info = await lstat(next).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return null;
      throw e;
    });
    if (info === null) return resolve(next, ...parts.slice(i + 1));
    if (!info.isSymbolicLink()) {
      cur = next;
      continue;
    }
    if (hops.length >= MAX_LINKS) throw Object.assign(new Error("too many symbolic links"), { code: "ELOOP" });
    const target = await readlink(next);
    hops.push({ link: next, target });
    cur = await trace(isAbsolute(target) ? "/" : cur, target.split("/"), hops);
  }
  return cur;
}

/** The real path of the absolute `path` (see `trace`). */
function realOf(path: string, hops: Hop[] = []): Promise<string> {
  return trace("/", path.split(sep), hops);
}

function pathGrants(m: Manifest): Array<{ field: string; text: string }> {
  const out: Array<{ field: string; text: string }> = [];
  for (const kind of ["read", "write"] as const) {
    const list = m.permissions?.[kind];
    if (Array.isArray(list)) list.forEach((text, i) => out.push({ field: `permissions.${kind}[${i}]`, text }));
  }
  return out;
}

/**
 * Check where the path grants of `manifest` lead, for the plugin in `dir`. Problems: a relative
 * grant that leaves the plugin lexically (`../other/`), and a grant written inside the plugin whose
 * real path is outside the plugin's real directory (naming the grant, each link and its target).
 * Warnings: an absolute grant elsewhere that goes through a link (judged where it leads at load).
 */
export async function checkGrantRoots(manifest: Manifest, dir: string): Promise<{ problems: RootFinding[]; warnings: RootFinding[] }> {
  const problems: RootFinding[] = [];
  const warnings: RootFinding[] = [];
  const grants = pathGrants(manifest);
  if (grants.length === 0) return { problems, warnings };
  // A host may keep its plugins behind a symlink: the plugin's directory is its real path.
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch (e) {
    problems.push({
      field: "(directory)",
      message: `the real path of the plugin directory ${quote(dir)} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"}), so its path grants cannot be checked`,
    });
    return { problems, warnings };
  }
  const show = (p: string): string => quote(inside(p, realDir) ? relative(realDir, p) || "." : p);
  for (const { field, text } of grants) {
    const lexical = resolve(dir, text);
    const written = inside(lexical, dir);
    if (!isAbsolute(text) && !written) {
      problems.push({
        field,
        message: `${quote(text)} leaves the plugin directory (it means ${quote(lexical)}); a relative grant always names a path inside the plugin: if the plugin really needs that path, write it as an absolute path so whoever installs it sees what it asks for`,
      });
      continue;
    }
    const hops: Hop[] = [];
    let real: string;
    try {
      real = written ? await trace(realDir, relative(dir, lexical).split(sep), hops) : await realOf(lexical, hops);
    } catch (e) {
      const why = `${quote(text)}: its real path cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"})`;
      if (written) problems.push({ field, message: `${why}; a grant inside the plugin must resolve to a path inside it` });
      else warnings.push({ field, message: `${why}; it grants nothing until it can` });
      continue;
    }
    const chain = hops.map((h) => `${show(h.link)} → ${quote(h.target)}`).join(", ");
    if (written && !inside(real, realDir)) {
      problems.push({
        field,
        message: `${quote(text)} leads outside the plugin directory through ${hops.length === 1 ? "a symlink" : "symlinks"} (${chain}) to ${quote(real)}; a grant written inside the plugin must stay inside its real directory ${quote(realDir)}: point the link inside the plugin, or grant the absolute path if the plugin really needs it`,
      });
    } else if (!written && hops.length > 0) {
      warnings.push({
        field,
        message: `${quote(text)} goes through ${hops.length === 1 ? "a symlink" : "symlinks"} (${chain}) and leads to ${quote(real)} now; warden judges it by where it leads when the plugin loads, and never follows a grant into /proc, /sys or /dev unless its text names a path there`,
      });
    }
  }
  return { problems, warnings };
}

/**
 * The real path, now, of every path grant of `manifests` for the plugin in `dir`, keyed by the
 * grant's absolute lexical path. A grant whose real path cannot be resolved is left out.
 */
export async function grantRealPaths(manifests: readonly Manifest[], dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const m of manifests) {
    for (const { text } of pathGrants(m)) {
      const lexical = resolve(dir, text);
      if (out.has(lexical)) continue;
      const real = await realOf(lexical).catch(() => null);
      if (real !== null) out.set(lexical, real);
    }
  }
  return out;
}
