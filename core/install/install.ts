// installPlugin: put a plugin (a directory or a tarball) into a plugins directory, as its own
// directory named by its id, and record it in warden-lock.json. Nothing reaches the plugin's place
// before everything passed, in this order:
//   1. the arguments (BAD_INPUT), the lock file (LOCK_FILE_INVALID);
//   2. a tarball is read whole and its sha256 compared with the pin (INTEGRITY_MISMATCH), before
//      a single header is parsed;
//   3. every entry is judged (entries.ts) and plugin.json is validated by the manifest schema,
//      still in memory (MANIFEST_INVALID), which gives the id and so the directory's name;
//   4. the id's place is checked (INSTALL_CONFLICT);
//   5. the package is unpacked or copied into a staging directory (a dot-name in the plugins
//      directory, which the host's discovery skips; hard links become copies, and no staged file
//      may share its inode) and read with readManifest, as a host will;
//   6. only then is it renamed into place (an installed version is moved aside first and put back
//      if anything fails), and the lock file is written (temp + rename).
// The staging directory is removed whatever happens; a plugins directory this call created is
// removed again when the install is refused.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BadInputError, InstallConflictError, IntegrityMismatchError, isWardenError, ManifestInvalidError, escapeText, quote } from "../../errors/index.ts";
import { DEFAULT_INSTALL_LIMITS, type InstallLimits } from "../limits.ts";
import { WARDEN_VERSION } from "../version.ts";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, readManifest, validateManifest, type ManifestProblem, type Manifest } from "../../manifests/index.ts";
import { copyDirectory, filesDigest, scanDirectory } from "./directory.ts";
import { EntryChecker, type PackagePlan } from "./entries.ts";
import { lockFilePath, readLockFile, writeLockFile, type LockEntry } from "./lock-file.ts";
import { APPROVALS_FILE, LOCK_FILE, RESERVED_PREFIX, STAGING_PREFIX } from "./names.ts";
import { refuseSharedInodes } from "./single-links.ts";
import { readTarball, scanTarball, unpackTarball } from "./tarball.ts";

/** What installPlugin is asked to do. */
export type InstallOptions = {
  /** A plugin directory, or a tarball (.tgz, .tar.gz or .tar) of one. */
  readonly source: string;
  /** The plugins directory (created if missing). */
  readonly pluginsDir: string;
  /** The expected sha256 (64 hex digits): of a tarball's bytes, or of a directory's file listing. */
  readonly sha256?: string | undefined;
  /** Caps on the package; the rest from DEFAULT_INSTALL_LIMITS. */
  readonly limits?: Partial<InstallLimits> | undefined;
  /**
   * Called once the new version passed every check, before it replaces anything; throwing refuses
   * the install, changing nothing. The hook for approving what an update's permissions add.
   */
  readonly beforeCommit?: ((change: InstallChange) => void | Promise<void>) | undefined;
};

/** One version of a plugin, as far as an install compares it. */
export type InstalledVersion = {
  readonly version: string;
  readonly manifestSha256: string;
  /** The manifest's permissions and limits ({} when absent; for an old version, as its file says). */
  readonly permissions: Readonly<Record<string, unknown>>;
  readonly limits: Readonly<Record<string, unknown>>;
};

/** What an install is about to change. */
export type InstallChange = {
  readonly id: string;
  /** The plugin's directory (absolute). */
  readonly dir: string;
  readonly action: "installed" | "updated";
  /** The version in the plugins directory now (null for a first install). */
  readonly previous: InstalledVersion | null;
  /** The lock file's entry for the id before this install (null if none). */
  readonly locked: LockEntry | null;
  readonly next: InstalledVersion;
};

/** What an install did. */
export type InstallResult = InstallChange & {
  /** The new lock entry, as written. */
  readonly entry: LockEntry;
  readonly lockFile: string;
  readonly warnings: readonly ManifestProblem[];
};

const ID_DIR = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

