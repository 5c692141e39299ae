// Plugin → host capability call: what a plugin pays for one Warden call (bridge crossing,
// permission check, audit record), against a bare isolated-vm host callback measured in the same
// run. warden's figure comes from the real runtime (sandbox process, isolate, capabilities, audit
// log on disk): an entry makes N calls in a loop, and the time of an entry making 0 is subtracted.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ivm from "../../isolate/ivm.ts";
import { openAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { repeat, timeNs, type Row } from "../lib/measure.ts";

/** Options of the capability-call scenario. */
export type CapabilityCallOptions = { readonly quick: boolean };

async function rawCallbacks(n: number, reps: number): Promise<{ sync: Row["sample"]; async: Row["sample"] }> {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    const context = isolate.createContextSync();
    context.global.setSync("hostSync", new ivm.Callback((s: string) => s));
    context.global.setSync("hostAsync", new ivm.Callback((s: string) => s, { async: true }));
    const syncLoop = isolate.compileScriptSync(`(function (n) { let r; for (let i = 0; i < n; i++) r = hostSync('{"name":"X"}'); return r; })`).runSync(context, { reference: true }) as ivm.Reference;
    const asyncLoop = isolate
      .compileScriptSync(`(async function (n) { let r; for (let i = 0; i < n; i++) r = await hostAsync('{"name":"X"}'); return r; })`)
      .runSync(context, { reference: true }) as ivm.Reference;
    syncLoop.applySync(undefined, [1000]);
    const sync = await repeat(reps, () => timeNs(() => syncLoop.applySync(undefined, [n])).then((ns) => ns / n / 1000));
    const asyncN = Math.max(200, Math.floor(n / 10));
    await asyncLoop.apply(undefined, [100], { result: { promise: true } });
    const async = await repeat(reps, () => timeNs(() => asyncLoop.apply(undefined, [asyncN], { result: { promise: true } })).then((ns) => ns / asyncN / 1000));
    return { sync, async };
  } finally {
    isolate.dispose();
  }
}

const PLUGIN = `
export async function envLoop(n) { let v; for (let i = 0; i < n; i++) v = await Warden.env.get("WARDEN_BENCH_VALUE"); return v ?? null; }
export async function queryLoop(n) { let v; for (let i = 0; i < n; i++) v = await Warden.permissions.query({ name: "env", variable: "WARDEN_BENCH_VALUE" }); return v; }
export async function readLoop(n) { let v; for (let i = 0; i < n; i++) v = await Warden.fs.readTextFile("data/small.txt"); return v; }
`;

/** Measure warden capability calls and the raw isolated-vm callbacks they are compared with. */
export async function capabilityCall(o: CapabilityCallOptions): Promise<Row[]> {
  const n = o.quick ? 2000 : 20000;
  const reps = o.quick ? 3 : 7;
  const raw = await rawCallbacks(n, reps);
  const rows: Row[] = [
    { scenario: "plugin → host call", variant: "raw isolated-vm sync Callback", unit: "µs", sample: raw.sync },
    { scenario: "plugin → host call", variant: "raw isolated-vm async Callback", unit: "µs", sample: raw.async },
  ];
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-"));
  process.env["WARDEN_BENCH_VALUE"] = "42";
  const audit = openAuditLog(join(dir, "audit.jsonl"));
  try {
    const pdir = join(dir, "plugin");
    mkdirSync(join(pdir, "data"), { recursive: true });
    writeFileSync(
      join(pdir, "plugin.json"),
      JSON.stringify({ id: "bench.caller", name: "bench", version: "1.0.0", permissions: { env: ["WARDEN_BENCH_*"], read: ["data/"] }, limits: { cpuMs: 60_000, timeoutMs: 120_000 } }),
    );
    writeFileSync(join(pdir, "index.js"), PLUGIN);
    writeFileSync(join(pdir, "data/small.txt"), "a small cached file\n");
    const plugin = await loadPlugin(pdir, { audit, logger: createDefaultLogger("silent") });
    try {
      for (const [entry, label] of [
        ["envLoop", "warden Warden.env.get (check + audit)"],
        ["queryLoop", "warden Warden.permissions.query (env)"],
        ["readLoop", "warden Warden.fs.readTextFile (small file)"],
      ] as const) {
        const calls = entry === "readLoop" ? Math.floor(n / 4) : n;
        await plugin.invoke(entry, 100);
        const sample = await repeat(reps, async () => {
          const base = await timeNs(() => plugin.invoke(entry, 0));
          const full = await timeNs(() => plugin.invoke(entry, calls));
          return Math.max(0, full - base) / calls / 1000;
        });
        rows.push({
          scenario: "plugin → host call",
          variant: label,
          unit: "µs",
          sample,
          ratios: { "raw sync Callback": sample.median / raw.sync.median, "raw async Callback": sample.median / raw.async.median },
          ...(entry === "envLoop" ? { note: "target ≤ 2× raw sync Callback" } : {}),
        });
      }
    } finally {
      await plugin.close();
    }
  } finally {
    audit.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
