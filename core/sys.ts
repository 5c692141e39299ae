// The real implementation of capabilities' FsPort on Node's fs.
import { constants } from "node:fs";
import { lstat, open, readlink, realpath } from "node:fs/promises";
import type { FsPort, OpenedFile } from "../capabilities/index.ts";

const HAS_PROC_FD = process.platform === "linux";

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
    async openRead(p): Promise<OpenedFile> {
      // O_NOFOLLOW: a final component swapped for a symlink after the check fails with ELOOP.
      // O_NONBLOCK: opening a FIFO must not hang the sandbox process.
      const handle = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      return {
        async openedPath() {
          if (!HAS_PROC_FD) return null;
          return readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
        },
        async stat() {
          const s = await handle.stat();
          return { isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size, dev: s.dev, ino: s.ino };
        },
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
        close: () => handle.close(),
      };
    },
  };
}
