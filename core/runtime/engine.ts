// The host's side of one engine: a process (or, in process, a set of runners) holding the plugins
// placed in it, each in a numbered slot. Messages are routed by slot, and the slot is the only
// identity the host believes: what an engine sends about a plugin is checked as that plugin's data.
// When an engine dies, the engine decides who was to blame (the plugin whose call missed its
// deadline, or the ones running when V8 reported an out-of-memory or the process crashed) and tells
// every tenant: the culprit fails as a plugin that hit a limit or crashed; the others get a
// retryable ENGINE_RESTARTED and come back in a fresh engine at once.
import { constants } from "node:os";
import { EngineRestartedError, MemoryLimitError, PluginError, type WardenError, escapeText } from "../../errors/index.ts";
import type { EngineExit, EngineTransport, TransportEvents } from "./engine-transport.ts";
import type { FromRunner, ToRunner } from "./protocol.ts";

/** Why a tenant lost its engine: blamed (its error is a limit or a crash) or a bystander (retryable). */
export type EngineLoss = { readonly culprit: boolean; readonly error: WardenError; readonly culprits: readonly string[] };

/** A plugin placed in an engine. */
export interface EngineTenant {
  readonly pluginId: string;
  /** Requests of this tenant the engine has not answered (a call, a hook, a delivery, a load). */
  readonly busy: boolean;
  /** A message from this tenant's runner (untrusted). */
  onMessage(msg: FromRunner): void;
  /** The engine is gone; every request in flight must fail. */
  engineLost(loss: EngineLoss): void;
}

let nextEngineId = 1;

/** How an engine ended, for messages: a signal by name; under bubblewrap, whose exit status is 128 + the signal that killed Node, that signal too. */
function describeExit(exit: EngineExit): string {
  if (exit.violation !== null) return `it sent ${exit.violation}`;
  if (exit.signal !== null) return exit.signal;
  if (exit.code !== null && exit.code > 128) {
    const name = Object.entries(constants.signals).find(([, n]) => n === (exit.code as number) - 128)?.[0];
    if (name !== undefined) return name;
  }
  return `code ${exit.code}`;
}

/** One engine and its tenants. */
export class Engine {
  readonly id = nextEngineId++;
  #dedicated: boolean;
  readonly #transport: EngineTransport;
  readonly #tenants = new Map<number, EngineTenant>();
  #nextSlot = 1;
  #blame: { slot: number; error: WardenError } | null = null;
  #gone = false;
  #onGone: (engine: Engine) => void;

