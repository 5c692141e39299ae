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
import type { Manifest, ManifestPermissions } from "./schema.ts";

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

const PATH_KINDS = ["read", "write"] as const;

function pathGrants(permissions: ManifestPermissions | undefined): Array<{ kind: (typeof PATH_KINDS)[number]; field: string; text: string }> {
  const out: Array<{ kind: (typeof PATH_KINDS)[number]; field: string; text: string }> = [];
  for (const kind of PATH_KINDS) {
    const list = permissions?.[kind];
    if (Array.isArray(list)) list.forEach((text, i) => out.push({ kind, field: `permissions.${kind}[${i}]`, text }));
  }
  return out;
}

/**
 * Whether `real`, where a grant written inside the plugin leads, is a directory holding the path
 * its text names (`named`, inside the plugin's real directory): `data -> .` makes `data/` the
 * whole plugin, a grant wider than what the operator read.
 */
function holdsNamed(real: string, named: string): boolean {
  return real !== named && inside(named, real);
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
  const grants = pathGrants(manifest.permissions);
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
    } else if (written && holdsNamed(real, join(realDir, relative(dir, lexical)))) {
      problems.push({
        field,
        message: `${quote(text)} leads through ${hops.length === 1 ? "a symlink" : "symlinks"} (${chain}) to ${show(real)}, a directory that holds the path it names, so it would grant more than it says${real === realDir ? " (the whole plugin directory)" : ""}: make ${quote(text)} a real directory, or write the grant as ${show(real)} so whoever approves it sees what it covers`,
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
    for (const { text } of pathGrants(m.permissions)) {
      const lexical = resolve(dir, text);
      if (out.has(lexical)) continue;
      const real = await realOf(lexical).catch(() => null);
      if (real !== null) out.set(lexical, real);
    }
  }
  return out;
}

/**
 * Where each path grant leads now, per kind and grant text: for a grant written inside the plugin,
 * its real path relative to the plugin's real directory ("." for the directory itself), so the
 * record survives the plugins directory moving; for any other grant, its absolute real path. An
 * approval keeps these, so a link changed after it (`data` made a link to `.`, an absolute grant's
 * link pointed elsewhere) is seen as a grant nobody approved. A grant that cannot be resolved is
 * left out (and so never matches what was approved).
 */
export async function grantLeads(permissions: ManifestPermissions | undefined, dir: string): Promise<GrantLeads> {
  const out: { read?: Record<string, string>; write?: Record<string, string> } = {};
  const realDir = await realpath(dir).catch(() => null);
  for (const { kind, text } of pathGrants(permissions)) {
    const lexical = resolve(dir, text);
    const written = inside(lexical, dir);
    let lead: string | null;
    if (written) {
      const real = realDir === null ? null : await trace(realDir, relative(dir, lexical).split(sep), []).catch(() => null);
      lead = real === null || realDir === null ? null : inside(real, realDir) ? relative(realDir, real) || "." : real;
    } else lead = await realOf(lexical).catch(() => null);
    if (lead === null) continue;
    // Own-property writes only: grant texts are the plugin author's (`__proto__` is a valid path).
    Object.defineProperty((out[kind] ??= {}), text, { value: lead, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Where path grants led, per kind and grant text (see `grantLeads`). */
export type GrantLeads = { readonly read?: Readonly<Record<string, string>> | undefined; readonly write?: Readonly<Record<string, string>> | undefined };

/**
 * The path grants of `permissions` that lead somewhere else now (`now`) than when approved
 * (`approved`), one line each, worded as growth: `permissions.write[0] "data/" now leads to "."
 * (when approved it led to "data")`. A grant with no approved lead is not judged here.
 */
export function leadChanges(permissions: ManifestPermissions | undefined, approved: GrantLeads, now: GrantLeads): string[] {
  const out: string[] = [];
  for (const { kind, field, text } of pathGrants(permissions)) {
    const was = Object.hasOwn(approved[kind] ?? {}, text) ? approved[kind]?.[text] : undefined;
    if (was === undefined) continue;
    const is = Object.hasOwn(now[kind] ?? {}, text) ? now[kind]?.[text] : undefined;
    if (is === was) continue;
    const where = is === undefined ? "cannot be resolved now" : `now leads to ${quote(is)}${is === "." ? " (the whole plugin directory)" : ""}`;
    out.push(`${field} ${quote(text)} ${where}; when approved it led to ${quote(was)} (a symlink on its way changed)`);
  }
  return out;
}
