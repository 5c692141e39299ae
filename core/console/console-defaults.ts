// The console's defaults in one place (as core/limits.ts holds the plugins'): where it listens,
// and every bound on what it keeps in memory or lets one client cost.

/** Defaults and bounds of `warden serve` and its admin API. */
export const DEFAULT_CONSOLE = Object.freeze({
  host: "127.0.0.1",
  port: 7700,
  pluginsDir: "plugins",
  auditLog: ".warden/audit.jsonl",
  /** The token file's name, next to the audit log. */
  tokenFile: "warden-console.token",
  /** Failed token checks from one address within `failureWindowMs` before it gets 429 until the window ends. */
  maxFailures: 10,
  failureWindowMs: 60_000,
  /** Addresses the failure limiter tracks at once (the oldest is forgotten past it). */
  maxTrackedAddresses: 10_000,
  /** Recent denial events kept per plugin for `/api/plugins/:id`. */
  denialsPerPlugin: 50,
  /** Recent log lines kept per plugin for `/api/plugins/:id`. */
  logLinesPerPlugin: 200,
  /** Longest log message kept in the ring, characters (longer ones are cut, marked with …). */
  logLineChars: 4096,
  /** Plugins the rings keep lines for (ids come from manifests; this bounds them anyway). */
  maxPluginsTracked: 1000,
  /** `/api/audit`: records per page by default and at most. */
  auditPageSize: 100,
  auditMaxPageSize: 1000,
  /** `/api/events`: a comment line this often keeps proxies and clients from timing out. */
  heartbeatMs: 15_000,
  /** `/api/events`: streams open at once (each holds a connection and a listener). */
  maxEventStreams: 32,
  /** `/api/events`: bytes a stream may have waiting for a client that does not read, before it is ended. */
  eventStreamBufferBytes: 1024 * 1024,
  /** Largest request body, bytes (the approve body is the biggest: a few hundred). */
  bodyLimit: 16 * 1024,
});
