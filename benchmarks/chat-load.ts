// A chat host under load (`--only chat-load`): a real host (createHost over a plugins directory)
// runs 30 bot plugins; each subscribes in onLoad to `chat.in` and answers every message on its own
// topic `chat.out.<bot>` with the message's id. The host publishes 100 messages/s on `chat.in`
// (3,000 deliveries/s, each handler publishing a reply) while one plugin floods the bus and one
// plugin crashes itself. Measured: whether every (message, bot) reply arrives exactly once, the
// latency from the host's publish to the host receiving the reply (p50, p99), and the deliveries/s
// achieved. Each isolation mode runs in a fresh process (`compare-worker <mode> chat-load`).
//
// The flood: `chat.flooder` publishes 1 KB messages on `flood.noise` as fast as it is let, 64
// publishes in flight at a time, in calls of 1 s the host keeps making (its manifest's default
// limits: 1 s of CPU per call, 10 s of CPU a minute; a call refused for its budget is retried after
// 100 ms). The host subscribes to flood.noise (a logger reading it); the bots do not: on a topic
// they read, each bot's bounded drop-oldest queue (core/channels/bus.ts, 256 messages) would drop
// the host's messages by design, and the figure would measure that policy, not the runtime.
// The crash: `chat.crasher` is a 31st bot (its replies reported apart) whose handler allocates
// without end at the first message it gets numbered from messages/3 on (within 50 of it: a backlog
// may have dropped that very message; again if it is restarted in time), under memoryMb 16
// (WARDEN_BENCH_CRASH=cpu: an endless loop under cpuMs 100 instead; none: no crash). Diagnostic
// switches: WARDEN_BENCH_FLOOD=0 (no flood), WARDEN_BENCH_CHAT_SECONDS (length of the run).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createHost, type HostEvent } from "../core/host/host.ts";
import type { Subscription } from "../core/channels/bus.ts";
import { createDefaultLogger } from "../core/logger.ts";
import { runCell } from "./compare.ts";
import { progress, summarize, type Row } from "./lib/measure.ts";

/** What one run in one isolation mode measured. */
export type ChatLoadCell = {
  mode: string;
  bots: number;
  messages: number;
  /** Messages the host published (fewer than `messages` if it fell more than 3× behind). */
  published: number;
  /** Messages/s the host achieved publishing (the target is 100). */
  publishedPerSec: number;
  /** Bot replies expected (messages × bots), received once, never, and more than once (extra copies). */
  expected: number;
  exactlyOnce: number;
  missing: number;
  duplicates: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of the replies to messages published more than 1 s before the crash or 3 s after it. */
  p99AwayFromCrash: number;
  /** Bot replies received per second, from the first publish to the last reply. */
  deliveriesPerSec: number;
  crasher: { replies: number; state: string; reason: string | null };
  /** The flood: messages published, per second, received and dropped by the host's subscription to it, flood calls refused. */
  flood: { published: number; perSec: number; received: number; dropped: number; refusedCalls: number };
  /** Replies the host's own subscriptions dropped (a benchmark artefact if not 0). */
  hostDropped: number;
  events: Record<string, number>;
  engines: number;
  loadMs: number;
};

/** Bots in a full run; a quick run (the CI smoke test) has 10, so that dedicated mode starts 12 engines, not 32. */
const FULL_BOTS = 30;
const QUICK_BOTS = 10;
const RATE = 100;

function pct(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
}

function writePlugin(pluginsDir: string, name: string, manifest: object, source: string): void {
  const dir = join(pluginsDir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "plugin.json"), JSON.stringify({ name, version: "1.0.0", ...manifest }));
  writeFileSync(join(dir, "index.js"), source);
}

