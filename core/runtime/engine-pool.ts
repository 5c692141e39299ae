// Where plugins run: a pool of engines with the placement policy (placement.ts). A plugin that may
// share goes to the first shared engine with room, up to maxPluginsPerEngine; one that may not
// (its grants, or its history of bringing an engine down) gets a dedicated engine. An engine whose
// last tenant left is ended. A host owns one pool; loadPlugin without a host uses the process's.
import { BadInputError } from "../../errors/index.ts";
import { systemClock, type Clock, type ClockTimer } from "../../defaults/index.ts";
import { engineCommand } from "../os-sandbox/engine-sandbox.ts";
import { probeBubblewrap, type SandboxProbe } from "../os-sandbox/bwrap-probe.ts";
import { Engine } from "./engine.ts";
import { spawnEngine, type EngineCommand } from "./engine-transport.ts";
import { DEFAULT_MAX_PLUGINS_PER_ENGINE, SPARE_ENGINE_DELAY_MS } from "./placement.ts";

/**
 * Whether engines run under the OS sandbox (bubblewrap): "auto" when it works here (a warning
 * once when it does not), "require" refuses to start an engine without it, "off" never uses it.
 * The default is the WARDEN_SANDBOX environment variable, else "auto".
 */
export type SandboxMode = "auto" | "require" | "off";

/** How a pool places and starts engines. */
export type EnginePoolOptions = {
  /** Plugins per shared engine (default DEFAULT_MAX_PLUGINS_PER_ENGINE). */
  readonly maxPluginsPerEngine?: number;
  /** The OS sandbox of its engines (default: WARDEN_SANDBOX, else "auto"). */
  readonly sandbox?: SandboxMode;
  /** Told once when "auto" finds no usable OS sandbox. */
  readonly onWarning?: (message: string) => void;
  /** Engines kept started ahead, without tenants, for the next placement or restart (default 0; a host's default is DEFAULT_SPARE_ENGINES). */
  readonly spareEngines?: number;
  /** When spares are started (default: the system clock). */
  readonly clock?: Clock;
};

/** The sandbox mode an option or WARDEN_SANDBOX asks for; BAD_INPUT for anything else. */
export function sandboxMode(asked: unknown = process.env["WARDEN_SANDBOX"]): SandboxMode {
  if (asked === undefined || asked === "") return "auto";
  if (asked === "auto" || asked === "require" || asked === "off") return asked;
  throw new BadInputError(`sandbox: expected "auto", "require" or "off", not ${JSON.stringify(typeof asked === "string" ? asked : typeof asked).slice(0, 60)} (the option, or WARDEN_SANDBOX)`, {
    field: "sandbox",
  });
}

/** What an operator sees of an engine. */
export type EngineInfo = { readonly id: number; readonly pid: number | undefined; readonly tenants: number; readonly dedicated: boolean };

/** A set of engines and the policy that places plugins in them. */
export class EnginePool {
  readonly maxPluginsPerEngine: number;
  readonly sandbox: SandboxMode;
  #onWarning: ((message: string) => void) | undefined;
  readonly #engines = new Set<Engine>();
  // The directory whose plugins each engine may read (the only host files it sees under the sandbox).
  readonly #roots = new Map<Engine, string>();
  #probe: Promise<SandboxProbe | null> | null = null;
  #bwrap: string | null = null;
  #closed = false;
  readonly #spareCount: number;
  // Engines started ahead for a root, no tenants yet; and the timer that starts the next.
  readonly #spares = new Map<Engine, string>();
  #spareTimer: ClockTimer | null = null;
  readonly #clock: Clock;

  constructor(o: EnginePoolOptions = {}) {
    this.maxPluginsPerEngine = Math.max(1, Math.floor(o.maxPluginsPerEngine ?? DEFAULT_MAX_PLUGINS_PER_ENGINE));
    this.sandbox = sandboxMode(o.sandbox);
    this.#onWarning = o.onWarning;
    this.#clock = o.clock ?? systemClock;
    const spares = o.spareEngines ?? 0;
    if (!Number.isInteger(spares) || spares < 0 || spares > 16) {
      throw new BadInputError(`spareEngines: expected a whole number from 0 to 16, not ${JSON.stringify(spares)}`, { field: "spareEngines" });
    }
    this.#spareCount = spares;
  }

