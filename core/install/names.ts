// The names `warden install` uses inside a plugins directory. A leaf module: the host's file
// protections (core/own-files.ts) import it without importing the installer.

/** The lock file of a plugins directory: what was installed, from where, with which hashes. */
export const LOCK_FILE = "warden-lock.json";

/**
 * The prefix of the installer's staging directories (and of the lock file's temporary copies) in
 * the plugins directory. Dot-names: the host's discovery skips them, so a half-done install is
 * never loaded.
 */
export const STAGING_PREFIX = ".warden-install-";