  constructor(o: { dedicated: boolean; start: (events: TransportEvents) => EngineTransport; onGone: (engine: Engine) => void }) {
    this.#dedicated = o.dedicated;
    this.#onGone = o.onGone;
    this.#transport = o.start({
      onMessage: (raw) => this.#route(raw),
      onOom: () => this.#transport.kill(),
      onExit: (exit) => this.#exited(exit),
    });
  }

  /** Placed for one plugin only (its grants or its history say it must not share). */
  get dedicated(): boolean {
    return this.#dedicated;
  }

  /** Put a spare engine (started ahead, no tenants) to use as a shared or a dedicated one. */
  claim(dedicated: boolean): void {
    if (this.#tenants.size > 0) throw new Error("only an engine without tenants can be claimed");
    this.#dedicated = dedicated;
  }

  /** The transport (for the in-process fast path and pids). */
  get transport(): EngineTransport {
    return this.#transport;
  }

  /** Whether the engine is still running. */
  get alive(): boolean {
    return !this.#gone;
  }

  /** Plugins placed here. */
  get tenants(): number {
    return this.#tenants.size;
  }

  /** Place a tenant; its slot number. */
  attach(tenant: EngineTenant): number {
    const slot = this.#nextSlot++;
    this.#tenants.set(slot, tenant);
    return slot;
  }

  /** Remove a tenant (after its unload was answered); the engine frees the slot. */
  detach(slot: number): void {
    if (!this.#tenants.delete(slot)) return;
    this.#transport.send({ t: "free", slot });
  }

  /** Send a message to a tenant's runner; false if the engine is gone. */
  send(slot: number, msg: ToRunner): boolean {
    if (this.#gone) return false;
    return this.#transport.send({ ...msg, slot });
  }

  /** End the engine now because of the tenant in `slot` (a missed deadline, a message it could not handle). */
  kill(slot: number, error: WardenError): void {
    if (this.#gone) return;
    this.#blame ??= { slot, error };
    this.#transport.kill();
  }

  /** End the engine gently (its tenants were all unloaded). */
  close(): Promise<void> {
    return this.#transport.close();
  }

  #route(raw: unknown): void {
    if (typeof raw !== "object" || raw === null) return;
    const slot = (raw as { slot?: unknown }).slot;
    if (typeof slot !== "number") return;
    const tenant = this.#tenants.get(slot);
    if (tenant === undefined) return;
    // A message host code cannot handle ends the engine, never the host (this runs in an event
    // listener: a throw here would be an uncaught exception in the host's process).
    try {
      tenant.onMessage(raw as FromRunner);
    } catch (e) {
      this.kill(
        slot,
        new PluginError(
          `plugin ${tenant.pluginId}: its engine sent a message the host could not handle (${escapeText(e instanceof Error ? e.message : String(e)).slice(0, 200)}); the engine was ended`,
          { pluginId: tenant.pluginId },
        ),
      );
    }
  }

  #exited(exit: EngineExit): void {
    if (this.#gone) return;
    this.#gone = true;
    const tenants = [...this.#tenants.entries()];
    this.#tenants.clear();
    const culprits = this.#culprits(exit, tenants);
    const culpritIds = culprits.map(([, t]) => t.pluginId);
    for (const [slot, tenant] of tenants) {
      const blamed = culprits.find(([s]) => s === slot);
      if (blamed !== undefined) tenant.engineLost({ culprit: true, error: blamed[2], culprits: culpritIds });
      else {
        const why =
          culpritIds.length > 0
            ? `plugin ${culpritIds.join(", ")} made it end`
            : exit.violation !== null
              ? `it broke warden's channel (${describeExit(exit)})`
              : `it exited unexpectedly (${describeExit(exit)})`;
        tenant.engineLost({
          culprit: false,
          culprits: culpritIds,
          error: new EngineRestartedError(`plugin ${tenant.pluginId}: its engine was ended because ${why}; ${tenant.pluginId} is back in a fresh engine: retry the call`, {
            pluginId: tenant.pluginId,
            ...(culpritIds.length > 0 ? { culprits: culpritIds } : {}),
          }),
        });
      }
    }
    this.#onGone(this);
  }

  /** Who made the engine end, with the error each gets. */
  #culprits(exit: EngineExit, tenants: ReadonlyArray<[number, EngineTenant]>): Array<[number, EngineTenant, WardenError]> {
    if (this.#blame !== null) {
      const t = tenants.find(([s]) => s === this.#blame?.slot);
      return t === undefined ? [] : [[t[0], t[1], this.#blame.error]];
    }
    // The engine's crossing marker names the isolate its thread was in when it died; without one
    // (it died outside any crossing), a single tenant is the one, and co-tenants are not blamed.
    const running = this.#transport.runningSlot;
    const inside = running === 0 ? undefined : tenants.find(([s]) => s === running);
    const suspects = inside !== undefined ? [inside] : tenants.length === 1 ? [...tenants] : [];
    return suspects.map(([slot, t]) => [
      slot,
      t,
      exit.oom
        ? new MemoryLimitError(`plugin ${t.pluginId} exhausted the V8 heap (a single huge allocation beyond its memory limit); its engine was ended and it is restarted`, {
            pluginId: t.pluginId,
          })
        : exit.violation !== null
          ? new PluginError(`plugin ${t.pluginId}: its engine broke warden's channel (${describeExit(exit)}) and was ended; it is restarted`, { pluginId: t.pluginId })
          : new PluginError(`plugin ${t.pluginId}: its engine exited unexpectedly (${describeExit(exit)}); it is restarted`, { pluginId: t.pluginId }),
    ]);
  }
}
