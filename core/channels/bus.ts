// The host's message bus. Senders are stamped by the bus from who called it (a plugin's id bound
// when its sandbox was started, or "host"), never from the message. Each subscription has its own
// bounded queue (drop-oldest, counting what it dropped) and is delivered one message at a time,
// so a slow or stuck subscriber cannot grow host memory or hold up publishers.
import { BadInputError } from "../errors.ts";
import { quote } from "../escape-text.ts";
import { patternProblem, topicMatches, topicProblem, type ChannelMessage } from "../../capabilities/index.ts";

/** The sender id of messages the host application publishes. Plugin ids always have a dot. */
export const HOST_SENDER = "host";

/** Default length of each subscription's queue. */
export const DEFAULT_QUEUE_LENGTH = 256;

/** Delivers one message to a subscriber; the bus waits for it before sending the next. */
export type Deliver = (message: ChannelMessage) => Promise<void>;

/** A live subscription. */
export type Subscription = {
  readonly owner: string;
  readonly pattern: string;
  /** Messages dropped so far because the queue was full. */
  readonly dropped: number;
  unsubscribe(): void;
  /** Start receiving (a subscription made paused receives nothing until then). */
  resume(): void;
};

type Sub = {
  owner: string;
  pattern: string;
  deliver: Deliver;
  queue: ChannelMessage[];
  droppedTotal: number;
  droppedSinceLast: number;
  pumping: boolean;
  active: boolean;
  paused: boolean;
};

/** Options of a bus. */
export type ChannelBusOptions = {
  readonly queueLength?: number;
  readonly messageBytes?: number;
  /** Called when a delivery fails (a throwing handler); the bus goes on. */
  readonly onDeliveryError?: (owner: string, topic: string, error: unknown) => void;
};

/** A message bus shared by a host's plugins and the host application. */
export class ChannelBus {
  readonly #subs = new Set<Sub>();
  readonly #queueLength: number;
  readonly #messageBytes: number;
  readonly #onDeliveryError: ChannelBusOptions["onDeliveryError"];

  constructor(o: ChannelBusOptions = {}) {
    this.#queueLength = o.queueLength ?? DEFAULT_QUEUE_LENGTH;
    this.#messageBytes = o.messageBytes ?? 64 * 1024;
    this.#onDeliveryError = o.onDeliveryError;
  }

  /** Publish as the host application. Returns how many subscriptions it was queued for. */
  publish(topic: string, data: unknown): number {
    const problem = topicProblem(topic);
    if (problem) throw new BadInputError(`channels: ${quote(topic)}: ${problem}`);
    const json = JSON.stringify(data ?? null);
    if (json === undefined || Buffer.byteLength(json) > this.#messageBytes) {
      throw new BadInputError(`channels: the message to ${quote(topic)} is not JSON or is larger than ${this.#messageBytes} bytes`);
    }
    return this.publishAs(HOST_SENDER, topic, JSON.parse(json));
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
    let queued = 0;
    for (const sub of this.#subs) {
      if (!sub.active || sub.paused || !topicMatches(sub.pattern, topic)) continue;
      if (sub.queue.length >= this.#queueLength) {
        sub.queue.shift();
        sub.droppedTotal++;
        sub.droppedSinceLast++;
      }
      sub.queue.push({ topic, data, from, dropped: 0 });
      queued++;
      void this.#pump(sub);
    }
    return queued;
  }

  /**
   * Subscribe on behalf of `owner` (core only: a plugin's id, or "host"). A paused subscription
   * receives nothing, not even later, until resumed (a version being staged for a reload).
   */
  subscribeAs(owner: string, pattern: string, deliver: Deliver, opts: { readonly paused?: boolean } = {}): Subscription {
    const sub: Sub = { owner, pattern, deliver, queue: [], droppedTotal: 0, droppedSinceLast: 0, pumping: false, active: true, paused: opts.paused ?? false };
    this.#subs.add(sub);
    return {
      owner,
      pattern,
      get dropped() {
        return sub.droppedTotal;
      },
      unsubscribe: () => {
        sub.active = false;
        sub.queue.length = 0;
        this.#subs.delete(sub);
      },
      resume: () => {
        sub.paused = false;
      },
    };
  }

  /** Remove every subscription of `owner` (a plugin that was unloaded or whose sandbox was rebuilt). */
  unsubscribeOwner(owner: string): number {
    let n = 0;
    for (const sub of [...this.#subs]) {
      if (sub.owner !== owner) continue;
      sub.active = false;
      sub.queue.length = 0;
      this.#subs.delete(sub);
      n++;
    }
    return n;
  }

  /** Number of live subscriptions (all owners). */
  get size(): number {
    return this.#subs.size;
  }

  async #pump(sub: Sub): Promise<void> {
    if (sub.pumping) return;
    sub.pumping = true;
    try {
      while (sub.active && sub.queue.length > 0) {
        const next = sub.queue.shift() as ChannelMessage;
        const message = { ...next, dropped: sub.droppedSinceLast };
        sub.droppedSinceLast = 0;
        try {
          await sub.deliver(message);
        } catch (e) {
          this.#onDeliveryError?.(sub.owner, message.topic, e);
        }
      }
    } finally {
      sub.pumping = false;
    }
  }
}

/** Create a message bus for a host application and its plugins. */
export function createChannelBus(options?: ChannelBusOptions): ChannelBus {
  return new ChannelBus(options);
}
