// The host's message bus. Senders are stamped by the bus from who called it (a plugin's id bound
// when its sandbox was started, or "host"), never from the message. Each subscription has its own
// bounded queue (drop-oldest, counting what it dropped) and is delivered one message at a time,
// so a slow or stuck subscriber cannot grow host memory or hold up publishers. Queues are bounded
// in messages and in bytes (a count alone lets 256 messages of 16 MiB wait), per subscription and
// per subscriber across all its subscriptions (one plugin subscribing a thousand times to a topic
// it never answers crowds out only itself). So the bus holds at most, in queued JSON bytes,
// ownerQueueBytes × (subscribing plugins + the host), plus the one message each subscription is
// delivering. A plugin is sent at most deliveriesInFlight messages at once across its
// subscriptions, taking turns: a publish reaching its 500 subscriptions queues 500 messages (cheap)
// but sends 16, so a handler publishing back to its own topic, which the publish rate bounds in
// publishes, is bounded in the host's work too.
import { BadInputError, BusyError, quote } from "../../errors/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { patternProblem, topicMatches, topicProblem, type ChannelMessage } from "../../capabilities/index.ts";

/** The sender id of messages the host application publishes. Plugin ids always have a dot. */
export const HOST_SENDER = "host";

/** Default length of each subscription's queue (DEFAULTS.channels.queueLength). */
export const DEFAULT_QUEUE_LENGTH = DEFAULTS.channels.queueLength;

/** Default bytes (of JSON) each subscription's queue may hold: four of the largest messages (DEFAULTS.channels.queueBytes). */
export const DEFAULT_QUEUE_BYTES = DEFAULTS.channels.queueBytes;

/** Default bytes the queues of one subscriber (a plugin id, or the host) may hold together (DEFAULTS.channels.ownerQueueBytes). */
export const DEFAULT_OWNER_QUEUE_BYTES = DEFAULTS.channels.ownerQueueBytes;

/**
 * Most live subscriptions one plugin id may hold (a version being staged for a reload counts too):
 * every publish walks the subscriptions on the host's thread, so their number is a cost every
 * publisher pays. The host application (HOST_SENDER) is not limited.
 */
export const MAX_SUBSCRIPTIONS_PER_OWNER = 512;

/** Delivers one message to a subscriber; the bus waits for it before sending the next. */
export type Deliver = (message: ChannelMessage) => Promise<void>;

/** A live subscription. */
export type Subscription = {
  readonly owner: string;
  readonly pattern: string;
  /** Messages dropped so far because the queue was full. */
  readonly dropped: number;
  /** Messages queued or being delivered now. */
  readonly pending: number;
  unsubscribe(): void;
  /** Start receiving (a subscription made paused receives nothing until then). */
  resume(): void;
  /**
   * Receive nothing more, deliver what is already queued, then unsubscribe (a version being
   * replaced: a message it was sent before the switch is answered by it, not lost).
   */
  drain(): void;
};

/** Default messages one plugin is sent at once across its subscriptions (DEFAULTS.channels.deliveriesInFlight). */
export const DEFAULT_DELIVERIES_IN_FLIGHT = DEFAULTS.channels.deliveriesInFlight;

/** A queued message with its size, measured once when it was published. */
type Queued = { readonly message: ChannelMessage; readonly bytes: number };

type Sub = {
  owner: string;
  pattern: string;
  deliver: Deliver;
  queue: Queued[];
  /** JSON bytes of the messages in `queue`. */
  bytes: number;
  droppedTotal: number;
  droppedSinceLast: number;
  pumping: boolean;
  active: boolean;
  paused: boolean;
  /** Unsubscribe once the queue is empty. */
  draining: boolean;
};

/** Options of a bus. */
export type ChannelBusOptions = {
  /** Messages each subscription's queue holds (default 256). */
  readonly queueLength?: number;
  /** JSON bytes each subscription's queue holds (default 4 MiB; a larger message still fits alone). */
  readonly queueBytes?: number;
  /** JSON bytes all the queues of one subscriber hold together (default 16 MiB). */
  readonly ownerQueueBytes?: number;
  readonly messageBytes?: number;
  /** Messages one plugin subscriber is sent at once across its subscriptions (default 16; the host's handlers are not limited). */
  readonly deliveriesInFlight?: number;
  /** Called when a delivery fails (a throwing handler); the bus goes on. */
  readonly onDeliveryError?: (owner: string, topic: string, error: unknown) => void;
};

/** A message bus shared by a host's plugins and the host application. */
export class ChannelBus {
  readonly #subs = new Set<Sub>();
  readonly #ownerSubs = new Map<string, number>();
  readonly #queueLength: number;
  readonly #queueBytes: number;
  readonly #ownerQueueBytes: number;
  readonly #ownerBytes = new Map<string, number>();
  #queuedBytes = 0;
  readonly #messageBytes: number;
  readonly #onDeliveryError: ChannelBusOptions["onDeliveryError"];
  readonly #deliveriesInFlight: number;
  // Per plugin subscriber: messages being delivered now, and the subscriptions waiting for a turn.
  readonly #turns = new Map<string, { inFlight: number; waiting: Array<() => void> }>();

