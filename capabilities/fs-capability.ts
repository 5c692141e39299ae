// Filesystem capability. Every operation is: validate the arguments, check the lexical path, check
// the real path, then act on exactly what was checked: a file or directory opened and verified to
// be the checked one (/proc/self/fd), or an entry named through its verified, held-open parent
// directory. A symlink or directory swapped in between the check and the use cannot escape.
import { basename, dirname, join, resolve } from "node:path";
import { quote } from "../core/escape-text.ts";
import { boolOption, optionsArg, stringArg } from "./arguments.ts";
import { CheckedPath } from "./checked.ts";
import { cachedDecision } from "./decision-cache.ts";
import { permissionDenied } from "./denial.ts";
import type { Grants } from "./grants.ts";
import { fromErrno, OperationError } from "./operation-error.ts";
import { compilePathRules, matchPath, normalizePath, specialRoot, type PathRules } from "./path-rules.ts";
import type { AuditSink, DirEntry, FsPort, Opened, OpenedDir } from "./ports.ts";

/** The access kinds of the filesystem. */
export type FsAccess = "read" | "write";

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

/** The answer to "may this path be accessed", with the rule that decided it. */
export type PathDecision =
  | { readonly ok: true; readonly checked: CheckedPath }
  | { readonly ok: false; readonly resolved: string; readonly reason?: string };

type Compiled = { lexical: PathRules; real: PathRules };

// readDir refuses directories with more entries than this instead of building a huge answer.
const MAX_DIR_ENTRIES = 65_536;

/**
 * The real path of `path`, or of its nearest existing parent joined with the missing rest. A
 * dangling symlink on the way is followed to where it points, so a link to a missing file outside
 * the grant is judged by its target (no existence oracle outside the grant).
 */
export async function realPathOrNearest(fs: FsPort, path: string, depth = 0): Promise<{ real: string; exists: boolean }> {
  const missing: string[] = [];
  let cur = path;
  for (;;) {
    try {
      const real = await fs.realpath(cur);
      return { real: missing.length === 0 ? real : join(real, ...missing.reverse()), exists: missing.length === 0 };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(cur) === cur) throw e;
      const target = await fs.readlinkIfSymlink(cur);
      if (target !== null) {
        if (depth >= 40) throw Object.assign(new Error("too many symbolic links"), { code: "ELOOP" });
        const followed = await realPathOrNearest(fs, resolve(dirname(cur), target), depth + 1);
        return { real: missing.length === 0 ? followed.real : join(followed.real, ...missing.reverse()), exists: false };
      }
      missing.push(basename(cur));
      cur = dirname(cur);
    }
  }
}

async function compileReal(fs: FsPort, rules: PathRules): Promise<PathRules> {
  const real = await Promise.all(
    rules.rules.map(async (r) => ({ ...r, path: (await realPathOrNearest(fs, r.path).catch(() => ({ real: r.path }))).real })),
  );
  return { all: rules.all, field: rules.field, rules: real };
}

/** The filesystem capability of one plugin. */
export type FsCapability = {
  /** Check `path` for `access`; throws PermissionDenied (audited) or returns the checked path. */
  check(path: unknown, access: FsAccess, api: string): Promise<CheckedPath>;
  /** Refuse writes to `path` (a program the plugin may exec: replacing it would run new code, D20). */
  protect(path: string, because: string): void;
  /** Decide without auditing or throwing (for permission queries). */
  decide(path: string, access: FsAccess): Promise<PathDecision>;
  readTextFile(path: unknown): Promise<string>;
  writeTextFile(path: unknown, data: unknown, options: unknown): Promise<null>;
  readDir(path: unknown): Promise<DirEntry[]>;
  stat(path: unknown): Promise<{ isFile: boolean; isDirectory: boolean; isSymlink: boolean; size: number; mtimeMs: number }>;
  mkdir(path: unknown, options: unknown): Promise<null>;
  remove(path: unknown, options: unknown): Promise<null>;
};

