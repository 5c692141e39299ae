// What TypeScript plugins cost: warden strips their types with amaro (isolate/strip-types.ts), and
// the issue that brought them asked for esbuild to be measured against it. Three measurements:
// a stripper's first use in a fresh process (load + first file), the warm cost per file for a
// small and a large module, and a whole plugin load (create + load + first call) in TypeScript
// against the same plugin in JavaScript, through warden's loadPlugin in both isolation modes.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { progress, summarize, type Row } from "../lib/measure.ts";
import { loadStripper, positionsKept, STRIPPERS, type Strip, type StripperKey } from "../lib/strippers.ts";
import { typescriptModule } from "../lib/ts-module.ts";
import { INPUT } from "../mechanisms/types.ts";

/** Options of the typescript part. */
export type TypescriptOptions = { readonly quick: boolean };

const WORKER = fileURLToPath(new URL("../strip-types-worker.js", import.meta.url));
const SMALL = 3 * 1024;
const LARGE = 300 * 1024;

function kb(chars: number): string {
  return `${(chars / 1024).toFixed(1)} KB`;
}

function ms(x: number): string {
  return `${x.toFixed(x >= 10 ? 0 : 1)} ms`;
}

/** A row for a stripper this machine does not have: no figures, the reason as its note. */
function unavailableRow(scenario: string, key: StripperKey, why: string): Row {
  return { scenario, variant: STRIPPERS[key], unit: "ms", sample: summarize([]), note: why };
}

type FirstUse = { value: number; importMs: number; firstMs: number } | { unavailable: string };

function runWorker(key: StripperKey, bytes: number): Promise<FirstUse> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--no-node-snapshot", WORKER, key, String(bytes)], { maxBuffer: 1 << 20, timeout: 5 * 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`strip-types-worker ${key} failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as FirstUse);
      } catch (e) {
        reject(new Error(`strip-types-worker ${key}: unreadable output ${JSON.stringify(stdout)}: ${(e as Error).message}`));
      }
    });
  });
}

// 1. Load + first file, each repetition in its own process (node:module's stripper loads its amaro
// on the first call, so its "load" is nothing and its first file carries the cost).
async function firstUse(quick: boolean): Promise<Row[]> {
  const reps = quick ? 1 : 3;
  const keys: StripperKey[] = ["amaro", "esbuild", "node"];
  const scenario = `strip types, first use in a fresh process (load + first ${kb(typescriptModule(SMALL).length)} file)`;
  const runs = new Map<StripperKey, Array<{ value: number; importMs: number; firstMs: number }>>(keys.map((k) => [k, []]));
  const missing = new Map<StripperKey, string>();
  for (let r = 0; r < reps; r++) {
    for (const key of keys) {
      if (missing.has(key)) continue;
      progress(`typescript: first use × ${key} (${r + 1}/${reps})`);
      const result = await runWorker(key, SMALL);
      if ("unavailable" in result) missing.set(key, result.unavailable);
      else runs.get(key)?.push(result);
    }
  }
  const median = (key: StripperKey, f: (x: { value: number; importMs: number; firstMs: number }) => number) => summarize((runs.get(key) ?? []).map(f)).median;
  return keys.map((key) => {
    const why = missing.get(key);
    if (why !== undefined) return unavailableRow(scenario, key, why);
    const sample = summarize((runs.get(key) ?? []).map((x) => x.value));
    const ratios = key === "amaro" || missing.has("amaro") ? {} : { amaro: sample.median / median("amaro", (x) => x.value) };
    return { scenario, variant: STRIPPERS[key], unit: "ms", sample, ratios, note: `load ${ms(median(key, (x) => x.importMs))} + first file ${ms(median(key, (x) => x.firstMs))}` };
  });
}

function perFileMs(strip: Strip, source: string, calls: number): number {
  let chars = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) chars += strip(source, "plugin.ts").length;
  const ns = Number(process.hrtime.bigint() - t0);
  if (chars === 0) throw new Error("a stripper returned nothing");
  return ns / calls / 1e6;
}