function installLimits(given: Partial<InstallLimits> | undefined): InstallLimits {
  const out: Record<string, number> = { ...DEFAULT_INSTALL_LIMITS };
  for (const [field, v] of Object.entries(given ?? {})) {
    if (!(field in DEFAULT_INSTALL_LIMITS))
      throw new BadInputError(`installPlugin: unknown limit ${quote(field)}; the install limits are ${Object.keys(DEFAULT_INSTALL_LIMITS).join(", ")}`, { field: `limits.${field}` });
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
      throw new BadInputError(`installPlugin: limits.${field} must be a positive integer, got ${JSON.stringify(v) ?? String(v)}`, { field: `limits.${field}` });
    out[field] = v;
  }
  return out as InstallLimits;
}

/** Check a --sha256 pin: 64 hex digits, either case; returns it in lowercase. */
export function parsePin(pin: string | undefined): string | undefined {
  if (pin === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(pin)) {
    throw new BadInputError(`--sha256 must be 64 hexadecimal digits (the output of sha256sum), got ${quote(pin)}`, { field: "sha256", value: pin });
  }
  return pin.toLowerCase();
}

function versionOf(manifest: Manifest, sha: string): InstalledVersion {
  return { version: manifest.version, manifestSha256: sha, permissions: { ...(manifest.permissions ?? {}) }, limits: { ...(manifest.limits ?? {}) } };
}

function manifestError(label: string, problems: readonly ManifestProblem[] | readonly string[]): ManifestInvalidError {
  const lines = problems.map((p) => (typeof p === "string" ? p : `${p.field}: ${p.message}`));
  return new ManifestInvalidError(
    `cannot install ${label}: its ${MANIFEST_FILE} is invalid:\n${lines.map((l) => `${label}: ${MANIFEST_FILE}: ${l}`).join("\n")}\nfix it (warden check <dir> lists every problem) and pack the plugin again`,
    {
      problems: lines,
    },
  );
}

/** Parse and validate plugin.json's bytes (the schema, engines.warden), in memory. */
function judgeManifest(bytes: Buffer | undefined, label: string): Manifest {
  if (bytes === undefined) throw manifestError(label, [`(file): not a regular file of at most ${MAX_MANIFEST_BYTES} bytes; ship the manifest as a plain file`]);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw manifestError(label, [`(file): not valid JSON: ${(e as Error).message}`]);
  }
  const result = validateManifest(json, WARDEN_VERSION);
  if (!result.ok) throw manifestError(label, result.problems);
  if (!ID_DIR.test(result.manifest.id)) throw manifestError(label, [`id: ${quote(result.manifest.id)} cannot name a directory`]);
  // The id names the plugin's directory at the top of the plugins directory, where warden-* names
  // are warden's own (the lock file, the approvals and their log): a package named
  // warden-approvals.json would put its directory where the operator's approvals go.
  if (result.manifest.id.startsWith(RESERVED_PREFIX)) {
    throw manifestError(label, [
      `id: ${quote(result.manifest.id)} starts with ${quote(RESERVED_PREFIX)}, which names warden's own files in the plugins directory (${LOCK_FILE}, ${APPROVALS_FILE}...); install it under another id`,
    ]);
  }
  return result.manifest;
}

