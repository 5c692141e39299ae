// What raw isolated-vm does with each memory-bomb shape under a 16 MiB memoryLimit on the running
// Node line: V8's behaviour when a heap runs out differs between lines (a catchable RangeError, the
// isolate disposed, a fatal OOM that hangs or aborts the process), and warden's containment
// (a sandbox process per plugin, OOM markers on its stderr) must hold on each. Each shape runs in a
// child process of its own, with a deadline, because a fatal OOM can take its process down or hang
// it. Not part of `npm run bench`: `node --no-node-snapshot dist/benchmarks/memory-bombs.js [--json]`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import ivm, { IVM_VERSION } from "../isolate/ivm.ts";
import { SHAPES } from "./lib/bomb-shapes.ts";

const DEADLINE_MS = 60_000;

/** CPU seconds a live process has used (Linux /proc), to tell a busy run from a hung one. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Run one shape in this process and print what happened on stdout (child mode). */
async function runShape(code: string): Promise<void> {
  const isolate = new ivm.Isolate({ memoryLimit: 16, onCatastrophicError: (m: string) => process.stdout.write(`catastrophic: ${m}\n`) });
  const context = isolate.createContextSync();
  const wrapped = `(() => { try { ${code} return 'completed'; } catch (e) { return 'caught ' + String(e).slice(0, 120); } })()`;
  try {
    const result: unknown = await isolate.compileScriptSync(wrapped).run(context, { timeout: DEADLINE_MS });
    process.stdout.write(`isolate: ${String(result)}\n`);
  } catch (e) {
    process.stdout.write(`host: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  process.stdout.write(`process survives: heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB\n`);
}

/** One child run's outcome. */
export type Outcome = { shape: string; outcome: string; ms: number; exit: string };

function classify(out: string, err: string, code: number | null, signal: string | null, cpuAtDeadline: number | undefined): string {
  const oom = /Fatal JavaScript|heap out of memory|CALL_AND_RETRY_LAST|is_heap_oom|Last few GCs/.test(err);
  const parts: string[] = [];
  const isolateLine = /^isolate: (.*)$/m.exec(out)?.[1];
  const hostLine = /^host: (.*)$/m.exec(out)?.[1];
  if (isolateLine?.startsWith("caught RangeError")) parts.push(`RangeError caught in the isolate (${isolateLine.slice(7, 60)})`);
  else if (isolateLine !== undefined) parts.push(`isolate: ${isolateLine.slice(0, 60)}`);
  if (hostLine !== undefined) parts.push(/disposed during execution/.test(hostLine) ? "isolate disposed during execution" : `host error: ${hostLine.slice(0, 80)}`);
  if (/^catastrophic: /m.test(out)) parts.push("onCatastrophicError called");
  if (oom) parts.push("fatal OOM report");
  if (cpuAtDeadline !== undefined) parts.push(`still running after ${DEADLINE_MS / 1000} s (${cpuAtDeadline.toFixed(0)} s of CPU: ${cpuAtDeadline > DEADLINE_MS / 2000 ? "busy" : "hung"}), killed`);
  else if (signal === "SIGSEGV") parts.push("segfault");
  else if (signal !== null) parts.push(`killed by ${signal}`);
  else if (code !== 0) parts.push(`exit ${code}`);
  else if (/process survives/.test(out)) parts.push("process survives");
  return parts.join("; ");
}

/** Run every shape in a child process of its own and collect the outcomes. */
export async function measureBombs(): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const shape of Object.keys(SHAPES)) {
    const started = Date.now();
    const child = spawn(process.execPath, ["--no-node-snapshot", fileURLToPath(import.meta.url), "--shape", shape], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    let cpuAtDeadline: number | undefined;
    const timer = setTimeout(() => {
      cpuAtDeadline = cpuSeconds(child.pid) ?? 0;
      child.kill("SIGKILL");
    }, DEADLINE_MS + 5_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
    clearTimeout(timer);
    outcomes.push({ shape, outcome: classify(out, err, code, signal, cpuAtDeadline), ms: Date.now() - started, exit: signal ?? String(code) });
  }
  return outcomes;
}

const { values } = parseArgs({ options: { shape: { type: "string" }, json: { type: "boolean", default: false } } });
if (values.shape !== undefined) {
  const code = SHAPES[values.shape];
  if (code === undefined) throw new Error(`unknown shape ${values.shape}; shapes: ${Object.keys(SHAPES).join(", ")}`);
  await runShape(code);
} else {
  const outcomes = await measureBombs();
  if (values.json) process.stdout.write(`${JSON.stringify({ node: process.version, isolatedVm: IVM_VERSION.version, outcomes })}\n`);
  else for (const o of outcomes) process.stdout.write(`${process.version} isolated-vm ${IVM_VERSION.version} | ${o.shape} | ${o.outcome} | ${(o.ms / 1000).toFixed(1)} s\n`);
}