function writePlugins(pluginsDir: string, bots: number, crashAt: number, crashKind: string): void {
  for (let b = 0; b < bots; b++) {
    const bot = `bot${String(b).padStart(2, "0")}`;
    writePlugin(
      pluginsDir,
      bot,
      { id: `chat.${bot}`, permissions: { channels: { subscribe: ["chat.in"], publish: [`chat.out.${bot}`] } } },
      `export async function onLoad() {\n  await Warden.channels.subscribe("chat.in", (m) => Warden.channels.publish("chat.out.${bot}", { id: m.data.id }));\n}\n`,
    );
  }
  const bomb = crashKind === "cpu" ? "for (;;) {}" : crashKind === "none" ? "" : 'const a = []; for (;;) a.push({ x: a.length, y: "payload" + a.length });';
  writePlugin(
    pluginsDir,
    "crasher",
    { id: "chat.crasher", permissions: { channels: { subscribe: ["chat.in"], publish: ["chat.out.crasher"] } }, limits: crashKind === "cpu" ? { cpuMs: 100 } : { memoryMb: 16 } },
    `export async function onLoad() {\n  await Warden.channels.subscribe("chat.in", (m) => {\n    if (m.data.id >= ${crashAt} && m.data.id < ${crashAt + 50}) { ${bomb} }\n    return Warden.channels.publish("chat.out.crasher", { id: m.data.id });\n  });\n}\n`,
  );
  writePlugin(
    pluginsDir,
    "flooder",
    { id: "chat.flooder", permissions: { channels: { publish: ["flood.noise"] } } },
    `const pad = "x".repeat(1000);
let n = 0;
export async function flood(input) {
  const end = Date.now() + input.ms;
  let ok = 0;
  while (Date.now() < end) {
    const batch = [];
    for (let i = 0; i < 64; i++) batch.push(Warden.channels.publish("flood.noise", { n: n++, pad }));
    for (const r of await Promise.allSettled(batch)) if (r.status === "fulfilled") ok++;
  }
  return ok;
}
`,
  );
}

