// Containment costs: how long after its CPU limit a runaway loop is stopped, and whether the host's
// memory comes back after many contained memory bombs (leaks of isolates, contexts, References).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { Sandbox } from "../../isolate/index.ts";
import { progress, summarize, type Row } from "../lib/measure.ts";

/** Options of the containment scenario. */
export type ContainmentOptions = { readonly quick: boolean };

const SOURCE = `
export function spin() { for (;;) {} }
export function bomb() { const a = []; for (;;) a.push({ x: a.length, y: "payload" + a.length }); }
export function ok() { return "ok"; }
`;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) for (let i = 0; i < 3; i++) g();
}

function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Run the containment measurements. */
export async function containment(o: ContainmentOptions): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-"));
  const rows: Row[] = [];
  try {
    writeFileSync(join(dir, "plugin.json"), JSON.stringify({ id: "bench.runaway", name: "b", version: "1.0.0", limits: { memoryMb: 16, cpuMs: 20, timeoutMs: 10_000 } }));
    writeFileSync(join(dir, "index.js"), SOURCE);
    const limits = { memoryMb: 16, cpuMs: 20, timeoutMs: 10_000, resultChars: 1 << 20 };
    const make = () => Sandbox.create({ pluginId: "bench.runaway", version: "1.0.0", pluginDir: dir, main: "index.js", config: null, limits, operation: async () => null, log: () => undefined });

    // 1. A runaway loop under cpuMs 20: time from the call to its rejection, minus the 20 ms it may use.
    const trials = o.quick ? 8 : 60;
    const overshoot: number[] = [];
    for (let i = 0; i < trials; i++) {
      const s = make();
      const t0 = performance.now();
      await s.call("spin", undefined).catch(() => undefined);
      overshoot.push(performance.now() - t0 - limits.cpuMs);
      s.dispose();
    }
    rows.push({ scenario: "containment", variant: "runaway loop stopped after cpuMs (isolate)", unit: "ms", sample: summarize(overshoot), note: "target ≤ 10 ms" });

    const plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger: createDefaultLogger("silent"), quarantine: { maxFailures: 1_000_000 } });
    try {
      const e2e: number[] = [];
      for (let i = 0; i < trials; i++) {
        await plugin.invoke("ok");
        const t0 = performance.now();
        await plugin.invoke("spin").catch(() => undefined);
        e2e.push(performance.now() - t0 - limits.cpuMs);
      }
      rows.push({ scenario: "containment", variant: "runaway loop stopped after cpuMs (through warden, incl. IPC)", unit: "ms", sample: summarize(e2e) });

      // 2. Memory bombs: in this process (isolates disposed here), and in the sandbox process.
      const bombs = o.quick ? 10 : 100;
      gc();
      const before = process.memoryUsage();
      for (let i = 0; i < bombs; i++) {
        const s = make();
        await s.call("bomb", undefined).catch(() => undefined);
        s.dispose();
        if (i % 10 === 9) progress(`containment: ${i + 1}/${bombs} in-process bombs`);
      }
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
      const after = process.memoryUsage();
      rows.push({ scenario: "containment", variant: `host RSS growth after ${bombs} in-process memory bombs`, unit: "MB", sample: summarize([mb(after.rss - before.rss)]), note: "target: a few MB" });
      rows.push({ scenario: "containment", variant: `host heap growth after ${bombs} in-process memory bombs`, unit: "MB", sample: summarize([mb(after.heapUsed - before.heapUsed)]) });

      gc();
      const before2 = process.memoryUsage();
      for (let i = 0; i < bombs; i++) await plugin.invoke("bomb").catch(() => undefined);
      gc();
      const after2 = process.memoryUsage();
      rows.push({ scenario: "containment", variant: `host RSS growth after ${bombs} bombs in the sandbox process`, unit: "MB", sample: summarize([mb(after2.rss - before2.rss)]) });
    } finally {
      await plugin.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
