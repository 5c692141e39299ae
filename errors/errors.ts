// The one error catalogue of warden. It lives in errors/, the bottom of the dependency order: it
// imports nothing from the project, so manifests/, capabilities/ and isolate/ may all depend on it
// without depending on one another (test/architecture.test.ts).

/** The error codes of warden's contract, in the order docs/errors.md documents them. */
export const CONTRACT_ERROR_CODES = [
  "PERMISSION_DENIED",
  "MANIFEST_INVALID",
  "ENTRY_NOT_FOUND",
  "BAD_INPUT",
  "PLUGIN_ERROR",
  "TIMEOUT",
  "CPU_LIMIT",
  "MEMORY_LIMIT",
  "RESULT_INVALID",
  "DEPENDENCY_ERROR",
] as const;

/**
 * Codes warden adds to the contract (documented in docs/errors.md and the README): BUSY when a
 * plugin's call queue is full, QUARANTINED when a plugin failed too often and is switched off,
 * ENGINE_RESTARTED when another plugin sharing the engine process made it end (retry the call);
 * then the refusals of `warden install` (installPlugin), which plugins never see; then consent's:
 * APPROVAL_REQUIRED when a plugin's grants wait for an operator, APPROVALS_INVALID for an approvals
 * file warden cannot use; then the operator's console's (`warden serve`), which only its HTTP
 * clients see: UNAUTHORIZED without a valid token, NOT_FOUND for an unknown plugin or route,
 * RATE_LIMITED for an address that failed the token check too often.
 */
export const EXTENSION_ERROR_CODES = [
  "BUSY",
  "QUARANTINED",
  "ENGINE_RESTARTED",
  "INTEGRITY_MISMATCH",
  "PACKAGE_INVALID",
  "PACKAGE_UNSAFE",
  "PACKAGE_TOO_LARGE",
  "INSTALL_CONFLICT",
  "LOCK_FILE_INVALID",
  "APPROVAL_REQUIRED",
  "APPROVALS_INVALID",
  "UNAUTHORIZED",
  "NOT_FOUND",
  "RATE_LIMITED",
] as const;

/** Every error code warden raises. */
export const ERROR_CODES = [...CONTRACT_ERROR_CODES, ...EXTENSION_ERROR_CODES] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Structured context an error may carry; every field is optional and safe to print. */
export type ErrorDetails = {
  readonly pluginId?: string;
  readonly pluginDir?: string;
  readonly field?: string;
  readonly permission?: string;
  readonly value?: string;
  readonly entry?: string;
  readonly problems?: readonly string[];
  readonly [key: string]: unknown;
};

/** The plain shape in which an error crosses a boundary (isolate, process, JSON output). */
export type ErrorDescriptor = {
  readonly name: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: ErrorDetails;
  readonly stack?: string;
};

const BRAND = Symbol.for("warden.error");

/** Base class of every error warden raises; identify instances with isWardenError, not instanceof. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, name: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
    this.code = code;
    this.details = details;
  }

  /** The plain descriptor of this error, safe to send across a boundary. */
  toDescriptor(): ErrorDescriptor {
    return Object.keys(this.details).length > 0 ? { name: this.name, code: this.code, message: this.message, details: this.details } : { name: this.name, code: this.code, message: this.message };
  }
}

/** A capability call asked for something the manifest does not grant. */
export class PermissionDeniedError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("PERMISSION_DENIED", "PermissionDenied", message, details);
  }
}

/** plugin.json is missing, unreadable or does not match the schema. */
export class ManifestInvalidError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("MANIFEST_INVALID", "ManifestInvalid", message, details);
  }
}

/** The entry named by the caller is not an exported function of the plugin. */
export class EntryNotFoundError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ENTRY_NOT_FOUND", "EntryNotFound", message, details);
  }
}

/** An argument (entry input, config, capability argument, query descriptor) has the wrong shape. */
export class BadInputError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("BAD_INPUT", "BadInput", message, details);
  }
}

/** The plugin threw, rejected, or its code could not be loaded. */
export class PluginError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("PLUGIN_ERROR", "PluginError", message, details);
  }
}

/** The call did not settle within its wall-clock limit (timeoutMs). */
export class TimeoutError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("TIMEOUT", "Timeout", message, details);
  }
}

/** The plugin spent more CPU time than its limit (cpuMs). */
export class CpuLimitError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("CPU_LIMIT", "CpuLimit", message, details);
  }
}

/** The plugin's isolate ran out of its memory limit (memoryMb). */
export class MemoryLimitError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("MEMORY_LIMIT", "MemoryLimit", message, details);
  }
}

/** The entry's result is not JSON-compatible or is larger than the result cap. */
export class ResultInvalidError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("RESULT_INVALID", "ResultInvalid", message, details);
  }
}

/** A declared dependency is missing, has an incompatible version, or forms a cycle. */
export class DependencyError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("DEPENDENCY_ERROR", "DependencyError", message, details);
  }
}

/** The plugin already has as many calls running and queued as it may; retry later. */
export class BusyError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("BUSY", "Busy", message, details);
  }
}

/** The plugin hit its limits or crashed too often and is switched off for a while. */
export class QuarantinedError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("QUARANTINED", "Quarantined", message, details);
  }
}