  constructor(o: ChannelBusOptions = {}) {
    this.#queueLength = o.queueLength ?? DEFAULT_QUEUE_LENGTH;
    this.#queueBytes = o.queueBytes ?? DEFAULT_QUEUE_BYTES;
    this.#ownerQueueBytes = o.ownerQueueBytes ?? DEFAULT_OWNER_QUEUE_BYTES;
    this.#messageBytes = o.messageBytes ?? 64 * 1024;
    this.#onDeliveryError = o.onDeliveryError;
    this.#deliveriesInFlight = o.deliveriesInFlight ?? DEFAULT_DELIVERIES_IN_FLIGHT;
  }

  /** Publish as the host application. Returns how many subscriptions it was queued for. */
  publish(topic: string, data: unknown): number {
    const problem = topicProblem(topic);
    if (problem) throw new BadInputError(`channels: ${quote(topic)}: ${problem}`);
    const json = JSON.stringify(data ?? null);
    const bytes = json === undefined ? 0 : Buffer.byteLength(json);
    if (json === undefined || bytes > this.#messageBytes) {
      throw new BadInputError(`channels: the message to ${quote(topic)} is not JSON or is larger than ${this.#messageBytes} bytes`);
    }
    return this.#publish(HOST_SENDER, topic, JSON.parse(json), bytes);
  }

  /** Subscribe as the host application; `handler` errors are reported, never thrown into the bus. */
  subscribe(pattern: string, handler: (message: ChannelMessage) => unknown): Subscription {
    const problem = patternProblem(pattern);
    if (problem) throw new BadInputError(`channels: ${quote(pattern)}: ${problem}`);
    return this.subscribeAs(HOST_SENDER, pattern, async (m) => {
      await handler(m);
    });
  }

  /** Publish with `from` stamped by the caller that owns the identity (core only; data already checked). */
  publishAs(from: string, topic: string, data: unknown): number {
    return this.#publish(from, topic, data, undefined);
  }

  #publish(from: string, topic: string, data: unknown, size: number | undefined): number {
    let queued = 0;
    let bytes = size;
    for (const sub of this.#subs) {
      if (!sub.active || sub.paused || !topicMatches(sub.pattern, topic)) continue;
      // Measured once for every subscriber, and only if there is one.
      bytes ??= Buffer.byteLength(JSON.stringify(data ?? null));
      if (this.#enqueue(sub, { message: { topic, data, from, dropped: 0 }, bytes })) queued++;
      void this.#pump(sub);
    }
    return queued;
  }

  /** Queue `q` for `sub`, dropping its oldest messages to stay within every bound; false if `q` itself was dropped. */
  #enqueue(sub: Sub, q: Queued): boolean {
    while (sub.queue.length > 0 && (sub.queue.length >= this.#queueLength || sub.bytes + q.bytes > this.#queueBytes)) this.#dropOldest(sub);
    // The subscriber's share across its subscriptions: its other queues keep what they hold.
    while (sub.queue.length > 0 && this.queuedBytesOf(sub.owner) + q.bytes > this.#ownerQueueBytes) this.#dropOldest(sub);
    if (this.queuedBytesOf(sub.owner) + q.bytes > this.#ownerQueueBytes) {
      sub.droppedTotal++;
      sub.droppedSinceLast++;
      return false;
    }
    sub.queue.push(q);
    this.#account(sub, q.bytes);
    return true;
  }

  #dropOldest(sub: Sub): void {
    this.#take(sub);
    sub.droppedTotal++;
    sub.droppedSinceLast++;
  }

  /** Remove and return the oldest message of `sub`'s queue, releasing its bytes. */
  #take(sub: Sub): ChannelMessage | undefined {
    const q = sub.queue.shift();
    if (q !== undefined) this.#account(sub, -q.bytes);
    return q?.message;
  }

