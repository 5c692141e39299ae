// The audit key of the command line: WARDEN_AUDIT_KEY, the secret a keyed audit log's HMAC uses
// (createHost's auditKey). An environment variable rather than an option, so it never shows in a
// process listing or a shell's history. Commands that write a log key it; those that read one
// verify it under the key.
import { checkAuditKey } from "../audit/audit-log.ts";

/** The environment variable holding the audit key. */
export const AUDIT_KEY_ENV = "WARDEN_AUDIT_KEY";

/** The audit key from the environment (undefined when unset or empty); BAD_INPUT when too short. */
export function auditKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env[AUDIT_KEY_ENV];
  return key === undefined || key === "" ? undefined : checkAuditKey(key, AUDIT_KEY_ENV);
}
