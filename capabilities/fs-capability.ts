// Filesystem capability. Every operation is: validate the argument, check the lexical path, check
// the real path, then act on exactly what was checked (a handle whose identity is verified after
// the open), so a symlink swapped in between the check and the use cannot escape the grant.
import { basename, dirname, join, resolve } from "node:path";
import { BadInputError } from "../core/errors.ts";
import { quote } from "../core/escape-text.ts";
import { CheckedPath } from "./checked.ts";
import { permissionDenied } from "./denial.ts";
import type { Grants } from "./grants.ts";
import { fromErrno, OperationError } from "./operation-error.ts";
import { compilePathRules, matchPath, normalizePath, specialRoot, type PathRules } from "./path-rules.ts";
import type { AuditSink, FsPort } from "./ports.ts";

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

type Compiled = { lexical: PathRules; real: PathRules };

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
    rules.rules.map(async (r) => ({ source: r.source, path: (await realPathOrNearest(fs, r.path).catch(() => ({ real: r.path }))).real })),
  );
  return { all: rules.all, rules: real };
}

/** The filesystem capability of one plugin. */
export type FsCapability = {
  /** Check `path` for `access`; throws PermissionDenied (audited) or returns the checked path. */
  check(path: unknown, access: FsAccess, api: string): Promise<CheckedPath>;
  /** Answer a permission query for a path without touching what it names. */
  query(path: unknown, access: FsAccess): Promise<"granted" | "denied">;
  /** Warden.fs.readTextFile */
  readTextFile(path: unknown): Promise<string>;
};

/** Build the fs capability for one plugin; resolves the real paths of its grants once. */
export async function createFsCapability(o: FsCapabilityOptions): Promise<FsCapability> {
  const compiled: Record<FsAccess, Compiled> = {
    read: { lexical: compilePathRules(o.grants.read, o.pluginDir), real: { all: false, rules: [] } },
    write: { lexical: compilePathRules(o.grants.write, o.pluginDir), real: { all: false, rules: [] } },
  };
  compiled.read.real = await compileReal(o.fs, compiled.read.lexical);
  compiled.write.real = await compileReal(o.fs, compiled.write.lexical);

  function validate(path: unknown, api: string): string {
    if (typeof path !== "string") throw new BadInputError(`${api}: expected a path string, got ${path === null ? "null" : typeof path}`, { pluginId: o.pluginId });
    if (path.length === 0) throw new BadInputError(`${api}: the path is empty`, { pluginId: o.pluginId });
    if (path.includes("\0")) throw new BadInputError(`${api}: the path ${quote(path)} contains a NUL character`, { pluginId: o.pluginId });
    return path;
  }

  function deny(api: string, access: FsAccess, value: string, resolved: string, reason?: string): never {
    o.audit.record({ type: "deny", op: api, permission: access, value, resolved, decision: "denied", ...(reason ? { reason } : {}) });
    const special = specialRoot(resolved);
    throw permissionDenied({
      pluginId: o.pluginId,
      api,
      permission: access,
      value,
      resolved,
      reason: reason ?? (special ? `paths under ${special} are covered only by a grant that names a path under ${special}` : undefined),
      field: `permissions.${access}`,
    });
  }

  /** Lexical then real-path check; the real path is computed once and carried in the result. */
  async function decide(value: string, access: FsAccess): Promise<{ ok: true; checked: CheckedPath } | { ok: false; resolved: string; reason?: string }> {
    const lexical = normalizePath(value, o.pluginDir);
    const rules = compiled[access];
    if (matchPath(rules.lexical, lexical) === null) return { ok: false, resolved: lexical };
    let resolved: { real: string; exists: boolean };
    try {
      resolved = await realPathOrNearest(o.fs, lexical);
    } catch (e) {
      return { ok: false, resolved: lexical, reason: `its real path cannot be resolved (${(e as NodeJS.ErrnoException).code ?? "error"})` };
    }
    const realRule = matchPath(rules.real, resolved.real);
    if (realRule === null) return { ok: false, resolved: resolved.real };
    return { ok: true, checked: new CheckedPath(lexical, resolved.real, resolved.exists, realRule.source) };
  }

  async function check(path: unknown, access: FsAccess, api: string): Promise<CheckedPath> {
    const value = validate(path, api);
    const d = await decide(value, access);
    if (!d.ok) return deny(api, access, value, d.resolved, d.reason);
    return d.checked;
  }

  return {
    check,
    async query(path, access) {
      const value = validate(path, "Warden.permissions.query()");
      return (await decide(value, access)).ok ? "granted" : "denied";
    },
    async readTextFile(path) {
      const api = "Warden.fs.readTextFile()";
      const checked = await check(path, "read", api);
      const shown = quote(String(path));
      if (!checked.exists) throw new OperationError("NotFound", `${api}: ${shown}: no such file or directory`);
      const file = await o.fs.openRead(checked.real).catch((e: unknown) => {
        // ELOOP: the final component became a symlink after the check.
        if ((e as NodeJS.ErrnoException).code === "ELOOP") return deny(api, "read", String(path), checked.real, "it was replaced by a symlink while being checked");
        throw fromErrno(e, `${api}: ${shown}`);
      });
      try {
        await verifyIdentity(o.fs, file, checked, () => deny(api, "read", String(path), checked.real, "it changed while being checked"));
        const info = await file.stat();
        if (info.isDirectory) throw new OperationError("IsDirectory", `${api}: ${shown}: is a directory; use Warden.fs.readDir()`);
        if (info.isFile && info.size > o.readBytes) throw tooLarge(api, shown, o.readBytes);
        const bytes = await file.read(o.readBytes + 1);
        if (bytes.byteLength > o.readBytes) throw tooLarge(api, shown, o.readBytes);
        o.audit.record({ type: "use", op: api, permission: "read", value: String(path), resolved: checked.real, decision: "granted", rule: checked.rule });
        return new TextDecoder("utf-8").decode(bytes);
      } finally {
        await file.close();
      }
    },
  };
}

function tooLarge(api: string, shown: string, limit: number): OperationError {
  return new OperationError("TooLarge", `${api}: ${shown} is larger than the read limit of ${limit} bytes; read a smaller file or raise limits.readBytes`);
}

/** Confirm the opened descriptor is the file that was checked; call `onMismatch` otherwise. */
async function verifyIdentity(fs: FsPort, file: import("./ports.ts").OpenedFile, checked: CheckedPath, onMismatch: () => never): Promise<void> {
  const opened = await file.openedPath();
  if (opened !== null) {
    if (opened !== checked.real) onMismatch();
    return;
  }
  // No /proc/self/fd on this platform: compare device and inode of the descriptor and the path.
  const [a, b] = await Promise.all([file.stat(), fs.identity(checked.real).catch(() => null)]);
  if (b === null || a.dev !== b.dev || a.ino !== b.ino) onMismatch();
}
