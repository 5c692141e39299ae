// The audit key of the command line, the secret a keyed audit log's HMAC uses (createHost's
// auditKey): WARDEN_AUDIT_KEY, or WARDEN_AUDIT_KEY_FILE naming a file that holds it. Never an
// option, so it does not show in a process listing or a shell's history. The file form keeps the
// key out of the process's environment too, which /proc/<pid>/environ shows to every process of
// the same user for as long as the host runs; so the file must be private to its owner, as ssh
// insists of a private key. Commands that write a log key it; those that read one verify it.
import { fstatSync, openSync, readSync, closeSync, constants } from "node:fs";
import { BadInputError, quote } from "../../errors/index.ts";
import { checkAuditKey } from "../audit/audit-log.ts";

/** The environment variable holding the audit key. */
export const AUDIT_KEY_ENV = "WARDEN_AUDIT_KEY";
/** The environment variable naming a file that holds the audit key. */
export const AUDIT_KEY_FILE_ENV = "WARDEN_AUDIT_KEY_FILE";

// A key is a line of text; a file much larger than any key is not a key file.
const MAX_KEY_FILE_BYTES = 4096;

/** The key in `file`: one line (a final newline dropped); BAD_INPUT when it is not a private regular file. */
function readKeyFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    const why = code === "ELOOP" ? "it is a symbolic link; name the file itself" : `it cannot be opened (${code})`;
    throw new BadInputError(`${AUDIT_KEY_FILE_ENV}=${quote(file)}: ${why}`, { field: AUDIT_KEY_FILE_ENV, value: file });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new BadInputError(`${AUDIT_KEY_FILE_ENV}=${quote(file)}: not a regular file`, { field: AUDIT_KEY_FILE_ENV, value: file });
    if ((st.mode & 0o077) !== 0) {
      throw new BadInputError(`${AUDIT_KEY_FILE_ENV}=${quote(file)}: the key file can be read by others (mode ${(st.mode & 0o777).toString(8)}); make it private to its owner: chmod 600 ${file}`, {
        field: AUDIT_KEY_FILE_ENV,
        value: file,
      });
    }
    if (st.size > MAX_KEY_FILE_BYTES)
      throw new BadInputError(`${AUDIT_KEY_FILE_ENV}=${quote(file)}: ${st.size} bytes is not a key (at most ${MAX_KEY_FILE_BYTES})`, { field: AUDIT_KEY_FILE_ENV, value: file });
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf
      .subarray(0, n)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  } finally {
    closeSync(fd);
  }
}

/** The audit key from the environment (undefined when neither variable is set); BAD_INPUT when unusable. */
export function auditKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env[AUDIT_KEY_ENV];
  const file = env[AUDIT_KEY_FILE_ENV];
  const hasKey = key !== undefined && key !== "";
  const hasFile = file !== undefined && file !== "";
  if (hasKey && hasFile) {
    throw new BadInputError(`both ${AUDIT_KEY_ENV} and ${AUDIT_KEY_FILE_ENV} are set: set one (the file keeps the key out of the environment)`, { field: AUDIT_KEY_FILE_ENV });
  }
  if (hasFile) return checkAuditKey(readKeyFile(file), `the key in ${AUDIT_KEY_FILE_ENV} (${file})`);
  return hasKey ? checkAuditKey(key, AUDIT_KEY_ENV) : undefined;
}
