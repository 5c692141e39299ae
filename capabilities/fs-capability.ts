// Filesystem capability. Every operation is: validate the arguments, check the lexical path, check
// the real path, then act on exactly what was checked: a file or directory opened and verified to
// be the checked one (/proc/self/fd), or an entry named through its verified, held-open parent
// directory. A symlink or directory swapped in between the check and the use cannot escape.
import { basename, dirname, join, resolve } from "node:path";
import { quote } from "../errors/index.ts";
import { boolOption, optionsArg, stringArg } from "./arguments.ts";
import { CheckedPath } from "./checked.ts";
import { cachedDecision } from "./decision-cache.ts";
import { permissionDenied } from "./denial.ts";
import type { Grants } from "./grants.ts";
import { fromErrno, OperationError } from "./operation-error.ts";
import { compilePathRules, isWithin, matchPath, normalizePath, specialRoot, type PathRule, type PathRules } from "./path-rules.ts";
import type { AuditSink, DirEntry, FsPort, Opened, OpenedDir } from "./ports.ts";
import { protectionOf, type Protection } from "./protected-paths.ts";

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
export type PathDecision = { readonly ok: true; readonly checked: CheckedPath } | { readonly ok: false; readonly resolved: string; readonly reason?: string; readonly fix?: string };

// `leftOut`: grants written inside the plugin whose real path was outside its real directory when
// the capability was built; they cover nothing, and a denial says why (by field).
type Compiled = { lexical: PathRules; real: PathRules; leftOut: Map<string, string> };

// What a denial of a protected path says instead of "add it to permissions.write".
const NO_GRANT_COVERS = "no write grant can allow it";

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

/**
 * The real-path rules of `lexical`, resolved once, now: a grant is judged by where it led when the
 * plugin loaded, so a link swapped in later does not move it. A grant written inside the plugin
 * (`data/`) must lead to a path inside the plugin's real directory and is confined to it; one that
 * leads out (the manifest check refuses it, but links can change between that check and this
 * moment) is left out and grants nothing.
 */
async function compileReal(fs: FsPort, lexical: PathRules, pluginDir: string, pluginReal: string): Promise<Compiled> {
  const rules: PathRule[] = [];
  const leftOut = new Map<string, string>();
  for (const r of lexical.rules) {
    const real = (await realPathOrNearest(fs, r.path).catch(() => ({ real: r.path }))).real;
    if (!isWithin(r.path, pluginDir)) rules.push({ ...r, path: real });
    else if (isWithin(real, pluginReal)) rules.push({ ...r, path: real, confine: pluginReal });
    else leftOut.set(r.field, real);
  }
  return { lexical, real: { all: lexical.all, field: lexical.field, rules }, leftOut };
}

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
  writeTextFile(path: unknown, data: unknown, options: unknown): Promise<null>;
  readDir(path: unknown): Promise<DirEntry[]>;
  stat(path: unknown): Promise<{ isFile: boolean; isDirectory: boolean; isSymlink: boolean; size: number; mtimeMs: number }>;
  mkdir(path: unknown, options: unknown): Promise<null>;
  remove(path: unknown, options: unknown): Promise<null>;
};

