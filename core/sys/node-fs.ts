// The real implementation of capabilities' FsPort on Node's fs (Linux first: /proc/self/fd gives
// both the identity check after an open and an openat-like way to name entries of a held directory).
// Everything that opens, creates or removes takes a CheckedPath and is unwrapped only here, at the syscall.
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, opendir, readdir, readlink, realpath, rmdir, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  CheckedPath,
  HardLinkedFileError,
  hasOtherNames,
  type DirEntry,
  type FileInfo,
  type FsPort,
  type Opened,
  type OpenedDir,
  type OpenedFile,
  type OpenedWritable,
} from "../../capabilities/index.ts";

const HAS_PROC_FD = process.platform === "linux";
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;

function info(s: Stats): FileInfo {
  return { isFile: s.isFile(), isDirectory: s.isDirectory(), isSymlink: s.isSymbolicLink(), size: s.size, mtimeMs: s.mtimeMs, dev: s.dev, ino: s.ino, nlink: s.nlink };
}

// The real path of a checked path. The type already refuses anything else; this refuses a
// look-alike from code the compiler did not see (plain JavaScript, a cast).
function real(path: CheckedPath): string {
  if (!CheckedPath.is(path)) throw new TypeError("the fs port acts only on a CheckedPath made by the path check");
  return path.real;
}

// Where the syscall acts: a checked path's entry in its held parent directory, or its real path.
function at(path: CheckedPath, parent?: OpenedDir): string {
  return parent === undefined ? real(path) : parent.entry(basename(real(path)));
}

function opened(handle: FileHandle): Opened {
  return {
    async openedPath() {
      if (!HAS_PROC_FD) return null;
      return readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
    },
    stat: async () => info(await handle.stat()),
    close: () => handle.close(),
  };
}

/** The FsPort warden uses outside tests. */
export function createNodeFs(): FsPort {
  return {
    realpath: (p) => realpath(p),
    async readlinkIfSymlink(p) {
      const s = await lstat(p).catch(() => null);
      return s?.isSymbolicLink() ? readlink(p) : null;
    },
    async identity(p) {
      const s = await lstat(p);
      return { dev: s.dev, ino: s.ino };
    },
    lstat: async (p) => info(await lstat(p)),
    async openRead(checked): Promise<OpenedFile> {
      // O_NOFOLLOW: a final component swapped for a symlink after the check fails with ELOOP.
      // O_NONBLOCK: opening a FIFO must not hang the sandbox process.
      const handle = await open(at(checked), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      return {
        ...opened(handle),
        async read(max) {
          const chunks: Buffer[] = [];
          let total = 0;
          while (total < max) {
            const buf = Buffer.allocUnsafe(Math.min(64 * 1024, max - total));
            const { bytesRead } = await handle.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            chunks.push(buf.subarray(0, bytesRead));
            total += bytesRead;
          }
          return Buffer.concat(chunks, total);
        },
      };
    },
    async openWrite(checked, parent, o): Promise<OpenedWritable> {
      // Never O_TRUNC here: the caller verifies the descriptor first, then truncates.
      const flags = constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (o.create ? constants.O_CREAT : 0) | (o.append ? constants.O_APPEND : 0);
      const handle = await open(at(checked, parent), flags, 0o644);
      // A second name of the opened file (a hard link) would be written too: refuse it before a
      // byte changes, judged by this descriptor, the one every write below goes to.
      const st = await handle.stat().catch(async (e: unknown) => {
        await handle.close();
        throw e;
      });
      if (hasOtherNames(info(st))) {
        await handle.close();
        throw new HardLinkedFileError(st.nlink);
      }
      return {
        ...opened(handle),
        truncate: () => handle.truncate(0),
        async write(data) {
          let off = 0;
          while (off < data.byteLength) {
            const { bytesWritten } = await handle.write(data, off, data.byteLength - off, null);
            off += bytesWritten;
          }
        },
      };
    },
    openDir: (checked, parent) => openDirectory(at(checked, parent)),
    openParent: (checked) => openDirectory(dirname(real(checked))),
    mkdir: async (checked, parent) => {
      await mkdir(at(checked, parent), { mode: 0o755 });
    },
    rmdir: (checked, parent) => rmdir(at(checked, parent)),
    unlink: (checked, parent) => unlink(at(checked, parent)),
  };
}

/** Open the directory `p` without following a final symlink; its entries are named through the descriptor. */
async function openDirectory(p: string): Promise<OpenedDir> {
  const handle = await open(p, constants.O_RDONLY | O_DIRECTORY | constants.O_NOFOLLOW);
  const base = opened(handle);
  const self = HAS_PROC_FD ? `/proc/self/fd/${handle.fd}` : p;
  return {
    ...base,
    entry: (name) => join(self, name),
    async list(): Promise<DirEntry[]> {
      const entries = HAS_PROC_FD ? await readdir(self, { withFileTypes: true }) : await collect(p);
      return entries.map((d) => ({ name: d.name, isFile: d.isFile(), isDirectory: d.isDirectory(), isSymlink: d.isSymbolicLink() }));
    },
  };
}

async function collect(p: string) {
  const out = [];
  for await (const d of await opendir(p)) out.push(d);
  return out;
}