/** A plugin directory's manifest as its file says, without judging it (for ids and old versions). */
async function rawManifest(dir: string): Promise<{ json: Record<string, unknown>; sha256: string } | null> {
  const raw = await rawBytes(join(dir, MANIFEST_FILE)).catch(() => undefined);
  if (raw === undefined) return null;
  try {
    const json: unknown = JSON.parse(raw.toString("utf8"));
    if (typeof json !== "object" || json === null || Array.isArray(json)) return null;
    return { json: json as Record<string, unknown>, sha256: createHash("sha256").update(raw).digest("hex") };
  } catch {
    return null;
  }
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/** The installed version of `id` in `target`, or null; INSTALL_CONFLICT when its place is taken. */
async function placeOf(pluginsDir: string, id: string, target: string): Promise<InstalledVersion | null> {
  const entries = await readdir(pluginsDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw e;
  });
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith(".") || e.name === id) continue;
    const other = await rawManifest(join(pluginsDir, e.name));
    if (other?.json["id"] === id) {
      throw new InstallConflictError(
        `cannot install ${id} into ${quote(pluginsDir)}: ${quote(join(pluginsDir, e.name))} already holds plugin ${id}; remove or rename that directory first (an installed plugin lives in the directory named by its id, and two directories with one id are both refused by the host)`,
        { pluginId: id, pluginDir: join(pluginsDir, e.name) },
      );
    }
  }
  const st = await lstat(target).catch(() => null);
  if (st === null) return null;
  if (!st.isDirectory()) throw new InstallConflictError(`cannot install ${id}: ${quote(target)} exists and is not a directory; move it away first`, { pluginId: id, pluginDir: target });
  const old = await rawManifest(target);
  if (old === null) throw new InstallConflictError(`cannot install ${id}: ${quote(target)} exists and holds no readable ${MANIFEST_FILE}; move it away first`, { pluginId: id, pluginDir: target });
  if (old.json["id"] !== id) {
    const theirs = typeof old.json["id"] === "string" ? `plugin ${escapeText(old.json["id"])}` : "a plugin without an id";
    throw new InstallConflictError(`cannot install ${id}: ${quote(target)} holds ${theirs}; move it away first`, { pluginId: id, pluginDir: target });
  }
  return {
    version: typeof old.json["version"] === "string" ? old.json["version"] : "(unknown)",
    manifestSha256: old.sha256,
    permissions: record(old.json["permissions"]),
    limits: record(old.json["limits"]),
  };
}

