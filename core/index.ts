// warden's public library API (named exports only).
export { createHost, Host } from "./host/host.ts";
export type { HostEvent, HostOptions, InvokeAllResult, PluginState, PluginStatus } from "./host/host.ts";
export { loadPlugin, PluginHandle } from "./plugin.ts";
export type { InvokeOptions, LoadPluginOptions, PluginEngine, PluginEvent } from "./plugin.ts";
export type { Isolation } from "./runtime/plugin-slot.ts";
export { ChannelBus, createChannelBus, DEFAULT_OWNER_QUEUE_BYTES, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_LENGTH, HOST_SENDER } from "./channels/bus.ts";
export type { ChannelBusOptions, Subscription } from "./channels/bus.ts";
export type { ChannelMessage } from "../capabilities/index.ts";
export { DEFAULT_CAPABILITY_LIMITS, ConsentGate } from "../capabilities/index.ts";
export type { ConsentGateOptions, ConsentQuotas, ConsentTerms, ConsentUsage } from "../capabilities/index.ts";
// Every default, in one object; the DEFAULT_* constants are views of it, kept for code that names them.
export { DEFAULTS, systemClock, type Clock, type ClockTimer } from "../defaults/index.ts";
export { DEFAULT_MAX_LIMITS, DEFAULT_PLUGIN_LIMITS, DEFAULT_RESTART } from "./limits.ts";
export { PluginLedger } from "./containment/ledger.ts";
export type { ContainmentEvent, LedgerOptions } from "./containment/ledger.ts";
export type { ClampedLimit, PluginLimits, RestartPolicy } from "./limits.ts";
export { openAuditLog, memoryAuditLog } from "./audit/audit-log.ts";
export type { AuditWriter, AuditRecordInput, AuditLogOptions } from "./audit/audit-log.ts";
export { verifyAuditText, verifyAuditBytes } from "./audit/verify-audit.ts";
export type { AuditVerdict, AuditSummary, VerifyOptions } from "./audit/verify-audit.ts";
export { createDefaultLogger } from "./logger.ts";
export { escapeText, safeJson } from "../errors/index.ts";
export type { Logger } from "./logger.ts";
export { WARDEN_VERSION } from "./version.ts";
export {
  ERROR_CODES,
  WardenError,
  PermissionDeniedError,
  ManifestInvalidError,
  EntryNotFoundError,
  BadInputError,
  PluginError,
  TimeoutError,
  CpuLimitError,
  MemoryLimitError,
  ResultInvalidError,
  DependencyError,
  isWardenError,
} from "../errors/index.ts";
export type { ErrorCode, ErrorDescriptor, ErrorDetails } from "../errors/index.ts";
export { readManifest, validateManifest } from "../manifests/index.ts";
export type { Manifest } from "../manifests/index.ts";
export { installPlugin } from "./install/install.ts";
export type { InstallChange, InstallOptions, InstallResult, InstalledVersion } from "./install/install.ts";
export type { LockEntry, LockFile } from "./install/lock-file.ts";
export { LOCK_FILE } from "./install/names.ts";
export { DEFAULT_INSTALL_LIMITS } from "./limits.ts";
export type { InstallLimits } from "./limits.ts";
export { approveGrants, denyGrants, revokeGrants, listGrants, grantsDiff, parseExpiry, parseKinds } from "./consent/grant-decisions.ts";
export type { ApproveOptions, Decision, GrantListing } from "./consent/grant-decisions.ts";
export { readApprovals, APPROVALS_VERSION, GRANT_KINDS } from "./consent/approvals-file.ts";
export type { Approval, ApprovalQuotas, Approvals, GrantKind } from "./consent/approvals-file.ts";
export type { ApprovalMode } from "./host/host-consent.ts";
export type { PluginApproval } from "./host/host.ts";
export { APPROVALS_FILE, CONSENT_LOG } from "./install/names.ts";
export { createConsoleServer } from "./console/console-server.ts";
export type { ConsoleServerOptions, ConsoleMetrics } from "./console/console-server.ts";
export { createHostMetrics } from "./console/metrics.ts";
export type { HostMetrics } from "./console/metrics.ts";
export { PluginLogRing } from "./console/recent-rings.ts";