  /** Find out (once) whether engines can run under bubblewrap; rejects if "require" and they cannot. */
  async ready(): Promise<void> {
    if (this.sandbox === "off") return;
    this.#probe ??= probeBubblewrap().then(
      (p) => p,
      () => null,
    );
    const probe = await this.#probe;
    if (probe?.available === true && probe.path !== null) {
      this.#bwrap = probe.path;
      return;
    }
    const why = probe?.reason ?? "the probe failed";
    if (this.sandbox === "require") throw new BadInputError(`sandbox "require": engines cannot run under bubblewrap here: ${why} (warden doctor says more)`, { field: "sandbox" });
    if (this.#onWarning !== undefined) {
      const warn = this.#onWarning;
      this.#onWarning = undefined;
      warn(`engines run without the OS sandbox (no namespaces): ${why}; warden doctor says more, sandbox: "require" refuses to run without it`);
    }
  }

  /** Whether engines started now run under bubblewrap. */
  get sandboxed(): boolean {
    return this.#bwrap !== null;
  }

  /** bubblewrap's path when engines (and the commands their plugins run) use it, else null. */
  get bwrap(): string | null {
    return this.#bwrap;
  }

  #command(root: string): EngineCommand | undefined {
    const bwrap = this.#bwrap;
    if (bwrap === null) return undefined;
    return (node, args) => {
      const script = args.at(-1) ?? "";
      return engineCommand({ bwrap, node, nodeArgs: args.slice(0, -1), script, readOnly: [root] });
    };
  }

  /**
   * An engine for one more plugin: a dedicated new one, or a shared one with room whose readable
   * root is `root` (a host's plugins directory; a plugin's own directory without a host).
   */
  place(o: { dedicated: boolean; root: string }): Engine {
    if (!o.dedicated) {
      for (const e of this.#engines) if (!e.dedicated && e.alive && e.tenants < this.maxPluginsPerEngine && this.#roots.get(e) === o.root) return e;
    }
    if (this.sandbox === "require" && this.#bwrap === null) throw new BadInputError(`sandbox "require": call ready() first, or bubblewrap is not usable here`, { field: "sandbox" });
    const spare = [...this.#spares].find(([e, root]) => root === o.root && e.alive)?.[0];
    let engine: Engine;
    if (spare !== undefined) {
      this.#spares.delete(spare);
      spare.claim(o.dedicated);
      engine = spare;
    } else engine = this.#start(o.dedicated, o.root);
    this.#engines.add(engine);
    this.#roots.set(engine, o.root);
    this.#keepSpares(o.root);
    return engine;
  }

  #start(dedicated: boolean, root: string): Engine {
    const command = this.#command(root);
    return new Engine({
      dedicated,
      start: (events) => spawnEngine(events, command),
      onGone: (e) => {
        this.#engines.delete(e);
        this.#roots.delete(e);
        this.#spares.delete(e);
      },
    });
  }

  /** Start the spares `root` lacks, a moment from now (off the path of the placement that asked). */
  #keepSpares(root: string): void {
    if (this.#spareCount === 0 || this.#spareTimer !== null || this.#closed) return;
    this.#spareTimer = this.#clock.after(SPARE_ENGINE_DELAY_MS, () => {
      this.#spareTimer = null;
      if (this.#closed) return;
      const have = [...this.#spares.values()].filter((r) => r === root).length;
      for (let i = have; i < this.#spareCount; i++) this.#spares.set(this.#start(false, root), root);
    });
    this.#spareTimer.unref();
  }

  /** A tenant left `engine`: end it if it is empty. */
  released(engine: Engine): void {
    if (engine.tenants > 0 || !engine.alive) return;
    this.#engines.delete(engine);
    this.#roots.delete(engine);
    void engine.close();
  }

  /** Engines started ahead and waiting for tenants. */
  get spareEngines(): EngineInfo[] {
    return [...this.#spares.keys()].filter((e) => e.alive).map((e) => ({ id: e.id, pid: e.transport.pid, tenants: 0, dedicated: false }));
  }

  /** The engines running now (with tenants; spares are counted by `spares`). */
  get engines(): EngineInfo[] {
    return [...this.#engines].filter((e) => e.alive).map((e) => ({ id: e.id, pid: e.transport.pid, tenants: e.tenants, dedicated: e.dedicated }));
  }

  /** End every engine (their tenants must already be unloaded). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#spareTimer?.cancel();
    this.#spareTimer = null;
    await Promise.all([...this.#engines, ...this.#spares.keys()].map((e) => e.close()));
    this.#engines.clear();
    this.#spares.clear();
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }
}

let processPool: EnginePool | null = null;

/** The pool of plugins loaded without a host (loadPlugin on its own, `warden run`). */
export function processEnginePool(): EnginePool {
  processPool ??= new EnginePool({ onWarning: (m) => process.emitWarning(m, "WardenSandboxWarning") });
  return processPool;
}
