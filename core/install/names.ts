// The names `warden install` uses inside a plugins directory. A leaf module: the host's file
// protections (core/runtime/own-files.ts) import it without importing the installer.

/** The lock file of a plugins directory: what was installed, from where, with which hashes. */
export const LOCK_FILE = "warden-lock.json";

/** The operator's approvals of plugins' grants, next to the lock file (core/consent/). */
export const APPROVALS_FILE = "warden-approvals.json";

/** The hash-chained log of every approval change (who, what, which manifest hash). */
export const CONSENT_LOG = "warden-consent.jsonl";

/** Held while the approvals file and the consent log are changed: one writer at a time. */
export const APPROVALS_LOCK = "warden-approvals.lock";

/**
 * Names at the top of a plugins directory that are warden's, whatever comes after the prefix:
 * the files above and any later ones. A plugin's write grant never covers them.
 */
export const RESERVED_PREFIX = "warden-";

/**
 * The prefix of the installer's staging directories (and of the lock file's temporary copies) in
 * the plugins directory. Dot-names: the host's discovery skips them, so a half-done install is
 * never loaded.
 */
export const STAGING_PREFIX = ".warden-install-";