// 2. Warm, per file: every stripper loaded and used once in this process, then measured in turns
// (one repetition of each before the next), so that the ratios share the machine's state.
async function warm(quick: boolean): Promise<Row[]> {
  const keys: StripperKey[] = ["amaro", "esbuild", "esbuild-nomap", "node"];
  const loaded = new Map(keys.map((k) => [k, loadStripper(k)] as const));
  const rows: Row[] = [];
  for (const size of [SMALL, LARGE]) {
    const source = typescriptModule(size);
    const scenario = `strip types, warm, per file: ${kb(source.length)} module`;
    const calls = size === SMALL ? (quick ? 10 : 100) : quick ? 2 : 5;
    const reps = quick ? 3 : 5;
    const ready = new Map<StripperKey, Strip>();
    const missing = new Map<StripperKey, string>();
    const outputs = new Map<StripperKey, string>();
    for (const key of keys) {
      const l = loaded.get(key);
      if (!l || "unavailable" in l) {
        missing.set(key, l && "unavailable" in l ? l.unavailable : "not loaded");
        continue;
      }
      try {
        outputs.set(key, l.strip(source, "plugin.ts"));
        perFileMs(l.strip, source, Math.max(1, Math.floor(calls / 5)));
        ready.set(key, l.strip);
      } catch (e) {
        missing.set(key, `failed: ${String((e as Error).message ?? e).split("\n")[0]}`);
      }
    }
    const values = new Map<StripperKey, number[]>([...ready.keys()].map((k) => [k, []]));
    for (let r = 0; r < reps; r++) {
      progress(`typescript: warm ${kb(source.length)} (${r + 1}/${reps})`);
      for (const [key, strip] of ready) values.get(key)?.push(perFileMs(strip, source, calls));
    }
    const amaro = values.get("amaro");
    for (const key of keys) {
      const why = missing.get(key);
      if (why !== undefined) {
        rows.push(unavailableRow(scenario, key, why));
        continue;
      }
      const sample = summarize(values.get(key) ?? []);
      const out = outputs.get(key) ?? "";
      const kept = positionsKept(source, out);
      const where = kept.kept === kept.of ? `every \`return\` at its .ts line:column` : `${kept.kept} of ${kept.of} \`return\`s at their .ts line:column`;
      rows.push({
        scenario,
        variant: STRIPPERS[key],
        unit: "ms",
        sample,
        ratios: key === "amaro" || !amaro ? {} : { amaro: sample.median / summarize(amaro).median },
        note: `output ${kb(out.length)}; ${where}`,
      });
    }
  }
  return rows;
}

// 3. A whole plugin, TypeScript against the same code as JavaScript (amaro's output for it, made
// here untimed and never through warden, whose strip cache would then hold it). Each load has its
// own source (a nonce comment), so neither warden's strip cache nor V8's code cache serves it.
async function loads(quick: boolean): Promise<Row[]> {
  const amaro = loadStripper("amaro");
  if ("unavailable" in amaro) throw new Error(`amaro: ${amaro.unavailable}`);
  const logger = createDefaultLogger("silent");
  let count = 0;
  const writePlugin = (lang: "ts" | "js"): string => {
    const dir = mkdtempSync(join(tmpdir(), "warden-bench-ts-"));
    const main = lang === "ts" ? "index.ts" : "index.js";
    const source = typescriptModule(SMALL, `${process.pid}-${count++}`);
    writeFileSync(join(dir, "plugin.json"), JSON.stringify({ id: "bench.typescript", name: "bench", version: "1.0.0", main, limits: { cpuMs: 60_000, timeoutMs: 120_000 } }));
    writeFileSync(join(dir, main), lang === "ts" ? source : amaro.strip(source, "index.ts"));
    return dir;
  };
  const once = async (lang: "ts" | "js", isolation: "in-process" | "process"): Promise<number> => {
    const dir = writePlugin(lang);
    try {
      // The same idle moment between loads as the compare part's cold start (the isolate pool refills).
      await sleep(30);
      const t0 = performance.now();
      const plugin = await loadPlugin(dir, { audit: memoryAuditLog(), logger, isolation });
      try {
        const result = (await plugin.invoke("call", INPUT)) as { count?: unknown };
        const elapsed = performance.now() - t0;
        if (result.count !== INPUT.values.length) throw new Error(`unexpected result ${JSON.stringify(result)}`);
        return elapsed;
      } finally {
        await plugin.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const scenario = "load a plugin: TypeScript vs JavaScript (create + load + first call)";
  const rows: Row[] = [];
  for (const isolation of ["in-process", "process"] as const) {
    const trials = isolation === "in-process" ? (quick ? 3 : 15) : quick ? 2 : 8;
    await once("js", isolation);
    await once("ts", isolation);
    const js: number[] = [];
    const ts: number[] = [];
    for (let i = 0; i < trials; i++) {
      progress(`typescript: load × ${isolation} (${i + 1}/${trials})`);
      // Alternate which goes first, so neither always follows the other.
      for (const lang of i % 2 === 0 ? (["js", "ts"] as const) : (["ts", "js"] as const)) (lang === "js" ? js : ts).push(await once(lang, isolation));
    }
    const jsSample = summarize(js);
    const tsSample = summarize(ts);
    const jsName = `JavaScript, ${isolation} isolation`;
    rows.push({ scenario, variant: jsName, unit: "ms", sample: jsSample });
    rows.push({
      scenario,
      variant: `TypeScript, ${isolation} isolation`,
      unit: "ms",
      sample: tsSample,
      ratios: { [jsName]: tsSample.median / jsSample.median },
      note:
        isolation === "in-process"
          ? `amaro already loaded in this process: TypeScript adds the strip of ${kb(typescriptModule(SMALL).length)} and its cache key (sha256)`
          : "each sandbox process loads amaro (WebAssembly compile) on its first TypeScript file",
    });
  }
  return rows;
}

/** Run the typescript part. */
export async function typescript(o: TypescriptOptions): Promise<Row[]> {
  return [...(await firstUse(o.quick)), ...(await warm(o.quick)), ...(await loads(o.quick))];
}