/**
 * The call was running in an engine process that another plugin in it made end (a memory bomb, a
 * crash, a stuck isolate); this plugin did nothing wrong and is back in a fresh engine already.
 * Retryable: the call may or may not have had its effects (the audit log says which ran).
 */
export class EngineRestartedError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("ENGINE_RESTARTED", "EngineRestarted", message, details);
  }
}

/** The package (tarball or directory) being installed does not have the sha256 it was pinned to. */
export class IntegrityMismatchError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("INTEGRITY_MISMATCH", "IntegrityMismatch", message, details);
  }
}

/** The package is not a readable tar archive (corrupt, truncated, not tar or gzip). */
export class PackageInvalidError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("PACKAGE_INVALID", "PackageInvalid", message, details);
  }
}

/** An entry of the package could land outside the plugin's directory or is not a plain file, directory or inside link. */
export class PackageUnsafeError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("PACKAGE_UNSAFE", "PackageUnsafe", message, details);
  }
}

/** The package has more files or bytes than the install limits allow. */
export class PackageTooLargeError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("PACKAGE_TOO_LARGE", "PackageTooLarge", message, details);
  }
}

/** The plugin's directory in the plugins directory is taken by something else (another plugin, a file). */
export class InstallConflictError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("INSTALL_CONFLICT", "InstallConflict", message, details);
  }
}

/** The plugins directory's warden-lock.json cannot be read or does not match its format. */
export class LockFileInvalidError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("LOCK_FILE_INVALID", "LockFileInvalid", message, details);
  }
}

/** The plugin's grants (or what an update adds to them) wait for an operator's approval. */
export class ApprovalRequiredError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("APPROVAL_REQUIRED", "ApprovalRequired", message, details);
  }
}

/** The plugins directory's warden-approvals.json cannot be read or does not match its format. */
export class ApprovalsInvalidError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("APPROVALS_INVALID", "ApprovalsInvalid", message, details);
  }
}

/** A console request without a valid bearer token (HTTP 401). */
export class UnauthorizedError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("UNAUTHORIZED", "Unauthorized", message, details);
  }
}

/** A console request for a plugin id or a route that does not exist (HTTP 404). */
export class NotFoundError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("NOT_FOUND", "NotFound", message, details);
  }
}

/** A console request from an address that failed the token check too often, or one stream too many (HTTP 429). */
export class RateLimitedError extends WardenError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("RATE_LIMITED", "RateLimited", message, details);
  }
}

const CLASSES: Record<ErrorCode, new (message: string, details?: ErrorDetails) => WardenError> = {
  PERMISSION_DENIED: PermissionDeniedError,
  MANIFEST_INVALID: ManifestInvalidError,
  ENTRY_NOT_FOUND: EntryNotFoundError,
  BAD_INPUT: BadInputError,
  PLUGIN_ERROR: PluginError,
  TIMEOUT: TimeoutError,
  CPU_LIMIT: CpuLimitError,
  MEMORY_LIMIT: MemoryLimitError,
  RESULT_INVALID: ResultInvalidError,
  DEPENDENCY_ERROR: DependencyError,
  BUSY: BusyError,
  QUARANTINED: QuarantinedError,
  ENGINE_RESTARTED: EngineRestartedError,
  INTEGRITY_MISMATCH: IntegrityMismatchError,
  PACKAGE_INVALID: PackageInvalidError,
  PACKAGE_UNSAFE: PackageUnsafeError,
  PACKAGE_TOO_LARGE: PackageTooLargeError,
  INSTALL_CONFLICT: InstallConflictError,
  LOCK_FILE_INVALID: LockFileInvalidError,
  APPROVAL_REQUIRED: ApprovalRequiredError,
  APPROVALS_INVALID: ApprovalsInvalidError,
  UNAUTHORIZED: UnauthorizedError,
  NOT_FOUND: NotFoundError,
  RATE_LIMITED: RateLimitedError,
};

/** True when `code` is one of the contract's codes, the only ones a plugin may raise itself. */
export function isContractErrorCode(code: unknown): code is (typeof CONTRACT_ERROR_CODES)[number] {
  return typeof code === "string" && (CONTRACT_ERROR_CODES as readonly string[]).includes(code);
}

/** True when `code` is one of warden's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code);
}

/** True for any warden error, across realms and processes (checks the brand, not the prototype). */
export function isWardenError(e: unknown): e is WardenError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Build the catalogue's error class for `code`. */
export function createError(code: ErrorCode, message: string, details: ErrorDetails = {}): WardenError {
  return new CLASSES[code](message, details);
}

/** Rebuild a typed error from a descriptor that crossed a boundary; unknown codes become PLUGIN_ERROR. */
export function fromDescriptor(d: { code?: unknown; message?: unknown; details?: unknown; stack?: unknown }): WardenError {
  const code = isErrorCode(d.code) ? d.code : "PLUGIN_ERROR";
  const message = typeof d.message === "string" ? d.message : "unknown error";
  const details = typeof d.details === "object" && d.details !== null ? (d.details as ErrorDetails) : {};
  const err = createError(code, message, details);
  if (typeof d.stack === "string") err.stack = d.stack;
  return err;
}

/** Turn anything thrown into a warden error, keeping warden errors as they are. */
export function toWardenError(e: unknown, fallback: ErrorCode = "PLUGIN_ERROR"): WardenError {
  if (isWardenError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return createError(fallback, message);
}