  #clear(sub: Sub): void {
    this.#account(sub, -sub.bytes);
    sub.queue.length = 0;
  }

  #account(sub: Sub, delta: number): void {
    sub.bytes += delta;
    this.#queuedBytes += delta;
    const owned = (this.#ownerBytes.get(sub.owner) ?? 0) + delta;
    if (owned > 0) this.#ownerBytes.set(sub.owner, owned);
    else this.#ownerBytes.delete(sub.owner);
  }

  /** JSON bytes waiting in all subscription queues now (messages being delivered excluded). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** JSON bytes waiting in the queues of `owner`'s subscriptions now. */
  queuedBytesOf(owner: string): number {
    return this.#ownerBytes.get(owner) ?? 0;
  }

  /**
   * Subscribe on behalf of `owner` (core only: a plugin's id, or "host"). A paused subscription
   * receives nothing, not even later, until resumed (a version being staged for a reload).
   */
  subscribeAs(owner: string, pattern: string, deliver: Deliver, opts: { readonly paused?: boolean } = {}): Subscription {
    const held = this.#ownerSubs.get(owner) ?? 0;
    if (owner !== HOST_SENDER && held >= MAX_SUBSCRIPTIONS_PER_OWNER) {
      throw new BusyError(
        `channels: plugin ${owner} already holds ${held} subscriptions, the most one plugin may hold (${MAX_SUBSCRIPTIONS_PER_OWNER}); unsubscribe some, or subscribe once with a pattern ("chat.*")`,
        { pluginId: owner },
      );
    }
    const sub: Sub = { owner, pattern, deliver, queue: [], bytes: 0, droppedTotal: 0, droppedSinceLast: 0, pumping: false, active: true, paused: opts.paused ?? false, draining: false };
    this.#subs.add(sub);
    this.#ownerSubs.set(owner, held + 1);
    return {
      owner,
      pattern,
      get dropped() {
        return sub.droppedTotal;
      },
      get pending() {
        return sub.active ? sub.queue.length + (sub.pumping ? 1 : 0) : 0;
      },
      unsubscribe: () => {
        sub.active = false;
        this.#clear(sub);
        this.#remove(sub);
      },
      resume: () => {
        sub.paused = false;
      },
      drain: () => {
        sub.paused = true;
        sub.draining = true;
        if (!sub.pumping && sub.queue.length === 0) {
          sub.active = false;
          this.#remove(sub);
        }
      },
    };
  }

  #remove(sub: Sub): void {
    if (!this.#subs.delete(sub)) return;
    const left = (this.#ownerSubs.get(sub.owner) ?? 1) - 1;
    if (left > 0) this.#ownerSubs.set(sub.owner, left);
    else this.#ownerSubs.delete(sub.owner);
  }

  /** Live subscriptions of `owner`. */
  subscriptionsOf(owner: string): number {
    return this.#ownerSubs.get(owner) ?? 0;
  }

  /** Remove every subscription of `owner` (a plugin that was unloaded or whose sandbox was rebuilt). */
  unsubscribeOwner(owner: string): number {
    let n = 0;
    for (const sub of [...this.#subs]) {
      if (sub.owner !== owner) continue;
      sub.active = false;
      this.#clear(sub);
      this.#remove(sub);
      n++;
    }
    return n;
  }

  /** Number of live subscriptions (all owners). */
  get size(): number {
    return this.#subs.size;
  }

  /** `owner`'s turn to be sent a message now (the host's handlers always have one), or null when a plugin has deliveriesInFlight already; call the result when done. */
  #turnNow(owner: string): (() => void) | null {
    if (owner === HOST_SENDER) return () => undefined;
    let turns = this.#turns.get(owner);
    if (turns === undefined) this.#turns.set(owner, (turns = { inFlight: 0, waiting: [] }));
    if (turns.inFlight >= this.#deliveriesInFlight) return null;
    turns.inFlight++;
    return this.#endTurn(owner, turns);
  }

  /** Wait for `owner`'s turn (handed over by a delivery that ends, in arrival order: subscriptions take turns). */
  async #nextTurn(owner: string): Promise<() => void> {
    const turns = this.#turns.get(owner) as { inFlight: number; waiting: Array<() => void> };
    await new Promise<void>((go) => turns.waiting.push(go));
    return this.#endTurn(owner, turns);
  }

  #endTurn(owner: string, turns: { inFlight: number; waiting: Array<() => void> }): () => void {
    return () => {
      const next = turns.waiting.shift();
      if (next !== undefined) next();
      else if (--turns.inFlight === 0) this.#turns.delete(owner);
    };
  }

  async #pump(sub: Sub): Promise<void> {
    if (sub.pumping) return;
    sub.pumping = true;
    try {
      while (sub.active && sub.queue.length > 0) {
        // Taken at once when the plugin has a turn free (a message published now is in flight now, as without turns).
        const done = this.#turnNow(sub.owner) ?? (await this.#nextTurn(sub.owner));
        try {
          // What queued while waiting for the turn is taken now (a subscription given up meanwhile sends nothing).
          if (!sub.active || sub.queue.length === 0) continue;
          const next = this.#take(sub) as ChannelMessage;
          const message = { ...next, dropped: sub.droppedSinceLast };
          sub.droppedSinceLast = 0;
          try {
            await sub.deliver(message);
          } catch (e) {
            this.#onDeliveryError?.(sub.owner, message.topic, e);
          }
        } finally {
          done();
        }
      }
    } finally {
      sub.pumping = false;
      if (sub.draining && sub.active && sub.queue.length === 0) {
        sub.active = false;
        this.#remove(sub);
      }
    }
  }
}

/** Create a message bus for a host application and its plugins. */
export function createChannelBus(options?: ChannelBusOptions): ChannelBus {
  return new ChannelBus(options);
}
