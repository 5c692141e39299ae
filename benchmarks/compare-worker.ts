// One measurement in a fresh process: `node compare-worker.js <mechanism> <scenario> <quick>`
// prints one JSON object on stdout. The orchestrator (run.ts) runs it several times per cell.
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { childProcess, workerThreads } from "./mechanisms/out-of-process.ts";
import { direct, ivmAsync, ivmSync, nodeVm } from "./mechanisms/in-process.ts";
import { INPUT, type Instance, type Mechanism } from "./mechanisms/types.ts";
import { warden, wardenEngine, wardenInProcess } from "./mechanisms/warden.ts";
import { fanout } from "./fanout.ts";
import { chatLoadCell } from "./chat-load.ts";
import { hostLoadCell } from "./host-load.ts";

/** Every mechanism, by the key the orchestrator uses. */
export const MECHANISMS: Record<string, Mechanism> = {
  direct,
  vm: nodeVm,
  "ivm-sync": ivmSync,
  "ivm-async": ivmAsync,
  worker: workerThreads,
  child: childProcess,
  warden,
  "warden-inproc": wardenInProcess,
  "warden-engine": wardenEngine,
};

/**
 * Memory of a process in MB: its proportional set size (shared pages such as Node's own code
 * divided among the processes sharing them) where the kernel reports it, else its RSS.
 */
/** `pid` and every process below it (an engine under bubblewrap is bwrap, its init and Node). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function pssMb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // no smaps_rollup
  }
  return rssMb(pid);
}

function rssMb(pid: number | "self"): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
}

let nonceCounter = 0;
const nonce = () => `${process.pid}-${Date.now()}-${nonceCounter++}`;

async function cold(m: Mechanism, quick: boolean): Promise<object> {
  const trials = quick ? 4 : 15;
  const ms: number[] = [];
  for (let i = 0; i < trials; i++) {
    // A plugin loaded into a running host: the host is idle for a moment between loads (the same
    // pause for every mechanism; it lets warden refill its isolate pool, as a real host would).
    await sleep(30);
    const id = nonce();
    await m.prepare?.(id);
    const t0 = performance.now();
    const inst = await m.create(id);
    await inst.call(INPUT);
    ms.push(performance.now() - t0);
    await inst.close();
  }
  return { value: median(ms), unit: "ms" };
}

async function warm(m: Mechanism, quick: boolean): Promise<object> {
  const inst = await m.create(nonce());
  try {
    for (let i = 0; i < 300; i++) await inst.call(INPUT);
    const n = quick ? 1000 : Number(process.env["WARDEN_BENCH_CALLS"] ?? 10_000);
    const each: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const a = performance.now();
      await inst.call(INPUT);
      each.push((performance.now() - a) * 1000);
    }
    const total = performance.now() - t0;
    return { value: median(each), p99: pct(each, 0.99), callsPerSec: (n / total) * 1000, unit: "µs" };
  } finally {
    await inst.close();
  }
}

async function hostcall(m: Mechanism, quick: boolean): Promise<object> {
  const inst = await m.create(nonce());
  try {
    const slow = m === workerThreads || m === childProcess;
    const n = (quick ? 2000 : 20_000) / (slow ? 10 : 1);
    await inst.hostLoop(200);
    const samples: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await inst.hostLoop(n);
      samples.push(((performance.now() - t0) * 1000) / n);
    }
    return { value: median(samples), unit: "µs" };
  } finally {
    await inst.close();
  }
}

async function concurrency(m: Mechanism, quick: boolean): Promise<object> {
  const insts: Instance[] = [];
  for (let i = 0; i < 8; i++) insts.push(await m.create(nonce()));
  try {
    const per = quick ? 200 : 2000;
    for (const inst of insts) for (let i = 0; i < 50; i++) await inst.call(INPUT);
    const t0 = performance.now();
    // 8 plugins, each with 4 calls in flight at a time.
    await Promise.all(
      insts.flatMap((inst) =>
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < per / 4; i++) await inst.call(INPUT);
        }),
      ),
    );
    const total = performance.now() - t0;
    return { value: ((per * 8) / total) * 1000, unit: "calls/s" };
  } finally {
    await Promise.all(insts.map((i) => i.close()));
  }
}

// A process per plugin costs tens of MB: 200 of them would take most of a shared machine's memory,
// so process-based mechanisms are measured with 50 (the per-plugin figure is what is compared).
const PROCESS_BASED = new Set<Mechanism>([childProcess, workerThreads, warden]);

async function memory(m: Mechanism, quick: boolean, count?: number): Promise<object> {
  const n = count ?? (quick ? 20 : PROCESS_BASED.has(m) ? 50 : 200);
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  await sleep(100);
  const before = rssMb("self");
  const insts: Instance[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const inst = await m.create(nonce());
    await inst.call(INPUT);
    insts.push(inst);
  }
  const loadMs = performance.now() - t0;
  g?.();
  await sleep(300);
  const self = rssMb("self") - before;
  // Plugins sharing an engine report the same pid: each process is counted once.
  const roots = [...new Set(insts.flatMap((i) => i.pids ?? []))];
  const children = roots.flatMap(processTree).reduce((sum, pid) => sum + pssMb(pid), 0);
  await Promise.all(insts.map((i) => i.close()));
  // hostMb: the growth of this process; childrenMb: PSS of the child process trees (engines).
  return { value: (self + children) / n, totalMb: self + children, hostMb: self, childrenMb: children, processes: roots.length, loadMs, count: n, unit: "MB/plugin" };
}

const SCENARIOS: Record<string, (m: Mechanism, quick: boolean) => Promise<object>> = {
  cold,
  warm,
  hostcall,
  concurrency,
  memory,
  // WARDEN_BENCH_DENSITY: how many plugins (10,000 takes minutes: not part of the default run).
  density: (m, quick) => memory(m, quick, Number(process.env["WARDEN_BENCH_DENSITY"] ?? 0) || (quick ? 100 : 1000)),
};

const [mech, scenario, quickArg] = process.argv.slice(2);
if (scenario === "chat-load") {
  process.stdout.write(`${JSON.stringify(await chatLoadCell(mech ?? "", quickArg === "quick"))}\n`);
  process.exit(0);
}
if (scenario === "host-load") {
  process.stdout.write(`${JSON.stringify(await hostLoadCell(mech ?? "", quickArg === "quick"))}\n`);
  process.exit(0);
}
if (scenario === "fanout") {
  process.stdout.write(`${JSON.stringify(await fanout(mech ?? "", quickArg === "quick"))}\n`);
  process.exit(0);
}
const m = MECHANISMS[mech ?? ""];
const run = SCENARIOS[scenario ?? ""];
if (!m || !run) {
  process.stderr.write(`usage: compare-worker <${Object.keys(MECHANISMS).join("|")}> <${Object.keys(SCENARIOS).join("|")}> [quick]\n`);
  process.exit(2);
}
const result = await run(m, quickArg === "quick");
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
