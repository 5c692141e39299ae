// Channel fan-out: one publisher, N subscribers, M messages; each subscriber's handler answers on
// an ack topic, and the figure is the time until every (message, subscriber) pair was handled.
// warden runs real plugins on its bus; the baselines do the same work without a bus or isolation
// boundary of their own (an EventEmitter; N raw isolates called in turn).
import { EventEmitter } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ivm from "../isolate/ivm.ts";
import { createHost } from "../core/host/host.ts";
import { createDefaultLogger } from "../core/logger.ts";

/** Deliveries per second and per-message latency of a fan-out to `subscribers`. */
export type FanoutResult = { value: number; unit: string; perMessageMs: number; subscribers: number; messages: number };

async function direct(subscribers: number, messages: number): Promise<number> {
  const bus = new EventEmitter();
  bus.setMaxListeners(subscribers + 1);
  let acks = 0;
  for (let i = 0; i < subscribers; i++) bus.on("fan.in", (m: { n: number }) => void (acks += m.n >= 0 ? 1 : 0));
  const t0 = performance.now();
  for (let m = 0; m < messages; m++) bus.emit("fan.in", JSON.parse(JSON.stringify({ n: m })));
  if (acks !== subscribers * messages) throw new Error("lost deliveries");
  return performance.now() - t0;
}

async function rawIsolates(subscribers: number, messages: number): Promise<number> {
  const handlers: Array<{ isolate: ivm.Isolate; fn: ivm.Reference }> = [];
  for (let i = 0; i < subscribers; i++) {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    const context = isolate.createContextSync();
    isolate.compileScriptSync("globalThis.h = (json) => JSON.stringify({ ack: JSON.parse(json).n })").runSync(context);
    handlers.push({ isolate, fn: context.global.getSync("h", { reference: true }) as ivm.Reference });
  }
  const t0 = performance.now();
  for (let m = 0; m < messages; m++) {
    const json = JSON.stringify({ n: m });
    for (const h of handlers) h.fn.applySync(undefined, [json]);
  }
  const ms = performance.now() - t0;
  for (const h of handlers) h.isolate.dispose();
  return ms;
}

async function warden(subscribers: number, messages: number, isolation: "engine" | "process" | "in-process"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "warden-fanout-"));
  const host = await createHost({ pluginsDir: dir, logger: createDefaultLogger("silent"), isolation, healthIntervalMs: 0, concurrency: { maxInFlight: 64, maxQueued: 100_000 } });
  try {
    for (let i = 0; i < subscribers; i++) {
      const p = join(dir, `sub${i}`);
      mkdirSync(p);
      writeFileSync(
        join(p, "plugin.json"),
        JSON.stringify({ id: `bench.sub${i}`, name: "sub", version: "1.0.0", permissions: { channels: { subscribe: ["fan.in"], publish: ["fan.ack"] } }, limits: { cpuMsPerMinute: 3_600_000 } }),
      );
      writeFileSync(join(p, "index.js"), "export async function onLoad() { await Warden.channels.subscribe('fan.in', (m) => Warden.channels.publish('fan.ack', { n: m.data.n })); }\n");
    }
    await host.loadAll();
    let acks = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    host.bus.subscribe("fan.ack", () => {
      if (++acks === subscribers * messages) done();
    });
    const t0 = performance.now();
    // Messages spaced by a turn of the event loop, so bounded queues are not what is measured.
    for (let m = 0; m < messages; m++) {
      host.bus.publish("fan.in", { n: m });
      await new Promise((r) => setImmediate(r));
    }
    await all;
    return performance.now() - t0;
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run the fan-out for one mechanism. */
export async function fanout(mechanism: string, quick: boolean): Promise<FanoutResult> {
  const subscribers = quick ? 10 : 100;
  const messages = quick ? 20 : 50;
  const run = {
    direct: () => direct(subscribers, messages),
    "ivm-sync": () => rawIsolates(subscribers, messages),
    warden: () => warden(subscribers, messages, "process"),
    "warden-engine": () => warden(subscribers, messages, "engine"),
    "warden-inproc": () => warden(subscribers, messages, "in-process"),
  }[mechanism];
  if (!run) throw new Error(`fan-out is measured for direct, ivm-sync, warden, warden-engine and warden-inproc, not ${mechanism}`);
  const ms = await run();
  return { value: (subscribers * messages) / (ms / 1000), unit: "deliveries/s", perMessageMs: ms / messages, subscribers, messages };
}
