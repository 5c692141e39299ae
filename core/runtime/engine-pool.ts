// Where plugins run: a pool of engines with the placement policy (placement.ts). A plugin that may
// share goes to the first shared engine with room, up to maxPluginsPerEngine; one that may not
// (its grants, or its history of bringing an engine down) gets a dedicated engine. An engine whose
// last tenant left is ended. A host owns one pool; loadPlugin without a host uses the process's.
import { Engine } from "./engine.ts";
import { spawnEngine, type EngineCommand } from "./engine-transport.ts";
import { DEFAULT_MAX_PLUGINS_PER_ENGINE } from "./placement.ts";

/** How a pool places and starts engines. */
export type EnginePoolOptions = {
  /** Plugins per shared engine (default DEFAULT_MAX_PLUGINS_PER_ENGINE). */
  readonly maxPluginsPerEngine?: number;
  /** How an engine process is started (bubblewrap, when the host's sandbox option says so). */
  readonly command?: EngineCommand;
};

/** What an operator sees of an engine. */
export type EngineInfo = { readonly id: number; readonly pid: number | undefined; readonly tenants: number; readonly dedicated: boolean };

/** A set of engines and the policy that places plugins in them. */
export class EnginePool {
  readonly maxPluginsPerEngine: number;
  readonly #command: EngineCommand | undefined;
  readonly #engines = new Set<Engine>();
  #closed = false;

  constructor(o: EnginePoolOptions = {}) {
    this.maxPluginsPerEngine = Math.max(1, Math.floor(o.maxPluginsPerEngine ?? DEFAULT_MAX_PLUGINS_PER_ENGINE));
    this.#command = o.command;
  }

  /** An engine for one more plugin: a dedicated new one, or a shared one with room. */
  place(o: { dedicated: boolean }): Engine {
    if (!o.dedicated) {
      for (const e of this.#engines) if (!e.dedicated && e.alive && e.tenants < this.maxPluginsPerEngine) return e;
    }
    const engine = new Engine({
      dedicated: o.dedicated,
      start: (events) => spawnEngine(events, this.#command),
      onGone: (e) => this.#engines.delete(e),
    });
    this.#engines.add(engine);
    return engine;
  }

  /** A tenant left `engine`: end it if it is empty. */
  released(engine: Engine): void {
    if (engine.tenants > 0 || !engine.alive) return;
    this.#engines.delete(engine);
    void engine.close();
  }

  /** The engines running now. */
  get engines(): EngineInfo[] {
    return [...this.#engines].filter((e) => e.alive).map((e) => ({ id: e.id, pid: e.transport.pid, tenants: e.tenants, dedicated: e.dedicated }));
  }

  /** End every engine (their tenants must already be unloaded). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#engines].map((e) => e.close()));
    this.#engines.clear();
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }
}

/** The pool of plugins loaded without a host (loadPlugin on its own, `warden run`). */
export const processEnginePool = new EnginePool();
