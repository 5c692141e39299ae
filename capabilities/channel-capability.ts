// channels: publish and subscribe, granted separately. The check is here; the bus is the host's
// (ChannelPort), and the bus stamps the sender's id itself, so nothing a plugin passes can name
// another sender.
import { BadInputError, quote } from "../errors/index.ts";
import { stringArg } from "./arguments.ts";
import { cachedDecision } from "./decision-cache.ts";
import { permissionDenied } from "./denial.ts";
import { overLong, refuseOverLong } from "./value-bounds.ts";
import type { GrantList, Grants } from "./grants.ts";
import { OperationError } from "./operation-error.ts";
import type { AuditSink, ChannelPort } from "./ports.ts";
import { patternCovers, patternProblem, topicMatches, topicProblem } from "./topic-rules.ts";

/** The direction of a channel grant. */
export type ChannelDirection = "publish" | "subscribe";

function listFor(grants: Grants, dir: ChannelDirection): GrantList | undefined {
  const c = grants.channels;
  if (c === undefined) return undefined;
  if (c === true) return true;
  return c[dir];
}

/** The grant covering `topicOrPattern` in `dir`, or null. Publishing needs a concrete topic. */
export function matchChannel(grants: Grants, dir: ChannelDirection, topicOrPattern: string): { rule: string; source: string } | null {
  const list = listFor(grants, dir);
  if (list === undefined) return null;
  if (list === true) return { rule: "true", source: grants.channels === true ? "permissions.channels" : `permissions.channels.${dir}` };
  for (let i = 0; i < list.length; i++) {
    const g = list[i] ?? "";
    const ok = dir === "publish" ? topicMatches(g, topicOrPattern) : patternCovers(g, topicOrPattern);
    if (ok) return { rule: g, source: `permissions.channels.${dir}[${i}]` };
  }
  return null;
}

/** The channel capability of one plugin. */
export type ChannelCapability = {
  publish(topic: unknown, data: unknown): Promise<{ delivered: number }>;
  subscribe(pattern: unknown, subscriptionId: unknown): Promise<null>;
  unsubscribe(subscriptionId: unknown): Promise<null>;
  query(topic: unknown, direction: unknown): { state: "granted" | "denied"; rule?: string; source?: string };
};

/** Build the channel capability. */
export function createChannelCapability(o: { pluginId: string; grants: Grants; channels: ChannelPort; audit: AuditSink; messageBytes: number }): ChannelCapability {
  const decide = {
    publish: cachedDecision((topic) => matchChannel(o.grants, "publish", topic)),
    subscribe: cachedDecision((pattern) => matchChannel(o.grants, "subscribe", pattern)),
  };
  function deny(api: string, dir: ChannelDirection, value: string): never {
    const reason = `no rule in permissions.channels.${dir} covers ${value}`;
    o.audit.record({ type: "deny", op: api, permission: `channels.${dir}`, value, decision: "denied", reason });
    throw permissionDenied({ pluginId: o.pluginId, api, permission: `channels.${dir}`, value, reason, field: `permissions.channels.${dir}` });
  }
  function subId(api: string, v: unknown): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) throw new BadInputError(`${api}: invalid subscription id`, { pluginId: o.pluginId });
    return v;
  }
  return {
    async publish(t, data) {
      const api = "Warden.channels.publish()";
      refuseOverLong(t, { pluginId: o.pluginId, api, permission: "channels.publish", field: "permissions.channels.publish", what: "the topic", kind: "topicChars", audit: o.audit });
      const topic = stringArg(api, "the topic", t, o.pluginId);
      const problem = topicProblem(topic);
      if (problem) throw new BadInputError(`${api}: ${quote(topic)}: ${problem}`, { pluginId: o.pluginId, permission: "channels.publish" });
      const ref = decide.publish(topic);
      if (ref === null) return deny(api, "publish", topic);
      const size = Buffer.byteLength(JSON.stringify(data ?? null));
      if (size > o.messageBytes) throw new OperationError("TooLarge", `${api}: the message to ${quote(topic)} is ${size} bytes, more than limits.messageBytes (${o.messageBytes})`);
      o.audit.record({ type: "use", op: api, permission: "channels.publish", value: topic, decision: "granted", rule: ref.rule, source: ref.source });
      return o.channels.publish(topic, data ?? null);
    },
    async subscribe(p, id) {
      const api = "Warden.channels.subscribe()";
      refuseOverLong(p, { pluginId: o.pluginId, api, permission: "channels.subscribe", field: "permissions.channels.subscribe", what: "the topic pattern", kind: "topicChars", audit: o.audit });
      const pattern = stringArg(api, "the topic pattern", p, o.pluginId);
      const problem = patternProblem(pattern);
      if (problem) throw new BadInputError(`${api}: ${quote(pattern)}: ${problem}`, { pluginId: o.pluginId, permission: "channels.subscribe" });
      const ref = decide.subscribe(pattern);
      if (ref === null) return deny(api, "subscribe", pattern);
      o.audit.record({ type: "use", op: api, permission: "channels.subscribe", value: pattern, decision: "granted", rule: ref.rule, source: ref.source });
      await o.channels.subscribe(subId(api, id), pattern);
      return null;
    },
    async unsubscribe(id) {
      await o.channels.unsubscribe(subId("unsubscribe()", id));
      return null;
    },
    query(t, direction) {
      const api = "Warden.permissions.query()";
      if (direction !== "publish" && direction !== "subscribe") {
        throw new BadInputError(`${api}: a channels descriptor needs direction "publish" or "subscribe"`, { pluginId: o.pluginId, permission: "channels" });
      }
      if (t === undefined) {
        const list = listFor(o.grants, direction);
        return list === true ? { state: "granted", rule: "true", source: o.grants.channels === true ? "permissions.channels" : `permissions.channels.${direction}` } : { state: "denied" };
      }
      if (overLong(t, "topicChars")) return { state: "denied" };
      const topic = stringArg(api, "topic", t, o.pluginId);
      const problem = direction === "publish" ? topicProblem(topic) : patternProblem(topic);
      if (problem) throw new BadInputError(`${api}: ${quote(topic)}: ${problem}`, { pluginId: o.pluginId, permission: "channels" });
      const ref = decide[direction](topic);
      return ref ? { state: "granted", ...ref } : { state: "denied" };
    },
  };
}
