// The console's bearer token: a file of 32 random bytes (base64url) next to the audit log, created
// with mode 0600 and O_EXCL, compared in constant time; and a limiter of failed attempts per
// remote address, so that a token cannot be guessed by trying (10 failures a minute, then 429).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BadInputError, quote } from "../../errors/index.ts";
import { DEFAULT_CONSOLE } from "./console-defaults.ts";

/** The token in use, the file holding it, and whether this start created it. */
export type ConsoleToken = { readonly token: string; readonly file: string; readonly created: boolean };

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43,}$/;

/** The path of the token file for an audit log file. */
export function tokenFilePath(auditLogFile: string): string {
  return join(dirname(resolve(auditLogFile)), DEFAULT_CONSOLE.tokenFile);
}

/** A new token: 32 random bytes, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Read the token file next to `auditLogFile`, or create it (mode 0600, O_EXCL: never over a file
 * another process made meanwhile). BAD_INPUT when the file is not a regular file of this user, is
 * readable or writable by group or others, or does not hold a token.
 */
export function loadConsoleToken(auditLogFile: string): ConsoleToken {
  const file = tokenFilePath(auditLogFile);
  mkdirSync(dirname(file), { recursive: true });
  const token = generateToken();
  try {
    const fd = openSync(file, "wx", 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    return { token, file, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return { token: readTokenFile(file), file, created: false };
}

function readTokenFile(file: string): string {
  // lstat: a symlink planted in place of the file could point the console at a token of someone else's choosing.
  const st = lstatSync(file);
  if (!st.isFile()) throw new BadInputError(`the console token file ${quote(file)} is not a regular file; remove it and start warden serve again to create a new one`, { value: file });
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new BadInputError(`the console token file ${quote(file)} belongs to uid ${st.uid}, not to this user (uid ${uid}); remove it and start warden serve again`, { value: file });
  if ((st.mode & 0o077) !== 0)
    throw new BadInputError(
      `the console token file ${quote(file)} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8)}): anyone on this machine could take over the console; chmod 600 ${quote(file)}, or remove it to get a new token`,
      { value: file },
    );
  const token = readFileSync(file, "utf8").trim();
  // An empty or short file would make a guessable token: refused rather than used.
  if (!TOKEN_SHAPE.test(token))
    throw new BadInputError(`the console token file ${quote(file)} does not hold a token (43 or more base64url characters); remove it and start warden serve again`, { value: file });
  return token;
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** Whether `given` is the token, in time that does not depend on where they differ (sha256 of both, then timingSafeEqual). */
export function tokenMatches(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** How the failure limiter behaves. */
export type FailureLimiterOptions = { readonly maxFailures?: number; readonly windowMs?: number; readonly maxAddresses?: number; readonly now?: () => number };

/**
 * Failed token checks per remote address in fixed windows: an address with `maxFailures` failures
 * in its window is blocked until that window ends, whatever it sends (a right token too: were it
 * let through, the block would not stop guessing, only slow the wrong guesses). Memory is bounded:
 * past `maxAddresses`, expired windows are dropped, then the oldest.
 */
export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(o: FailureLimiterOptions = {}) {
    this.#max = o.maxFailures ?? DEFAULT_CONSOLE.maxFailures;
    this.#windowMs = o.windowMs ?? DEFAULT_CONSOLE.failureWindowMs;
    this.#maxAddresses = o.maxAddresses ?? DEFAULT_CONSOLE.maxTrackedAddresses;
    this.#now = o.now ?? Date.now;
  }

  /** Milliseconds `address` stays blocked (0: not blocked). */
  blockedFor(address: string): number {
    const w = this.#live(address);
    return w !== null && w.failures >= this.#max ? w.start + this.#windowMs - this.#now() : 0;
  }

  /** Count one failed check from `address`. */
  fail(address: string): void {
    const w = this.#live(address);
    if (w !== null) {
      w.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxAddresses) this.#evict();
    this.#windows.set(address, { start: this.#now(), failures: 1 });
  }

  /** Addresses tracked now (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  #live(address: string): { start: number; failures: number } | null {
    const w = this.#windows.get(address);
    if (w === undefined) return null;
    if (this.#now() - w.start < this.#windowMs) return w;
    this.#windows.delete(address);
    return null;
  }

  #evict(): void {
    const now = this.#now();
    for (const [a, w] of this.#windows) if (now - w.start >= this.#windowMs) this.#windows.delete(a);
    // Still full: the oldest window goes (Map keeps insertion order).
    while (this.#windows.size >= this.#maxAddresses) {
      const oldest = this.#windows.keys().next();
      if (oldest.done === true) break;
      this.#windows.delete(oldest.value);
    }
  }
}
