// What `/api/plugins/:id` shows of a plugin's recent past: its last denial events and its last log
// lines. Both are bounded rings per plugin, with a bound on the plugins tracked too, so that the
// console's memory does not grow with a host's uptime or with what a plugin does.
import type { HostEvent } from "../host/host.ts";
import { escapeText } from "../../errors/index.ts";
import { DEFAULT_CONSOLE } from "./console-defaults.ts";

/** The last `perKey` items per key, for at most `maxKeys` keys (the key written to least recently is dropped past it). */
export class KeyedRing<T> {
  readonly #perKey: number;
  readonly #maxKeys: number;
  readonly #items = new Map<string, T[]>();

  constructor(perKey: number, maxKeys: number = DEFAULT_CONSOLE.maxPluginsTracked) {
    this.#perKey = perKey;
    this.#maxKeys = maxKeys;
  }

  /** Add an item under `key`, dropping its oldest past the bound. */
  push(key: string, item: T): void {
    let list = this.#items.get(key);
    if (list === undefined) {
      if (this.#items.size >= this.#maxKeys) {
        const oldest = this.#items.keys().next();
        if (oldest.done !== true) this.#items.delete(oldest.value);
      }
      list = [];
    } else this.#items.delete(key);
    // Re-inserted, so that the Map's order is the order of last writes.
    this.#items.set(key, list);
    list.push(item);
    if (list.length > this.#perKey) list.splice(0, list.length - this.#perKey);
  }

  /** The items of `key`, oldest first (a copy). */
  get(key: string): T[] {
    return [...(this.#items.get(key) ?? [])];
  }
}

/** A denial event as the host emitted it (its text escaped already). */
export type DenialEvent = Extract<HostEvent, { type: "denied" }> & { readonly time: string };

/** The last denial events per plugin, fed by `host.on("event", ring.listener)`. */
export class DenialRing {
  readonly #ring = new KeyedRing<DenialEvent>(DEFAULT_CONSOLE.denialsPerPlugin);
  /** Pass to host.on("event"). */
  readonly listener = (e: HostEvent): void => {
    if (e.type === "denied") this.#ring.push(e.plugin, { ...e, time: new Date().toISOString() });
  };

  /** Plugin `id`'s recent denials, oldest first. */
  recent(id: string): DenialEvent[] {
    return this.#ring.get(id);
  }
}

/** One log line of a plugin, as kept by the ring. */
export type PluginLogLine = { readonly time: string; readonly level: string; readonly msg: string };

const LEVELS: Readonly<Record<number, string>> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/**
 * The last log lines per plugin: a pino destination (give it to pino.multistream beside stderr)
 * that keeps the lines whose `plugin` binding is a plugin's id (its own console output and what
 * the host logs about it). Messages are escaped again (escaping is idempotent) and cut.
 */
export class PluginLogRing {
  readonly #ring = new KeyedRing<PluginLogLine>(DEFAULT_CONSOLE.logLinesPerPlugin);

  /** pino calls this with each serialised line. */
  write(line: string): void {
    let o: { plugin?: unknown; level?: unknown; time?: unknown; msg?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      return;
    }
    if (typeof o.plugin !== "string" || o.plugin.length > 200) return;
    const msg = escapeText(typeof o.msg === "string" ? o.msg : "");
    const max = DEFAULT_CONSOLE.logLineChars;
    this.#ring.push(o.plugin, {
      time: typeof o.time === "number" ? new Date(o.time).toISOString() : new Date().toISOString(),
      level: typeof o.level === "number" ? (LEVELS[o.level] ?? String(o.level)) : "info",
      msg: msg.length > max ? `${msg.slice(0, max)}…` : msg,
    });
  }

  /** Plugin `id`'s recent log lines, oldest first. */
  lines(id: string): PluginLogLine[] {
    return this.#ring.get(id);
  }
}
