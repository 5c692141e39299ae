// The comparative suite: every mechanism (direct call, node:vm, raw isolated-vm sync and async,
// worker_threads, child_process, warden) on every scenario, each measurement in a fresh process,
// several repetitions, reported as median with min–max and as ratios to raw isolated-vm and to
// child_process measured in the same run.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { progress, summarize, type Row } from "./lib/measure.ts";

const WORKER = fileURLToPath(new URL("./compare-worker.js", import.meta.url));

type Cell = { value: number; unit: string; p99?: number; callsPerSec?: number; totalMb?: number; loadMs?: number; count?: number; perMessageMs?: number; subscribers?: number };

const NAMES: Record<string, string> = {
  direct: "direct call / EventEmitter",
  vm: "node:vm",
  "ivm-sync": "isolated-vm applySync",
  "ivm-async": "isolated-vm apply (async)",
  worker: "worker_threads",
  child: "child_process.fork + IPC",
  warden: "warden (dedicated engine per plugin)",
  "warden-engine": "warden (engine isolation, default)",
  "warden-inproc": "warden (in-process isolation)",
};

type Plan = { scenario: string; title: string; mechanisms: string[]; reps: number; higherIsBetter?: boolean; ratioTo: string[]; note?: string };

function plans(quick: boolean): Plan[] {
  const all = ["direct", "vm", "ivm-sync", "ivm-async", "worker", "child", "warden", "warden-engine", "warden-inproc"];
  const reps = quick ? 1 : 3;
  return [
    { scenario: "cold", title: "cold start: create + load + first call", mechanisms: all, reps, ratioTo: ["ivm-sync", "child"], note: "target warden ≤ 1.3× raw isolate" },
    {
      scenario: "warm",
      title: "warm call round trip (one caller)",
      mechanisms: all,
      reps,
      ratioTo: ["ivm-async", "child"],
      note: "target warden ≤ 1.5× raw async apply, ≥ 10× faster than child_process",
    },
    { scenario: "hostcall", title: "plugin → host call", mechanisms: all, reps, ratioTo: ["ivm-sync", "child"], note: "target warden ≤ 2× raw sync callback" },
    { scenario: "concurrency", title: "8 plugins, 4 calls in flight each", mechanisms: all, reps, higherIsBetter: true, ratioTo: ["ivm-async", "child"] },
    {
      scenario: "fanout",
      title: `channel fan-out: 1 publisher, ${quick ? 10 : 100} subscribers`,
      mechanisms: ["direct", "ivm-sync", "warden", "warden-engine", "warden-inproc"],
      reps: 1,
      higherIsBetter: true,
      ratioTo: ["ivm-sync"],
      note: "each delivery runs the subscriber's handler in its isolate, which publishes an ack",
    },
    {
      scenario: "memory",
      title: `memory per idle plugin (${quick ? 20 : "200 (50 for process-based)"} loaded)`,
      mechanisms: ["vm", "ivm-sync", "worker", "child", "warden", "warden-engine", "warden-inproc"],
      reps: 1,
      ratioTo: ["ivm-sync", "child"],
      note: "target warden ≤ 1.2× a bare isolate",
    },
    {
      scenario: "density",
      title: `density: ${quick ? 100 : 1000} idle plugins in one host`,
      mechanisms: quick ? ["ivm-sync", "warden-engine", "warden-inproc"] : ["vm", "ivm-sync", "warden-engine", "warden-inproc"],
      reps: 1,
      ratioTo: ["ivm-sync"],
      note: "engine isolation: 64 plugins per engine process; dedicated isolation is one process per plugin: see benchmarks/README.md",
    },
  ];
}

/** Run one cell (`compare-worker <mechanism> <scenario> <quick|full>`) in a fresh process; its last stdout line, parsed. */
export function runCell<T = Cell>(mechanism: string, scenario: string, quick: boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--no-node-snapshot", "--expose-gc", WORKER, mechanism, scenario, quick ? "quick" : "full"], { maxBuffer: 1 << 20, timeout: 20 * 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${mechanism} ${scenario} failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as T);
      } catch (e) {
        reject(new Error(`${mechanism} ${scenario}: unreadable output ${JSON.stringify(stdout)}: ${(e as Error).message}`));
      }
    });
  });
}

/** Run the comparative suite. */
export async function compare(o: { quick: boolean }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const plan of plans(o.quick)) {
    const results = new Map<string, { values: number[]; extra: Cell }>();
    for (const mech of plan.mechanisms) {
      const values: number[] = [];
      let extra: Cell = { value: 0, unit: "" };
      for (let r = 0; r < plan.reps; r++) {
        progress(`compare: ${plan.scenario} × ${mech} (${r + 1}/${plan.reps})`);
        extra = await runCell(mech, plan.scenario, o.quick);
        values.push(extra.value);
      }
      results.set(mech, { values, extra });
    }
    for (const mech of plan.mechanisms) {
      const r = results.get(mech);
      if (!r) continue;
      const sample = summarize(r.values);
      const ratios: Record<string, number> = {};
      for (const base of plan.ratioTo) {
        const b = results.get(base);
        if (!b || base === mech) continue;
        const bm = summarize(b.values).median;
        // Ratios read "how many times the baseline's cost": for throughput, the inverse.
        ratios[NAMES[base] ?? base] = plan.higherIsBetter ? bm / sample.median : sample.median / bm;
      }
      const details = [
        r.extra.p99 !== undefined ? `p99 ${r.extra.p99.toFixed(1)} µs` : "",
        r.extra.callsPerSec !== undefined ? `${Math.round(r.extra.callsPerSec)} calls/s` : "",
        r.extra.perMessageMs !== undefined ? `${r.extra.perMessageMs.toFixed(2)} ms per message to ${r.extra.subscribers}` : "",
        r.extra.totalMb !== undefined ? `${r.extra.totalMb.toFixed(0)} MB for ${r.extra.count}, loaded in ${((r.extra.loadMs ?? 0) / 1000).toFixed(1)} s` : "",
      ]
        .filter(Boolean)
        .join("; ");
      rows.push({
        scenario: plan.title,
        variant: NAMES[mech] ?? mech,
        unit: r.extra.unit,
        sample,
        ratios,
        ...(mech.startsWith("warden") && plan.note ? { note: [details, plan.note].filter(Boolean).join("; ") } : details ? { note: details } : {}),
      });
    }
  }
  return rows;
}
