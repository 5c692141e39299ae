// A type stripper's first use, in a fresh process: `node strip-types-worker.js <stripper> <bytes>`
// loads the stripper and strips one generated module of about <bytes>, then prints one JSON object
// on stdout (the times, or why the stripper is unavailable). What a host pays the first time it
// meets a TypeScript file; the typescript part (scenarios/typescript.ts) runs it once per repetition.
import { loadStripper, STRIPPERS, type StripperKey } from "./lib/strippers.ts";
import { typescriptModule } from "./lib/ts-module.ts";

const [key, bytes] = process.argv.slice(2);
if (!key || !(key in STRIPPERS) || !Number.isInteger(Number(bytes))) {
  process.stderr.write(`usage: strip-types-worker <${Object.keys(STRIPPERS).join("|")}> <bytes>\n`);
  process.exit(2);
}
const source = typescriptModule(Number(bytes));
const t0 = performance.now();
const loaded = loadStripper(key as StripperKey);
const t1 = performance.now();
if ("unavailable" in loaded) {
  process.stdout.write(`${JSON.stringify({ unavailable: loaded.unavailable })}\n`);
} else {
  let result: object;
  try {
    const code = loaded.strip(source, "plugin.ts");
    const t2 = performance.now();
    if (code.length === 0) throw new Error("empty output");
    result = { value: t2 - t0, importMs: t1 - t0, firstMs: t2 - t1 };
  } catch (e) {
    // esbuild installed without its platform binary fails here, on its first call.
    result = { unavailable: `failed on its first file: ${String((e as Error).message ?? e).split("\n")[0]}` };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
// esbuild's service process and worker thread are unreferenced; exit without waiting for them.
process.exit(0);
