// `npm run bench`: runs the benchmark scenarios in one process run and prints one table (stdout)
// with medians, min–max and ratios measured in the same run; progress goes to stderr.
//   --quick   a short run (CI smoke test: checks the suite works, not the timings)
//   --json    machine-readable output instead of the table
//   --only <name>  run one part (compare, decisions, capability-call, containment, bystanders, typescript, chat-load, host-load)
import { parseArgs } from "node:util";
import { IVM_VERSION } from "../isolate/ivm.ts";
import { progress, type Row } from "./lib/measure.ts";
import { bystanders } from "./scenarios/bystanders.ts";
import { capabilityCall } from "./scenarios/capability-call.ts";
import { compare } from "./compare.ts";
import { chatLoad } from "./chat-load.ts";
import { hostLoad } from "./host-load.ts";
import { containment } from "./scenarios/containment.ts";
import { decisions } from "./scenarios/decisions.ts";
import { typescript } from "./scenarios/typescript.ts";

const SCENARIOS: Record<string, (o: { quick: boolean }) => Promise<Row[]>> = {
  compare,
  decisions,
  "capability-call": capabilityCall,
  containment,
  bystanders,
  typescript,
  "chat-load": chatLoad,
  "host-load": hostLoad,
};

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function table(rows: readonly Row[]): string {
  const lines = rows.map((r, i) => [
    i > 0 && rows[i - 1]?.scenario === r.scenario ? "" : r.scenario,
    r.variant,
    // A row with no measurement (a stripper this machine lacks) says why in its note.
    r.sample.n === 0 ? "—" : `${fmt(r.sample.median)} ${r.unit}`,
    r.sample.n === 0 ? "" : `${fmt(r.sample.min)}–${fmt(r.sample.max)}`,
    Object.entries(r.ratios ?? {})
      .map(([k, v]) => `${v.toFixed(2)}× ${k}`)
      .join(", "),
    r.note ?? "",
  ]);
  const head = ["scenario", "variant", "median", "min–max", "ratios (same run)", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [render(head), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n");
}

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false }, only: { type: "string" } } });
const names = values.only ? [values.only] : Object.keys(SCENARIOS);
const rows: Row[] = [];
for (const name of names) {
  const scenario = SCENARIOS[name];
  if (!scenario) {
    process.stderr.write(`unknown scenario ${JSON.stringify(name)}; expected one of ${Object.keys(SCENARIOS).join(", ")}\n`);
    process.exit(2);
  }
  progress(`${name}…`);
  const t0 = performance.now();
  rows.push(...(await scenario({ quick: values.quick })));
  progress(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const meta = { date: new Date().toISOString(), node: process.version, isolatedVm: IVM_VERSION.version, quick: values.quick };
if (values.json) process.stdout.write(`${JSON.stringify({ ...meta, rows })}\n`);
else process.stdout.write(`warden benchmarks ${meta.date} node ${meta.node} isolated-vm ${meta.isolatedVm}${meta.quick ? " (quick)" : ""}\n\n${table(rows)}\n`);
