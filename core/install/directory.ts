// Plugin directories as a package: walked without following links, judged by the same rules as a
// tarball's entries, then copied file by file (each opened without following a final link and
// judged again by its descriptor, so a file swapped for a link or a FIFO after the walk is refused).
// Also the canonical listing of a directory's files, whose sha256 is the lock file's integrity of
// a directory install and, for every install, the hash of what was installed.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";
import { PackageTooLargeError, PackageUnsafeError, quote } from "../../errors/index.ts";
import type { InstallLimits } from "../limits.ts";
import { EntryChecker, type EntryKind, type PackageEntry } from "./entries.ts";

function kindOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean }): {
  kind: EntryKind;
  typeName: string;
} {
  if (st.isFile()) return { kind: "file", typeName: "File" };
  if (st.isDirectory()) return { kind: "directory", typeName: "Directory" };
  if (st.isSymbolicLink()) return { kind: "symlink", typeName: "SymbolicLink" };
  if (st.isFIFO()) return { kind: "other", typeName: "FIFO" };
  if (st.isSocket()) return { kind: "other", typeName: "socket" };
  return { kind: "other", typeName: st.isCharacterDevice() ? "CharacterDevice" : "BlockDevice" };
}

/** Names of a directory in a fixed order (by UTF-16 code units, not the locale). */
async function sortedNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Walk `root` (not following links) and judge every entry; returns them in walk order. */
export async function scanDirectory(root: string, checker: EntryChecker): Promise<PackageEntry[]> {
  const out: PackageEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await sortedNames(join(root, rel))) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      const { kind, typeName } = kindOf(st);
      const entry: PackageEntry = { path, kind, typeName, size: kind === "file" ? st.size : 0, ...(kind === "symlink" ? { linkpath: await readlink(join(root, path)) } : {}) };
      checker.add(entry);
      out.push(entry);
      if (kind === "directory") await walk(path);
    }
  };
  await walk("");
  return out;
}

/** Read one regular file of the source through a descriptor that was judged, at most `cap` bytes. */
async function readJudged(path: string, shown: string, label: string, cap: number): Promise<{ data: Buffer; mode: number }> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw new PackageUnsafeError(
      `cannot install ${label}: entry ${quote(shown)} changed while it was copied (${(e as NodeJS.ErrnoException).code ?? "error"}); install it again when nothing is writing the directory`,
    );
  }
  try {
    const st = await file.stat();
    if (!st.isFile()) throw new PackageUnsafeError(`cannot install ${label}: entry ${quote(shown)} is no longer a regular file; install it again when nothing is writing the directory`);
    const buf = Buffer.alloc(Math.min(cap + 1, st.size + 1));
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await file.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > cap)
      throw new PackageTooLargeError(`cannot install ${label}: entry ${quote(shown)} has more than ${cap} bytes, the most one file may have (limits.fileBytes)`, { field: "limits.fileBytes" });
    if (n > st.size) throw new PackageUnsafeError(`cannot install ${label}: entry ${quote(shown)} grew while it was copied; install it again when nothing is writing the directory`);
    return { data: buf.subarray(0, n), mode: st.mode & 0o755 };
  } finally {
    await file.close();
  }
}

/** Copy the judged `entries` of `root` into the empty directory `dest`. */
export async function copyDirectory(root: string, entries: readonly PackageEntry[], dest: string, label: string, limits: InstallLimits): Promise<void> {
  for (const e of entries) {
    const to = join(dest, e.path);
    if (e.kind === "directory") await mkdir(to);
    else if (e.kind === "symlink") await symlink(e.linkpath ?? "", to);
    else if (e.kind === "file") {
      const { data, mode } = await readJudged(join(root, e.path), e.path, label, limits.fileBytes);
      const out = await open(to, "wx", mode);
      try {
        await out.writeFile(data);
      } finally {
        await out.close();
      }
    }
  }
}

/**
 * The sha256 of a directory's canonical listing: one JSON line per entry, sorted by path, each
 * `["d",path]`, `["f",path,sha256-of-content]` or `["l",path,link-target]`. Modes, owners and
 * times are not part of it.
 */
export async function filesDigest(root: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (rel: string): Promise<void> => {
    for (const name of await sortedNames(join(root, rel))) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full);
      if (st.isDirectory()) {
        hash.update(`${JSON.stringify(["d", path])}\n`);
        await walk(path);
      } else if (st.isSymbolicLink()) hash.update(`${JSON.stringify(["l", path, await readlink(full)])}\n`);
      else if (st.isFile()) {
        const file = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          hash.update(
            `${JSON.stringify([
              "f",
              path,
              createHash("sha256")
                .update(await file.readFile())
                .digest("hex"),
            ])}\n`,
          );
        } finally {
          await file.close();
        }
      } else throw new PackageUnsafeError(`${quote(full)} is a ${kindOf(st).typeName}; an installed plugin holds files, directories and links only`);
    }
  };
  await walk("");
  return hash.digest("hex");
}
