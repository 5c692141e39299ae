// Building tarballs for the install tests: raw ustar headers written byte by byte, so that every
// hostile entry node-tar would refuse to create (`../x`, `/abs`, links out, devices, FIFOs, lying
// sizes) can be made; and snapshots of a plugins directory, to prove a refused install changed nothing.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** One raw tar entry; `type` is the ustar typeflag ("0" file, "1" hard link, "2" symlink, "3" char device, "4" block device, "5" directory, "6" FIFO, "x" pax header). */
export type RawEntry = {
  readonly path: string;
  readonly type?: string;
  readonly data?: string | Buffer;
  readonly linkpath?: string;
  /** The size written in the header (default: the data's length). */
  readonly size?: number;
  readonly mode?: number;
};

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.path, 0, 100, "utf8");
  h.write(octal(e.mode ?? (e.type === "5" ? 0o755 : 0o644), 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  // Sizes beyond 11 octal digits use the base-256 form (first byte 0x80).
  if (size < 8 ** 11) h.write(octal(size, 12), 124, "ascii");
  else {
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(octal(1_700_000_000, 12), 136, "ascii");
  h.write(e.type ?? "0", 156, "ascii");
  if (e.linkpath !== undefined) h.write(e.linkpath, 157, 100, "utf8");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A pax extended header entry carrying `records` (e.g. { size: "10" }) for the entry after it. */
export function pax(records: Record<string, string>): RawEntry {
  let body = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (`${len}${rest}`.length !== len) len += 1;
    body += `${len}${rest}`;
  }
  return { path: "PaxHeader", type: "x", data: body };
}

/** A tar archive of `entries`, gzipped unless `gzip` is false. */
export function rawTar(entries: readonly RawEntry[], gzip = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    parts.push(header(e, e.size ?? data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return gzip ? gzipSync(tar) : tar;
}

/** Every path under `dir` (dot-names included) with its kind and content, and nothing when it does not exist. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) {
        out[path] = "dir";
        walk(path);
      } else if (st.isSymbolicLink()) out[path] = `link -> ${readlinkSync(join(dir, path))}`;
      else if (st.isFile()) out[path] = `file ${readFileSync(join(dir, path), "utf8")}`;
      else out[path] = "special"; // a FIFO a test made: never opened
    }
  };
  walk("");
  return out;
}