/** Run the chat load in this process, in one isolation mode. */
export async function chatLoadCell(mode: string, quick: boolean): Promise<ChatLoadCell> {
  if (mode !== "engine" && mode !== "dedicated" && mode !== "in-process") throw new Error(`chat-load runs in engine, dedicated or in-process isolation, not ${mode}`);
  const seconds = Number(process.env["WARDEN_BENCH_CHAT_SECONDS"] ?? (quick ? 2 : 10));
  const BOTS = quick ? QUICK_BOTS : FULL_BOTS;
  const messages = Math.round(seconds * RATE);
  const crashAt = Math.floor(messages / 3);
  const pluginsDir = mkdtempSync(join(tmpdir(), "warden-chat-"));
  writePlugins(pluginsDir, BOTS, crashAt, process.env["WARDEN_BENCH_CRASH"] ?? "memory");
  const events: Record<string, number> = {};
  const host = await createHost({ pluginsDir, logger: createDefaultLogger("silent"), isolation: mode, healthIntervalMs: 0 });
  host.on("event", (e: HostEvent) => {
    if (e.type === "invoke") return;
    const key = `${e.type} ${e.plugin}`.replace(/chat\.bot\d\d/, "chat.bot*");
    events[key] = (events[key] ?? 0) + 1;
  });
  try {
    const tl = performance.now();
    const status = await host.loadAll();
    const loadMs = performance.now() - tl;
    const notActive = status.filter((s) => s.state !== "active");
    if (notActive.length > 0) throw new Error(`plugins failed to load: ${notActive.map((s) => `${s.id}: ${s.reason}`).join("; ")}`);

    // Replies: per bot, a count per message id, and the latency of each first copy.
    const sentAt = new Float64Array(messages);
    const counts = Array.from({ length: BOTS }, () => new Uint16Array(messages));
    const latencies = new Float64Array(messages * BOTS);
    const latencyOf = new Float64Array(messages * BOTS).fill(-1);
    let nLat = 0;
    let received = 0;
    let lastReplyAt = 0;
    let crasherReplies = 0;
    const subs: Subscription[] = [];
    for (let b = 0; b < BOTS; b++) {
      const bot = `bot${String(b).padStart(2, "0")}`;
      subs.push(
        host.bus.subscribe(`chat.out.${bot}`, (m) => {
          const id = (m.data as { id: number }).id;
          if (id < 0) return; // warm-up
          const now = performance.now();
          const c = counts[b] as Uint16Array;
          const seen = c[id] ?? 0;
          c[id] = seen + 1;
          if (seen === 0) {
            const ms = now - (sentAt[id] as number);
            latencies[nLat++] = ms;
            latencyOf[id * BOTS + b] = ms;
            received++;
            lastReplyAt = now;
          }
        }),
      );
    }
    subs.push(host.bus.subscribe("chat.out.crasher", (m) => void ((m.data as { id: number }).id >= 0 && crasherReplies++)));
    let floodReceived = 0;
    subs.push(host.bus.subscribe("flood.noise", () => void floodReceived++));

    // Warm-up: 20 messages at the same rate, not counted.
    for (let i = 1; i <= 20; i++) {
      host.bus.publish("chat.in", { id: -i });
      await sleep(1000 / RATE);
    }
    await sleep(500);

    // The flood, for as long as the host publishes.
    let publishing = process.env["WARDEN_BENCH_FLOOD"] !== "0";
    let floodPublished = 0;
    let refusedCalls = 0;
    const flood = (async () => {
      while (publishing) {
        try {
          floodPublished += (await host.invoke("chat.flooder", "flood", { ms: 1000 })) as number;
        } catch {
          refusedCalls++;
          await sleep(100);
        }
      }
    })();

    progress(`chat-load ${mode}: ${messages} messages to ${BOTS} bots (+ crasher at #${crashAt}, + flooder)`);
    const t0 = performance.now();
    // A host that falls behind publishes late; past 3× the planned time it stops (the rest unsent).
    let published = 0;
    for (let i = 0; i < messages; i++) {
      if (performance.now() - t0 > seconds * 3000) break;
      published++;
      const wait = t0 + (i * 1000) / RATE - performance.now();
      if (wait >= 1) await sleep(wait);
      sentAt[i] = performance.now();
      host.bus.publish("chat.in", { id: i });
    }
    const publishMs = performance.now() - t0;
    publishing = false;
    const floodEnd = performance.now();
    const expected = published * BOTS;
    const deadline = performance.now() + (quick ? 2000 : 10_000);
    while (received < expected && performance.now() < deadline) await sleep(20);
    await flood;
    const floodMs = performance.now() - t0;
    void floodEnd;
    // Late duplicates, if any, have a moment to show up.
    await sleep(300);

    let exactlyOnce = 0;
    let missing = 0;
    let duplicates = 0;
    for (const c of counts) {
      for (const n of c.subarray(0, published)) {
        if (n === 0) missing++;
        else {
          exactlyOnce += n === 1 ? 1 : 0;
          duplicates += n - 1;
        }
      }
    }
    const sorted = latencies.slice(0, nLat).sort();
    // WARDEN_BENCH_TRACE=<file>: per message, when it was published (ms from the start) and its
    // slowest reply (ms; -1 if one never came), one line each: where in the run the tail is.
    const trace = process.env["WARDEN_BENCH_TRACE"];
    if (trace !== undefined && trace !== "") {
      const lines: string[] = [];
      for (let i = 0; i < published; i++) {
        let worst = 0;
        let missing = false;
        for (let b = 0; b < BOTS; b++) {
          const ms = latencyOf[i * BOTS + b] as number;
          if (ms < 0) missing = true;
          else worst = Math.max(worst, ms);
        }
        lines.push(`${((sentAt[i] as number) - t0).toFixed(0)} ${missing ? "-1" : worst.toFixed(1)}`);
      }
      writeFileSync(trace, `${lines.join("\n")}\n`);
    }
    const crashMs = sentAt[crashAt] as number;
    const away: number[] = [];
    for (let id = 0; id < published; id++) {
      const s = sentAt[id] as number;
      if (s > crashMs - 1000 && s < crashMs + 3000) continue;
      for (let b = 0; b < BOTS; b++) {
        const l = latencyOf[id * BOTS + b] as number;
        if (l >= 0) away.push(l);
      }
    }
    const crasher = host.status().find((s) => s.id === "chat.crasher");
    const floodDropped = (subs[subs.length - 1] as Subscription).dropped;
    const hostDropped = subs.reduce((n, s) => n + s.dropped, 0) - floodDropped;
    for (const s of subs) s.unsubscribe();
    return {
      mode,
      bots: BOTS,
      messages,
      published,
      publishedPerSec: published / (publishMs / 1000),
      expected,
      exactlyOnce,
      missing,
      duplicates,
      p50: pct(sorted, 0.5),
      p99: pct(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
      p99AwayFromCrash: pct(Float64Array.from(away).sort(), 0.99),
      deliveriesPerSec: received / ((lastReplyAt - t0) / 1000),
      crasher: { replies: crasherReplies, state: crasher?.state ?? "unknown", reason: crasher?.reason ?? null },
      flood: { published: floodPublished, perSec: floodPublished / (floodMs / 1000), received: floodReceived, dropped: floodDropped, refusedCalls },
      hostDropped,
      events,
      engines: host.engines.length,
      loadMs,
    };
  } finally {
    await host.close();
    rmSync(pluginsDir, { recursive: true, force: true });
  }
}

const MODES: Record<string, string> = {
  engine: "warden (engine isolation, default)",
  dedicated: "warden (dedicated engine per plugin)",
  "in-process": "warden (in-process isolation)",
};

/** The chat-load scenario: each isolation mode in a fresh process. */
export async function chatLoad(o: { quick: boolean }): Promise<Row[]> {
  const cells: ChatLoadCell[] = [];
  // A quick run (CI's smoke test) leaves out dedicated isolation: an engine process per plugin
  // takes most of a minute to start on a shared machine.
  for (const mode of Object.keys(MODES).filter((m) => !o.quick || m !== "dedicated")) {
    progress(`chat-load: ${mode}`);
    cells.push(await runCell<ChatLoadCell>(mode, "chat-load", o.quick));
  }
  const scenario = `chat host: ${o.quick ? QUICK_BOTS : FULL_BOTS} bots × ${RATE} msg/s + flood + crash (${o.quick ? 2 : 10} s)`;
  const rows: Row[] = [];
  for (const c of cells) {
    const events = Object.entries(c.events)
      .filter(([k]) => !k.startsWith("load "))
      .map(([k, v]) => `${k}×${v}`)
      .join(", ");
    rows.push({
      scenario,
      variant: `${MODES[c.mode] ?? c.mode}: publish→reply p99`,
      unit: "ms",
      sample: summarize([c.p99]),
      note: [
        `p50 ${c.p50.toFixed(1)} ms, max ${c.max.toFixed(0)} ms, p99 away from the crash ${c.p99AwayFromCrash.toFixed(1)} ms`,
        `${c.exactlyOnce}/${c.expected} replies exactly once, ${c.missing} missing, ${c.duplicates} duplicates`,
        `${Math.round(c.deliveriesPerSec)} deliveries/s (${c.publishedPerSec.toFixed(0)} msg/s published${c.published < c.messages ? `, ${c.published} of ${c.messages} in 3× the planned time` : ""})`,
        `crasher: ${c.crasher.replies} replies, ${c.crasher.state}`,
        `flood: ${Math.round(c.flood.perSec)} msg/s, ${c.flood.refusedCalls} calls refused`,
        c.hostDropped > 0 ? `host subscriptions dropped ${c.hostDropped}` : "",
        events ? `events: ${events}` : "",
        `${c.engines} engine(s), loaded in ${(c.loadMs / 1000).toFixed(1)} s`,
        c.mode === "engine" ? "target: every reply exactly once, p99 ≤ 150 ms" : "",
      ]
        .filter(Boolean)
        .join("; "),
    });
  }
  return rows;
}