/** Build the fs capability for one plugin; resolves the real paths of its grants once. */
export async function createFsCapability(o: FsCapabilityOptions): Promise<FsCapability> {
  const { fs, pluginId } = o;
  const compiled: Record<FsAccess, Compiled> = {
    read: { lexical: compilePathRules(o.grants.read, o.pluginDir, "permissions.read"), real: { all: false, field: "permissions.read", rules: [] } },
    write: { lexical: compilePathRules(o.grants.write, o.pluginDir, "permissions.write"), real: { all: false, field: "permissions.write", rules: [] } },
  };
  compiled.read.real = await compileReal(fs, compiled.read.lexical);
  compiled.write.real = await compileReal(fs, compiled.write.lexical);
  const protectedPaths = new Map<string, string>();
  // The matching itself is pure; only resolving real paths touches the filesystem (never cached).
  const match = {
    read: { lexical: cachedDecision((p) => matchPath(compiled.read.lexical, p)), real: cachedDecision((p) => matchPath(compiled.read.real, p)) },
    write: { lexical: cachedDecision((p) => matchPath(compiled.write.lexical, p)), real: cachedDecision((p) => matchPath(compiled.write.real, p)) },
  };

  function deny(api: string, access: FsAccess, value: string, resolved: string, reason?: string): never {
    const special = specialRoot(resolved);
    const why = reason ?? (special ? `paths under ${special} are covered only by a grant that names a path under ${special}` : `no rule in permissions.${access} covers it`);
    o.audit.record({ type: "deny", op: api, permission: access, value, resolved, decision: "denied", reason: why });
    throw permissionDenied({ pluginId, api, permission: access, value, resolved, reason: why, field: `permissions.${access}` });
  }

  /**
   * Lexical then real-path check. With `follow`, a final symlink is resolved (the operation acts on
   * its target); without it, the entry itself is what is checked and acted on (remove, mkdir).
   */
  async function decide(value: string, access: FsAccess, follow = true): Promise<PathDecision> {
    const lexical = normalizePath(value, o.pluginDir);
    if (match[access].lexical(lexical) === null) return { ok: false, resolved: lexical };
    let resolved: { real: string; exists: boolean };
    try {
      if (follow || dirname(lexical) === lexical) resolved = await realPathOrNearest(fs, lexical);
      else {
        const parent = await realPathOrNearest(fs, dirname(lexical));
        const real = join(parent.real, basename(lexical));
        resolved = { real, exists: parent.exists && (await fs.lstat(real).then(() => true, () => false)) };
      }
    } catch (e) {
      return { ok: false, resolved: lexical, reason: `its real path cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"})` };
    }
    const realRule = match[access].real(resolved.real);
    if (realRule === null) return { ok: false, resolved: resolved.real };
    const guarded = access === "write" ? protectedPaths.get(resolved.real) ?? protectedPaths.get(lexical) : undefined;
    if (guarded !== undefined) return { ok: false, resolved: resolved.real, reason: guarded };
    return { ok: true, checked: new CheckedPath(lexical, resolved.real, resolved.exists, realRule.source, realRule.field) };
  }

  async function check(path: unknown, access: FsAccess, api: string, follow = true): Promise<CheckedPath> {
    const value = stringArg(api, "the path", path, pluginId);
    const d = await decide(value, access, follow);
    if (!d.ok) return deny(api, access, value, d.resolved, d.reason);
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
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || (code === "ENOTDIR" && (await isSymlink(opened)))) {
        return deny(api, access, value, real, `${what} was replaced by a symlink while being checked`);
      }
      throw fromErrno(e, `${api}: ${quote(value)}`);
    };
  }

  /** Open `real`'s parent directory and verify it is the checked one; the caller closes it. */
  async function holdParent(api: string, access: FsAccess, value: string, real: string): Promise<OpenedDir> {
    const parent = dirname(real);
    const dir = await fs.openDir(parent).catch((e: unknown) => {
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

  async function withParent<T>(api: string, access: FsAccess, value: string, real: string, fn: (dir: OpenedDir, name: string) => Promise<T>): Promise<T> {
    const dir = await holdParent(api, access, value, real);
    try {
      return await fn(dir, basename(real));
    } finally {
      await dir.close();
    }
  }

  async function removeEntry(api: string, value: string, dir: OpenedDir, name: string, real: string, recursive: boolean): Promise<void> {
    const path = dir.entry(name);
    const info = await fs.lstat(path).catch((e: unknown) => { throw fromErrno(e, `${api}: ${quote(value)}`); });
    if (!info.isDirectory) {
      await fs.unlink(path).catch((e: unknown) => { throw fromErrno(e, `${api}: ${quote(value)}`); });
      return;
    }
    if (recursive) {
      const sub = await fs.openDir(path).catch((e: unknown) => { throw fromErrno(e, `${api}: ${quote(value)}`); });
      try {
        for (const entry of await sub.list()) {
          const childReal = join(real, entry.name);
          // Grants only add, so everything below a granted path is granted; this re-check keeps
          // that an explicit invariant (and holds /proc-style carve-outs) rather than an assumption.
          if (matchPath(compiled.write.real, childReal) === null) deny(api, "write", value, childReal, "a recursive remove needs write access to every path it removes");
          await removeEntry(api, value, sub, entry.name, childReal, true);
        }
      } finally {
        await sub.close();
      }
    }
    await fs.rmdir(path).catch((e: unknown) => { throw fromErrno(e, `${api}: ${quote(value)}`); });
  }

  return {
    check: (path, access, api) => check(path, access, api),
    protect: (path, because) => void protectedPaths.set(path, because),
    decide: (path, access) => decide(path, access),

    async readTextFile(path) {
      const api = "Warden.fs.readTextFile()";
      const checked = await check(path, "read", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${shown}: no such file or directory`);
      const file = await fs.openRead(checked.real).catch(openFailed(api, "read", value, checked.real, checked.real));
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

    async writeTextFile(path, data, options) {
      const api = "Warden.fs.writeTextFile()";
      const text = stringArg(api, "the data", data, pluginId, true);
      const opts = optionsArg(api, options, ["append", "create"], pluginId);
      const append = boolOption(api, opts, "append", false, pluginId);
      const create = boolOption(api, opts, "create", true, pluginId);
      const checked = await check(path, "write", api);
      const value = String(path);
      const shown = quote(value);
      if (!checked.exists && !create) throw new OperationError("NotFound", `${api}: ${shown}: no such file (and create is false)`);
      await withParent(api, "write", value, checked.real, async (dir, name) => {
        const file = await fs.openWrite(dir.entry(name), { create, append }).catch(openFailed(api, "write", value, checked.real, checked.real));
        try {
          const info = await file.stat();
          if (info.isDirectory) throw new OperationError("IsDirectory", `${api}: ${shown}: is a directory`);
          if (!info.isFile) throw new OperationError("InvalidData", `${api}: ${shown}: is not a regular file`);
          if (!append) await file.truncate();
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
      const dir = await fs.openDir(checked.real).catch(openFailed(api, "read", value, checked.real, checked.real));
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
      const info = await withParent(api, "read", value, checked.real, (dir, name) =>
        fs.lstat(dirname(checked.real) === checked.real ? checked.real : dir.entry(name)).catch((e: unknown) => { throw fromErrno(e, `${api}: ${shown}`); }));
      used(api, "read", value, checked);
      return { isFile: info.isFile, isDirectory: info.isDirectory, isSymlink: link?.isSymlink ?? false, size: info.size, mtimeMs: info.mtimeMs };
    },

    async mkdir(path, options) {
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
        if (await fs.lstat(cur).then(() => true, () => false)) break;
        chain.unshift(cur);
        if (!recursive && chain.length > 1) throw new OperationError("NotFound", `${api}: ${shown}: its parent directory does not exist; pass { recursive: true }`);
        if (dirname(cur) === cur) break;
      }
      for (const dirPath of chain) {
        if (matchPath(compiled.write.real, dirPath) === null) deny(api, "write", value, dirPath, "a recursive mkdir needs write access to every directory it creates");
        await withParent(api, "write", value, dirPath, (dir, name) =>
          fs.mkdir(dir.entry(name)).catch((e: unknown) => {
            if ((e as NodeJS.ErrnoException).code === "EEXIST" && recursive) return;
            throw fromErrno(e, `${api}: ${shown}`);
          }));
      }
      used(api, "write", value, checked);
      return null;
    },

    async remove(path, options) {
      const api = "Warden.fs.remove()";
      const opts = optionsArg(api, options, ["recursive"], pluginId);
      const recursive = boolOption(api, opts, "recursive", false, pluginId);
      // The entry itself is removed: a symlink is unlinked, never followed.
      const checked = await check(path, "write", api, false);
      const value = String(path);
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${quote(value)}: no such file or directory`);
      if (dirname(checked.real) === checked.real) throw new OperationError("AccessDenied", `${api}: refusing to remove /`);
      await withParent(api, "write", value, checked.real, (dir, name) => removeEntry(api, value, dir, name, checked.real, recursive));
      used(api, "write", value, checked);
      return null;
    },
  };
}

function tooLarge(api: string, shown: string, limit: number): OperationError {
  return new OperationError("TooLarge", `${api}: ${shown} is larger than the read limit of ${limit} bytes; read a smaller file or raise limits.readBytes`);
}
