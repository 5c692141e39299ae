// The plugins directory's JSON records (warden-lock.json, warden-approvals.json): the same state
// is always the same bytes (keys sorted at every level), and a reader never sees half a file
// (a temporary file in the same directory, fsynced, then renamed over it).
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { STAGING_PREFIX } from "./names.ts";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/** `value` as a record's text: keys sorted at every level, two-space indent, final newline. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/** Write `text` to `name` in `dir` atomically (a staging-named temporary file, fsync, rename). */
export async function writeFileAtomically(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `${STAGING_PREFIX}${name}.${randomBytes(6).toString("hex")}`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(dir, name));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
