// host.load of one plugin into a running host (`--only host-load`): a host already running 20
// plugins; the time of `host.load(dir)` of one more (core/host/load-one.ts) through its first entry
// call, against a raw isolated-vm isolate + context + compile + call of the same code. Each plugin
// has a distinct source (a nonce comment), so no code cache hides the cost; the host is idle 30 ms
// between loads (as compare's cold start: warden's isolate pool refills in that pause), and each
// loaded plugin is unloaded again, so that every load finds the same 20 plugins running. Each
// mode, and the raw baseline, runs in a fresh process (`compare-worker <mode> host-load`); each
// mode's process also times a raw isolate before each load (interleaved), for a ratio of the moment.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createHost } from "../core/host/host.ts";
import { createDefaultLogger } from "../core/logger.ts";
import { runCell } from "./compare.ts";
import { progress, summarize, type Row } from "./lib/measure.ts";
import { ivmSync } from "./mechanisms/in-process.ts";
import { INPUT, PLUGIN_BODY } from "./mechanisms/types.ts";

/** What one process measured: each load's time, ms. */
export type HostLoadCell = { mode: string; ms: number[]; raw: number[]; running: number; engines: number; unit: string; value: number };

/** A raw isolate + context + compile + call of the plugin's code with a fresh nonce, ms. */
async function rawLoad(): Promise<number> {
  const t0 = performance.now();
  const inst = await ivmSync.create(nonce());
  await inst.call(INPUT);
  const ms = performance.now() - t0;
  await inst.close();
  return ms;
}

/** Plugins the host runs already (a quick run: 5, so that dedicated mode starts 6 engines, not 21). */
const running = (quick: boolean) => (quick ? 5 : 20);

let counter = 0;
const nonce = () => `${process.pid}-${Date.now()}-${counter++}`;

function writePlugin(pluginsDir: string, name: string, id: string): string {
  const dir = join(pluginsDir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "plugin.json"), JSON.stringify({ id, name, version: "1.0.0" }));
  writeFileSync(join(dir, "index.js"), `${PLUGIN_BODY}\n// ${nonce()}\nexport const call = (input) => handle(input);\n`);
  return dir;
}

/** Load one plugin `trials` times into a running host (or create a raw isolate), in this process. */
export async function hostLoadCell(mode: string, quick: boolean): Promise<HostLoadCell> {
  const trials = quick ? 4 : 15;
  const RUNNING = running(quick);
  const ms: number[] = [];
  if (mode === "raw") {
    for (let i = 0; i < trials; i++) {
      await sleep(30);
      ms.push(await rawLoad());
    }
    return { mode, ms, raw: ms, running: 0, engines: 0, unit: "ms", value: summarize(ms).median };
  }
  if (mode !== "engine" && mode !== "dedicated" && mode !== "in-process") throw new Error(`host-load runs in raw, engine, dedicated or in-process, not ${mode}`);
  const pluginsDir = mkdtempSync(join(tmpdir(), "warden-hostload-"));
  const host = await createHost({ pluginsDir, logger: createDefaultLogger("silent"), isolation: mode, healthIntervalMs: 0 });
  try {
    for (let i = 0; i < RUNNING; i++) writePlugin(pluginsDir, `running${i}`, `bench.running${i}`);
    await host.loadAll();
    for (let i = 0; i < RUNNING; i++) await host.invoke(`bench.running${i}`, "call", INPUT);
    let engines = 0;
    const raw: number[] = [];
    for (let i = 0; i < trials; i++) {
      const id = `bench.added${i}`;
      const dir = writePlugin(pluginsDir, `added${i}`, id);
      // The raw baseline, interleaved in this process: on a shared machine, the load of the
      // moment weighs on both alike.
      await sleep(30);
      raw.push(await rawLoad());
      await sleep(30);
      const t0 = performance.now();
      await host.load(dir);
      await host.invoke(id, "call", INPUT);
      ms.push(performance.now() - t0);
      engines = host.engines.length;
      await host.unload(id);
    }
    return { mode, ms, raw, running: RUNNING, engines, unit: "ms", value: summarize(ms).median };
  } finally {
    await host.close();
    rmSync(pluginsDir, { recursive: true, force: true });
  }
}

const NAMES: Record<string, string> = {
  raw: "raw isolated-vm: isolate + context + compile + call",
  engine: "warden host.load (engine isolation, default)",
  dedicated: "warden host.load (dedicated engine per plugin)",
  "in-process": "warden host.load (in-process isolation)",
};

/** The host-load scenario: the raw baseline and each isolation mode, each in a fresh process. */
export async function hostLoad(o: { quick: boolean }): Promise<Row[]> {
  const cells: HostLoadCell[] = [];
  for (const mode of Object.keys(NAMES)) {
    progress(`host-load: ${mode}`);
    cells.push(await runCell<HostLoadCell>(mode, "host-load", o.quick));
  }
  const raw = cells.find((c) => c.mode === "raw");
  const rawMedian = raw ? summarize(raw.ms).median : 0;
  return cells.map((c) => {
    const sample = summarize(c.ms);
    return {
      scenario: `host.load of one plugin into a host running ${running(o.quick)}, through its first call`,
      variant: NAMES[c.mode] ?? c.mode,
      unit: "ms",
      sample,
      ...(c.mode !== "raw" && rawMedian > 0 ? { ratios: { "raw isolate (its own process)": sample.median / rawMedian, "raw isolate (interleaved)": sample.median / summarize(c.raw).median } } : {}),
      note: [
        `${c.ms.length} loads`,
        c.mode === "raw" ? "" : `interleaved raw ${summarize(c.raw).median.toFixed(2)} ms`,
        c.mode === "raw" ? "" : `${c.engines} engine(s) running`,
        c.mode === "engine" ? "target ≤ 3× raw" : "",
      ]
        .filter(Boolean)
        .join("; "),
    };
  });
}
