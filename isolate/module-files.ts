// Reading the files a plugin's module graph is made of (its modules and its packages'
// package.json), and the budget of the whole graph. The plugin chooses every one of these files, and
// they are read on the thread of the engine it shares with other plugins (or the host's, in-process)
// before any plugin code runs: a FIFO would block that thread for good, a link to /dev/zero or a
// 100 MB file fill its memory, 100 000 modules or a 40 MB TypeScript file keep it busy for minutes.
// So each file is opened without blocking and without following a final link, judged by its
// descriptor (a regular file, at most so many bytes), and read through that descriptor; and the
// graph as a whole has a budget of modules, bytes, TypeScript bytes and import depth
// (DEFAULTS.modules).
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { DEFAULTS } from "../defaults/index.ts";
import { PluginError, quote } from "../errors/index.ts";

/** The bounds on one plugin's module graph (DEFAULTS.modules). */
export type ModuleBounds = typeof DEFAULTS.modules;

/** Thrown when a file of the graph is missing (ENOENT): the caller decides whether that is an error. */
export class ModuleFileMissing extends Error {}

/**
 * The text of `path` (`shown` in messages), read through a descriptor judged to be a regular file
 * of at most `maxBytes` bytes; throws PLUGIN_ERROR naming `what` otherwise, ModuleFileMissing when it
 * does not exist. `fix` says what to do about a file that is too large.
 */
export function readModuleFile(path: string, shown: string, what: string, maxBytes: number, fix: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the path is the real path
    // the loader confined, and a link put in its place since is not followed.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ModuleFileMissing(shown);
    if (code === "ELOOP") throw new PluginError(`${what} ${quote(shown)} became a symbolic link while the plugin was loading; load it again when nothing is changing its files`, { file: shown });
    throw new PluginError(`${what} ${quote(shown)} cannot be opened (${code ?? "error"})`, { file: shown });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new PluginError(`${what} ${quote(shown)} is not a regular file (a FIFO, a device or a directory); a plugin ships its code as plain files`, { file: shown });
    if (st.size > maxBytes) throw new PluginError(`${what} ${quote(shown)} is ${st.size} bytes, more than the ${maxBytes} bytes one such file may have; ${fix}`, { file: shown });
    // Read at most one byte past the bound, whatever fstat said (the file may grow meanwhile).
    const buf = Buffer.alloc(Math.min(maxBytes + 1, st.size + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) break;
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n > maxBytes) throw new PluginError(`${what} ${quote(shown)} grew past ${maxBytes} bytes while it was read; ${fix}`, { file: shown });
    return buf.toString("utf8", 0, n);
  } finally {
    closeSync(fd);
  }
}

/** What one plugin's module graph has used of its bounds so far, and the check of each addition. */
export class ModuleBudget {
  readonly #bounds: ModuleBounds;
  #modules = 0;
  #bytes = 0;
  #typeScriptBytes = 0;

  constructor(bounds: ModuleBounds = DEFAULTS.modules) {
    this.#bounds = bounds;
  }

  /** The bounds this budget enforces. */
  get bounds(): ModuleBounds {
    return this.#bounds;
  }

  /** Count one more module (`file`, before it is read); throws PLUGIN_ERROR past the module count. */
  addModule(file: string): void {
    this.#modules += 1;
    if (this.#modules > this.#bounds.count) {
      throw new PluginError(`${file}: the plugin's import graph has more than ${this.#bounds.count} modules; bundle the plugin's code into fewer files`, { file });
    }
  }

  /** Count `bytes` of a file read for the graph; throws PLUGIN_ERROR past the total. */
  addBytes(file: string, bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes > this.#bounds.totalBytes) {
      throw new PluginError(`${file}: the plugin's modules and package.json files add up to more than ${this.#bounds.totalBytes} bytes; ship data as files the plugin reads, not as code`, {
        file,
      });
    }
  }

  /** Count `bytes` of TypeScript to strip; throws PLUGIN_ERROR past the TypeScript total. */
  addTypeScript(file: string, bytes: number): void {
    this.#typeScriptBytes += bytes;
    if (this.#typeScriptBytes > this.#bounds.typeScriptBytes) {
      throw new PluginError(
        `${file}: the plugin's TypeScript files add up to more than ${this.#bounds.typeScriptBytes} bytes, which warden strips on load; compile the plugin to JavaScript (tsc, esbuild) and ship the .js`,
        { file },
      );
    }
  }

  /** Check the depth at which `file` is imported (the entry module is 0); throws PLUGIN_ERROR past the bound. */
  checkDepth(file: string, depth: number): void {
    if (depth > this.#bounds.depth) {
      throw new PluginError(`${file}: imports nested deeper than ${this.#bounds.depth} modules; flatten the chain (a module importing the next, a thousand times over)`, { file });
    }
  }
}
