// Filesystem capability. Every operation is: validate the arguments, check the lexical path, check
// the real path, then act on exactly what was checked: a file or directory opened and verified to
// be the checked one (/proc/self/fd), or an entry named through its verified, held-open parent
// directory. A symlink or directory swapped in between the check and the use cannot escape.
import { basename, dirname, join } from "node:path";
import { quote } from "../errors/index.ts";
import { boolOption, optionsArg, stringArg } from "./arguments.ts";
import { permissionDenied } from "./denial.ts";
import { refuseOverLong } from "./value-bounds.ts";
import type { Grants } from "./grants.ts";
import { HARD_LINK_FIX, hardLinkReason, HardLinkedFileError, hasOtherNames } from "./hard-links.ts";
import { beforeEffect } from "./effect-guard.ts";
import { fromErrno, OperationError } from "./operation-error.ts";
import { specialRoot } from "./path-rules.ts";
import { createPathCheck, type CheckedPath, type FsAccess, type PathDecision } from "./path-check.ts";
import type { AuditSink, DirEntry, FsPort, Opened, OpenedDir } from "./ports.ts";
import type { Protection } from "./protected-paths.ts";

export { realPathOrNearest, type FsAccess, type PathDecision } from "./path-check.ts";

/** What the fs capability needs to be built for one plugin. */
export type FsCapabilityOptions = {
  readonly pluginId: string;
  readonly pluginDir: string;
  readonly grants: Grants;
  readonly fs: FsPort;
  readonly audit: AuditSink;
  /** The largest file readTextFile returns, in bytes. */
  readonly readBytes: number;
};

// What a denial of a protected path says instead of "add it to permissions.write".
const NO_GRANT_COVERS = "no write grant can allow it";

// readDir refuses directories with more entries than this instead of building a huge answer.
const MAX_DIR_ENTRIES = 65_536;

/** The filesystem capability of one plugin. */
export type FsCapability = {
  /** Check `path` for `access`; throws PermissionDenied (audited) or returns the checked path. */
  check(path: unknown, access: FsAccess, api: string): Promise<CheckedPath>;
  /**
   * Refuse every write (write, mkdir, remove, a recursive remove of an ancestor) to what `p` covers,
   * judged on both the lexical and the real path; register a root's real path as well when it differs.
   */
  protect(p: Protection): void;
  /** Decide without auditing or throwing (for permission queries). */
  decide(path: string, access: FsAccess): Promise<PathDecision>;
  readTextFile(path: unknown): Promise<string>;
  /** `signal` is the call's: once aborted (revoked, unloaded, out of time), nothing more is changed. */
  writeTextFile(path: unknown, data: unknown, options: unknown, signal?: AbortSignal): Promise<null>;
  readDir(path: unknown): Promise<DirEntry[]>;
  stat(path: unknown): Promise<{ isFile: boolean; isDirectory: boolean; isSymlink: boolean; size: number; mtimeMs: number }>;
  mkdir(path: unknown, options: unknown, signal?: AbortSignal): Promise<null>;
  remove(path: unknown, options: unknown, signal?: AbortSignal): Promise<null>;
};