/** Install (or update) the plugin in `source` into `pluginsDir`; see the module comment. */
export async function installPlugin(options: InstallOptions): Promise<InstallResult> {
  const label = escapeText(options.source);
  const pin = parsePin(options.sha256);
  const limits = installLimits(options.limits);
  const source = resolve(options.source);
  const pluginsDir = resolve(options.pluginsDir);
  const sourceStat = await stat(source).catch((e: NodeJS.ErrnoException) => {
    throw new BadInputError(`cannot install ${label}: ${e.code === "ENOENT" ? "no such file or directory" : `cannot read it (${e.code ?? "error"})`}; pass a plugin directory or a .tgz file`, {
      value: options.source,
    });
  });
  const dirStat = await stat(pluginsDir).catch(() => null);
  if (dirStat !== null && !dirStat.isDirectory()) throw new BadInputError(`the plugins directory ${quote(pluginsDir)} is not a directory; pass --plugins-dir <dir>`, { value: pluginsDir });
  if (sourceStat.isDirectory() && (source === pluginsDir || source.startsWith(`${pluginsDir}/`))) {
    throw new BadInputError(`cannot install ${label}: it is inside the plugins directory ${quote(pluginsDir)} already; install from a copy elsewhere`, { value: options.source });
  }
  const lock = await readLockFile(pluginsDir);

  // 2-3: everything judged in memory (a tarball) or by a walk that writes nothing (a directory).
  let plan: PackagePlan;
  let manifest: Manifest;
  let tarball: { bytes: Buffer; sha256: string } | null = null;
  // The uncompressed bytes of the tarball's stream up to the archive's end, as the scan read them.
  let streamBytes = 0;
  let copyPlan: Awaited<ReturnType<typeof scanDirectory>> = [];
  if (sourceStat.isDirectory()) {
    const checker = new EntryChecker(label, limits);
    copyPlan = await scanDirectory(source, checker);
    plan = checker.finish();
    const top = copyPlan.find((e) => e.path === MANIFEST_FILE);
    if (plan.root !== "" || top === undefined) throw manifestError(label, [`(file): ${MANIFEST_FILE} not found at the directory's top; every plugin directory needs one`]);
    manifest = judgeManifest(top.kind === "file" ? await rawBytes(join(source, MANIFEST_FILE)) : undefined, label);
  } else {
    tarball = await readTarball(source, label, limits);
    if (pin !== undefined && tarball.sha256 !== pin) throw mismatch(label, tarball.sha256, pin, "the file is not the one that was pinned (changed, corrupted, or a different release)");
    const scanned = await scanTarball(tarball.bytes, label, limits);
    plan = scanned.plan;
    streamBytes = scanned.streamBytes;
    manifest = judgeManifest(scanned.manifests.get(plan.root === "" ? MANIFEST_FILE : `${plan.root}/${MANIFEST_FILE}`), label);
  }
  const id = manifest.id;
  const target = join(pluginsDir, id);

  // 4: the id's place.
  const previous = await placeOf(pluginsDir, id, target);

  // 5-6: staged, read as a host reads it, then renamed into place.
  const createdPluginsDir = dirStat === null;
  await mkdir(pluginsDir, { recursive: true });
  let committed = false;
  let keep = false;
  let staging: string | null = null;
  try {
    staging = await mkdtemp(join(pluginsDir, STAGING_PREFIX));
    const unpacked = join(staging, "new");
    await mkdir(unpacked);
    if (tarball !== null) await unpackTarball(tarball.bytes, unpacked, label, streamBytes);
    else await copyDirectory(source, copyPlan, unpacked, label, limits);
    const root = join(unpacked, plan.root);
    await refuseSharedInodes(unpacked, label);
    const filesSha256 = await filesDigest(root);
    if (tarball === null && pin !== undefined && filesSha256 !== pin) throw mismatch(label, filesSha256, pin, "the directory's files are not the ones that were pinned");
    const loaded = await readManifest(root, WARDEN_VERSION).catch((e: unknown) => {
      if (isWardenError(e) && e.code === "MANIFEST_INVALID") throw manifestError(label, (e.details.problems as string[] | undefined) ?? [e.message]);
      throw e;
    });
    if (loaded.manifest.id !== id) throw manifestError(label, [`id: changed while it was installed (${quote(id)}, then ${quote(loaded.manifest.id)})`]);
    const next = versionOf(loaded.manifest, loaded.sha256);
    const change: InstallChange = { id, dir: target, action: previous === null ? "installed" : "updated", previous, locked: lock.plugins[id] ?? null, next };
    await options.beforeCommit?.(change);
    const entry: LockEntry = {
      id,
      version: loaded.manifest.version,
      dir: id,
      source: { kind: tarball === null ? "directory" : "tarball", path: source },
      integrity: { algorithm: "sha256", of: tarball === null ? "files" : "tarball", digest: tarball?.sha256 ?? filesSha256 },
      filesSha256,
      manifestSha256: loaded.sha256,
      permissions: { ...next.permissions },
      limits: { ...next.limits },
      installedAt: new Date().toISOString(),
    };
    const aside = join(staging, "old");
    if (previous !== null) await rename(target, aside);
    try {
      await rename(root, target);
      try {
        await writeLockFile(pluginsDir, { lockfileVersion: lock.lockfileVersion, plugins: { ...lock.plugins, [id]: entry } });
      } catch (e) {
        await rename(target, join(staging, "refused"));
        throw e;
      }
    } catch (e) {
      if (previous !== null) {
        try {
          await rename(aside, target);
        } catch (restore) {
          // Never delete the only copy of the old version: keep the staging directory and say where.
          keep = true;
          throw new InstallConflictError(
            `cannot install ${id}: the install failed (${e instanceof Error ? e.message : String(e)}) and the previous version could not be moved back (${(restore as NodeJS.ErrnoException).code ?? "error"}); it is in ${quote(aside)}: move it to ${quote(target)} by hand`,
            { pluginId: id, pluginDir: aside },
          );
        }
      }
      throw e;
    }
    committed = true;
    return { ...change, entry, lockFile: lockFilePath(pluginsDir), warnings: loaded.warnings };
  } finally {
    if (staging !== null && !keep) await rm(staging, { recursive: true, force: true });
    if (!committed && createdPluginsDir) await rmdir(pluginsDir).catch(() => undefined);
  }
}

function mismatch(label: string, actual: string, pin: string, why: string): IntegrityMismatchError {
  return new IntegrityMismatchError(`cannot install ${label}: its sha256 is ${actual}, not the pinned ${pin}; ${why}. Nothing was installed`, { value: actual, expected: pin });
}

async function rawBytes(path: string): Promise<Buffer | undefined> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = await file.stat();
    if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) return undefined;
    return await file.readFile();
  } finally {
    await file.close();
  }
}
