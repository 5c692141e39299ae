// Prometheus metrics of a host (docs/console-api.md, "Metrics"), in a registry of their own so that
// an application's global prom-client registry is neither filled nor read. Counters come from host
// events (calls, errors, latency, CPU, quarantines, engine restarts) and from audit records (uses
// and denials, counted as the audit log aggregates them); gauges are read at scrape time.
//
// Every label value comes from a closed set, whatever a plugin does: plugin ids are the host's
// (validated by the manifest schema), error codes are warden's catalogue or "OTHER", permissions
// one of PERMISSION_KINDS, states the host's, engines their numbers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AuditRecordInput } from "../audit/audit-log.ts";
import { ERROR_CODES } from "../../errors/index.ts";
import type { Host, HostEvent, PluginState } from "../host/host.ts";
import { checkPluginId } from "../../manifests/index.ts";
import { treeRssBytes } from "./process-memory.ts";

/** The values of the `permission` label: the kinds a manifest grants, and "other" for anything else. */
export const PERMISSION_KINDS = ["read", "write", "net", "exec", "env", "channels.publish", "channels.subscribe", "plugins", "other"] as const;

/** A value of the `permission` label. */
export type PermissionKind = (typeof PERMISSION_KINDS)[number];

/** Every plugin state, so that `warden_plugins{state}` shows zeros too (a state that empties is not left at its last count). */
export const PLUGIN_STATES: readonly PluginState[] = ["loading", "pending", "active", "restarting", "stopping", "stopped", "failed", "quarantined"];

/** Latency buckets in seconds: 1 ms (a trivial call) to 30 s (the longest timeout a manifest gets by default). */
export const CALL_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the metrics read from a host (a Host is one). */
export type MetricsSource = Pick<Host, "on" | "off" | "status" | "engines" | "spareEngines">;

/** A host's metrics: serve `render()` with `contentType` at /metrics; feed `observeAudit` from HostOptions.onAudit. */
export type HostMetrics = {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text of every metric (gauges read now). */
  render(): Promise<string>;
  /** Count one audit record's uses and denials (wire it to HostOptions.onAudit). */
  observeAudit(record: AuditRecordInput): void;
  /** Stop listening to the host and empty the registry. */
  close(): void;
};

const KNOWN_CODES = new Set<string>(ERROR_CODES);
const KNOWN_KINDS = new Set<string>(PERMISSION_KINDS);

/** `code` if it is one of warden's error codes, else "OTHER". */
export function errorCodeLabel(code: unknown): string {
  return typeof code === "string" && KNOWN_CODES.has(code) ? code : "OTHER";
}

/** The permission kind of a record's `permission` (e.g. "net"), or "other". */
export function permissionKind(permission: unknown): PermissionKind {
  return typeof permission === "string" && KNOWN_KINDS.has(permission) ? (permission as PermissionKind) : "other";
}

/** `id` if it has a plugin id's syntax (the host's ids are validated by the manifest schema; anything else is not counted), else null. */
function pluginLabel(id: unknown): string | null {
  return typeof id === "string" && checkPluginId(id) === null ? id : null;
}

/** The `count` of an aggregated record, read as grant-usage.ts reads it (a missing or broken one stands for 1). */
function countOf(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 1;
}