/** Build the fs capability for one plugin; resolves the real paths of its grants once. */
export async function createFsCapability(o: FsCapabilityOptions): Promise<FsCapability> {
  const { fs, pluginId } = o;
  const pluginDir = resolve(o.pluginDir);
  const pluginReal = await fs.realpath(pluginDir).catch(() => pluginDir);
  const compiled: Record<FsAccess, Compiled> = {
    read: await compileReal(fs, compilePathRules(o.grants.read, pluginDir, "permissions.read"), pluginDir, pluginReal),
    write: await compileReal(fs, compilePathRules(o.grants.write, pluginDir, "permissions.write"), pluginDir, pluginReal),
  };
  const protections: Protection[] = [];
  /** Why the plugin may not write `lexical` (or its real path `real`), or null. */
  const guarded = (lexical: string, real: string): string | null => protectionOf(protections, lexical) ?? protectionOf(protections, real);
  // The matching itself is pure; only resolving real paths touches the filesystem (never cached).
  const match = {
    read: { lexical: cachedDecision((p) => matchPath(compiled.read.lexical, p)), real: cachedDecision((p) => matchPath(compiled.read.real, p)) },
    write: { lexical: cachedDecision((p) => matchPath(compiled.write.lexical, p)), real: cachedDecision((p) => matchPath(compiled.write.real, p)) },
  };

  function deny(api: string, access: FsAccess, value: string, resolved: string, reason?: string, fix?: string): never {
    const special = specialRoot(resolved);
    const why = reason ?? (special ? `paths under ${special} are covered only by a grant that names a path under ${special}` : `no rule in permissions.${access} covers it`);
    o.audit.record({ type: "deny", op: api, permission: access, value, resolved, decision: "denied", reason: why });
    throw permissionDenied({ pluginId, api, permission: access, value, resolved, reason: why, field: `permissions.${access}`, ...(fix !== undefined ? { fix } : {}) });
  }

  /**
   * Lexical then real-path check. With `follow`, a final symlink is resolved (the operation acts on
   * its target); without it, the entry itself is what is checked and acted on (remove, mkdir).
   */
  async function decide(value: string, access: FsAccess, follow = true): Promise<PathDecision> {
    const lexical = normalizePath(value, pluginDir);
    const lexicalRule = match[access].lexical(lexical);
    if (lexicalRule === null) return { ok: false, resolved: lexical };
    let resolved: { real: string; exists: boolean };
    try {
      if (follow || dirname(lexical) === lexical) resolved = await realPathOrNearest(fs, lexical);
      else {
        const parent = await realPathOrNearest(fs, dirname(lexical));
        const real = join(parent.real, basename(lexical));
        resolved = {
          real,
          exists:
            parent.exists &&
            (await fs.lstat(real).then(
              () => true,
              () => false,
            )),
        };
      }
    } catch (e) {
      return { ok: false, resolved: lexical, reason: `its real path cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"})` };
    }
    const realRule = match[access].real(resolved.real);
    if (realRule === null) {
      const led = compiled[access].leftOut.get(lexicalRule.field);
      if (led === undefined) return { ok: false, resolved: resolved.real };
      return {
        ok: false,
        resolved: resolved.real,
        reason: `${lexicalRule.field} ${quote(lexicalRule.source)} led outside the plugin's directory (to ${quote(led)}) when the plugin loaded, so it grants nothing; a grant written inside the plugin must stay inside it`,
      };
    }
    const reason = access === "write" ? guarded(lexical, resolved.real) : null;
    if (reason !== null) return { ok: false, resolved: resolved.real, reason, fix: NO_GRANT_COVERS };
    return { ok: true, checked: new CheckedPath(lexical, resolved.real, resolved.exists, realRule.source, realRule.field) };
  }

  async function check(path: unknown, access: FsAccess, api: string, follow = true): Promise<CheckedPath> {
    const value = stringArg(api, "the path", path, pluginId);
    const d = await decide(value, access, follow);
    if (!d.ok) return deny(api, access, value, d.resolved, d.reason, d.fix);
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

  /** Deny removing one entry below what a recursive remove was asked for, if it may not go. */
  function refuseRemoval(api: string, value: string, lexical: string, real: string): void {
    // Grants only add, so everything below a granted path is granted; this re-check keeps that an
    // explicit invariant (and holds /proc-style carve-outs and confinement) rather than an assumption.
    if (matchPath(compiled.write.real, real) === null) deny(api, "write", value, real, "a recursive remove needs write access to every path it removes");
    const reason = guarded(lexical, real);
    if (reason !== null) deny(api, "write", value, real, `a recursive remove would delete a protected path: ${reason}`, NO_GRANT_COVERS);
  }

  /**
   * Check everything below `real` before a recursive remove deletes anything, so a directory that
   * holds a protected file (the plugin's own directory, a lib/ of modules) is refused whole rather
   * than half-emptied. The removal checks each entry again as it goes.
   */
  async function checkTree(api: string, value: string, lexical: string, real: string): Promise<void> {
    if (!(await fs.lstat(real).catch(() => null))?.isDirectory) return;
    const dir = await fs.openDir(real).catch(() => null);
    if (dir === null) return; // the removal itself reports why it cannot open it
    let entries: DirEntry[];
    try {
      entries = await dir.list();
    } finally {
      await dir.close();
    }
    for (const entry of entries) {
      refuseRemoval(api, value, join(lexical, entry.name), join(real, entry.name));
      if (entry.isDirectory) await checkTree(api, value, join(lexical, entry.name), join(real, entry.name));
    }
  }

  async function removeEntry(api: string, value: string, dir: OpenedDir, name: string, lexical: string, real: string, recursive: boolean): Promise<void> {
    const path = dir.entry(name);
    const info = await fs.lstat(path).catch((e: unknown) => {
      throw fromErrno(e, `${api}: ${quote(value)}`);
    });
    if (!info.isDirectory) {
      await fs.unlink(path).catch((e: unknown) => {
        throw fromErrno(e, `${api}: ${quote(value)}`);
      });
      return;
    }
    if (recursive) {
      const sub = await fs.openDir(path).catch((e: unknown) => {
        throw fromErrno(e, `${api}: ${quote(value)}`);
      });
      try {
        for (const entry of await sub.list()) {
          const childLexical = join(lexical, entry.name);
          const childReal = join(real, entry.name);
          refuseRemoval(api, value, childLexical, childReal);
          await removeEntry(api, value, sub, entry.name, childLexical, childReal, true);
        }
      } finally {
        await sub.close();
      }
    }
    await fs.rmdir(path).catch((e: unknown) => {
      throw fromErrno(e, `${api}: ${quote(value)}`);
    });
  }

  return {
    check: (path, access, api) => check(path, access, api),
    protect: (p) => void protections.push(p),
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
        fs.lstat(dirname(checked.real) === checked.real ? checked.real : dir.entry(name)).catch((e: unknown) => {
          throw fromErrno(e, `${api}: ${shown}`);
        }),
      );
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
        if (matchPath(compiled.write.real, dirPath) === null) deny(api, "write", value, dirPath, "a recursive mkdir needs write access to every directory it creates");
        const reason = protectionOf(protections, dirPath);
        if (reason !== null) deny(api, "write", value, dirPath, reason, NO_GRANT_COVERS);
        await withParent(api, "write", value, dirPath, (dir, name) =>
          fs.mkdir(dir.entry(name)).catch((e: unknown) => {
            if ((e as NodeJS.ErrnoException).code === "EEXIST" && recursive) return;
            throw fromErrno(e, `${api}: ${shown}`);
          }),
        );
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
      if (recursive) await checkTree(api, value, checked.lexical, checked.real);
      await withParent(api, "write", value, checked.real, (dir, name) => removeEntry(api, value, dir, name, checked.lexical, checked.real, recursive));
      used(api, "write", value, checked);
      return null;
    },
  };
}

function tooLarge(api: string, shown: string, limit: number): OperationError {
  return new OperationError("TooLarge", `${api}: ${shown} is larger than the read limit of ${limit} bytes; read a smaller file or raise limits.readBytes`);
}
