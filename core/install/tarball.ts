// Tarballs: read whole (so the bytes hashed against the pin are the bytes unpacked), listed and
// judged entry by entry with node-tar's parser before anything is written, then unpacked with
// node-tar into a staging directory. The bytes are fed in small chunks, so a gzip bomb is stopped
// by the caps after a few MiB of output, not after it filled memory.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Parser, Unpack, type ReadEntry } from "tar";
import { BadInputError, isWardenError, PackageInvalidError, PackageTooLargeError, PackageUnsafeError, quote } from "../../errors/index.ts";
import type { InstallLimits } from "../limits.ts";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES } from "../../manifests/index.ts";
import { EntryChecker, entryParts, type EntryKind, type PackagePlan } from "./entries.ts";

/** Bytes handed to the parser at a time: bounds what one step of gunzip can produce. */
const CHUNK = 16 * 1024;

const KINDS: Partial<Record<string, EntryKind>> = {
  File: "file",
  OldFile: "file",
  ContiguousFile: "file",
  Directory: "directory",
  SymbolicLink: "symlink",
  Link: "hardlink",
};

/** Read a tarball whole, within limits.packageBytes; returns its bytes and their sha256. */
export async function readTarball(path: string, label: string, limits: InstallLimits): Promise<{ bytes: Buffer; sha256: string }> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new BadInputError(`cannot install ${label}: cannot open it (${(e as NodeJS.ErrnoException).code ?? "error"}); pass a plugin directory or a .tgz file`, { value: label });
  }
  try {
    const st = await file.stat();
    if (!st.isFile()) throw new BadInputError(`cannot install ${label}: it is neither a directory nor a regular file; pass a plugin directory or a .tgz file`, { value: label });
    if (st.size > limits.packageBytes) {
      throw new PackageTooLargeError(
        `cannot install ${label}: the tarball is ${st.size} bytes, more than ${limits.packageBytes} (limits.packageBytes); ship data separately, or raise the limit for a trusted package`,
        {
          field: "limits.packageBytes",
        },
      );
    }
    // Read at most one byte more than the cap, whatever stat said (the file may grow meanwhile).
    const buf = Buffer.alloc(Math.min(limits.packageBytes + 1, Math.max(st.size + 1, 1)));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const { bytesRead } = await file.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > limits.packageBytes || n > st.size) {
      throw new PackageTooLargeError(`cannot install ${label}: the tarball grew while it was read, or is larger than ${limits.packageBytes} bytes (limits.packageBytes)`, {
        field: "limits.packageBytes",
      });
    }
    const bytes = buf.subarray(0, n);
    return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  } finally {
    await file.close();
  }
}

function invalid(label: string, e: unknown): PackageInvalidError {
  const code = (e as { code?: unknown }).code;
  const why = `${typeof code === "string" ? `${code}: ` : ""}${e instanceof Error ? e.message : String(e)}`;
  return new PackageInvalidError(`cannot install ${label}: it is not a readable tar archive (${why}); build it again (tar -czf plugin.tgz -C my-plugin .) or download it again`);
}

/** Feed `bytes` to a parser in chunks, stopping as soon as `failed()` says so. */
function feed(parser: Parser, bytes: Buffer, failed: () => boolean): void {
  for (let i = 0; i < bytes.length && !failed(); i += CHUNK) parser.write(bytes.subarray(i, i + CHUNK));
  if (!failed()) parser.end();
}

/**
 * Judge every entry of the tarball without writing anything; returns the plan (where the plugin's
 * root is) and the bytes of its plugin.json. Throws PACKAGE_UNSAFE, PACKAGE_TOO_LARGE,
 * PACKAGE_INVALID or MANIFEST_INVALID (no plugin.json).
 */
