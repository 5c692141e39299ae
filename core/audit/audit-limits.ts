// The bounds on what one plugin can make the host write to the audit log, in one place. A plugin
// chooses the values it asks for (a 1 MiB path, a 1 MiB variable name) and how often it asks; the
// log must stay useful to an auditor and small enough to keep, and the host's memory must not grow
// with what the plugin sends. Each bound says why it is what it is.

/** Bounds on audit records caused by one plugin. */
export const AUDIT_LIMITS = {
  /**
   * Characters of any one plugin-supplied text in a record (value, resolved, reason, rule, an error
   * message). Real paths, URLs and names fit (PATH_MAX is 4096 bytes, but paths past 1 KiB are
   * rare and still identified by the sha256 of the whole value that replaces the cut end).
   */
  textChars: 1024,
  /** Characters of each sample value in an aggregate record (a hint, identified by its sha256). */
  sampleChars: 256,
  /** Samples an aggregate record keeps. */
  samples: 3,
  /** Distinct denials of one kind (permission, operation) written in full per window. */
  distinctDenialsPerKind: 16,
  /** The window over which denials are counted and repeats aggregated, ms. */
  denialWindowMs: 10_000,
  /** Kinds (permission, operation) tracked at once; past it, one catch-all kind "*" (keeps memory bounded). */
  maxKinds: 64,
  /**
   * Bytes of use and denial records the host writes for one plugin per window (1 MiB a minute:
   * thousands of ordinary records). Past it, records are counted per (type, permission, operation,
   * rule) into one `audit-suppressed` record when the window ends or the plugin closes.
   */
  bytesPerWindow: 1024 * 1024,
  /** The byte budget's window, ms. */
  budgetWindowMs: 60_000,
  /** Events the sandbox process batches into one message before sending them (bounds one message). */
  eventsPerBatch: 256,
} as const;

/** The shape of AUDIT_LIMITS, for tests and hosts that pass their own. */
export type AuditLimits = { readonly [K in keyof typeof AUDIT_LIMITS]: number };