/** Build the fs capability for one plugin; resolves the real paths of its grants once. */
export async function createFsCapability(o: FsCapabilityOptions): Promise<FsCapability> {
  const { fs, pluginId } = o;
  const paths = await createPathCheck(fs, o.pluginDir, o.grants);

  /** Audit and throw a denial; with `hidden`, the plugin is told that instead of where its path led. */
  function deny(api: string, access: FsAccess, value: string, resolved: string, reason?: string, fix?: string, hidden?: string): never {
    const special = specialRoot(resolved);
    const why = reason ?? (special ? `paths under ${special} are covered only by a grant that names a path under ${special}` : `no rule in permissions.${access} covers it`);
    o.audit.record({ type: "deny", op: api, permission: access, value, resolved, decision: "denied", reason: why });
    throw permissionDenied({ pluginId, api, permission: access, value, resolved, reason: why, hidden, field: `permissions.${access}`, ...(fix !== undefined ? { fix } : {}) });
  }

  async function check(path: unknown, access: FsAccess, api: string, follow = true): Promise<CheckedPath> {
    refuseOverLong(path, { pluginId, api, permission: access, field: `permissions.${access}`, what: "the path", kind: "pathChars", audit: o.audit });
    const value = stringArg(api, "the path", path, pluginId);
    const d = await paths.decide(value, access, follow);
    if (!d.ok) return deny(api, access, value, d.resolved, d.reason, d.fix, d.hidden);
    return d.checked;
  }

  async function isSymlink(path: string): Promise<boolean> {
    return (await fs.lstat(path).catch(() => null))?.isSymlink ?? false;
  }

  function used(api: string, access: FsAccess, value: string, checked: CheckedPath): void {
    o.audit.record({ type: "use", op: api, permission: access, value, resolved: checked.real, decision: "granted", rule: checked.rule, source: checked.source });
  }

  /** Confirm an opened descriptor is the checked path; deny (as a swap) otherwise. */
  async function verify(opened: Opened, real: string, deny: () => never): Promise<void> {
    const path = await opened.openedPath();
    if (path !== null) {
      if (path !== real) deny();
      return;
    }
    // No /proc/self/fd on this platform: compare device and inode of the descriptor and the path.
    const [a, b] = await Promise.all([opened.stat(), fs.identity(real).catch(() => null)]);
    if (b === null || a.dev !== b.dev || a.ino !== b.ino) deny();
  }

  /**
   * The catch handler for opening what was checked: a symlink swapped in after the check is a
   * denial (O_NOFOLLOW fails with ELOOP; with O_DIRECTORY, Linux says ENOTDIR), anything else an
   * errno error. `opened` is the path that was opened, `what` names it in the reason.
   */
  function openFailed(api: string, access: FsAccess, value: string, real: string, opened: string, what = "it"): (e: unknown) => Promise<never> {
    return async (e) => {
      if (e instanceof HardLinkedFileError) return deny(api, access, value, real, hardLinkReason(e.nlink), HARD_LINK_FIX);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || (code === "ENOTDIR" && (await isSymlink(opened)))) {
        return deny(api, access, value, real, `${what} was replaced by a symlink while being checked`);
      }
      throw fromErrno(e, `${api}: ${quote(value)}`);
    };
  }

  /** Open the parent directory of what was checked and verify it is the checked one; the caller closes it. */
  async function holdParent(api: string, access: FsAccess, value: string, checked: CheckedPath): Promise<OpenedDir> {
    const real = checked.real;
    const parent = dirname(real);
    const dir = await fs.openParent(checked).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new OperationError("NotFound", `${api}: ${quote(value)}: its parent directory does not exist`);
      return openFailed(api, access, value, real, parent, "its parent directory")(e);
    });
    try {
      await verify(dir, parent, () => deny(api, access, value, real, "its parent directory changed while being checked"));
    } catch (e) {
      await dir.close();
      throw e;
    }
    return dir;
  }

  async function withParent<T>(api: string, access: FsAccess, value: string, checked: CheckedPath, fn: (dir: OpenedDir, name: string) => Promise<T>): Promise<T> {
    const dir = await holdParent(api, access, value, checked);
    try {
      return await fn(dir, basename(checked.real));
    } finally {
      await dir.close();
    }
  }

  /** Check one entry below what a recursive remove was asked for; deny if it may not go. */
  function removable(api: string, value: string, lexical: string, real: string): CheckedPath {
    const d = paths.below(lexical, real, true);
    if (d.ok) return d.checked;
    if (d.protection === null) return deny(api, "write", value, real, "a recursive remove needs write access to every path it removes");
    return deny(api, "write", value, real, `a recursive remove would delete a protected path: ${d.protection}`, NO_GRANT_COVERS);
  }

  /**
   * Check everything below `target` before a recursive remove deletes anything, so a directory that
   * holds a protected file (the plugin's own directory, a lib/ of modules) is refused whole rather
   * than half-emptied. The removal checks each entry again as it goes.
   */
  async function checkTree(api: string, value: string, target: CheckedPath): Promise<void> {
    if (!(await fs.lstat(target.real).catch(() => null))?.isDirectory) return;
    const dir = await fs.openDir(target).catch(() => null);
    if (dir === null) return; // the removal itself reports why it cannot open it
    let entries: DirEntry[];
    try {
      entries = await dir.list();
    } finally {
      await dir.close();
    }
    for (const entry of entries) {
      const child = removable(api, value, join(target.lexical, entry.name), join(target.real, entry.name));
      if (entry.isDirectory) await checkTree(api, value, child);
    }
  }

  /** Remove `target`, an entry of the held directory `dir` (and, if recursive, everything below it). */
  async function removeEntry(api: string, value: string, dir: OpenedDir, target: CheckedPath, recursive: boolean, signal: AbortSignal | undefined): Promise<void> {
    const info = await fs.lstat(dir.entry(basename(target.real))).catch((e: unknown) => {
      throw fromErrno(e, `${api}: ${quote(value)}`);
    });
    if (!info.isDirectory) {
      beforeEffect(signal, `${api}: removing ${quote(value)}`);
      await fs.unlink(target, dir).catch((e: unknown) => {
        throw fromErrno(e, `${api}: ${quote(value)}`);
      });
      return;
    }
    if (recursive) {
      const sub = await fs.openDir(target, dir).catch((e: unknown) => {
        throw fromErrno(e, `${api}: ${quote(value)}`);
      });
      try {
        for (const entry of await sub.list()) {
          const child = removable(api, value, join(target.lexical, entry.name), join(target.real, entry.name));
          await removeEntry(api, value, sub, child, true, signal);
        }
      } finally {
        await sub.close();
      }
    }
    beforeEffect(signal, `${api}: removing ${quote(value)}`);
    await fs.rmdir(target, dir).catch((e: unknown) => {
      throw fromErrno(e, `${api}: ${quote(value)}`);
    });
  }

  return {
    check: (path, access, api) => check(path, access, api),
    protect: (p) => paths.protect(p),
    decide: (path, access) => paths.decide(path, access),

    async readTextFile(path) {
      const api = "Warden.fs.readTextFile()";
      const checked = await check(path, "read", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${shown}: no such file or directory`);
      const file = await fs.openRead(checked).catch(openFailed(api, "read", value, checked.real, checked.real));
      try {
        await verify(file, checked.real, () => deny(api, "read", value, checked.real, "it changed while being checked"));
        const info = await file.stat();
        if (info.isDirectory) throw new OperationError("IsDirectory", `${api}: ${shown}: is a directory; use Warden.fs.readDir()`);
        if (info.isFile && info.size > o.readBytes) throw tooLarge(api, shown, o.readBytes);
        const bytes = await file.read(o.readBytes + 1);
        if (bytes.byteLength > o.readBytes) throw tooLarge(api, shown, o.readBytes);
        used(api, "read", value, checked);
        return new TextDecoder("utf-8").decode(bytes);
      } finally {
        await file.close();
      }
    },

    async writeTextFile(path, data, options, signal) {
      const api = "Warden.fs.writeTextFile()";
      const text = stringArg(api, "the data", data, pluginId, true);
      const opts = optionsArg(api, options, ["append", "create"], pluginId);
      const append = boolOption(api, opts, "append", false, pluginId);
      const create = boolOption(api, opts, "create", true, pluginId);
      const checked = await check(path, "write", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists && !create) throw new OperationError("NotFound", `${api}: ${shown}: no such file (and create is false)`);
      await withParent(api, "write", value, checked, async (dir) => {
        beforeEffect(signal, `${api}: opening ${shown} for writing`);
        const file = await fs.openWrite(checked, dir, { create, append }).catch(openFailed(api, "write", value, checked.real, checked.real));
        try {
          const info = await file.stat();
          if (info.isDirectory) throw new OperationError("IsDirectory", `${api}: ${shown}: is a directory`);
          if (!info.isFile) throw new OperationError("InvalidData", `${api}: ${shown}: is not a regular file`);
          // The port refuses these already; judged again here, on the descriptor about to be
          // written, so that no port can let a write through to another name of the file.
          if (hasOtherNames(info)) deny(api, "write", value, checked.real, hardLinkReason(info.nlink), HARD_LINK_FIX);
          beforeEffect(signal, `${api}: writing ${shown}`);
          if (!append) await file.truncate();
          beforeEffect(signal, `${api}: writing ${shown}`);
          await file.write(new TextEncoder().encode(text));
        } finally {
          await file.close();
        }
      });
      used(api, "write", value, checked);
      return null;
    },

    async readDir(path) {
      const api = "Warden.fs.readDir()";
      const checked = await check(path, "read", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${shown}: no such file or directory`);
      const dir = await fs.openDir(checked).catch(openFailed(api, "read", value, checked.real, checked.real));
      try {
        await verify(dir, checked.real, () => deny(api, "read", value, checked.real, "it changed while being checked"));
        const entries = await dir.list();
        if (entries.length > MAX_DIR_ENTRIES) throw new OperationError("TooLarge", `${api}: ${shown} has more than ${MAX_DIR_ENTRIES} entries`);
        used(api, "read", value, checked);
        return entries.map((e) => ({ name: e.name, isFile: e.isFile, isDirectory: e.isDirectory, isSymlink: e.isSymlink }));
      } finally {
        await dir.close();
      }
    },

    async stat(path) {
      const api = "Warden.fs.stat()";
      const checked = await check(path, "read", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${shown}: no such file or directory`);
      // The target was checked (symlinks followed); the link itself is what the plugin named.
      const link = await fs.lstat(checked.lexical).catch(() => null);
      const info = await withParent(api, "read", value, checked, (dir, name) =>
        fs.lstat(dirname(checked.real) === checked.real ? checked.real : dir.entry(name)).catch((e: unknown) => {
          throw fromErrno(e, `${api}: ${shown}`);
        }),
      );
      used(api, "read", value, checked);
      return { isFile: info.isFile, isDirectory: info.isDirectory, isSymlink: link?.isSymlink ?? false, size: info.size, mtimeMs: info.mtimeMs };
    },

    async mkdir(path, options, signal) {
      const api = "Warden.fs.mkdir()";
      const opts = optionsArg(api, options, ["recursive"], pluginId);
      const recursive = boolOption(api, opts, "recursive", false, pluginId);
      const checked = await check(path, "write", api, false);
      const value = String(path);
      const shown = quote(value);
      if (checked.exists) {
        if (recursive && (await fs.lstat(checked.real).catch(() => null))?.isDirectory) return null;
        throw new OperationError("AlreadyExists", `${api}: ${shown}: already exists`);
      }
      // Every directory created must itself be covered by a write grant, outermost first.
      const chain: string[] = [];
      for (let cur = checked.real; ; cur = dirname(cur)) {
        if (
          await fs.lstat(cur).then(
            () => true,
            () => false,
          )
        )
          break;
        chain.unshift(cur);
        if (!recursive && chain.length > 1) throw new OperationError("NotFound", `${api}: ${shown}: its parent directory does not exist; pass { recursive: true }`);
        if (dirname(cur) === cur) break;
      }
      for (const dirPath of chain) {
        const d = paths.below(dirPath, dirPath, false);
        if (!d.ok) {
          if (d.protection === null) deny(api, "write", value, dirPath, "a recursive mkdir needs write access to every directory it creates");
          deny(api, "write", value, dirPath, d.protection, NO_GRANT_COVERS);
        }
        await withParent(api, "write", value, d.checked, (dir) => {
          beforeEffect(signal, `${api}: creating ${quote(dirPath)}`);
          return fs.mkdir(d.checked, dir).catch((e: unknown) => {
            if ((e as NodeJS.ErrnoException).code === "EEXIST" && recursive) return;
            throw fromErrno(e, `${api}: ${shown}`);
          });
        });
      }
      used(api, "write", value, checked);
      return null;
    },

    async remove(path, options, signal) {
      const api = "Warden.fs.remove()";
      const opts = optionsArg(api, options, ["recursive"], pluginId);
      const recursive = boolOption(api, opts, "recursive", false, pluginId);
      // The entry itself is removed: a symlink is unlinked, never followed.
      const checked = await check(path, "write", api, false);
      const value = String(path);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${quote(value)}: no such file or directory`);
      if (dirname(checked.real) === checked.real) throw new OperationError("AccessDenied", `${api}: refusing to remove /`);
      if (recursive) await checkTree(api, value, checked);
      await withParent(api, "write", value, checked, (dir) => removeEntry(api, value, dir, checked, recursive, signal));
      used(api, "write", value, checked);
      return null;
    },
  };
}

function tooLarge(api: string, shown: string, limit: number): OperationError {
  return new OperationError("TooLarge", `${api}: ${shown} is larger than the read limit of ${limit} bytes; read a smaller file or raise limits.readBytes`);
}