/** Metrics of `host` in a registry of their own, with prom-client's default process metrics. */
export function createHostMetrics(host: MetricsSource): HostMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const calls = new Counter({ name: "warden_plugin_calls_total", help: "Calls of plugin entries, by plugin.", labelNames: ["plugin"] as const, registers });
  const errors = new Counter({ name: "warden_plugin_errors_total", help: "Calls of plugin entries that failed, by plugin and warden error code.", labelNames: ["plugin", "code"] as const, registers });
  const duration = new Histogram({
    name: "warden_plugin_call_duration_seconds",
    help: "Wall time of plugin entry calls, by plugin.",
    labelNames: ["plugin"] as const,
    buckets: CALL_DURATION_BUCKETS,
    registers,
  });
  const cpu = new Counter({ name: "warden_plugin_cpu_ms_total", help: "CPU time plugin entry calls used, ms, by plugin.", labelNames: ["plugin"] as const, registers });
  const uses = new Counter({
    name: "warden_capability_uses_total",
    help: "Capability calls allowed, by plugin and permission kind (from the audit log).",
    labelNames: ["plugin", "permission"] as const,
    registers,
  });
  const denials = new Counter({
    name: "warden_capability_denials_total",
    help: "Capability calls denied, by plugin and permission kind (from the audit log, aggregated records counted in full).",
    labelNames: ["plugin", "permission"] as const,
    registers,
  });
  const quarantines = new Counter({ name: "warden_plugin_quarantines_total", help: "Times a plugin was quarantined for failing too often.", labelNames: ["plugin"] as const, registers });
  const engineRestarts = new Counter({ name: "warden_engine_restarts_total", help: "Shared engines ended under their co-tenants, which were restarted in a fresh one.", registers });
  const engineMemory = new Gauge({
    name: "warden_engine_memory_bytes",
    help: "Resident memory of each engine process tree (with its OS sandbox), bytes.",
    labelNames: ["engine"] as const,
    registers,
    async collect() {
      const engines = [...host.engines, ...host.spareEngines].filter((e): e is typeof e & { pid: number } => e.pid !== undefined);
      const rss = await treeRssBytes(engines.map((e) => e.pid));
      // Engines come and go (restarts, reloads): only those alive now are reported.
      this.reset();
      for (const e of engines) {
        const bytes = rss.get(e.pid);
        if (bytes !== undefined) this.set({ engine: String(e.id) }, bytes);
      }
    },
  });
  void engineMemory;
  const plugins = new Gauge({
    name: "warden_plugins",
    help: "Plugins of the host, by state.",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const counts = new Map<string, number>(PLUGIN_STATES.map((s) => [s, 0]));
      for (const p of host.status()) if (counts.has(p.state)) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  void plugins;

  // One engine's end reaches each co-tenant as its own engine-restart event, synchronously in one
  // pass (core/runtime/engine.ts): events of the same turn of the event loop are one restart.
  let restartCounted = false;
  const onEvent = (e: HostEvent): void => {
    if (e.type === "engine-restart") {
      if (!restartCounted) {
        engineRestarts.inc();
        restartCounted = true;
        setImmediate(() => (restartCounted = false));
      }
      return;
    }
    const plugin = pluginLabel(e.plugin);
    if (plugin === null) return;
    if (e.type === "invoke") {
      calls.inc({ plugin });
      if (!e.ok) errors.inc({ plugin, code: errorCodeLabel(e.code) });
      if (Number.isFinite(e.ms) && e.ms >= 0) duration.observe({ plugin }, e.ms / 1000);
      if (Number.isFinite(e.cpuMs) && e.cpuMs > 0) cpu.inc({ plugin }, e.cpuMs);
    } else if (e.type === "quarantine") quarantines.inc({ plugin });
  };
  host.on("event", onEvent);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeAudit(record) {
      const plugin = pluginLabel(record.plugin);
      if (plugin === null) return;
      switch (record.type) {
        case "use":
          uses.inc({ plugin, permission: permissionKind(record["permission"]) });
          break;
        case "deny":
          denials.inc({ plugin, permission: permissionKind(record["permission"]) });
          break;
        case "deny-repeat":
        case "deny-aggregate":
          denials.inc({ plugin, permission: permissionKind(record["permission"]) }, countOf(record["count"]));
          break;
        case "audit-suppressed":
          // Records past the audit budget, counted per (type, permission): the same figures grant-usage.ts keeps.
          for (const c of Array.isArray(record["counts"]) ? (record["counts"] as unknown[]) : []) {
            if (typeof c !== "object" || c === null) continue;
            const line = c as Record<string, unknown>;
            const labels = { plugin, permission: permissionKind(line["permission"]) };
            if (line["type"] === "use") uses.inc(labels, countOf(line["count"]));
            else if (line["type"] === "deny" || line["type"] === "deny-repeat" || line["type"] === "deny-aggregate") denials.inc(labels, countOf(line["count"]));
          }
          break;
        default:
          break;
      }
    },
    close() {
      host.off("event", onEvent);
      registry.clear();
    },
  };
}
