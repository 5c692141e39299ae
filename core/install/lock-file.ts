// warden-lock.json: what `warden install` put into a plugins directory, one entry per plugin id.
// Read strictly (a file warden cannot read is never silently overwritten), written atomically
// (a temporary file in the same directory, fsynced, then renamed over it) with every object's keys
// sorted, so the same state is always the same bytes and a diff shows only what changed.
//
// Each entry keeps the manifest's permissions and limits as installed: the approvals of a later
// part of issue 14 compare an update's manifest with them (and will add what was approved, by
// whom, to the entry: new optional fields, under the same lockfileVersion).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LockFileInvalidError, quote } from "../../errors/index.ts";
import { formatPath } from "../../manifests/index.ts";
import { canonicalJson, writeFileAtomically } from "./json-file.ts";
import { LOCK_FILE } from "./names.ts";

/** The format's version; a reader refuses a file of another version. */
export const LOCKFILE_VERSION = 1;

const Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a 64-digit lowercase hex sha256");

const LockEntrySchema = z
  .object({
    id: z.string().min(1),
    version: z.string().min(1),
    /** The plugin's directory, relative to the plugins directory (today always its id). */
    dir: z.string().min(1),
    source: z.object({ kind: z.enum(["tarball", "directory"]), path: z.string().min(1) }).strict(),
    /** sha256 of the tarball's bytes, or of the directory's canonical file listing (directory.ts). */
    integrity: z.object({ algorithm: z.literal("sha256"), of: z.enum(["tarball", "files"]), digest: Hex }).strict(),
    /** sha256 of the installed directory's canonical file listing (equal to integrity for a directory). */
    filesSha256: Hex,
    /** sha256 of plugin.json's bytes, as readManifest computes it. */
    manifestSha256: Hex,
    /** The manifest's permissions and limits as installed ({} when it declares none). */
    permissions: z.record(z.string(), z.unknown()),
    limits: z.record(z.string(), z.unknown()),
    installedAt: z.string().min(1),
  })
  .strict();

const LockSchema = z
  .object({
    lockfileVersion: z.literal(LOCKFILE_VERSION),
    plugins: z.record(z.string(), LockEntrySchema),
  })
  .strict();

/** One installed plugin in the lock file. */
export type LockEntry = z.infer<typeof LockEntrySchema>;

/** The whole lock file. */
export type LockFile = { readonly lockfileVersion: typeof LOCKFILE_VERSION; readonly plugins: Readonly<Record<string, LockEntry>> };

/** The lock file's path in `pluginsDir`. */
export function lockFilePath(pluginsDir: string): string {
  return join(pluginsDir, LOCK_FILE);
}

/** Read the lock file of `pluginsDir`; an empty one when it does not exist; LOCK_FILE_INVALID otherwise. */
export async function readLockFile(pluginsDir: string): Promise<LockFile> {
  const file = lockFilePath(pluginsDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { lockfileVersion: LOCKFILE_VERSION, plugins: {} };
    throw new LockFileInvalidError(`${quote(file)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? "error"}); fix its permissions, or restore it`, { value: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LockFileInvalidError(`${quote(file)}: not valid JSON (${(e as Error).message}); restore it from a backup, or delete it and install each plugin again to record it`, { value: file });
  }
  const parsed = LockSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new LockFileInvalidError(
      `${quote(file)}: not a warden lock file of version ${LOCKFILE_VERSION}:\n${problems.join("\n")}\nrestore it from a backup, or delete it and install each plugin again to record it`,
      {
        value: file,
        problems,
      },
    );
  }
  for (const [id, entry] of Object.entries(parsed.data.plugins)) {
    if (entry.id !== id) throw new LockFileInvalidError(`${quote(file)}: plugins.${id}.id is ${quote(entry.id)}, not its key; restore the file from a backup`, { value: file });
  }
  return parsed.data;
}

/** The lock file's text: keys sorted at every level, two-space indent, final newline. */
export function serializeLockFile(lock: LockFile): string {
  return canonicalJson(lock);
}

/** Write the lock file of `pluginsDir` atomically (temporary file, fsync, rename). */
export async function writeLockFile(pluginsDir: string, lock: LockFile): Promise<void> {
  await writeFileAtomically(pluginsDir, LOCK_FILE, serializeLockFile(lock));
}
