// warden-approvals.json: what an operator approved, denied or revoked, per plugin id, next to the
// lock file. Read strictly (a file warden cannot read is an error, never an empty file: a host
// that took a corrupt approvals file for "nothing approved" would be safe, but one that took it
// for "approved" would not, and the operator must see either), written atomically (a temporary
// file, fsynced, renamed over it) with sorted keys, under a lock file so that two `warden grants`
// commands, or a command and a host, never interleave their read-modify-write.
import { constants } from "node:fs";
import { open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ApprovalsInvalidError, BadInputError, quote } from "../../errors/index.ts";
import { formatPath, LimitsSchema, PermissionsSchema } from "../../manifests/index.ts";
import { canonicalJson, writeFileAtomically } from "../install/json-file.ts";
import { APPROVALS_FILE, APPROVALS_LOCK } from "../install/names.ts";

/** The format's version; a reader refuses a file of another version. */
export const APPROVALS_VERSION = 1;

/** The kinds of grant an approval can be limited to (`--only`). */
export const GRANT_KINDS = ["read", "write", "net", "exec", "env", "channels", "plugins"] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

const Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a 64-digit lowercase hex sha256");
const Count = z.number().int().positive();

/** Per-kind quotas an operator sets on an approval (none by default). */
const QuotasSchema = z
  .object({
    netRequestsPerMinute: Count.optional(),
    netBytesPerDay: Count.optional(),
    execPerMinute: Count.optional(),
    writeBytesPerDay: Count.optional(),
  })
  .strict();

const ApprovalSchema = z
  .object({
    id: z.string().min(1),
    decision: z.enum(["approved", "denied", "revoked"]),
    /** The version and plugin.json hash the decision is pinned to. */
    version: z.string().min(1),
    manifestSha256: Hex,
    /** What was approved: the manifest's permissions then, limited to `only` (empty for a denial). */
    permissions: PermissionsSchema,
    /**
     * Where each approved path grant led when approved (manifests' grantLeads): a grant whose links
     * lead elsewhere later needs a new approval. Absent in files written before it existed (then
     * recorded at the next re-pin).
     */
    leads: z
      .object({ read: z.record(z.string(), z.string()).optional(), write: z.record(z.string(), z.string()).optional() })
      .strict()
      .optional(),
    /**
     * The limits approved: the manifest's `limits` then (a field left out is the built-in default)
     * and its entries' own timeouts. Absent in approvals written before they carried limits: those
     * cover the limits of the manifest they are pinned to, and no more.
     */
    limits: LimitsSchema.optional(),
    entryTimeouts: z.record(z.string(), Count).optional(),
    /** The kinds approved, when the operator approved only some (null: every kind requested). */
    only: z.array(z.enum(GRANT_KINDS)).nullable(),
    /** ISO time after which the plugin's capability calls are denied (null: never). */
    expires: z.string().datetime({ offset: true }).nullable(),
    quotas: QuotasSchema,
    /** Who decided (the OS user) and when. */
    by: z.string().min(1),
    at: z.string().min(1),
    /** The operator's words, for a denial or revocation. */
    reason: z.string().nullable(),
  })
  .strict();

const ApprovalsSchema = z
  .object({
    approvalsVersion: z.literal(APPROVALS_VERSION),
    plugins: z.record(z.string(), ApprovalSchema),
  })
  .strict();

/** One plugin's approval record. */
export type Approval = z.infer<typeof ApprovalSchema>;

/** Quotas of an approval. */
export type ApprovalQuotas = z.infer<typeof QuotasSchema>;

/** The whole approvals file. */
export type Approvals = { readonly approvalsVersion: typeof APPROVALS_VERSION; readonly plugins: Readonly<Record<string, Approval>> };

/** The approvals file's path in `pluginsDir`. */
export function approvalsFilePath(pluginsDir: string): string {
  return join(pluginsDir, APPROVALS_FILE);
}

/** An empty approvals file (what a plugins directory without one has). */
export function noApprovals(): Approvals {
  return { approvalsVersion: APPROVALS_VERSION, plugins: {} };
}

/** Read the approvals of `pluginsDir`: empty when there is no file; APPROVALS_INVALID when it cannot be used. */
export async function readApprovals(pluginsDir: string): Promise<Approvals> {
  const file = approvalsFilePath(pluginsDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return noApprovals();
    throw new ApprovalsInvalidError(`${quote(file)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? "error"}); fix its permissions, or restore it`, { value: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(file, [`not valid JSON (${(e as Error).message})`]);
  }
  const parsed = ApprovalsSchema.safeParse(json);
  if (!parsed.success)
    throw invalid(
      file,
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    );
  for (const [id, a] of Object.entries(parsed.data.plugins)) {
    if (a.id !== id) throw invalid(file, [`plugins.${id}.id: is ${quote(a.id)}, not its key`]);
  }
  return parsed.data;
}

function invalid(file: string, problems: string[]): ApprovalsInvalidError {
  return new ApprovalsInvalidError(
    `${quote(file)} is not a warden approvals file of version ${APPROVALS_VERSION}:\n${problems.join("\n")}\nnothing was loaded or changed: restore it from a backup, or delete it and approve each plugin again (warden grants approve <id>; warden-consent.jsonl beside it lists every earlier decision)`,
    { value: file, problems },
  );
}

/** Write the approvals of `pluginsDir` atomically (temporary file, fsync, rename); call it holding the lock. */
export async function writeApprovals(pluginsDir: string, approvals: Approvals): Promise<void> {
  await writeFileAtomically(pluginsDir, APPROVALS_FILE, canonicalJson(approvals));
}

const LOCK_WAIT_MS = 10_000;
// A lock older than this whose owner is gone (a command killed mid-write) is taken over.
const STALE_LOCK_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Run `task` holding the approvals lock of `pluginsDir` (a file created exclusively; waits up to 10 s). */
export async function withApprovalsLock<T>(pluginsDir: string, task: () => Promise<T>): Promise<T> {
  const lock = join(pluginsDir, APPROVALS_LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const h = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // No plugins directory to hold the lock: a usage error naming it, as findPlugin's (it was a
      // raw ENOENT, PLUGIN_ERROR, exit 1 from `warden grants approve x --plugins-dir <typo>`).
      if (code === "ENOENT" || code === "ENOTDIR") throw new BadInputError(`cannot read the plugins directory ${quote(pluginsDir)} (${code}); pass --plugins-dir <dir>`, { value: pluginsDir });
      if (code !== "EEXIST") throw e;
      const owner = Number.parseInt(await readFile(lock, "utf8").catch(() => ""), 10);
      const age = Date.now() - ((await stat(lock).catch(() => null))?.mtimeMs ?? Date.now());
      if ((Number.isSafeInteger(owner) && owner > 0 && !alive(owner)) || (!Number.isSafeInteger(owner) && age > STALE_LOCK_MS)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ApprovalsInvalidError(
          `${quote(lock)} is held by process ${Number.isSafeInteger(owner) ? owner : "(unknown)"} for more than ${LOCK_WAIT_MS / 1000} s: another warden grants command or host is changing the approvals; try again, or delete the lock file if no such process runs`,
          { value: lock },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await task();
  } finally {
    await rm(lock, { force: true });
  }
}
