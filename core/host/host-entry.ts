// The host's mutable record of one plugin and the operations on it that both the host (host.ts)
// and the reload transaction (reload.ts) perform. Its own module so that reload.ts needs nothing
// from host.ts: the two used to import each other, the transaction writing into the host's entries
// through a type the host exported for it. test/architecture.test.ts keeps core/host/ free of cycles.
import type { PluginEvent, PluginHandle } from "../plugin.ts";
import type { LoadedManifest } from "../../manifests/index.ts";

/**
 * A plugin's lifecycle state. "restarting": it hit a limit or crashed (or its engine was ended by
 * another plugin) and is being rebuilt; its channel messages wait, and calls wait for it.
 */
export type PluginState = "loading" | "pending" | "active" | "restarting" | "stopping" | "stopped" | "failed" | "quarantined";

/** What the last health check said (unknown until one ran on the version now active). */
export type PluginHealth = "ok" | "degraded" | "unknown";

/** Everything a host reports. */
export type HostEvent =
  | PluginEvent
  | { readonly type: "load"; readonly plugin: string; readonly version: string; readonly ms: number }
  | { readonly type: "load-failed"; readonly plugin: string; readonly dir: string; readonly code: string; readonly reason: string }
  | { readonly type: "unload"; readonly plugin: string; readonly reason: string }
  | { readonly type: "reload"; readonly plugin: string; readonly from: string; readonly to: string }
  | { readonly type: "reload-failed"; readonly plugin: string; readonly reason: string }
  | { readonly type: "config"; readonly plugin: string }
  | { readonly type: "pending"; readonly plugin: string; readonly version: string; readonly reason: string }
  | { readonly type: "revoked"; readonly plugin: string; readonly reason: string }
  | { readonly type: "restored"; readonly plugin: string }
  | { readonly type: "health"; readonly plugin: string; readonly ok: boolean; readonly reason?: string }
  | { readonly type: "error"; readonly plugin: string; readonly message: string };

/** The host's record of one plugin: written by the host's lifecycle steps and by a reload's commit. */
export type HostEntry = {
  id: string;
  dir: string;
  manifest: LoadedManifest | null;
  handle: PluginHandle | null;
  state: Exclude<PluginState, "quarantined" | "restarting">;
  /** A newer version that waits for approval while this one runs. */
  pendingUpdate: { version: string; reason: string } | null;
  reason: string | null;
  health: PluginHealth;
  counters: { calls: number; errors: number; denials: number; limitHits: number; cpuMs: number; restarts: number; dropped: number };
  /**
   * The manifest whose grants and limits this host last accepted for this id (at start, or by a
   * reload): a reload may not grant more, whether the plugin is running, failed or crashed. Only
   * an operator's unload clears it, so that the next load is a first load again.
   */
  baseline: LoadedManifest["manifest"] | null;
};

/** A fresh record for a plugin the host has just found (no sandbox yet, counters at zero). */
export function newHostEntry(id: string, dir: string, manifest: LoadedManifest | null, state: HostEntry["state"], reason: string | null): HostEntry {
  return {
    id,
    dir,
    manifest,
    handle: null,
    state,
    reason,
    pendingUpdate: null,
    health: "unknown",
    counters: { calls: 0, errors: 0, denials: 0, limitHits: 0, cpuMs: 0, restarts: 0, dropped: 0 },
    baseline: manifest?.manifest ?? null,
  };
}

/**
 * Make `handle` (running `manifest`) the entry's active version: what the host now accepts for the
 * id (the baseline a later reload is compared with), no reason, no pending update, health not yet
 * checked. The caller has already moved the channels over and retires the old handle.
 */
export function switchInVersion(entry: HostEntry, handle: PluginHandle, manifest: LoadedManifest): void {
  entry.handle = handle;
  entry.manifest = manifest;
  entry.state = "active";
  entry.baseline = manifest.manifest;
  entry.reason = null;
  entry.pendingUpdate = null;
  entry.health = "unknown";
}