export function scanTarball(bytes: Buffer, label: string, limits: InstallLimits): Promise<{ plan: PackagePlan; manifests: Map<string, Buffer> }> {
  const checker = new EntryChecker(label, limits);
  // plugin.json candidates (at the top, or one level down), collected while listing.
  const manifests = new Map<string, Buffer>();
  return new Promise((resolve, reject) => {
    let error: unknown = null;
    const fail = (e: unknown): void => {
      if (error !== null) return;
      error = e;
      parser.abort(e instanceof Error ? e : new Error(String(e)));
      reject(isWardenError(e) ? e : invalid(label, e));
    };
    const parser: Parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (error !== null) return entry.resume();
        try {
          const kind = KINDS[entry.type] ?? "other";
          checker.add({ path: entry.path, kind, typeName: entry.type, size: entry.size, linkpath: entry.linkpath });
          const parts = entryParts(entry.path, "entry", label);
          const collect = kind === "file" && parts.length <= 2 && parts.at(-1) === MANIFEST_FILE && entry.size <= MAX_MANIFEST_BYTES ? ([] as Buffer[]) : null;
          let actual = 0;
          entry.on("data", (chunk: Buffer) => {
            if (error !== null) return;
            actual += chunk.length;
            try {
              // What is read counts, not only what was declared: a pax header may declare a
              // size the data does not have.
              checker.readBytes(entry.path, entry.size, actual, chunk.length);
              if (kind !== "file" && actual > 0)
                throw new PackageUnsafeError(
                  `cannot install ${label}: entry ${quote(entry.path)} is a ${entry.type} with data; a package from someone else that does this is hostile: do not install it`,
                );
            } catch (e) {
              fail(e);
              return;
            }
            collect?.push(chunk);
          });
          entry.on("end", () => {
            if (collect !== null && error === null) manifests.set(parts.join("/"), Buffer.concat(collect));
          });
        } catch (e) {
          fail(e);
          entry.resume();
        }
      },
    });
    parser.on("ignoredEntry", (entry: ReadEntry) =>
      fail(new PackageUnsafeError(`cannot install ${label}: entry ${quote(entry.path)} has the unsupported type ${quote(String(entry.type))}; a package holds files, directories and links only`)),
    );
    parser.on("error", (e: unknown) => fail(e));
    parser.on("end", () => {
      if (error !== null) return;
      try {
        resolve({ plan: checker.finish(), manifests });
      } catch (e) {
        error = e;
        reject(isWardenError(e) ? e : invalid(label, e));
      }
    });
    try {
      feed(parser, bytes, () => error !== null);
    } catch (e) {
      fail(e);
    }
  });
}

/** A hard link of the package: where it goes and the earlier file it names, both as path components. */
type HardLink = { readonly path: readonly string[]; readonly target: readonly string[] };

/**
 * Write each hard link as a copy of its target's bytes (and mode). A hard link is the same inode
 * as its target, and warden protects a plugin's own files (plugin.json, its modules) by name: a
 * `data/notes.txt` linked to plugin.json would let a write grant over data/ rewrite the manifest.
 * Copies keep packages that contain hard links installable (tar stores duplicate files that way)
 * while no two installed paths share an inode. scanTarball already judged that each target is a
 * regular file earlier in the package and that no path passes through a symbolic link.
 */
async function copyHardLinks(dest: string, links: readonly HardLink[]): Promise<void> {
  for (const link of links) {
    const to = join(dest, ...link.path);
    // A link may be the only entry of its directory; node-tar makes such directories, so do we.
    await mkdir(dirname(to), { recursive: true, mode: 0o755 });
    await copyFile(join(dest, ...link.target), to, constants.COPYFILE_EXCL);
  }
}

/**
 * Unpack a tarball that scanTarball accepted into the empty directory `dest`, with node-tar's own
 * protections on as well (no absolute paths, no `..`, never through a symlink, owner not kept) and
 * setuid, setgid, sticky and group/world-write bits dropped. Hard links become copies of their
 * targets (copyHardLinks says why).
 */
export async function unpackTarball(bytes: Buffer, dest: string, label: string): Promise<void> {
  const links: HardLink[] = [];
  await unpackFiles(bytes, dest, label, links);
  await copyHardLinks(dest, links);
}

/** node-tar's part of unpackTarball: everything but the hard links, which are collected in `links`. */
function unpackFiles(bytes: Buffer, dest: string, label: string, links: HardLink[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let error: unknown = null;
    const unpack = new Unpack({
      cwd: dest,
      strict: true,
      preserveOwner: false,
      preservePaths: false,
      filter: (_path, entry) => {
        const e = entry as ReadEntry;
        if (KINDS[e.type] === undefined) return false;
        if (KINDS[e.type] === "hardlink") {
          // Never node-tar's link(2): copied once everything else is unpacked.
          links.push({ path: entryParts(e.path, "entry", label), target: entryParts(e.linkpath ?? "", "hard link target", label) });
          return false;
        }
        if (typeof e.mode === "number") e.mode &= 0o755;
        return true;
      },
    });
    unpack.on("error", (e: unknown) => {
      if (error === null) {
        error = e;
        reject(isWardenError(e) ? e : invalid(label, e));
      }
    });
    unpack.on("close", () => {
      if (error === null) resolve();
    });
    try {
      feed(unpack, bytes, () => error !== null);
    } catch (e) {
      if (error === null) {
        error = e;
        reject(invalid(label, e));
      }
    }
  });
}
