// What a plugin that brings down its shared engine costs its neighbours, for every allocation shape
// that kills a process (docs/security.md) plus a segfault: a host (default isolation) with four
// plugins in one engine; the culprit makes a granted use (a file read, which shares an engine),
// then runs the shape. Measured: how long after the culprit's call failed each of the three
// co-tenants answers again (target ≤ 1 s), what the culprit got, whether it runs alone afterwards,
// and whether the record of its granted use is in the audit log. A fresh host per shape.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createHost } from "../../core/host/host.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { SHAPES } from "../lib/bomb-shapes.ts";
import { progress, summarize, type Row } from "../lib/measure.ts";

const BYSTANDERS = ["a", "b", "c"];
/** How long a bystander is retried before it counts as not back. */
const GIVE_UP_MS = 30_000;

function writePlugins(root: string, code: string): void {
  const plugin = (name: string, manifest: object, source: string): void => {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, "plugin.json"), JSON.stringify({ name, version: "1.0.0", ...manifest }));
    writeFileSync(join(root, name, "index.js"), source);
  };
  for (const b of BYSTANDERS) plugin(b, { id: `by.${b}` }, `export function ping() { return "pong"; }`);
  plugin(
    "culprit",
    { id: "by.culprit", permissions: { read: ["."] }, limits: { memoryMb: 16, cpuMs: 20_000, timeoutMs: 30_000 } },
    `export async function boom() { await Warden.fs.readTextFile("plugin.json"); ${code} return "survived"; }\nexport function ok() { return "ok"; }`,
  );
}

/** One shape: the culprit's outcome and each bystander's time back, ms. */
async function runShape(shape: string, code: string): Promise<{ outcome: string; backMs: number[]; alone: boolean; audited: boolean }> {
  const root = mkdtempSync(join(tmpdir(), "warden-bystanders-"));
  const audit = memoryAuditLog();
  try {
    writePlugins(root, code);
    const host = await createHost({ pluginsDir: root, auditLog: audit, logger: createDefaultLogger("silent"), maxPluginsPerEngine: 4, healthIntervalMs: 0 });
    try {
      await host.loadAll();
      const outcome = await host.invoke("by.culprit", "boom").then(
        (v) => `answered ${JSON.stringify(v)}`,
        (e: Error & { code?: string }) => e.code ?? e.message,
      );
      const t0 = performance.now();
      const backMs = await Promise.all(
        BYSTANDERS.map(async (b) => {
          for (;;) {
            const ok = await host.invoke(`by.${b}`, "ping").then(
              (v) => v === "pong",
              () => false,
            );
            const ms = performance.now() - t0;
            if (ok || ms > GIVE_UP_MS) return ok ? ms : Number.POSITIVE_INFINITY;
            await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      await host.invoke("by.culprit", "ok").catch(() => undefined);
      const engine = host.status().find((p) => p.id === "by.culprit")?.engine;
      const records = audit.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const audited = records.some((r) => r["type"] === "use" && r["plugin"] === "by.culprit" && r["permission"] === "read");
      progress(`bystanders: ${shape}: ${outcome}, back in ${backMs.map((m) => m.toFixed(0)).join("/")} ms`);
      return { outcome, backMs, alone: engine?.alone !== null && engine?.alone !== undefined, audited };
    } finally {
      await host.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Run the bystanders scenario: every shape in full, two in a quick run. */
export async function bystanders(o: { quick: boolean }): Promise<Row[]> {
  const names = Object.keys(SHAPES).filter((s) => !s.includes("control"));
  const chosen = o.quick ? names.slice(0, 1) : names;
  const rows: Row[] = [];
  for (const shape of chosen) {
    const r = await runShape(shape, SHAPES[shape] ?? "");
    const finite = r.backMs.filter((m) => Number.isFinite(m));
    rows.push({
      scenario: "a shared engine brought down: 3 co-tenants back",
      variant: shape,
      unit: "ms",
      sample: summarize(finite),
      note: [
        `culprit got ${r.outcome}`,
        finite.length === BYSTANDERS.length ? "all 3 back" : `${BYSTANDERS.length - finite.length} not back within ${GIVE_UP_MS / 1000} s`,
        r.alone ? "culprit alone afterwards" : "culprit still shares (its engine did not die)",
        r.audited ? "its granted read audited" : "its granted read NOT in the audit log",
        "target ≤ 1000 ms",
      ].join("; "),
    });
  }
  return rows;
}
