// Tarballs: read whole (so the bytes hashed against the pin are the bytes unpacked), listed and
// judged entry by entry with node-tar's parser before anything is written, then unpacked with
// node-tar into a staging directory. warden decompresses the stream itself (gzip, with Node's
// zlib, 16 KiB at a time) and feeds node-tar plain tar, so that every uncompressed byte is counted
// while it streams: file data against the install limits, everything else (headers, padding, pax
// records) against DEFAULTS.tar.overheadBytesPerEntry per entry; a gzip bomb stops after a few
// MiB of output, not after it filled memory or the disk. Reading ends at the archive's end (two
// zero blocks): nothing after it is decompressed or parsed (node-tar appended such bytes to a
// buffer, copying it whole for every chunk: minutes of CPU for 8 MiB).
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createGunzip } from "node:zlib";
import { Parser, Unpack, type ReadEntry } from "tar";
import { DEFAULTS } from "../../defaults/index.ts";
import { BadInputError, isWardenError, PackageInvalidError, PackageTooLargeError, PackageUnsafeError, quote } from "../../errors/index.ts";
import type { InstallLimits } from "../limits.ts";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES } from "../../manifests/index.ts";
import { EntryChecker, entryParts, type EntryKind, type PackagePlan } from "./entries.ts";

/** Bytes handed to the parser at a time, and produced by one step of gunzip. */
const CHUNK = 16 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b];

function startsWith(b: Buffer, magic: readonly number[]): boolean {
  return magic.every((byte, i) => b[i] === byte);
}

/** node-tar's options for a stream warden already decompressed: no sniffing of another layer, small meta records. */
const PLAIN_TAR = { brotli: false, zstd: false, maxMetaEntrySize: DEFAULTS.tar.metaEntryBytes } as const;

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

/** The uncompressed tar stream of a package's `bytes`, in chunks: gunzipped when it is gzip, else as it is. */
async function* tarStream(bytes: Buffer, label: string): AsyncGenerator<Buffer> {
  if (!startsWith(bytes, GZIP_MAGIC)) {
    for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
    return;
  }
  const gunzip = createGunzip({ chunkSize: CHUNK });
  gunzip.end(bytes);
  let first = true;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      // node-tar would sniff the decompressed stream again and gunzip it itself, uncounted.
      if (first && startsWith(chunk, GZIP_MAGIC)) throw new Error("the tar stream is gzip again inside the gzip");
      first = false;
      yield chunk;
    }
  } catch (e) {
    throw invalid(label, e);
  } finally {
    gunzip.destroy();
  }
}

/** How a stream is fed: `failed` stops it; `stopAt` bounds the uncompressed bytes fed; `check` judges the running total. */
type FeedOptions = { readonly failed: () => boolean; readonly stopAt?: number; readonly check?: (fed: number) => void };

/**
 * Feed the uncompressed tar stream of `bytes` to `parser` until the archive's end (two zero
 * blocks, which node-tar reports as "eof"), a failure, or `stopAt` bytes; then end the parser.
 * Returns the uncompressed bytes fed.
 */
async function feed(parser: Parser, bytes: Buffer, label: string, o: FeedOptions): Promise<number> {
  let ended = false;
  parser.on("eof", () => {
    ended = true;
  });
  let fed = 0;
  for await (let chunk of tarStream(bytes, label)) {
    if (o.failed() || ended) break;
    if (o.stopAt !== undefined && fed + chunk.length > o.stopAt) chunk = chunk.subarray(0, o.stopAt - fed);
    fed += chunk.length;
    o.check?.(fed);
    parser.write(chunk);
    if (o.stopAt !== undefined && fed >= o.stopAt) break;
  }
  if (!o.failed()) parser.end();
  return fed;
}

/**
 * Judge every entry of the tarball without writing anything; returns the plan (where the plugin's
 * root is) and the bytes of its plugin.json. Throws PACKAGE_UNSAFE, PACKAGE_TOO_LARGE,
 * PACKAGE_INVALID or MANIFEST_INVALID (no plugin.json).
 */
export async function scanTarball(bytes: Buffer, label: string, limits: InstallLimits): Promise<{ plan: PackagePlan; manifests: Map<string, Buffer>; streamBytes: number }> {
  const checker = new EntryChecker(label, limits);
  // plugin.json candidates (at the top, or one level down), collected while listing.
  const manifests = new Map<string, Buffer>();
  // Bytes of the uncompressed stream that are not file data: headers, padding, pax records.
  const overhead = limits.files * DEFAULTS.tar.overheadBytesPerEntry;
  let fed: Promise<number> = Promise.resolve(0);
  const planned = new Promise<PackagePlan>((resolve, reject) => {
    let error: unknown = null;
    const fail = (e: unknown): void => {
      if (error !== null) return;
      error = e;
      parser.abort(e instanceof Error ? e : new Error(String(e)));
      reject(isWardenError(e) ? e : invalid(label, e));
    };
    const parser: Parser = new Parser({
      ...PLAIN_TAR,
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
      fail(
        entry.meta
          ? new PackageTooLargeError(
              `cannot install ${label}: a pax or long-name record (before ${quote(entry.path)}) is ${entry.size} bytes, more than ${DEFAULTS.tar.metaEntryBytes} (DEFAULTS.tar.metaEntryBytes); a package from someone else that does this is hostile: do not install it`,
              { field: "tar.metaEntryBytes" },
            )
          : new PackageUnsafeError(`cannot install ${label}: entry ${quote(entry.path)} has the unsupported type ${quote(String(entry.type))}; a package holds files, directories and links only`),
      ),
    );
    parser.on("error", (e: unknown) => fail(e));
    parser.on("end", () => {
      if (error !== null) return;
      try {
        resolve(checker.finish());
      } catch (e) {
        error = e;
        reject(isWardenError(e) ? e : invalid(label, e));
      }
    });
    const check = (fed: number): void => {
      if (fed - checker.bytes > overhead) {
        throw new PackageTooLargeError(
          `cannot install ${label}: its tar stream holds more than ${overhead} bytes besides its files' data (headers, padding, pax records; ${DEFAULTS.tar.overheadBytesPerEntry} per entry it may have, DEFAULTS.tar.overheadBytesPerEntry × limits.files); a package from someone else that does this is hostile: do not install it`,
          { field: "tar.overheadBytesPerEntry" },
        );
      }
    };
    fed = feed(parser, bytes, label, { failed: () => error !== null, check }).catch((e: unknown) => {
      fail(e);
      return 0;
    });
  });
  // Both: the parser's end settles the plan, the feed's return the bytes read (in either order).
  const [plan, streamBytes] = await Promise.all([planned, fed]);
  return { plan, manifests, streamBytes };
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
export async function unpackTarball(bytes: Buffer, dest: string, label: string, streamBytes: number): Promise<void> {
  const links: HardLink[] = [];
  await unpackFiles(bytes, dest, label, links, streamBytes);
  await copyHardLinks(dest, links);
}

/**
 * node-tar's part of unpackTarball: everything but the hard links, which are collected in `links`;
 * at most the `streamBytes` uncompressed bytes the scan read (up to the archive's end).
 */
function unpackFiles(bytes: Buffer, dest: string, label: string, links: HardLink[], streamBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let error: unknown = null;
    const unpack = new Unpack({
      ...PLAIN_TAR,
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
    feed(unpack, bytes, label, { failed: () => error !== null, stopAt: streamBytes }).catch((e: unknown) => {
      if (error === null) {
        error = e;
        reject(isWardenError(e) ? e : invalid(label, e));
      }
    });
  });
}
